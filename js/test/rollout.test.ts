import { describe, expect, it } from "vitest";
import {
  addSizing,
  describeSplit,
  entitySizing,
  liveSplit,
  pairTotal,
  type RolloutEntity,
  renderRollout,
  sameSplit,
  splitWith,
  stepSplit,
} from "../src/rollout";
import { Ctx, Rpc } from "../src/rpc";
import { byTestId, FakeModel, flush } from "./fake";

function entity(name: string, traffic: number | null, extra: Partial<RolloutEntity> = {}): RolloutEntity {
  return {
    name,
    model: "main.default.chat",
    version: "1",
    min: 60,
    max: 120,
    units: null,
    scale_to_zero: false,
    state: "DEPLOYMENT_READY",
    message: "",
    traffic,
    pending: traffic === null,
    ...extra,
  };
}

describe("rollout splits", () => {
  it("moves share between the oldest entity and the candidate only", () => {
    const split = { a: 80, b: 10, c: 10 };
    expect(splitWith(split, "c", 50)).toEqual({ a: 40, b: 10, c: 50 });
    expect(splitWith(split, "c", 95)).toEqual({ a: 0, b: 10, c: 90 }); // capped at the pair's total
    expect(splitWith(split, "c", -5)).toEqual({ a: 90, b: 10, c: 0 });
    expect(splitWith(split, "a", 50)).toEqual(split); // the oldest is never the candidate
    expect(splitWith(split, "ghost", 50)).toEqual(split);
    expect(stepSplit({ a: 90, b: 10 }, "b", 10)).toEqual({ a: 80, b: 20 });
    expect(stepSplit({ a: 5, b: 95 }, "b", 10)).toEqual({ a: 0, b: 100 });
    expect(stepSplit({ a: 95, b: 5 }, "b", -10)).toEqual({ a: 100, b: 0 });
    expect(pairTotal(split, "b")).toBe(90);
    expect(pairTotal(split, "a")).toBe(0);
    for (const s of [splitWith(split, "b", 33), stepSplit(split, "c", 10)])
      expect(Object.values(s).reduce((x, y) => x + y, 0)).toBe(100);
  });

  it("reads, compares and words splits and sizings", () => {
    const entities = [entity("a", 90), entity("b", 10), entity("new", null)];
    expect(liveSplit(entities)).toEqual({ a: 90, b: 10 });
    expect(describeSplit({ a: 90, b: 10 })).toBe("a 90 % · b 10 %");
    expect(sameSplit({ a: 90, b: 10 }, { b: 10, a: 90 })).toBe(true);
    expect(sameSplit({ a: 90, b: 10 }, { a: 80, b: 20 })).toBe(false);
    expect(entitySizing(entity("a", 100))).toBe("60–120 tokens/s");
    expect(entitySizing(entity("a", 100, { units: 50 }))).toBe("50 model units");
    expect(addSizing("tokens_per_second", 60, 1, 2, 20)).toEqual({
      min_throughput: 60,
      max_throughput: 120,
      scale_to_zero: false,
    });
    expect(addSizing("tokens_per_second", 60, 3, 2, 20)).toEqual({
      min_throughput: 120,
      max_throughput: 120,
      scale_to_zero: false,
    });
    expect(addSizing("tokens_per_second", 60, 0, 1, 20).scale_to_zero).toBe(true);
    expect(addSizing("model_units", 50, 0, 2, 20)).toEqual({ model_units: 100 });
  });
});

const STATE = {
  endpoint: "chat",
  entities: [entity("a", 90), entity("b", 10)],
  config_update: "NOT_UPDATING",
  status: "ready",
  action: "",
  message: "",
  candidate: "b",
  add_model: "main.default.chat",
  add_version: "2",
  error: "",
};

function setup(state: Record<string, unknown> = {}) {
  const model = new FakeModel({ ...STATE, ...state }, (method, params, reply) => {
    if (method === "rollout:plan")
      reply.ok({
        model: params.model,
        versions: ["2", "1"],
        version: params.version || "2",
        scheme: "tokens_per_second",
        chunk_size: 60,
      });
    else if (method === "rollout:load") reply.ok({});
    else if (method === "rollout:rollback" && model.state.status === "busy")
      reply.error("An update is still running.");
    else reply.ok({ started: true });
  });
  const root = document.createElement("div");
  renderRollout(new Ctx(model, "", "rollout", new Rpc(model), new AbortController().signal), root);
  return { model, root };
}

