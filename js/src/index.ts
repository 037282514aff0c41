// Entry point: one bundle for every pt_widgets widget; `_kind` says which view to render.
import { Ctx, Model, Rpc } from "./rpc";
import { h } from "./dom";
import { renderPicker } from "./picker";
import { renderSlider } from "./slider";
import { renderDeploy } from "./deploy";
import { renderPlayground } from "./playground";
import { renderEndpoints } from "./endpoints";
import { renderCompare } from "./compare";
import { renderLoadTest } from "./loadtest";
import { renderApp } from "./app";

const PANELS: Record<string, (ctx: Ctx, el: HTMLElement) => void> = {
  picker: renderPicker,
  slider: renderSlider,
  deploy: renderDeploy,
  playground: renderPlayground,
  endpoints: (ctx, el) => renderEndpoints(ctx, el),
  compare: renderCompare,
  loadtest: renderLoadTest,
};

export function render({ model, el, signal }: { model: Model; el: HTMLElement; signal?: AbortSignal }) {
  const controller = new AbortController();
  signal?.addEventListener("abort", () => controller.abort());
  const kind = String(model.get("_kind") || "");
  const root = h("div", { class: `ptw-root ptw-kind-${kind}`, "data-testid": `ptw-${kind}` });
  el.append(root);
  const rpc = new Rpc(model, controller.signal);
  try {
    if (kind === "app") renderApp(model, root, rpc, controller.signal);
    else if (PANELS[kind]) PANELS[kind](new Ctx(model, "", kind, rpc, controller.signal), root);
    else throw new Error(`Unknown pt_widgets view '${kind}': the widget and its front end differ.`);
    root.dataset.ready = "true";
  } catch (e) {
    root.append(h("div", { class: "ptw-error", role: "alert",
                           text: `This widget failed to render: ${e instanceof Error ? e.message : String(e)}` }));
    console.error(e);
  }
  return () => {
    controller.abort();
    root.remove();
  };
}

export default { render };
