// Pure functions (unit-tested): snapping, estimates, names and number formatting.

export const TOKENS = "tokens_per_second";
export const UNITS = "model_units";

export interface Range {
  minChunks: number;
  maxChunks: number;
}

/** Clamp a (min, max) pair of chunk counts to the rules of the scheme. */
export function clampRange(
  minChunks: number,
  maxChunks: number,
  limit: number,
  scheme: string,
  scaleToZero: boolean,
  moved: "min" | "max" = "max",
): Range {
  let hi = Math.max(1, Math.min(limit, Math.round(maxChunks)));
  if (scheme === UNITS) return { minChunks: 0, maxChunks: hi };
  let lo = scaleToZero ? 0 : Math.max(1, Math.min(limit, Math.round(minChunks)));
  if (lo > hi) {
    if (moved === "min") hi = lo;
    else lo = scaleToZero ? 0 : hi;
  }
  return { minChunks: lo, maxChunks: hi };
}

/** Snap a raw value (tokens/s or units) to the nearest chunk multiple. */
export function snap(value: number, chunk: number): number {
  if (!(chunk > 0)) return 0;
  return Math.round(value / chunk) * chunk;
}

export function formatInt(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "–";
  return Math.round(n).toLocaleString("en-US");
}

export function formatNumber(n: number | null | undefined, digits = 2): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "–";
  const fixed = n.toFixed(digits);
  return fixed.includes(".") ? fixed.replace(/0+$/, "").replace(/\.$/, "") : fixed;
}

function span(lo: string, hi: string): string {
  return lo === hi ? hi : `${lo}–${hi}`;
}

export interface Estimate {
  capacity: string; // "120–240 tokens/s" or "100 model units"
  chunks: string; // "2–4 chunks of 60 tokens/s"
  dbus: string; // "48–96 DBU/h" ("" when unknown)
  cost: string; // "$3.36–6.72 per hour" ("" without a price)
}

/** Live capacity and cost of a choice, computed in the browser (no round trip). */
export function estimate(
  scheme: string,
  chunk: number,
  minChunks: number,
  maxChunks: number,
  dbusPerChunk: number | null,
  pricePerDbu: number | null,
): Estimate {
  const plural = (n: number) => (n === 1 ? "chunk" : "chunks");
  let capacity: string;
  let chunks: string;
  let loDbu: number | null = null;
  let hiDbu: number | null = null;
  if (scheme === UNITS) {
    capacity = `${formatInt(maxChunks * chunk)} model units`;
    chunks = `${maxChunks} ${plural(maxChunks)} of ${formatInt(chunk)} units`;
    if (dbusPerChunk !== null) loDbu = hiDbu = maxChunks * dbusPerChunk;
  } else {
    capacity = `${span(formatInt(minChunks * chunk), formatInt(maxChunks * chunk))} tokens/s`;
    chunks =
      `${span(String(minChunks), String(maxChunks))} ${plural(maxChunks)} of ` +
      `${formatInt(chunk)} tokens/s`;
    if (dbusPerChunk !== null) {
      loDbu = minChunks * dbusPerChunk;
      hiDbu = maxChunks * dbusPerChunk;
    }
  }
  const dbus = hiDbu === null ? "" : `${span(formatNumber(loDbu), formatNumber(hiDbu))} DBU/h`;
  const cost =
    hiDbu === null || pricePerDbu === null || !(pricePerDbu >= 0)
      ? ""
      : `$${span(formatNumber((loDbu ?? 0) * pricePerDbu), formatNumber(hiDbu * pricePerDbu))} per hour`;
  return { capacity, chunks, dbus, cost };
}

export const ENDPOINT_NAME = /^[A-Za-z0-9_-]{1,63}$/;

/** "" when Databricks accepts the endpoint name, else one sentence saying why not. */
export function endpointNameProblem(name: string): string {
  if (!name) return "Give the endpoint a name.";
  if (name.length > 63) return `Use at most 63 characters (this one has ${name.length}).`;
  if (!ENDPOINT_NAME.test(name)) {
    const bad = Array.from(new Set(name.replace(/[A-Za-z0-9_-]/g, "")))
      .map((c) => (c === " " ? "spaces" : `'${c}'`))
      .join(", ");
    return `Use only letters, digits, '-' and '_' (not ${bad}).`;
  }
  return "";
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, "0")}`;
}

/** "chat" from "llm/v1/chat". */
export function shortTask(task: string | null | undefined): string {
  if (!task) return "";
  return task.replace(/^llm\/v1\//, "");
}

/** Visible form of a token (spaces and newlines shown). */
export function showToken(token: string): string {
  return token.replace(/\n/g, "⏎").replace(/\t/g, "⇥").replace(/ /g, "·");
}

/** Bar heights (0..1) for a per-token chart: probability = exp(logprob). */
export function probabilities(logprobs: (number | null)[]): number[] {
  return logprobs.map((lp) => (lp === null || !Number.isFinite(lp) ? 0 : Math.exp(Math.min(0, lp))));
}

/** Background for a cosine similarity cell: stronger colour for higher similarity. */
export function similarityAlpha(value: number): number {
  if (!Number.isFinite(value)) return 0;
  return Math.max(0, Math.min(1, value)) * 0.65;
}

/** Split a textarea into texts to embed: one per non-empty line. */
export function splitTexts(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}

export function splitStops(text: string): string[] {
  return text
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}
