import { describe, expect, it } from "vitest";
import { render } from "../src/index";
import {
  type Bin,
  chartScales,
  levelsTable,
  loadChart,
  mergeBins,
  niceCeil,
  parseLevels,
  renderLoadTest,
} from "../src/loadtest";
import { Ctx, Rpc } from "../src/rpc";
import { byTestId, FakeModel, flush } from "./fake";

const CAPACITY = {
  scheme: "tokens_per_second",
  chunk_size: 90,
  min_tokens_per_s: 90,
  max_tokens_per_s: 180,
  text: "90–180 tokens/s (chunks of 90)",
};
const STATE = {
  endpoint: "ep",
  concurrency: [1, 2, 4, 8],
  seconds_per_level: 15,
  max_requests_per_level: 200,
  max_tokens: 32,
  prompt: "",
  caps: "4 levels (1, 2, 4, 8 concurrent) × up to 15 s or 200 requests each: at most 800 requests",
  plan_error: "",
  capacity: CAPACITY,
  status: "idle",
  recommendation: "",
  error: "",
};
const ROW = {
  concurrency: 8,
  start_s: 6,
  seconds: 6.2,
  requests: 40,
  ok: 10,
  rate_limited: 30,
  errors: 0,
  share_429: 0.75,
  requests_per_s: 1.6,
  delivered_tokens_per_s: 84.2,
  output_tokens_per_s: 20,
  latency_p50_s: 2.5,
  latency_p95_s: 3.1,
  ttft_p50_s: 0.2,
  ttft_p95_s: 0.4,
  demand_tokens_per_s: 210,
  provisioned_tokens_per_s: 90,
};

function mount(kernel: (m: string, p: any, reply: any) => void, state: Record<string, any> = STATE) {
  const model = new FakeModel(state, kernel);
  const root = document.createElement("div");
  renderLoadTest(new Ctx(model, "", "loadtest", new Rpc(model), new AbortController().signal), root);
  return { model, root };
}
const event = (model: FakeModel, ev: any) =>
  model.emit("msg:custom", { ptw: "event", id: null, scope: "loadtest", event: ev });

describe("load-test helpers", () => {
  it("parses concurrency levels", () => {
    expect(parseLevels("8, 1 4,4")).toEqual({ levels: [1, 4, 8], error: "" });
    expect(parseLevels("").error).toMatch(/at least one/);
    expect(parseLevels("1, 0").error).toMatch(/from 1 to 64/);
    expect(parseLevels("2.5").error).toMatch(/whole numbers/);
    expect(parseLevels("65").error).toMatch(/1 to 64/);
  });

  it("merges revised bins and fills gaps", () => {
    let s: Bin[] = mergeBins(
      [],
      [
        [0, 10, 90, 0],
        [2, 30, 90, 1],
      ],
    );
    expect(s[1]).toEqual([1, 0, null, 0]);
    s = mergeBins(s, [
      [2, 45, 90, 2],
      [3, 50, null, 0],
    ]);
    expect(s.map((b) => b[1])).toEqual([10, 0, 45, 50]);
  });

  it("scales the chart to the band and the data", () => {
    expect(niceCeil(0)).toBe(10);
    expect(niceCeil(207)).toBe(250);
    expect(niceCeil(100)).toBe(100);
    expect(chartScales([[0, 50, 90, 0]], CAPACITY, 12)).toEqual({ xMax: 12, yMax: 250 });
    expect(chartScales([[0, 400, null, 0]], null, 0).yMax).toBe(500);
  });

  it("draws delivered tokens/s, the provisioned band, the rate and 429 ticks", () => {
    const bins: Bin[] = [
      [0, 40, 90, 0],
      [1, 88, 90, 3],
      [2, 86, 90, 1],
    ];
    const svg = loadChart(
      bins,
      CAPACITY,
      [
        { at: 0, concurrency: 1 },
        { at: 1, concurrency: 8 },
      ],
      4,
    );
    expect(svg.querySelector("[data-testid=lt-delivered]")!.getAttribute("points")!.split(" ")).toHaveLength(
      3,
    );
    expect(svg.querySelector("[data-testid=lt-max-line]")).not.toBeNull();
    expect(svg.querySelector("[data-testid=lt-min-line]")).not.toBeNull();
    expect(svg.querySelector("[data-testid=lt-rate-line]")).not.toBeNull();
    expect(svg.querySelectorAll("[data-testid=lt-429]")).toHaveLength(2);
    expect(svg.textContent).toMatch(/max 180/);
    expect(svg.textContent).toMatch(/×8/);
    const same = loadChart(bins, { ...CAPACITY, max_tokens_per_s: 90 }, [], 4);
    expect(same.querySelector("[data-testid=lt-min-line]")).toBeNull();
    expect(same.textContent).toMatch(/provisioned 90/);
    // the max line sits above a delivered point at 88 tokens/s (y grows downwards)
    const maxY = Number(svg.querySelector("[data-testid=lt-max-line]")!.getAttribute("y1"));
    const pointY = Number(
      svg.querySelector("[data-testid=lt-delivered]")!.getAttribute("points")!.split(" ")[1].split(",")[1],
    );
    expect(maxY).toBeLessThan(pointY);
  });

  it("tabulates levels", () => {
    const t = levelsTable([ROW]);
    expect(t.querySelector("tbody")!.textContent).toMatch(/75%/);
    const cells = Array.from(t.querySelectorAll("tbody td")).map((td) => td.textContent);
    expect(cells).toEqual(["8", "10", "75%", "1.6", "84.2", "2.5 s", "3.1 s", "0.2 s", "210"]);
  });
});

