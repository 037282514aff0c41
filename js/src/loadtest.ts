// LoadTestPanel: a bounded concurrency sweep against one endpoint. The caps (computed in
// Python from the form) show before Start; while it runs, a live chart of delivered tokens/s
// against the endpoint's provisioned min/max (and the current rate when the workspace
// exports it), 429s as red ticks; per-level rows; a one-line recommendation at the end.
import { Ctx } from "./rpc";
import { ErrorBox, clear, errorText, field, h, setOptions, table } from "./dom";
import { formatInt, formatNumber, shortTask } from "./format";

const SVG = "http://www.w3.org/2000/svg";

/** [second, delivered tokens/s, provisioned rate (or null), 429s] */
export type Bin = [number, number, number | null, number];

export interface Capacity {
  scheme?: string | null;
  chunk_size?: number | null;
  min_tokens_per_s?: number | null;
  max_tokens_per_s?: number | null;
  model_units?: number | null;
  text?: string;
}

export interface LevelMark {
  at: number;
  concurrency: number;
}

export interface LevelRow {
  concurrency: number;
  start_s: number;
  seconds: number;
  requests: number;
  ok: number;
  rate_limited: number;
  errors: number;
  share_429: number;
  requests_per_s: number;
  delivered_tokens_per_s: number;
  output_tokens_per_s: number;
  latency_p50_s: number | null;
  latency_p95_s: number | null;
  ttft_p50_s: number | null;
  ttft_p95_s: number | null;
  demand_tokens_per_s: number | null;
  provisioned_tokens_per_s: number | null;
}

/** "1, 2, 4 8" -> [1, 2, 4, 8] (sorted, unique), or an error sentence. */
export function parseLevels(text: string, max = 64): { levels: number[]; error: string } {
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  if (!parts.length) return { levels: [], error: "Give at least one concurrency level, like 1, 2, 4, 8." };
  const values = parts.map(Number);
  if (values.some((v) => !Number.isInteger(v) || v < 1 || v > max)) {
    return { levels: [], error: `Concurrency levels are whole numbers from 1 to ${max}.` };
  }
  return { levels: Array.from(new Set(values)).sort((a, b) => a - b), error: "" };
}

/** Fold incoming bins into the series (a bin is revised while its requests finish). */
export function mergeBins(series: Bin[], incoming: Bin[]): Bin[] {
  const out = series.slice();
  for (const bin of incoming) out[bin[0]] = bin;
  for (let i = 0; i < out.length; i++) if (!out[i]) out[i] = [i, 0, null, 0];
  return out;
}

