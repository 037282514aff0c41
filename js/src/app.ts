// App: the four steps in one widget (one model; each panel reads its prefixed traits).
import type { AnyModel } from "@anywidget/types";
import { type CompareState, renderCompare } from "./compare";
import { type DeployState, renderDeploy } from "./deploy";
import { h } from "./dom";
import { type EndpointsState, renderEndpoints } from "./endpoints";
import { type ExternalState, renderExternal } from "./external";
import { shortTask } from "./format";
import { type GovernanceState, renderGovernance } from "./governance";
import { type LoadTestState, renderLoadTest } from "./loadtest";
import { type MonitorState, renderMonitor } from "./monitor";
import { type PickerState, renderPicker } from "./picker";
import { type PlaygroundState, renderPlayground } from "./playground";
import { type RolloutState, renderRollout } from "./rollout";
import { Ctx, type Prefixed, type Rpc } from "./rpc";
import { renderSlider, type SliderState } from "./slider";

/** The App's traits: each panel's own, under its prefix. */
export type AppState = { _kind: string } & Prefixed<"picker_", PickerState> &
  Prefixed<"slider_", SliderState> &
  Prefixed<"deploy_", DeployState> &
  Prefixed<"playground_", PlaygroundState> &
  Prefixed<"endpoints_", EndpointsState> &
  Prefixed<"compare_", CompareState> &
  Prefixed<"loadtest_", LoadTestState> &
  Prefixed<"monitor_", MonitorState> &
  Prefixed<"external_", ExternalState> &
  Prefixed<"governance_", GovernanceState> &
  Prefixed<"rollout_", RolloutState>;

type AppModel = AnyModel<AppState>;

type StepState = "active" | "done" | "locked";

function step(n: number, title: string, testid: string) {
  const status = h("span", { class: "ptw-step-status" });
  const body = h("div", { class: "ptw-step-body" });
  const el = h(
    "section",
    { class: "ptw-step", "data-testid": testid, dataset: { step: n } },
    h(
      "h3",
      { class: "ptw-step-title" },
      h("span", { class: "ptw-step-num", text: String(n) }),
      h("span", { text: title }),
      status,
    ),
    body,
  );
  return {
    el,
    body,
    set(state: StepState, text: string) {
      el.dataset.state = state;
      status.textContent = text;
    },
  };
}

// folded sections render on first open, so they cost the App's first paint nothing
export function folded(title: string, testid: string, open: (body: HTMLElement) => void): HTMLDetailsElement {
  const body = h("div", {});
  const section = h(
    "details",
    { class: "ptw-endpoints-section", "data-testid": testid },
    h("summary", { text: title }),
    body,
  );
  let rendered = false;
  section.addEventListener("toggle", () => {
    if (section.open && !rendered) {
      rendered = true;
      open(body);
    }
  });
  return section;
}

type Step = ReturnType<typeof step>;

/** Each step's state and one-line status, from the panels' traits. */
function stepStates(model: AppModel, s1: Step, s2: Step, s3: Step, s4: Step): void {
  const g = <K extends keyof AppState>(name: K) => model.get(name);
  const info = g("picker_info_state");
  if (info === "ready" && g("picker_eligible")) {
    const task = shortTask(g("picker_task")) || "task unknown";
    s1.set("done", `${g("picker_model").split(".").pop()} v${g("picker_version")} · ${task}`);
  } else if (info === "ready") s1.set("active", "not eligible: pick another version or model");
  else s1.set("active", info === "loading" ? "checking…" : "");
  const sliderReady = g("slider_state") === "ready";
  s2.set(sliderReady ? "done" : "locked", sliderReady ? "" : "after step 1");
  const status = g("deploy_status");
  if (status === "ready") s3.set("done", `${g("deploy_endpoint")} is ready`);
  else if (g("deploy_disabled_reason")) s3.set("locked", "after step 2");
  else
    s3.set(
      "active",
      status === "deploying" || status === "starting" ? "deploying…" : status === "failed" ? "failed" : "",
    );
  const pgReady = !g("playground_disabled_reason") && !!g("playground_endpoint");
  s4.set(pgReady ? "active" : "locked", pgReady ? g("playground_endpoint") : "after step 3");
}

