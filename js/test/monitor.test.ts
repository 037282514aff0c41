import { afterEach, describe, expect, it } from "vitest";
import { render } from "../src/index";
import {
  countLimited,
  keepWindow,
  type MonitorRow,
  monitorBins,
  monitorChart,
  readoutText,
  recentRates,
  renderMonitor,
} from "../src/monitor";
import { Ctx, Rpc } from "../src/rpc";
import { byTestId, FakeModel, flush } from "./fake";

function row(time: number, extra: Partial<MonitorRow> = {}): MonitorRow {
  return {
    time,
    seconds: 2,
    requests: 4,
    ok: 4,
    rate_limited: 0,
    errors: 0,
    tokens: 120,
    requests_per_s: 2,
    rate_limited_per_s: 0,
    delivered_tokens_per_s: 60,
    output_tokens_per_s: 20,
    latency_p50_ms: 420,
    latency_p95_ms: 1250,
    provisioned_tokens_per_s: 90,
    min_tokens_per_s: 90,
    max_tokens_per_s: 180,
    in_flight: 1,
    ...extra,
  };
}

const STATE = { endpoint: "ep", interval_s: 2, window_s: 60, status: "paused", error: "" };

function mount(windowRows: MonitorRow[] = []) {
  const model = new FakeModel(STATE, (method, _p, reply) => {
    if (method === "monitor:endpoints")
      reply.ok({ items: [{ name: "ep", task: "llm/v1/chat", ready: true }] });
    else if (method === "monitor:window") reply.ok({ rows: windowRows });
    else reply.ok({ status: "watching" });
  });
  const root = document.createElement("div");
  const controller = new AbortController();
  renderMonitor(new Ctx(model, "", "monitor", new Rpc(model, controller.signal), controller.signal), root);
  return { model, root, controller };
}

const visibility = (model: FakeModel) => model.calls("monitor:visibility").map((c) => c.params.visible);
const rowEvent = (model: FakeModel, r: MonitorRow) =>
  model.emit("msg:custom", { ptw: "event", id: null, scope: "monitor", event: { type: "row", row: r } });

/** A stand-in IntersectionObserver the test moves on and off screen. */
class FakeObserver {
  static last: FakeObserver | null = null;
  observed: Element[] = [];
  constructor(private callback: (entries: { isIntersecting: boolean }[]) => void) {
    FakeObserver.last = this;
  }
  observe(el: Element) {
    this.observed.push(el);
  }
  disconnect() {
    this.observed = [];
  }
  show(on: boolean) {
    this.callback([{ isIntersecting: on }]);
  }
}

afterEach(() => {
  delete (globalThis as any).IntersectionObserver;
});

