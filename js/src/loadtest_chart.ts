// The load test's pure parts: the concurrency levels, the per-second bins, and the live
// chart of delivered tokens/s against the provisioned band (SVG, no chart library).
import { h, svg, table } from "./dom";
import { formatInt, formatNumber } from "./format";

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
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/** Axis ranges: y covers delivered, the rate and the provisioned max with headroom. */
export function chartScales(
  bins: Bin[],
  capacity: Capacity | null,
  seconds: number,
): { xMax: number; yMax: number } {
  let top = 0;
  for (const b of bins) top = Math.max(top, b[1] || 0, b[2] || 0);
  top = Math.max(top, capacity?.max_tokens_per_s || 0, capacity?.min_tokens_per_s || 0);
  return { xMax: Math.max(seconds, bins.length, 1), yMax: niceCeil(top * 1.15) };
}

type Scale = {
  x: (s: number) => number;
  y: (v: number) => number;
  W: number;
  H: number;
  L: number;
  R: number;
  T: number;
  B: number;
  x0: number;
  xMax: number;
  yMax: number;
  binS: number;
};

/** Where the chart's time axis starts and ends, and how long one bin lasts (default: the
 *  load test's 0 s onwards in 1 s bins; the monitor shows its last minutes, negative). */
export interface ChartView {
  x0?: number;
  x1?: number;
  binS?: number;
}

/** Grid lines, axis labels and the level marks (×N where each concurrency level began). */
function axes(root: SVGElement, s: Scale, marks: LevelMark[]): void {
  const { x, y, W, H, L, R, T, B, x0, xMax, yMax } = s;
  for (const v of [0, yMax / 2, yMax]) {
    root.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "ptw-lt-grid" }));
    root.append(
      svg("text", { x: L - 6, y: y(v) + 3, "text-anchor": "end", class: "ptw-axis-label" }, formatInt(v)),
    );
  }
  const span = xMax - x0;
  const step = span <= 20 ? 5 : span <= 60 ? 10 : span <= 180 ? 30 : 60;
  for (let t = Math.ceil(x0 / step) * step; t <= xMax; t += step) {
    root.append(
      svg("text", { x: x(t), y: H - B + 14, "text-anchor": "middle", class: "ptw-axis-label" }, `${t}s`),
    );
  }
  root.append(svg("line", { x1: L, x2: W - R, y1: y(0), y2: y(0), class: "ptw-axis" }));
  root.append(
    svg("text", { x: 4, y: T + 2, class: "ptw-axis-label", transform: `rotate(90 4 ${T + 2})` }, "tokens/s"),
  );
  for (const m of marks) {
    root.append(svg("line", { x1: x(m.at), x2: x(m.at), y1: T, y2: y(0), class: "ptw-lt-level" }));
    root.append(
      svg(
        "text",
        { x: x(m.at) + 3, y: T + 9, class: "ptw-axis-label ptw-lt-level-label" },
        `×${m.concurrency}`,
      ),
    );
  }
}

/** The provisioned band: max (and min when it differs) as labelled lines. */
function band(root: SVGElement, s: Scale, capacity: Capacity | null): void {
  const lo = capacity?.min_tokens_per_s;
  const hi = capacity?.max_tokens_per_s;
  if (!hi) return;
  const lines = [["max", hi]] as [string, number][];
  if (lo !== null && lo !== undefined && lo !== hi) lines.push(["min", lo]);
  for (const [name, v] of lines) {
    root.append(
      svg("line", {
        x1: s.L,
        x2: s.W - s.R,
        y1: s.y(v),
        y2: s.y(v),
        class: `ptw-lt-${name}`,
        "data-testid": `lt-${name}-line`,
      }),
    );
    root.append(
      svg(
        "text",
        { x: s.W - s.R + 4, y: s.y(v) + 3, class: `ptw-lt-label ptw-lt-${name}-label` },
        `${lo === hi ? "provisioned" : name} ${formatInt(v)}`,
      ),
    );
  }
}