const STEP_TRAITS: (keyof AppState)[] = [
  "picker_info_state",
  "picker_eligible",
  "picker_model",
  "picker_version",
  "picker_task",
  "slider_state",
  "deploy_status",
  "deploy_disabled_reason",
  "deploy_endpoint",
  "playground_disabled_reason",
  "playground_endpoint",
];

export function renderApp(model: AppModel, root: HTMLElement, rpc: Rpc, signal: AbortSignal): void {
  // each panel's typed view of the App's model (the compiler checks the App holds its traits)
  const ctx = <S extends object, P extends string>(
    typed: AnyModel<Prefixed<P, S>>,
    prefix: P,
    scope: string,
  ) => new Ctx<S, P>(typed, prefix, scope, rpc, signal);
  const steps = [
    step(1, "Pick a model", "step-model"),
    step(2, "Size the throughput", "step-throughput"),
    step(3, "Deploy", "step-deploy"),
    step(4, "Try it", "step-playground"),
  ];
  root.append(
    h(
      "div",
      { class: "ptw-app" },
      h(
        "header",
        { class: "ptw-app-header" },
        h("span", { class: "ptw-logo", "aria-hidden": "true", text: "⚡" }),
        h("span", { class: "ptw-app-title", text: "Provisioned throughput" }),
        h("span", { class: "ptw-muted", text: "pick · size · deploy · query" }),
      ),
      h("div", { class: "ptw-app-grid" }, steps[0].el, steps[1].el, steps[2].el),
      folded("Roll out a version next to the deployed one: traffic split", "step-rollout", (body) =>
        renderRollout(ctx<RolloutState, "rollout_">(model, "rollout_", "rollout"), body),
      ),
      folded("External model: an OpenAI-compatible server as an endpoint", "step-external", (body) =>
        renderExternal(ctx<ExternalState, "external_">(model, "external_", "external"), body),
      ),
      steps[3].el,
      folded("Endpoints in this workspace", "step-endpoints", (body) =>
        renderEndpoints(ctx<EndpointsState, "endpoints_">(model, "endpoints_", "endpoints"), body, {
          query: true,
        }),
      ),
      folded("Compare endpoints side by side", "step-compare", (body) =>
        renderCompare(ctx<CompareState, "compare_">(model, "compare_", "compare"), body),
      ),
      folded("Load test: how many tokens/s do you need?", "step-loadtest", (body) =>
        renderLoadTest(ctx<LoadTestState, "loadtest_">(model, "loadtest_", "loadtest"), body),
      ),
      folded("Monitor: tokens/s, 429s and latency, live", "step-monitor", (body) =>
        renderMonitor(ctx<MonitorState, "monitor_">(model, "monitor_", "monitor"), body),
      ),
      folded("Govern: limits, usage, inference table, permissions", "step-govern", (body) =>
        renderGovernance(ctx<GovernanceState, "governance_">(model, "governance_", "governance"), body),
      ),
    ),
  );
  renderPicker(ctx<PickerState, "picker_">(model, "picker_", "picker"), steps[0].body);
  renderSlider(ctx<SliderState, "slider_">(model, "slider_", "slider"), steps[1].body);
  renderDeploy(ctx<DeployState, "deploy_">(model, "deploy_", "deploy"), steps[2].body);
  renderPlayground(ctx<PlaygroundState, "playground_">(model, "playground_", "playground"), steps[3].body);
  const update = () => stepStates(model, steps[0], steps[1], steps[2], steps[3]);
  for (const name of STEP_TRAITS) {
    model.on(`change:${name}`, update);
    signal.addEventListener("abort", () => model.off(`change:${name}`, update));
  }
  update();
}