describe("monitor helpers", () => {
  it("keeps the last window of rows, once each, oldest first", () => {
    const rows = keepWindow([row(100), row(102)], [row(102, { ok: 9 }), row(170), row(104)], 60);
    expect(rows.map((r) => r.time)).toEqual([170]);
    const kept = keepWindow([row(100), row(102)], [row(102, { ok: 9 }), row(104)], 60);
    expect(kept.map((r) => [r.time, r.ok])).toEqual([
      [100, 4],
      [102, 9],
      [104, 4],
    ]);
  });

  it("places each interval at negative seconds and counts 429s", () => {
    const rows = [row(100), row(102, { rate_limited: 3, provisioned_tokens_per_s: null })];
    expect(monitorBins(rows)).toEqual([
      [-4, 60, 90, 0],
      [-2, 60, null, 3],
    ]);
    expect(countLimited(rows)).toBe(3);
  });

  it("reads out the last minute's rates and the newest latency", () => {
    expect(readoutText([])).toMatch(/Waiting/);
    const idle = { requests: 0, tokens: 0, latency_p50_ms: null, latency_p95_ms: null };
    expect(readoutText([row(100), row(102, idle)])).toBe(
      "30 tokens/s delivered (last minute) · current rate 90 (band 90–180) · 1 requests/s · " +
        "latency p50 420 ms, p95 1,250 ms",
    );
    const flat = row(100, { min_tokens_per_s: 90, max_tokens_per_s: 90, latency_p95_ms: null });
    expect(readoutText([flat])).toMatch(/current rate 90 \(provisioned 90\).*p95 –/);
    const external = row(100, {
      provisioned_tokens_per_s: null,
      min_tokens_per_s: null,
      max_tokens_per_s: null,
    });
    expect(readoutText([external])).toMatch(/delivered \(last minute\) · no provisioned rate · /);
    expect(recentRates([row(10), row(100)])).toEqual({ tokens: 60, requests: 2 });
    expect(recentRates([row(100, { tokens: null, requests: null })])).toEqual({
      tokens: null,
      requests: null,
    });
  });

  it("charts the last minutes against the band with 429 ticks", () => {
    const box = monitorChart([row(100), row(102, { rate_limited: 2 }), row(104)], 60, 2);
    expect(box.querySelector("[data-testid=lt-delivered]")!.getAttribute("points")!.split(" ")).toHaveLength(
      3,
    );
    expect(box.querySelector("[data-testid=lt-max-line]")).not.toBeNull();
    expect(box.querySelector("[data-testid=lt-min-line]")).not.toBeNull();
    expect(box.querySelector("[data-testid=lt-rate-line]")).not.toBeNull();
    expect(box.querySelectorAll("[data-testid=lt-429]")).toHaveLength(1);
    expect(box.textContent).toMatch(/-60s.*0s/);
    // the newest interval ends at the right edge, the window starts at the left one
    const xs = box
      .querySelector("[data-testid=lt-delivered]")!
      .getAttribute("points")!
      .split(" ")
      .map((p) => Number(p.split(",")[0]));
    expect(xs[0]).toBeLessThan(xs[2]);
    expect(xs[2]).toBeLessThan(760 - 104);
    expect(monitorChart([], 60, 2).querySelector("[data-testid=lt-delivered]")).toBeNull();
  });
});

describe("MonitorPanel view", () => {
  it("says visible at once without an IntersectionObserver, and hidden when removed", async () => {
    const { model, root, controller } = mount([row(100)]);
    await flush();
    expect(visibility(model)).toEqual([true]);
    expect(byTestId<HTMLSelectElement>(root, "mon-endpoint").value).toBe("ep");
    expect(byTestId(root, "mon-readout").textContent).toMatch(/60 tokens\/s delivered/);
    controller.abort();
    expect(visibility(model)).toEqual([true, false]);
  });

  it("follows the observer: hidden until on screen, hidden again when scrolled away", async () => {
    (globalThis as any).IntersectionObserver = FakeObserver;
    const { model, root, controller } = mount();
    await flush();
    expect(visibility(model)).toEqual([]);
    expect(FakeObserver.last!.observed).toEqual([root]);
    FakeObserver.last!.show(true);
    FakeObserver.last!.show(true);
    FakeObserver.last!.show(false);
    expect(visibility(model)).toEqual([true, false]);
    controller.abort();
    expect(visibility(model)).toEqual([true, false]);
    expect(FakeObserver.last!.observed).toEqual([]);
  });

  it("draws rows as they come and counts the 429s of the window", async () => {
    const { model, root } = mount();
    await flush();
    model.update({ status: "watching" });
    expect(byTestId(root, "mon-status").textContent).toBe("Watching every 2 s, the last 1 min");
    rowEvent(model, row(100));
    rowEvent(model, row(102, { rate_limited: 2 }));
    rowEvent(model, row(104, { rate_limited: 1 }));
    expect(byTestId(root, "mon-429-count").textContent).toBe("3");
    expect(root.querySelectorAll("[data-testid=lt-429]")).toHaveLength(2);
    expect(byTestId(root, "mon-chart-box").dataset.rows).toBe("3");
    rowEvent(model, row(200)); // the older rows fall out of the 60 s window
    expect(byTestId(root, "mon-429-count").textContent).toBe("0");
    model.update({ status: "stopped" });
    expect(byTestId(root, "mon-status").textContent).toMatch(/panel.start\(\) resumes/);
  });

  it("is registered as a view kind", () => {
    const el = document.createElement("div");
    render({ model: new FakeModel({ _kind: "monitor", ...STATE }), el });
    byTestId(el, "ptw-monitor");
    byTestId(el, "mon-chart-box");
  });
});