/** A round number at or above `x` (1, 2, 2.5, 5 × 10^k). */
export function niceCeil(x: number): number {
  if (!(x > 0)) return 10;
  const p = Math.pow(10, Math.floor(Math.log10(x)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/** Axis ranges: y covers delivered, the rate and the provisioned max with headroom. */
export function chartScales(bins: Bin[], capacity: Capacity | null, seconds: number):
    { xMax: number; yMax: number } {
  let top = 0;
  for (const b of bins) top = Math.max(top, b[1] || 0, b[2] || 0);
  top = Math.max(top, capacity?.max_tokens_per_s || 0, capacity?.min_tokens_per_s || 0);
  return { xMax: Math.max(seconds, bins.length, 1), yMax: niceCeil(top * 1.15) };
}

function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** The live chart: delivered tokens/s over time against the provisioned band. */
export function loadChart(bins: Bin[], capacity: Capacity | null, marks: LevelMark[],
                          seconds: number): SVGSVGElement {
  const W = 760, H = 230, L = 52, R = 64, T = 12, B = 30;
  const { xMax, yMax } = chartScales(bins, capacity, seconds);
  const x = (s: number) => L + (W - L - R) * s / xMax;
  const y = (v: number) => T + (H - T - B) * (1 - Math.min(v, yMax) / yMax);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "ptw-lt-chart",
                            role: "img", "data-testid": "lt-chart",
                            "aria-label": "Delivered tokens per second against the provisioned throughput" }) as SVGSVGElement;
  for (const v of [0, yMax / 2, yMax]) {
    root.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "ptw-lt-grid" }));
    root.append(svg("text", { x: L - 6, y: y(v) + 3, "text-anchor": "end", class: "ptw-axis-label" }, formatInt(v)));
  }
  const step = xMax <= 20 ? 5 : xMax <= 60 ? 10 : xMax <= 180 ? 30 : 60;
  for (let s = 0; s <= xMax; s += step) {
    root.append(svg("text", { x: x(s), y: H - B + 14, "text-anchor": "middle", class: "ptw-axis-label" }, `${s}s`));
  }
  root.append(svg("line", { x1: L, x2: W - R, y1: y(0), y2: y(0), class: "ptw-axis" }));
  root.append(svg("text", { x: 4, y: T + 2, class: "ptw-axis-label", transform: `rotate(90 4 ${T + 2})` }, "tokens/s"));
  for (const m of marks) {
    root.append(svg("line", { x1: x(m.at), x2: x(m.at), y1: T, y2: y(0), class: "ptw-lt-level" }));
    root.append(svg("text", { x: x(m.at) + 3, y: T + 9, class: "ptw-axis-label ptw-lt-level-label" }, `×${m.concurrency}`));
  }
  const lo = capacity?.min_tokens_per_s, hi = capacity?.max_tokens_per_s;
  if (hi) {
    const band = [["max", hi]] as [string, number][];
    if (lo !== null && lo !== undefined && lo !== hi) band.push(["min", lo]);
    for (const [name, v] of band) {
      root.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: `ptw-lt-${name}`,
                                "data-testid": `lt-${name}-line` }));
      root.append(svg("text", { x: W - R + 4, y: y(v) + 3, class: `ptw-lt-label ptw-lt-${name}-label` },
                      `${lo === hi ? "provisioned" : name} ${formatInt(v)}`));
    }
  }
  const rated = bins.filter((b) => b[2] !== null && b[2] !== undefined);
  if (rated.length) {
    const pts = rated.flatMap((b) => [`${x(b[0])},${y(b[2] as number)}`, `${x(b[0] + 1)},${y(b[2] as number)}`]);
    root.append(svg("polyline", { points: pts.join(" "), class: "ptw-lt-rate", "data-testid": "lt-rate-line" }));
  }
  const maxLimited = Math.max(1, ...bins.map((b) => b[3] || 0));
  for (const b of bins) {
    if (!b[3]) continue;
    const height = 4 + 16 * b[3] / maxLimited;
    const rect = svg("rect", { x: x(b[0]) + 1, y: y(0) - height, width: Math.max(2, x(1) - x(0) - 2), height,
                               class: "ptw-lt-429", "data-testid": "lt-429" });
    rect.append(svg("title", {}, `${b[3]} × 429 at ${b[0]} s`));
    root.append(rect);
  }
  if (bins.length) {
    const pts = bins.map((b) => `${x(b[0] + 0.5)},${y(b[1] || 0)}`);
    root.append(svg("polyline", { points: pts.join(" "), class: "ptw-lt-delivered", "data-testid": "lt-delivered" }));
  }
  return root;
}

const COLUMNS: [string, string][] = [
  ["concurrency", "concurrent"], ["ok", "ok"], ["share_429", "429 share"], ["requests_per_s", "requests/s"],
  ["delivered_tokens_per_s", "delivered tokens/s"], ["latency_p50_s", "latency p50"],
  ["latency_p95_s", "p95"], ["ttft_p50_s", "first token p50"], ["demand_tokens_per_s", "asked tokens/s"],
];

export function levelsTable(levels: LevelRow[]): HTMLTableElement {
  return table(COLUMNS, levels, {
    testid: "lt-table",
    format: (key, value) => {
      if (value === null || value === undefined) return "–";
      if (key === "share_429") return `${Math.round(value * 100)}%`;
      if (key.endsWith("_per_s")) return formatNumber(value, 1);
      if (key.endsWith("_s")) return `${formatNumber(value)} s`;
      return value;
    },
  });
}