describe("renderRollout", () => {
  it("lists entities with their traffic and moves the split by steps, slider, promote, rollback", async () => {
    const { model, root } = setup();
    await flush();
    const rows = root.querySelectorAll("[data-testid=rollout-entity]");
    expect(
      Array.from(rows).map((r) => r.querySelector("[data-testid=rollout-traffic]")!.textContent),
    ).toEqual(["90 %", "10 %"]);
    expect(byTestId(root, "rollout-entities").dataset.split).toBe("a 90 % · b 10 %");
    byTestId(root, "rollout-step-up").click();
    await flush();
    expect(model.calls("rollout:set_traffic")[0].params).toEqual({ split: { a: 80, b: 20 } });
    const slider = byTestId<HTMLInputElement>(root, "rollout-split");
    expect(slider.max).toBe("100");
    slider.value = "60";
    slider.dispatchEvent(new Event("input"));
    expect(byTestId(root, "rollout-split-readout").textContent).toBe("a 40 % · b 60 %");
    byTestId(root, "rollout-apply").click();
    await flush();
    expect(model.calls("rollout:set_traffic")[1].params).toEqual({ split: { a: 40, b: 60 } });
    byTestId(root, "rollout-promote").click();
    byTestId(root, "rollout-rollback").click();
    await flush();
    expect(model.calls("rollout:promote")[0].params).toEqual({ entity: "b" });
    expect(model.calls("rollout:rollback")).toHaveLength(1);
  });

  it("disables every change while one runs and shows what runs", async () => {
    const { model, root } = setup();
    await flush();
    model.update({ status: "busy", action: "Promoting 'b' to 100 %…" });
    expect(byTestId(root, "rollout-action").textContent).toBe("Promoting 'b' to 100 %…");
    expect(byTestId(root, "rollout").dataset.status).toBe("busy");
    for (const id of [
      "rollout-step-up",
      "rollout-promote",
      "rollout-rollback",
      "rollout-apply",
      "rollout-add",
    ])
      expect(byTestId<HTMLButtonElement>(root, id).disabled).toBe(true);
    expect(root.querySelector("[data-testid=rollout-remove]")).toBeNull();
    model.update({ status: "ready", action: "", message: "'chat' is ready: 'a' 0 %, 'b' 100 %." });
    expect(byTestId<HTMLButtonElement>(root, "rollout-promote").disabled).toBe(false);
    expect(byTestId(root, "rollout-message").textContent).toContain("is ready");
  });

  it("adds an entity with its own chunk sizing and reports a bad traffic share in one sentence", async () => {
    const { model, root } = setup({ entities: [entity("a", 100)], candidate: "" });
    await flush();
    expect(byTestId(root, "rollout-split-controls").hidden).toBe(true);
    expect(byTestId<HTMLSelectElement>(root, "rollout-add-version").value).toBe("2");
    byTestId<HTMLInputElement>(root, "rollout-add-max").value = "2";
    byTestId(root, "rollout-add-max").dispatchEvent(new Event("input"));
    expect(byTestId(root, "rollout-add-sizing").textContent).toBe("60–120 tokens/s (chunks of 60)");
    byTestId<HTMLInputElement>(root, "rollout-add-traffic").value = "-3";
    byTestId(root, "rollout-add").click();
    await flush();
    expect(byTestId(root, "error").textContent).toContain("Traffic % must be zero or more.");
    expect(model.calls("rollout:add")).toHaveLength(0);
    byTestId<HTMLInputElement>(root, "rollout-add-traffic").value = "10";
    byTestId(root, "rollout-add").click();
    await flush();
    expect(model.calls("rollout:add")[0].params).toEqual({
      model: "main.default.chat",
      version: "2",
      sizing: { min_throughput: 60, max_throughput: 120, scale_to_zero: false },
      traffic: 10,
    });
  });
});
