// LoadTestPanel: a bounded concurrency sweep against one endpoint. The caps (computed in
// Python from the form) show before Start; while it runs, a live chart of delivered tokens/s
// against the endpoint's provisioned min/max (and the current rate when the workspace
// exports it), 429s as red ticks; per-level rows; a one-line recommendation at the end.
import { bindButton, bindErrors, bindNumber, bindText } from "./bind";
import { button, type ErrorBox, errorText, field, h, runBar } from "./dom";
import { endpointSelect } from "./endpoint_select";
import { formatNumber } from "./format";
import {
  type Bin,
  type Capacity,
  chartLegend,
  type LevelMark,
  type LevelRow,
  levelsTable,
  loadChart,
  mergeBins,
  parseLevels,
} from "./loadtest_chart";
import type { Ctx, Payload } from "./rpc";

export * from "./loadtest_chart";

export interface LoadTestState {
  endpoint: string;
  concurrency: number[];
  seconds_per_level: number;
  max_requests_per_level: number;
  max_tokens: number;
  prompt: string;
  caps: string; // the plan's caps, shown before Start
  plan_error: string;
  capacity: Capacity; // the endpoint's provisioned band
  status: string; // idle running stopping done stopped error
  recommendation: string;
  error: string;
}

type LoadTestCtx = Ctx<LoadTestState>;

/** A finished (or restored) run, as the kernel's "done" event and "result" request give it. */
interface RunResult {
  capacity: Capacity | null;
  plan?: { seconds?: number };
  bins?: Bin[];
  levels?: LevelRow[];
  recommendation?: string;
}

function numberInput(testid: string, max: number): HTMLInputElement {
  return h("input", { type: "number", min: 1, max, step: 1, class: "ptw-num", "data-testid": testid });
}

/** The form: levels, seconds and requests per level, max tokens, prompt (each bound to its trait). */
function formSection(ctx: LoadTestCtx, errors: ErrorBox): HTMLElement[] {
  const levels = h("input", {
    type: "text",
    "data-testid": "lt-concurrency",
    class: "ptw-levels",
    placeholder: "1, 2, 4, 8",
  });
  const seconds = numberInput("lt-seconds", 300);
  const requests = numberInput("lt-requests", 2000);
  const maxTokens = numberInput("lt-max-tokens", 4096);
  const prompt = h("textarea", {
    rows: 2,
    "data-testid": "lt-prompt",
    placeholder: "(a short default question)",
  });
  const onError = (m: string) => errors.set(m);
  bindNumber(ctx, seconds, "seconds_per_level", onError, { positive: true });
  bindNumber(ctx, requests, "max_requests_per_level", onError, { positive: true, integer: true });
  bindNumber(ctx, maxTokens, "max_tokens", onError, { positive: true, integer: true });
  bindText(ctx, prompt, "prompt");
  const showLevels = () => {
    if (document.activeElement !== levels) levels.value = (ctx.get("concurrency") || []).join(", ");
  };
  levels.addEventListener("change", () => {
    const parsed = parseLevels(levels.value);
    levels.setAttribute("aria-invalid", parsed.error ? "true" : "false");
    if (parsed.error) errors.set(parsed.error);
    else ctx.set({ concurrency: parsed.levels });
  });
  ctx.on("concurrency", showLevels);
  showLevels();
  return [
    h(
      "div",
      { class: "ptw-row ptw-row-wrap ptw-params" },
      field("Concurrency levels", levels),
      field("Seconds per level", seconds),
      field("Max requests per level", requests),
      field("Max tokens", maxTokens),
    ),
    field("Prompt", prompt),
  ];
}

/** The run as the page knows it: bins, level marks and rows, redrawn into the chart and table. */
function runView(ctx: LoadTestCtx) {
  const chartBox = h("div", { class: "ptw-lt-chart-box", "data-testid": "lt-chart-box" });
  const tableBox = h("div", { class: "ptw-scroll", "data-testid": "lt-table-box" });
  const recommendation = h("div", { class: "ptw-lt-recommendation", "data-testid": "lt-recommendation" });
  const run = {
    bins: [] as Bin[],
    marks: [] as LevelMark[],
    rows: [] as LevelRow[],
    capacity: null as Capacity | null,
    planned: 0,
    live: "",
    chartBox,
    tableBox,
    recommendation,
    draw() {
      chartBox.replaceChildren(
        loadChart(run.bins, run.capacity || ctx.get("capacity") || null, run.marks, run.planned),
      );
    },
    drawTable() {
      tableBox.replaceChildren(...(run.rows.length ? [levelsTable(run.rows)] : []));
    },
    reset(capacity: Capacity | null, seconds: number) {
      Object.assign(run, { bins: [], marks: [], rows: [], live: "", capacity, planned: seconds });
      recommendation.textContent = "";
    },
    show(result: RunResult | null) {
      if (!result) return;
      run.reset(result.capacity, result.plan?.seconds || 0);
      run.bins = mergeBins([], result.bins || []);
      run.rows = result.levels || [];
      run.marks = run.rows.map((r) => ({ at: r.start_s, concurrency: r.concurrency }));
      run.draw();
      run.drawTable();
      recommendation.textContent = result.recommendation || "";
    },
  };
  return run;
}