describe("LoadTestPanel view", () => {
  it("shows the caps before starting, and the plan's problem instead when invalid", async () => {
    const { model, root } = mount((method, _p, reply) => {
      if (method === "loadtest:endpoints")
        reply.ok({ items: [{ name: "ep", task: "llm/v1/chat", ready: true }] });
      else reply.ok({ result: null });
    });
    await flush();
    expect(byTestId(root, "lt-caps").textContent).toMatch(/at most 800 requests/);
    expect(byTestId(root, "lt-capacity").textContent).toBe("Provisioned: 90–180 tokens/s (chunks of 90)");
    expect(byTestId<HTMLSelectElement>(root, "lt-endpoint").value).toBe("ep");
    expect(byTestId<HTMLButtonElement>(root, "lt-start").disabled).toBe(false);
    const levels = byTestId<HTMLInputElement>(root, "lt-concurrency");
    expect(levels.value).toBe("1, 2, 4, 8");
    levels.value = "1, 8";
    levels.dispatchEvent(new Event("change"));
    expect(model.state.concurrency).toEqual([1, 8]);
    levels.value = "0";
    levels.dispatchEvent(new Event("change"));
    expect(model.state.concurrency).toEqual([1, 8]);
    expect(byTestId(root, "error").textContent).toMatch(/1 to 64/);
    model.update({ plan_error: "This plan could run 1200 s; keep a load test under 900 s.", caps: "" });
    expect(byTestId(root, "lt-caps").textContent).toMatch(/could run 1200 s/);
    expect(byTestId<HTMLButtonElement>(root, "lt-start").disabled).toBe(true);
  });

  it("starts, charts progress live, tabulates levels, stops, shows the advice", async () => {
    const { model, root } = mount((method, _p, reply) => {
      if (method === "loadtest:start") reply.ok({ started: true });
      else if (method === "loadtest:stop") reply.ok({ stopping: true });
      else if (method === "loadtest:endpoints") reply.ok({ items: [] });
      else reply.ok({ result: null });
    });
    await flush();
    byTestId(root, "lt-start").click();
    await flush();
    expect(model.calls("loadtest:start")).toHaveLength(1);
    model.update({ status: "running" });
    expect(byTestId(root, "lt-stop").hidden).toBe(false);
    event(model, { type: "start", plan: { seconds: 12 }, capacity: CAPACITY });
    event(model, { type: "level_start", level: 0, concurrency: 1, at: 0 });
    event(model, {
      type: "progress",
      elapsed: 1.5,
      level: 0,
      concurrency: 1,
      ok: 2,
      rate_limited: 0,
      bins: [
        [0, 40, 90, 0],
        [1, 45, 90, 0],
      ],
    });
    expect(byTestId(root, "lt-status").textContent).toMatch(/Running ×1 · 2 s · 2 ok · 0 × 429/);
    expect(root.querySelector("[data-testid=lt-delivered]")!.getAttribute("points")!.split(" ")).toHaveLength(
      2,
    );
    event(model, { type: "level", level: 0, row: { ...ROW, concurrency: 1, share_429: 0, rate_limited: 0 } });
    expect(root.querySelectorAll("[data-testid=lt-table] tbody tr")).toHaveLength(1);
    byTestId(root, "lt-stop").click();
    expect(model.calls("loadtest:stop")).toHaveLength(1);
    model.update({ status: "stopping" });
    expect(byTestId<HTMLButtonElement>(root, "lt-stop").disabled).toBe(true);
    const advice = "Your load needs 3 chunks (270 tokens/s): 8 concurrent requests ask ≈210 tokens/s.";
    event(model, {
      type: "done",
      result: {
        plan: { seconds: 12 },
        capacity: CAPACITY,
        levels: [{ ...ROW, concurrency: 1, start_s: 0 }, ROW],
        bins: [
          [0, 40, 90, 0],
          [7, 85, 90, 4],
        ],
        recommendation: advice,
      },
    });
    model.update({ status: "stopped", recommendation: advice });
    expect(byTestId(root, "lt-recommendation").textContent).toBe(advice);
    expect(root.querySelectorAll("[data-testid=lt-table] tbody tr")).toHaveLength(2);
    expect(root.querySelectorAll("[data-testid=lt-429]")).toHaveLength(1);
    expect(byTestId(root, "lt-status").textContent).toMatch(/Stopped/);
  });

  it("restores the last result when it renders again", async () => {
    const { root } = mount((method, _p, reply) => {
      if (method === "loadtest:result") {
        reply.ok({
          status: "done",
          result: {
            plan: { seconds: 6 },
            capacity: CAPACITY,
            levels: [ROW],
            bins: [[0, 50, 90, 1]],
            recommendation: "Your load needs 2 chunks.",
          },
        });
      } else reply.ok({ items: [] });
    });
    await flush();
    expect(byTestId(root, "lt-recommendation").textContent).toBe("Your load needs 2 chunks.");
    expect(root.querySelectorAll("[data-testid=lt-table] tbody tr")).toHaveLength(1);
  });

  it("is registered as a view kind", () => {
    const el = document.createElement("div");
    render({ model: new FakeModel({ _kind: "loadtest", ...STATE }), el });
    byTestId(el, "ptw-loadtest");
    byTestId(el, "lt-start");
  });
});
