// EndpointsTable: the workspace's endpoints with state and sizing; refresh; delete with an
// inline confirmation. Refreshes itself while an endpoint is updating.
import { bindButton, bindErrors } from "./bind";
import { button, errorText, h } from "./dom";
import { formatInt, shortTask } from "./format";
import type { Ctx } from "./rpc";

const AUTO_REFRESH_MS = 3000;

export interface EndpointsState {
  selected: string; // the endpoint the user chose to query (the App opens it in the playground)
  error: string;
}

export interface EndpointRow {
  name: string;
  ready: string;
  config_update: string;
  updating: boolean;
  task: string;
  model: string;
  version: string;
  min_provisioned_throughput: number | null;
  max_provisioned_throughput: number | null;
  provisioned_model_units: number | null;
  scale_to_zero_enabled: boolean | null;
  state_message: string;
  creator: string;
  created_ms: number | null;
}

export function sizingOf(row: EndpointRow): string {
  if (row.provisioned_model_units) return `${formatInt(row.provisioned_model_units)} model units`;
  if (row.max_provisioned_throughput === null || row.max_provisioned_throughput === undefined) return "";
  const lo = formatInt(row.min_provisioned_throughput ?? 0);
  const hi = formatInt(row.max_provisioned_throughput);
  return `${lo === hi ? hi : `${lo}–${hi}`} tokens/s`;
}

export function stateOf(row: EndpointRow): { label: string; status: string } {
  if (row.updating) return { label: "updating", status: "deploying" };
  if (row.config_update === "UPDATE_FAILED" || row.config_update === "UPDATE_CANCELED") {
    return { label: row.ready === "READY" ? "ready (last update failed)" : "failed", status: "failed" };
  }
  if (row.ready === "READY") return { label: "ready", status: "ready" };
  return { label: (row.ready || "unknown").toLowerCase().split("_").join(" "), status: "idle" };
}

type EndpointsCtx = Ctx<EndpointsState>;

/** The table's rows: a confirmation row replaces the one being deleted. */
function confirmRow(row: EndpointRow, remove: () => void, keep: () => void): HTMLTableRowElement {
  return h(
    "tr",
    { dataset: { name: row.name }, "data-testid": "endpoint-row" },
    h(
      "td",
      { colspan: 7, class: "ptw-confirm" },
      h("span", { text: `Delete endpoint '${row.name}'? It stops serving at once; this cannot be undone. ` }),
      h("button", {
        class: "ptw-button ptw-danger",
        "data-testid": "confirm-delete",
        text: "Delete",
        onclick: remove,
      }),
      h("button", { class: "ptw-button", "data-testid": "keep-endpoint", text: "Keep", onclick: keep }),
    ),
  );
}

function endpointRow(
  ctx: EndpointsCtx,
  row: EndpointRow,
  query: boolean,
  confirm: () => void,
): HTMLTableRowElement {
  const state = stateOf(row);
  const actions = h("td", { class: "ptw-actions" });
  if (query && state.status === "ready") {
    actions.append(
      h("button", {
        class: "ptw-button",
        text: "Query",
        title: "Open in the playground",
        onclick: () => ctx.set({ selected: row.name }),
      }),
    );
  }
  actions.append(
    h("button", {
      class: "ptw-button ptw-danger-outline",
      "data-testid": "delete-endpoint",
      text: "Delete",
      onclick: confirm,
    }),
  );
  return h(
    "tr",
    {
      dataset: { name: row.name },
      "data-testid": "endpoint-row",
      class: ctx.get("selected") === row.name ? "ptw-selected" : "",
    },
    h("td", {}, h("code", { text: row.name })),
    h(
      "td",
      {},
      h("span", {
        class: "ptw-badge",
        dataset: { status: state.status },
        text: state.label,
        title: row.state_message || "",
      }),
    ),
    h("td", { text: shortTask(row.task) }),
    h("td", { text: row.model ? `${row.model} v${row.version}` : "" }),
    h("td", { text: sizingOf(row) }),
    h("td", { text: row.scale_to_zero_enabled ? "yes" : "no" }),
    actions,
  );
}

export function renderEndpoints(
  ctx: EndpointsCtx,
  root: HTMLElement,
  options: { query?: boolean } = {},
): void {
  const errors = bindErrors(ctx);
  const refresh = button("Refresh", "endpoints-refresh");
  const updated = h("span", { class: "ptw-muted", "data-testid": "endpoints-updated" });
  const wrap = h("div", { class: "ptw-scroll" });
  root.append(
    h("div", { class: "ptw-endpoints" }, h("div", { class: "ptw-row" }, refresh, updated), wrap, errors.el),
  );
  let rows: EndpointRow[] = [];
  let confirming = "";
  let timer: ReturnType<typeof setTimeout> | undefined;

  const render = () => {
    if (!rows.length) {
      wrap.replaceChildren(h("div", { class: "ptw-muted ptw-empty", text: "No serving endpoints yet." }));
      return;
    }
    const head = h(
      "tr",
      {},
      ["Name", "State", "Task", "Model", "Sizing", "Scale to zero", ""].map((c) => h("th", { text: c })),
    );
    const body = h(
      "tbody",
      {},
      rows.map((row) =>
        confirming === row.name
          ? confirmRow(
              row,
              () => remove(row.name),
              () => {
                confirming = "";
                render();
              },
            )
          : endpointRow(ctx, row, !!options.query, () => {
              confirming = row.name;
              render();
            }),
      ),
    );
    wrap.replaceChildren(
      h("table", { class: "ptw-table", "data-testid": "endpoints-table" }, h("thead", {}, head), body),
    );
  };
  // refreshes itself while an endpoint is updating
  const schedule = () => {
    clearTimeout(timer);
    timer =
      rows.some((r) => r.updating) && !ctx.signal.aborted ? setTimeout(load, AUTO_REFRESH_MS) : undefined;
  };
  const loader = bindButton(
    refresh,
    async () => {
      try {
        rows = (await ctx.request<{ items: EndpointRow[] }>("list")).items;
        updated.textContent = `${rows.length} endpoint${rows.length === 1 ? "" : "s"} · updated ${new Date().toLocaleTimeString()}`;
        render();
      } finally {
        schedule();
      }
    },
    (m) => errors.set(m),
  );
  const load = () => loader.run();
  const remove = async (name: string) => {
    try {
      await ctx.request("delete", { name, confirmed: true });
      confirming = "";
    } catch (e) {
      errors.set(errorText(e));
    }
    load();
  };
  ctx.onEvent((event) => {
    if (event?.type === "refresh") load();
  });
  ctx.on("selected", render);
  ctx.onClose(() => clearTimeout(timer));
  load();
}
