// The monitor's pure parts: the window of interval rows the kernel sends, the chart (the load
// test's, over the last minutes instead of from 0 s) and the one-line readout.
import { h } from "./dom";
import { formatInt, formatNumber } from "./format";
import { type Bin, type Capacity, loadChart } from "./loadtest_chart";

/** One interval between two scrapes of the metrics export (Python's `monitor.COLUMNS`). */
export interface MonitorRow {
  time: number; // epoch seconds at the end of the interval
  seconds: number;
  requests: number | null;
  ok: number | null;
  rate_limited: number | null;
  errors: number | null;
  tokens: number | null;
  requests_per_s: number | null;
  rate_limited_per_s: number | null;
  delivered_tokens_per_s: number | null;
  output_tokens_per_s: number | null;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  provisioned_tokens_per_s: number | null;
  min_tokens_per_s: number | null;
  max_tokens_per_s: number | null;
  in_flight: number | null;
}

/** Rows of the last `windowS` seconds (by the newest row's clock), oldest first, no repeats. */
export function keepWindow(rows: MonitorRow[], incoming: MonitorRow[], windowS: number): MonitorRow[] {
  const byTime = new Map<number, MonitorRow>();
  for (const row of [...rows, ...incoming]) byTime.set(row.time, row);
  const all = Array.from(byTime.values()).sort((a, b) => a.time - b.time);
  const newest = all.length ? all[all.length - 1].time : 0;
  return all.filter((r) => r.time >= newest - windowS);
}

/** Chart bins: each interval starts at a negative second (0 is the newest scrape). */
export function monitorBins(rows: MonitorRow[]): Bin[] {
  const newest = rows.length ? rows[rows.length - 1].time : 0;
  return rows.map((r) => [
    r.time - r.seconds - newest,
    r.delivered_tokens_per_s ?? 0,
    r.provisioned_tokens_per_s,
    r.rate_limited ?? 0,
  ]);
}

/** The provisioned band of the newest row, in the chart's terms. */
export function rowCapacity(rows: MonitorRow[]): Capacity | null {
  const last = rows[rows.length - 1];
  if (!last || last.max_tokens_per_s === null) return null;
  return { min_tokens_per_s: last.min_tokens_per_s, max_tokens_per_s: last.max_tokens_per_s };
}

/** How many requests were refused with 429 in the window. */
export function countLimited(rows: MonitorRow[]): number {
  return rows.reduce((sum, r) => sum + (r.rate_limited ?? 0), 0);
}

/** Delivered tokens/s, the current rate in its band, requests/s and latency of the newest row. */
export function readoutText(rows: MonitorRow[]): string {
  const last = rows[rows.length - 1];
  if (!last) return "Waiting for the second scrape…";
  const band =
    last.max_tokens_per_s === null
      ? ""
      : last.min_tokens_per_s === last.max_tokens_per_s
        ? ` (provisioned ${formatInt(last.max_tokens_per_s)})`
        : ` (band ${formatInt(last.min_tokens_per_s)}–${formatInt(last.max_tokens_per_s)})`;
  const ms = (v: number | null) => (v === null ? "–" : `${formatInt(v)} ms`);
  return (
    `${formatNumber(last.delivered_tokens_per_s, 1)} tokens/s delivered · current rate ` +
    `${formatInt(last.provisioned_tokens_per_s)}${band} · ${formatNumber(last.requests_per_s)} ` +
    `requests/s · latency p50 ${ms(last.latency_p50_ms)}, p95 ${ms(last.latency_p95_ms)}`
  );
}

/** The chart of the last `windowS` seconds: delivered tokens/s, the band, the rate, 429s. */
export function monitorChart(rows: MonitorRow[], windowS: number, intervalS: number): HTMLElement {
  const chart = loadChart(monitorBins(rows), rowCapacity(rows), [], 0, {
    x0: -windowS,
    x1: 0,
    binS: intervalS,
  });
  chart.setAttribute("aria-label", "Delivered tokens per second over the last minutes");
  return h("div", { class: "ptw-lt-chart-box", "data-testid": "mon-chart" }, chart);
}