export function renderLoadTest(ctx: Ctx, root: HTMLElement): void {
  const errors = new ErrorBox(() => ctx.set({ error: "" }));
  const endpoint = h("select", { "data-testid": "lt-endpoint", "aria-label": "Endpoint" });
  const refresh = h("button", { class: "ptw-icon-button", title: "Reload endpoints", text: "↻",
                                "aria-label": "Reload endpoints" });
  const capacityLine = h("span", { class: "ptw-muted", "data-testid": "lt-capacity" });
  const levels = h("input", { type: "text", "data-testid": "lt-concurrency", class: "ptw-levels",
                              placeholder: "1, 2, 4, 8" });
  const seconds = h("input", { type: "number", min: 1, max: 300, step: 1, class: "ptw-num",
                               "data-testid": "lt-seconds" });
  const requests = h("input", { type: "number", min: 1, max: 2000, step: 1, class: "ptw-num",
                                "data-testid": "lt-requests" });
  const maxTokens = h("input", { type: "number", min: 1, max: 4096, step: 1, class: "ptw-num",
                                 "data-testid": "lt-max-tokens" });
  const prompt = h("textarea", { rows: 2, "data-testid": "lt-prompt", placeholder: "(a short default question)" });
  const caps = h("div", { class: "ptw-note ptw-lt-caps", "data-testid": "lt-caps" });
  const startButton = h("button", { class: "ptw-button ptw-primary", "data-testid": "lt-start", text: "Start load test" });
  const stopButton = h("button", { class: "ptw-button ptw-danger", "data-testid": "lt-stop", text: "Stop", hidden: true });
  const status = h("span", { class: "ptw-muted", "data-testid": "lt-status" });
  const chartBox = h("div", { class: "ptw-lt-chart-box", "data-testid": "lt-chart-box" });
  const legend = h("div", { class: "ptw-lt-legend" },
    h("span", { class: "ptw-lt-key ptw-lt-key-delivered", text: "delivered tokens/s" }),
    h("span", { class: "ptw-lt-key ptw-lt-key-band", text: "provisioned min/max" }),
    h("span", { class: "ptw-lt-key ptw-lt-key-rate", text: "current provisioned rate" }),
    h("span", { class: "ptw-lt-key ptw-lt-key-429", text: "429 responses" }));
  const tableBox = h("div", { class: "ptw-scroll", "data-testid": "lt-table-box" });
  const recommendation = h("div", { class: "ptw-lt-recommendation", "data-testid": "lt-recommendation" });
  root.append(h("div", { class: "ptw-loadtest" },
    h("div", { class: "ptw-row ptw-row-end" }, field("Endpoint", endpoint), refresh),
    capacityLine,
    h("div", { class: "ptw-row ptw-row-wrap ptw-params" },
      field("Concurrency levels", levels), field("Seconds per level", seconds),
      field("Max requests per level", requests), field("Max tokens", maxTokens)),
    field("Prompt", prompt),
    caps,
    h("div", { class: "ptw-row" }, startButton, stopButton, status),
    chartBox, legend, recommendation, tableBox, errors.el));

  // ------------------------------------------------------------------ endpoints and form
  let endpoints: { name: string; task: string; ready: boolean }[] = [];
  async function loadEndpoints() {
    try {
      endpoints = (await ctx.request<{ items: typeof endpoints }>("endpoints")).items;
      renderEndpoints();
    } catch (e) {
      errors.set(errorText(e));
    }
  }
  function renderEndpoints() {
    const current = ctx.get<string>("endpoint");
    const options = endpoints.map((e) => ({
      value: e.name, label: `${e.name}${e.task ? ` (${shortTask(e.task)})` : ""}${e.ready ? "" : " – not ready"}`,
    }));
    if (current && !options.some((o) => o.value === current)) options.unshift({ value: current, label: current });
    setOptions(endpoint, options, current, options.length ? "Choose an endpoint…" : "No endpoints yet");
  }
  endpoint.addEventListener("change", () => ctx.set({ endpoint: endpoint.value }));
  refresh.addEventListener("click", () => loadEndpoints());

  function renderForm() {
    if (document.activeElement !== levels) levels.value = (ctx.get<number[]>("concurrency") || []).join(", ");
    if (document.activeElement !== seconds) seconds.value = String(ctx.get("seconds_per_level"));
    if (document.activeElement !== requests) requests.value = String(ctx.get("max_requests_per_level"));
    if (document.activeElement !== maxTokens) maxTokens.value = String(ctx.get("max_tokens"));
    if (document.activeElement !== prompt) prompt.value = ctx.get("prompt") || "";
  }
  levels.addEventListener("change", () => {
    const parsed = parseLevels(levels.value);
    levels.setAttribute("aria-invalid", parsed.error ? "true" : "false");
    if (parsed.error) { errors.set(parsed.error); return; }
    ctx.set({ concurrency: parsed.levels });
  });
  const numberTrait = (input: HTMLInputElement, trait: string, integer: boolean) => {
    input.addEventListener("change", () => {
      const value = Number(input.value);
      if (input.value.trim() === "" || !Number.isFinite(value) || value <= 0) {
        errors.set(`${trait.split("_").join(" ")} must be a positive number.`);
        renderForm();
        return;
      }
      ctx.set({ [trait]: integer ? Math.round(value) : value });
    });
  };
  numberTrait(seconds, "seconds_per_level", false);
  numberTrait(requests, "max_requests_per_level", true);
  numberTrait(maxTokens, "max_tokens", true);
  prompt.addEventListener("change", () => ctx.set({ prompt: prompt.value }));

  function renderCaps() {
    const problem = ctx.get<string>("plan_error");
    caps.textContent = problem || ctx.get<string>("caps") || "";
    caps.classList.toggle("ptw-lt-caps-bad", !!problem);
    caps.hidden = !caps.textContent;
    const cap = ctx.get<Capacity>("capacity") || {};
    capacityLine.textContent = cap.text ? `Provisioned: ${cap.text}` : "";
    renderStatus();
    draw();
  }

  // ------------------------------------------------------------------ the run
  let bins: Bin[] = [];
  let marks: LevelMark[] = [];
  let rows: LevelRow[] = [];
  let capacity: Capacity | null = null;
  let planned = 0;
  let live = "";

  function draw() {
    clear(chartBox);
    chartBox.append(loadChart(bins, capacity || ctx.get<Capacity>("capacity") || null, marks, planned));
  }

  function drawTable() {
    clear(tableBox);
    if (rows.length) tableBox.append(levelsTable(rows));
  }

  function showResult(result: any) {
    if (!result) return;
    capacity = result.capacity;
    planned = result.plan?.seconds || 0;
    bins = mergeBins([], result.bins || []);
    rows = result.levels || [];
    marks = rows.map((r) => ({ at: r.start_s, concurrency: r.concurrency }));
    draw();
    drawTable();
    recommendation.textContent = result.recommendation || "";
  }

  ctx.onEvent((event) => {
    if (!event) return;
    if (event.type === "start") {
      bins = []; marks = []; rows = []; live = "";
      capacity = event.capacity;
      planned = event.plan?.seconds || 0;
      recommendation.textContent = "";
      drawTable();
      draw();
    } else if (event.type === "level_start") {
      marks.push({ at: event.at, concurrency: event.concurrency });
    } else if (event.type === "progress") {
      bins = mergeBins(bins, event.bins || []);
      live = `×${event.concurrency} · ${formatNumber(event.elapsed, 0)} s · ${event.ok} ok · ${event.rate_limited} × 429`;
      renderStatus();
      draw();
    } else if (event.type === "level") {
      rows.push(event.row);
      drawTable();
    } else if (event.type === "done") {
      showResult(event.result);
    }
  });

  function renderStatus() {
    const s = ctx.get<string>("status") || "idle";
    const running = s === "running" || s === "stopping";
    root.dataset.status = s;
    startButton.disabled = running || !!ctx.get("plan_error");
    stopButton.hidden = !running;
    stopButton.disabled = s === "stopping";
    status.textContent = s === "running" ? `Running ${live}` : s === "stopping" ? "Stopping…" :
      s === "stopped" ? "Stopped: the table keeps the levels that finished." : s === "done" ? "Done." : "";
    if (!recommendation.textContent && ctx.get("recommendation")) recommendation.textContent = ctx.get("recommendation");
  }

  startButton.addEventListener("click", async () => {
    errors.set("");
    startButton.disabled = true;
    live = "";
    try {
      await ctx.request("start");
    } catch (e) {
      errors.set(errorText(e));
      renderStatus();
    }
  });
  stopButton.addEventListener("click", () => {
    ctx.request("stop").catch((e) => errors.set(errorText(e)));
  });

  ctx.on("endpoint", () => {
    if (!endpoints.some((e) => e.name === ctx.get("endpoint"))) loadEndpoints();
    else renderEndpoints();
  });
  ctx.on(["concurrency", "seconds_per_level", "max_requests_per_level", "max_tokens", "prompt"], renderForm);
  ctx.on(["caps", "plan_error", "capacity"], renderCaps);
  ctx.on(["status", "recommendation"], renderStatus);
  ctx.on("recommendation", () => { recommendation.textContent = ctx.get("recommendation") || ""; });
  ctx.on("error", () => errors.set(ctx.get("error")));
  setOptions(endpoint, [], "", "Loading endpoints…");
  renderForm();
  renderCaps();
  errors.set(ctx.get("error"));
  loadEndpoints();
  ctx.request<{ result: any }>("result").then((res) => {
    if (res.result && !rows.length) showResult(res.result);
  }).catch((e) => errors.set(errorText(e)));
}