type RunView = ReturnType<typeof runView>;

/** Follow the run's events: start, each level, progress bins (live), done. */
function followRun(ctx: LoadTestCtx, run: RunView, renderStatus: () => void): void {
  ctx.onEvent((event: Payload) => {
    if (!event) return;
    if (event.type === "start") {
      run.reset(event.capacity, event.plan?.seconds || 0);
      run.drawTable();
      run.draw();
    } else if (event.type === "level_start") {
      run.marks.push({ at: event.at, concurrency: event.concurrency });
    } else if (event.type === "progress") {
      run.bins = mergeBins(run.bins, event.bins || []);
      run.live =
        `×${event.concurrency} · ${formatNumber(event.elapsed, 0)} s · ${event.ok} ok · ` +
        `${event.rate_limited} × 429`;
      renderStatus();
      run.draw();
    } else if (event.type === "level") {
      run.rows.push(event.row);
      run.drawTable();
    } else if (event.type === "done") {
      run.show(event.result);
    }
  });
}

const STATUS_TEXT: Record<string, string> = {
  stopping: "Stopping…",
  stopped: "Stopped: the table keeps the levels that finished.",
  done: "Done.",
};

/** Start / Stop and the status line; Start waits for a valid plan. */
function controls(ctx: LoadTestCtx, root: HTMLElement, run: RunView, errors: ErrorBox) {
  const bar = runBar(
    button("Start load test", "lt-start", "ptw-primary"),
    button("Stop", "lt-stop", "ptw-danger", true),
    "lt-status",
  );
  const { start, stop, status } = bar;
  const renderStatus = () => {
    const s = ctx.get("status") || "idle";
    const running = s === "running" || s === "stopping";
    root.dataset.status = s;
    start.disabled = running || !!ctx.get("plan_error");
    stop.hidden = !running;
    stop.disabled = s === "stopping";
    status.textContent = s === "running" ? `Running ${run.live}` : (STATUS_TEXT[s] ?? "");
    if (!run.recommendation.textContent && ctx.get("recommendation")) {
      run.recommendation.textContent = ctx.get("recommendation");
    }
  };
  bindButton(
    start,
    () => {
      errors.set("");
      run.live = "";
      return ctx.request("start");
    },
    (m) => errors.set(m),
    renderStatus,
  );
  stop.addEventListener("click", () => {
    ctx.request("stop").catch((e) => errors.set(errorText(e)));
  });
  return { el: bar.el, renderStatus };
}

export function renderLoadTest(ctx: LoadTestCtx, root: HTMLElement): void {
  const errors = bindErrors(ctx);
  const endpoint = endpointSelect(ctx, "lt-endpoint", (m) => errors.set(m));
  const capacityLine = h("span", { class: "ptw-muted", "data-testid": "lt-capacity" });
  const caps = h("div", { class: "ptw-note ptw-lt-caps", "data-testid": "lt-caps" });
  const run = runView(ctx);
  const buttons = controls(ctx, root, run, errors);
  root.append(
    h(
      "div",
      { class: "ptw-loadtest" },
      h("div", { class: "ptw-row ptw-row-end" }, field("Endpoint", endpoint.select), endpoint.list.reload),
      capacityLine,
      ...formSection(ctx, errors),
      caps,
      buttons.el,
      run.chartBox,
      chartLegend(),
      run.recommendation,
      run.tableBox,
      errors.el,
    ),
  );
  const renderCaps = () => {
    const problem = ctx.get("plan_error");
    caps.textContent = problem || ctx.get("caps") || "";
    caps.classList.toggle("ptw-lt-caps-bad", !!problem);
    caps.hidden = !caps.textContent;
    const cap = ctx.get("capacity") || {};
    capacityLine.textContent = cap.text ? `Provisioned: ${cap.text}` : "";
    buttons.renderStatus();
    run.draw();
  };
  followRun(ctx, run, buttons.renderStatus);
  ctx.on(["caps", "plan_error", "capacity"], renderCaps);
  ctx.on(["status", "recommendation"], buttons.renderStatus);
  ctx.on("recommendation", () => {
    run.recommendation.textContent = ctx.get("recommendation") || "";
  });
  renderCaps();
  endpoint.list.load();
  ctx
    .request<{ result: RunResult | null }>("result")
    .then((res) => {
      if (res.result && !run.rows.length) run.show(res.result);
    })
    .catch((e) => errors.set(errorText(e)));
}
