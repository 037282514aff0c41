// EndpointsTable: the workspace's endpoints with state and sizing; refresh; delete with an
// inline confirmation. Refreshes itself while an endpoint is updating.
import { Ctx } from "./rpc";
import { ErrorBox, clear, errorText, h } from "./dom";
import { formatInt, shortTask } from "./format";

const AUTO_REFRESH_MS = 3000;

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
  return { label: (row.ready || "unknown").toLowerCase().replace("_", " "), status: "idle" };
}

export function renderEndpoints(ctx: Ctx, root: HTMLElement, options: { query?: boolean } = {}): void {
  const errors = new ErrorBox(() => ctx.set({ error: "" }));
  const refresh = h("button", { class: "ptw-button", "data-testid": "endpoints-refresh", text: "Refresh" });
  const updated = h("span", { class: "ptw-muted", "data-testid": "endpoints-updated" });
  const wrap = h("div", { class: "ptw-scroll" });
  root.append(h("div", { class: "ptw-endpoints" },
    h("div", { class: "ptw-row" }, refresh, updated), wrap, errors.el));

  let rows: EndpointRow[] = [];
  let confirming = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  let loading = false;

  async function load() {
    if (loading) return;
    loading = true;
    refresh.disabled = true;
    try {
      const res = await ctx.request<{ items: EndpointRow[] }>("list");
      rows = res.items;
      updated.textContent = `${rows.length} endpoint${rows.length === 1 ? "" : "s"} · updated ${new Date().toLocaleTimeString()}`;
      render();
    } catch (e) {
      errors.set(errorText(e));
    } finally {
      loading = false;
      refresh.disabled = false;
      schedule();
    }
  }

  function schedule() {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (rows.some((r) => r.updating) && !ctx.signal.aborted) timer = setTimeout(load, AUTO_REFRESH_MS);
  }

  async function remove(name: string) {
    try {
      await ctx.request("delete", { name, confirmed: true });
      confirming = "";
    } catch (e) {
      errors.set(errorText(e));
    }
    await load();
  }

  function render() {
    clear(wrap);
    if (!rows.length) {
      wrap.append(h("div", { class: "ptw-muted ptw-empty", text: "No serving endpoints yet." }));
      return;
    }
    const head = h("tr", {}, ["Name", "State", "Task", "Model", "Sizing", "Scale to zero", ""]
      .map((c) => h("th", { text: c })));
    const body = h("tbody", {});
    for (const row of rows) {
      const state = stateOf(row);
      const tr = h("tr", { dataset: { name: row.name }, "data-testid": "endpoint-row",
                           class: ctx.get("selected") === row.name ? "ptw-selected" : "" });
      if (confirming === row.name) {
        const cell = h("td", { colspan: 7, class: "ptw-confirm" },
          h("span", { text: `Delete endpoint '${row.name}'? It stops serving at once; this cannot be undone. ` }),
          h("button", { class: "ptw-button ptw-danger", "data-testid": "confirm-delete", text: "Delete",
                        onclick: () => remove(row.name) }),
          h("button", { class: "ptw-button", "data-testid": "keep-endpoint", text: "Keep",
                        onclick: () => { confirming = ""; render(); } }));
        tr.append(cell);
        body.append(tr);
        continue;
      }
      const actions = h("td", { class: "ptw-actions" });
      if (options.query && state.status === "ready") {
        actions.append(h("button", { class: "ptw-button", text: "Query", title: "Open in the playground",
                                     onclick: () => ctx.set({ selected: row.name }) }));
      }
      actions.append(h("button", { class: "ptw-button ptw-danger-outline", "data-testid": "delete-endpoint",
                                   text: "Delete", onclick: () => { confirming = row.name; render(); } }));
      tr.append(
        h("td", {}, h("code", { text: row.name })),
        h("td", {}, h("span", { class: "ptw-badge", dataset: { status: state.status }, text: state.label,
                                title: row.state_message || "" })),
        h("td", { text: shortTask(row.task) }),
        h("td", { text: row.model ? `${row.model} v${row.version}` : "" }),
        h("td", { text: sizingOf(row) }),
        h("td", { text: row.scale_to_zero_enabled ? "yes" : "no" }),
        actions);
      body.append(tr);
    }
    wrap.append(h("table", { class: "ptw-table", "data-testid": "endpoints-table" }, h("thead", {}, head), body));
  }

  refresh.addEventListener("click", () => load());
  ctx.onEvent((event) => { if (event?.type === "refresh") load(); });
  ctx.on("error", () => errors.set(ctx.get("error")));
  ctx.on("selected", render);
  ctx.signal.addEventListener("abort", () => { if (timer !== undefined) clearTimeout(timer); });
  errors.set(ctx.get("error"));
  load();
}
