// App: the four steps in one widget (one model; each panel reads its prefixed traits).
import { Ctx, Model, Rpc } from "./rpc";
import { h } from "./dom";
import { renderPicker } from "./picker";
import { renderSlider } from "./slider";
import { renderDeploy } from "./deploy";
import { renderPlayground } from "./playground";
import { renderEndpoints } from "./endpoints";
import { renderCompare } from "./compare";
import { renderLoadTest } from "./loadtest";
import { shortTask } from "./format";

type StepState = "active" | "done" | "locked";

function step(n: number, title: string, testid: string) {
  const status = h("span", { class: "ptw-step-status" });
  const body = h("div", { class: "ptw-step-body" });
  const el = h("section", { class: "ptw-step", "data-testid": testid, dataset: { step: n } },
    h("h3", { class: "ptw-step-title" }, h("span", { class: "ptw-step-num", text: String(n) }),
      h("span", { text: title }), status),
    body);
  return {
    el, body,
    set(state: StepState, text: string) {
      el.dataset.state = state;
      status.textContent = text;
    },
  };
}

export function renderApp(model: Model, root: HTMLElement, rpc: Rpc, signal: AbortSignal): void {
  const ctx = (prefix: string, scope: string) => new Ctx(model, prefix, scope, rpc, signal);
  const picker = ctx("picker_", "picker");
  const slider = ctx("slider_", "slider");
  const deploy = ctx("deploy_", "deploy");
  const playground = ctx("playground_", "playground");
  const endpoints = ctx("endpoints_", "endpoints");

  const s1 = step(1, "Pick a model", "step-model");
  const s2 = step(2, "Size the throughput", "step-throughput");
  const s3 = step(3, "Deploy", "step-deploy");
  const s4 = step(4, "Try it", "step-playground");
  // folded sections render on first open, so they cost the App's first paint nothing
  function folded(title: string, testid: string, open: (body: HTMLElement) => void): HTMLDetailsElement {
    const body = h("div", {});
    const section = h("details", { class: "ptw-endpoints-section", "data-testid": testid },
      h("summary", { text: title }), body);
    let rendered = false;
    section.addEventListener("toggle", () => {
      if (section.open && !rendered) {
        rendered = true;
        open(body);
      }
    });
    return section;
  }
  const endpointsSection = folded("Endpoints in this workspace", "step-endpoints",
    (body) => renderEndpoints(endpoints, body, { query: true }));
  const compareSection = folded("Compare endpoints side by side", "step-compare",
    (body) => renderCompare(ctx("compare_", "compare"), body));
  const loadtestSection = folded("Load test: how many tokens/s do you need?", "step-loadtest",
    (body) => renderLoadTest(ctx("loadtest_", "loadtest"), body));

  root.append(h("div", { class: "ptw-app" },
    h("header", { class: "ptw-app-header" },
      h("span", { class: "ptw-logo", "aria-hidden": "true", text: "⚡" }),
      h("span", { class: "ptw-app-title", text: "Provisioned throughput" }),
      h("span", { class: "ptw-muted", text: "pick · size · deploy · query" })),
    h("div", { class: "ptw-app-grid" }, s1.el, s2.el, s3.el), s4.el, endpointsSection,
    compareSection, loadtestSection));

  renderPicker(picker, s1.body);
  renderSlider(slider, s2.body);
  renderDeploy(deploy, s3.body);
  renderPlayground(playground, s4.body);

  function steps() {
    const info = picker.get<string>("info_state");
    const eligible = picker.get<boolean | null>("eligible");
    if (info === "ready" && eligible) s1.set("done", `${picker.get("model").split(".").pop()} v${picker.get("version")} · ${shortTask(picker.get("task")) || "task unknown"}`);
    else if (info === "ready") s1.set("active", "not eligible: pick another version or model");
    else s1.set("active", info === "loading" ? "checking…" : "");

    const sliderReady = slider.get<string>("state") === "ready";
    s2.set(sliderReady ? "done" : "locked", sliderReady ? "" : "after step 1");

    const status = deploy.get<string>("status");
    if (status === "ready") s3.set("done", `${deploy.get("endpoint")} is ready`);
    else if (deploy.get("disabled_reason")) s3.set("locked", "after step 2");
    else s3.set("active", status === "deploying" || status === "starting" ? "deploying…" :
                          status === "failed" ? "failed" : "");

    const pgReady = !playground.get("disabled_reason") && !!playground.get("endpoint");
    s4.set(pgReady ? "active" : "locked", pgReady ? playground.get("endpoint") : "after step 3");
  }

  picker.on(["info_state", "eligible", "model", "version", "task"], steps);
  slider.on(["state"], steps);
  deploy.on(["status", "disabled_reason", "endpoint"], steps);
  playground.on(["disabled_reason", "endpoint"], steps);
  steps();
}