/** The series: the current provisioned rate (steps), 429s (red ticks), delivered tokens/s. */
function series(root: SVGElement, s: Scale, bins: Bin[]): void {
  const { x, y, binS } = s;
  const rated = bins.filter((b) => b[2] !== null && b[2] !== undefined);
  if (rated.length) {
    const pts = rated.flatMap((b) => [
      `${x(b[0])},${y(b[2] as number)}`,
      `${x(b[0] + binS)},${y(b[2] as number)}`,
    ]);
    root.append(
      svg("polyline", { points: pts.join(" "), class: "ptw-lt-rate", "data-testid": "lt-rate-line" }),
    );
  }
  const maxLimited = Math.max(1, ...bins.map((b) => b[3] || 0));
  for (const b of bins) {
    if (!b[3]) continue;
    const height = 4 + (16 * b[3]) / maxLimited;
    const rect = svg("rect", {
      x: x(b[0]) + 1,
      y: y(0) - height,
      width: Math.max(2, x(binS) - x(0) - 2),
      height,
      class: "ptw-lt-429",
      "data-testid": "lt-429",
    });
    rect.append(svg("title", {}, `${b[3]} × 429 at ${b[0]} s`));
    root.append(rect);
  }
  if (bins.length) {
    const pts = bins.map((b) => `${x(b[0] + binS / 2)},${y(b[1] || 0)}`);
    root.append(
      svg("polyline", { points: pts.join(" "), class: "ptw-lt-delivered", "data-testid": "lt-delivered" }),
    );
  }
}

/** The live chart: delivered tokens/s over time against the provisioned band. */
export function loadChart(
  bins: Bin[],
  capacity: Capacity | null,
  marks: LevelMark[],
  seconds: number,
  view: ChartView = {},
): SVGSVGElement {
  const [W, H, L, R, T, B] = [760, 230, 52, 104, 12, 30];
  const scales = chartScales(bins, capacity, seconds);
  const [x0, xMax, yMax] = [view.x0 ?? 0, view.x1 ?? scales.xMax, scales.yMax];
  const s: Scale = {
    W,
    H,
    L,
    R,
    T,
    B,
    x0,
    xMax,
    yMax,
    binS: view.binS ?? 1,
    x: (t) => L + ((W - L - R) * (t - x0)) / Math.max(xMax - x0, 1e-9),
    y: (v) => T + (H - T - B) * (1 - Math.min(v, yMax) / yMax),
  };
  const root = svg("svg", {
    viewBox: `0 0 ${W} ${H}`,
    width: W,
    height: H,
    class: "ptw-lt-chart",
    role: "img",
    "data-testid": "lt-chart",
    "aria-label": "Delivered tokens per second against the provisioned throughput",
  }) as SVGSVGElement;
  axes(root, s, marks);
  band(root, s, capacity);
  series(root, s, bins);
  return root;
}

const COLUMNS: [string, string][] = [
  ["concurrency", "concurrent"],
  ["ok", "ok"],
  ["share_429", "429 share"],
  ["requests_per_s", "requests/s"],
  ["delivered_tokens_per_s", "delivered tokens/s"],
  ["latency_p50_s", "latency p50"],
  ["latency_p95_s", "p95"],
  ["ttft_p50_s", "first token p50"],
  ["demand_tokens_per_s", "asked tokens/s"],
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

const LEGEND = [
  ["delivered", "delivered tokens/s"],
  ["band", "provisioned min/max"],
  ["rate", "current provisioned rate"],
  ["429", "429 responses"],
];

/** The key under the chart (the load test's and the monitor's). */
export function chartLegend(): HTMLElement {
  return h(
    "div",
    { class: "ptw-lt-legend" },
    LEGEND.map(([key, text]) => h("span", { class: `ptw-lt-key ptw-lt-key-${key}`, text })),
  );
}
