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

/** Rates over the rows of the last `seconds` (by the newest row's clock): what was delivered
 *  and asked, not one interval's noise. `null` when the export lacks the counter. */
export function recentRates(
  rows: MonitorRow[],
  seconds = 60,
): { tokens: number | null; requests: number | null } {
  const newest = rows.length ? rows[rows.length - 1].time : 0;
  const recent = rows.filter((r) => r.time > newest - seconds);
  const span = recent.reduce((sum, r) => sum + r.seconds, 0);
  const rate = (pick: (r: MonitorRow) => number | null) =>
    !span || recent.every((r) => pick(r) === null)
      ? null
      : recent.reduce((s, r) => s + (pick(r) ?? 0), 0) / span;
  return { tokens: rate((r) => r.tokens), requests: rate((r) => r.requests) };
}

function bandText(row: MonitorRow): string {
  if (row.max_tokens_per_s === null) return "";
  if (row.min_tokens_per_s === row.max_tokens_per_s)
    return ` (provisioned ${formatInt(row.max_tokens_per_s)})`;
  return ` (band ${formatInt(row.min_tokens_per_s)}–${formatInt(row.max_tokens_per_s)})`;
}

/** Delivered tokens/s and requests/s over the last minute, the current rate in its band, and
 *  the latency of the newest interval that had requests. */
export function readoutText(rows: MonitorRow[]): string {
  const last = rows[rows.length - 1];
  if (!last) return "Waiting for the second scrape…";
  const rates = recentRates(rows);
  const answered = [...rows].reverse().find((r) => (r.requests ?? 0) > 0);
  const ms = (v: number | null | undefined) => (v === null || v === undefined ? "–" : `${formatInt(v)} ms`);
  // an external model has no provisioned rate: say so rather than show a number
  const rate =
    last.provisioned_tokens_per_s === null
      ? "no provisioned rate"
      : `current rate ${formatInt(last.provisioned_tokens_per_s)}${bandText(last)}`;
  return (
    `${formatNumber(rates.tokens, 1)} tokens/s delivered (last minute) · ${rate} · ` +
    `${formatNumber(rates.requests)} requests/s · latency p50 ${ms(answered?.latency_p50_ms)}, ` +
    `p95 ${ms(answered?.latency_p95_ms)}`
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
