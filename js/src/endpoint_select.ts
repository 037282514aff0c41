// The endpoint chooser shared by the playground, compare and load-test panels: the list comes
// from the panel's "endpoints" request, a reload button asks again, and an endpoint the list
// does not know yet (deployed a moment ago) still shows instead of vanishing.
import { bindButton } from "./bind";
import { field, h, setOptions } from "./dom";
import { shortTask } from "./format";
import type { Ctx } from "./rpc";

export interface EndpointItem {
  name: string;
  task: string;
  ready: boolean;
  model?: string;
}

/** Options for a select: "name (task)", "– not ready" when it cannot answer yet. */
export function endpointOptions(items: EndpointItem[], current: string): { value: string; label: string }[] {
  const options = items.map((e) => ({
    value: e.name,
    label: `${e.name}${e.task ? ` (${shortTask(e.task)})` : ""}${e.ready ? "" : " – not ready"}`,
  }));
  if (current && !options.some((o) => o.value === current))
    options.unshift({ value: current, label: current });
  return options;
}

/** Fill `select` with the endpoints, keeping `current` selected. */
export function fillEndpoints(select: HTMLSelectElement, items: EndpointItem[], current: string): void {
  const options = endpointOptions(items, current);
  setOptions(select, options, current, options.length ? "Choose an endpoint…" : "No endpoints yet");
}

/** The workspace's endpoints as the panel's kernel lists them, with the reload button. */
export function endpointList<S extends object>(
  ctx: Ctx<S>,
  loaded: () => void,
  onError: (message: string) => void,
) {
  const reload = h("button", {
    class: "ptw-icon-button",
    title: "Reload endpoints",
    text: "↻",
    "aria-label": "Reload endpoints",
  });
  const list = {
    items: [] as EndpointItem[],
    reload,
    has: (name: string) => list.items.some((e) => e.name === name),
    load: () => button.run(),
  };
  const button = bindButton(
    reload,
    async () => {
      list.items = (await ctx.request<{ items: EndpointItem[] }>("endpoints")).items;
      loaded();
    },
    onError,
  );
  return list;
}

/** A select bound to the panel's `endpoint` trait (reloads the list for an unknown one). */
export function endpointSelect<S extends { endpoint: string }>(
  ctx: Ctx<S>,
  testid: string,
  onError: (message: string) => void,
) {
  const select = h("select", { "data-testid": testid, "aria-label": "Endpoint" });
  const show = () => fillEndpoints(select, list.items, ctx.get("endpoint"));
  const list = endpointList(ctx, show, onError);
  select.addEventListener("change", () => ctx.set({ endpoint: select.value } as Partial<S>));
  ctx.on("endpoint", () => {
    if (!list.has(ctx.get("endpoint"))) list.load();
    else show();
  });
  setOptions(select, [], "", "Loading endpoints…");
  return { select, list };
}

/** The chooser's row: the select, its reload button, then whatever the panel adds. */
export function endpointRow(
  chooser: ReturnType<typeof endpointSelect>,
  ...rest: HTMLElement[]
): HTMLDivElement {
  const row = h("div", { class: "ptw-row ptw-row-end" }, field("Endpoint", chooser.select));
  row.append(chooser.list.reload, ...rest);
  return row;
}
