import { describe, expect, it } from "vitest";
import widget, { render } from "../src/index";
import { byTestId, FakeModel, flush } from "./fake";

function appState() {
  const state: Record<string, any> = { _kind: "app" };
  for (const p of ["picker_", "slider_", "deploy_", "playground_", "endpoints_", "compare_", "loadtest_"]) {
    Object.assign(state, { [`${p}error`]: "", [`${p}disabled_reason`]: "" });
  }
  Object.assign(state, {
    picker_catalog: "",
    picker_schema: "",
    picker_model: "",
    picker_version: "",
    picker_info_state: "",
    picker_aliases: [],
    slider_state: "disabled",
    slider_chunk_size: 0,
    slider_max_chunks: 20,
    slider_disabled_reason: "Pick a model version first.",
    deploy_status: "idle",
    deploy_disabled_reason: "Pick a model version first.",
    deploy_sizing: {},
    deploy_endpoint_name: "",
    playground_modes: ["chat"],
    playground_mode: "chat",
    playground_endpoint: "",
    playground_disabled_reason: "Deploy an endpoint (step 3).",
    playground_temperature: 0.2,
    playground_max_tokens: 64,
    playground_stream: true,
    compare_targets: [],
    compare_max_tokens: 64,
    compare_temperature: 0.2,
    compare_status: "idle",
    loadtest_endpoint: "",
    loadtest_concurrency: [1, 2, 4, 8],
    loadtest_seconds_per_level: 15,
    loadtest_max_requests_per_level: 200,
    loadtest_max_tokens: 32,
    loadtest_caps: "",
    loadtest_plan_error: "Choose the endpoint to load-test first.",
    loadtest_capacity: {},
    loadtest_status: "idle",
  });
  return state;
}

describe("render", () => {
  it("exports an anywidget module", () => {
    expect(typeof widget.render).toBe("function");
  });

  it("renders the App: four steps, prefixed traits, scoped requests", async () => {
    const model = new FakeModel(appState(), (_method, _p, reply) => reply.ok({ items: [], result: null }));
    const el = document.createElement("div");
    const cleanup = render({ model, el });
    const root = byTestId(el, "ptw-app");
    expect(root.dataset.ready).toBe("true");
    for (const id of ["step-model", "step-throughput", "step-deploy", "step-playground"]) byTestId(el, id);
    expect(byTestId(el, "step-throughput").dataset.state).toBe("locked");
    await flush();
    const methods = model.requests.map((r) => r.method).sort();
    expect(methods).toEqual(["picker:catalogs", "playground:endpoints", "playground:last"]);
    model.update({
      picker_model: "system.ai.m",
      picker_version: "1",
      picker_eligible: true,
      picker_task: "llm/v1/chat",
      picker_info_state: "ready",
      slider_state: "ready",
    });
    expect(byTestId(el, "step-model").dataset.state).toBe("done");
    expect(byTestId(el, "step-throughput").dataset.state).toBe("done");
    model.update({ playground_endpoint: "ep", playground_disabled_reason: "" });
    expect(byTestId(el, "step-playground").dataset.state).toBe("active");
    (el.querySelector("[data-testid=step-endpoints]") as HTMLDetailsElement).open = true;
    el.querySelector("[data-testid=step-endpoints]")!.dispatchEvent(new Event("toggle"));
    await flush();
    expect(model.requests.map((r) => r.method)).toContain("endpoints:list");
    for (const id of ["step-compare", "step-loadtest"]) {
      const section = el.querySelector(`[data-testid=${id}]`) as HTMLDetailsElement;
      section.open = true;
      section.dispatchEvent(new Event("toggle"));
    }
    await flush();
    expect(model.requests.map((r) => r.method)).toEqual(
      expect.arrayContaining(["compare:endpoints", "compare:page", "loadtest:endpoints", "loadtest:result"]),
    );
    byTestId(el, "cmp-run");
    byTestId(el, "lt-start");
    const listeners = model.listeners("msg:custom");
    expect(listeners).toBe(1);
    (cleanup as () => void)();
    expect(model.listeners("msg:custom")).toBe(0);
    expect(el.childElementCount).toBe(0);
  });

  it("renders standalone widgets and says so when the kind is unknown", () => {
    const el = document.createElement("div");
    render({ model: new FakeModel({ _kind: "endpoints", selected: "", error: "" }), el });
    byTestId(el, "endpoints-refresh");
    const bad = document.createElement("div");
    render({ model: new FakeModel({ _kind: "nope" }), el: bad });
    expect(bad.textContent).toMatch(/Unknown pt_widgets view 'nope'/);
  });
});
