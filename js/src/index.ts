// Entry point: one bundle for every pt_widgets widget; `_kind` says which view to render.
import type { AnyModel } from "@anywidget/types";
import { type AppState, folded, renderApp } from "./app";
import { renderCompare } from "./compare";
import { renderDeploy } from "./deploy";
import { h } from "./dom";
import { renderEndpoints } from "./endpoints";
import { renderExternal } from "./external";
import { renderGovernance } from "./governance";
import { renderLoadTest } from "./loadtest";
import { renderMonitor } from "./monitor";
import { renderPicker } from "./picker";
import { renderPlayground } from "./playground";
import { type RolloutState, renderRollout } from "./rollout";
import { Ctx, type Prefixed, Rpc } from "./rpc";
import { renderSlider } from "./slider";

/** What every pt_widgets model holds; the rest depends on the kind. */
interface Kinded {
  _kind: string;
}

type Mount = (model: AnyModel<Kinded>, root: HTMLElement, rpc: Rpc, signal: AbortSignal) => void;

/** A standalone panel: its traits unprefixed, its requests under its own scope. */
function panel<S extends object>(scope: string, render: (ctx: Ctx<S>, root: HTMLElement) => void): Mount {
  // the model's kind was checked by the lookup that chose this panel
  return (model, root, rpc, signal) =>
    render(new Ctx<S, "">(model as unknown as AnyModel<Prefixed<"", S>>, "", scope, rpc, signal), root);
}

/** The deploy panel, with its rollout section folded below it (rendered when opened). */
const deployPanel: Mount = (model, root, rpc, signal) => {
  panel("deploy", renderDeploy)(model, root, rpc, signal);
  const rollout = new Ctx<RolloutState, "rollout_">(
    model as unknown as AnyModel<Prefixed<"rollout_", RolloutState>>,
    "rollout_",
    "rollout",
    rpc,
    signal,
  );
  root.append(
    folded("Roll out a version: traffic split", "step-rollout", (body) => renderRollout(rollout, body)),
  );
};

const VIEWS: Record<string, Mount> = {
  app: (model, root, rpc, signal) => renderApp(model as unknown as AnyModel<AppState>, root, rpc, signal),
  picker: panel("picker", renderPicker),
  slider: panel("slider", renderSlider),
  deploy: deployPanel,
  playground: panel("playground", renderPlayground),
  endpoints: panel("endpoints", renderEndpoints),
  compare: panel("compare", renderCompare),
  loadtest: panel("loadtest", renderLoadTest),
  monitor: panel("monitor", renderMonitor),
  governance: panel("governance", renderGovernance),
  external: panel("external", renderExternal),
};

export function render({
  model,
  el,
  signal,
}: {
  model: AnyModel<Kinded>;
  el: HTMLElement;
  signal?: AbortSignal;
}) {
  const controller = new AbortController();
  signal?.addEventListener("abort", () => controller.abort());
  const kind = String(model.get("_kind") || "");
  const root = h("div", { class: `ptw-root ptw-kind-${kind}`, "data-testid": `ptw-${kind}` });
  el.append(root);
  const rpc = new Rpc(model, controller.signal);
  try {
    const view = VIEWS[kind];
    if (!view) throw new Error(`Unknown pt_widgets view '${kind}': the widget and its front end differ.`);
    view(model, root, rpc, controller.signal);
    root.dataset.ready = "true";
  } catch (e) {
    root.append(
      h("div", {
        class: "ptw-error",
        role: "alert",
        text: `This widget failed to render: ${e instanceof Error ? e.message : String(e)}`,
      }),
    );
    console.error(e);
  }
  return () => {
    controller.abort();
    root.remove();
  };
}

export default { render };
