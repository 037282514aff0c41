// ThroughputSlider: a two-thumb range in whole chunks. The browser snaps (step = 1 chunk)
// and computes the live label; values are saved to the kernel when a thumb is released.
import { bindErrors, bindNumber } from "./bind";
import { field, h } from "./dom";
import { clampRange, estimate, formatInt, type Range, UNITS } from "./format";
import type { Ctx } from "./rpc";

export interface SliderState {
  model: string;
  version: string;
  state: string; // "", "loading", "ready", "disabled"
  scheme: string;
  chunk_size: number;
  max_chunks: number;
  min_value: number;
  max_value: number;
  scale_to_zero: boolean;
  dbus_per_chunk: number | null;
  price_per_dbu: number | null;
  disabled_reason: string;
  error: string;
  illustrative_cost: boolean; // the local workspace: DBU/h and cost are not billed
}

type SliderCtx = Ctx<SliderState>;

function rangeInput(which: "min" | "max") {
  return h("input", {
    type: "range",
    class: `ptw-thumb ptw-thumb-${which}`,
    step: 1,
    min: 0,
    "data-testid": `slider-${which}`,
    "aria-label": `${which === "min" ? "Minimum" : "Maximum"} throughput`,
  });
}

/** The slider's elements (no behaviour). */
function sliderView() {
  const lo = rangeInput("min");
  const hi = rangeInput("max");
  const fill = h("div", { class: "ptw-fill" });
  const zero = h("input", { type: "checkbox", "data-testid": "scale-to-zero" });
  const price = h("input", {
    type: "number",
    min: 0,
    step: 0.01,
    placeholder: "e.g. 0.07",
    class: "ptw-price",
    "data-testid": "price",
  });
  return {
    lo,
    hi,
    fill,
    zero,
    price,
    note: h("div", { class: "ptw-note", "data-testid": "slider-disabled" }),
    ticks: h("div", { class: "ptw-ticks", "aria-hidden": "true" }),
    range: h("div", { class: "ptw-range" }, h("div", { class: "ptw-track" }, fill), lo, hi),
    readout: h("div", { class: "ptw-readout", "data-testid": "slider-readout", "aria-live": "polite" }),
    chunksLine: h("div", { class: "ptw-muted", "data-testid": "slider-chunks" }),
    estimateLine: h("div", { class: "ptw-estimate", "data-testid": "slider-estimate" }),
    illustrative: h("div", {
      class: "ptw-muted ptw-illustrative",
      "data-testid": "slider-illustrative",
      hidden: true,
      text:
        "Illustrative figures: the local workspace bills nothing. On Databricks, " +
        "DBU/h comes from the model's optimization info.",
    }),
    zeroLabel: h(
      "label",
      { class: "ptw-check" },
      zero,
      h("span", { text: "Scale to zero when idle (cold starts)" }),
    ),
    limit: 20,
  };
}

type SliderView = ReturnType<typeof sliderView>;

/** The estimate line: capacity, DBU/h and cost (marked illustrative on the local workspace). */
export function estimateText(ctx: SliderCtx, r: Range): string {
  const c = ctx.get("chunk_size") || 0;
  const units = ctx.get("scheme") === UNITS;
  const est = estimate(
    ctx.get("scheme"),
    c,
    r.minChunks,
    r.maxChunks,
    ctx.get("dbus_per_chunk") ?? null,
    ctx.get("price_per_dbu") ?? null,
  );
  const illustrative = ctx.get("illustrative_cost") && est.dbus ? " (illustrative)" : "";
  return [
    units ? `Fixed capacity: ${est.capacity}` : `Capacity up to ${formatInt(r.maxChunks * c)} tokens/s`,
    est.dbus + illustrative,
    est.cost ? est.cost + illustrative : est.dbus ? "set a $ per DBU price for a cost" : "",
  ]
    .filter(Boolean)
    .join(" · ");
}

/** Paint a (valid) range: the fill, the readout, the chunk and estimate lines. */
function paint(ctx: SliderCtx, v: SliderView, r: Range): void {
  const c = ctx.get("chunk_size") || 0;
  const units = ctx.get("scheme") === UNITS;
  const left = units ? 0 : (r.minChunks / v.limit) * 100;
  const right = (r.maxChunks / v.limit) * 100;
  v.fill.style.left = `${left}%`;
  v.fill.style.width = `${Math.max(0, right - left)}%`;
  const est = estimate(ctx.get("scheme"), c, r.minChunks, r.maxChunks, null, null);
  v.readout.textContent = est.capacity;
  v.readout.dataset.min = String(units ? 0 : r.minChunks * c);
  v.readout.dataset.max = String(r.maxChunks * c);
  v.chunksLine.textContent = est.chunks;
  v.estimateLine.textContent = estimateText(ctx, r);
  v.hi.setAttribute("aria-valuetext", `${formatInt(r.maxChunks * c)} ${units ? "model units" : "tokens/s"}`);
  v.lo.setAttribute("aria-valuetext", `${formatInt(r.minChunks * c)} tokens/s`);
}

/** The thumbs as a valid range (clamped, written back): pure browser work, no round trip. */
function current(ctx: SliderCtx, v: SliderView, moved: "min" | "max"): Range {
  const r = clampRange(
    Number(v.lo.value),
    Number(v.hi.value),
    v.limit,
    ctx.get("scheme"),
    v.zero.checked,
    moved,
  );
  v.lo.value = String(r.minChunks);
  v.hi.value = String(r.maxChunks);
  return r;
}

function commit(ctx: SliderCtx, r: Range): void {
  const c = ctx.get("chunk_size") || 0;
  const values: Partial<SliderState> = { max_value: r.maxChunks * c };
  if (ctx.get("scheme") !== UNITS) values.min_value = r.minChunks * c;
  if (values.max_value !== ctx.get("max_value") || values.min_value !== ctx.get("min_value")) {
    ctx.set(values);
  }
}

function renderTicks(ctx: SliderCtx, v: SliderView): void {
  v.ticks.replaceChildren();
  const c = ctx.get("chunk_size") || 0;
  const steps = v.limit <= 10 ? 1 : v.limit <= 20 ? 5 : 10;
  for (let k = 0; k <= v.limit; k += steps) {
    const t = h("span", { class: "ptw-tick", text: formatInt(k * c) });
    t.style.left = `${(k / v.limit) * 100}%`;
    v.ticks.append(t);
  }
}

/** Until there is something to size, only the reason shows. */
function showDisabled(ctx: SliderCtx, v: SliderView, body: HTMLElement, ready: boolean): void {
  const state = ctx.get("state");
  v.note.textContent = ready
    ? ""
    : state === "loading"
      ? "Looking up the model's provisioned throughput…"
      : ctx.get("disabled_reason") || "Pick an eligible model version first.";
  v.note.hidden = ready;
  v.note.classList.toggle("ptw-note-loading", state === "loading");
  body.hidden = !ready;
  for (const el of [v.lo, v.hi, v.zero, v.price]) el.disabled = !ready;
  if (ready) return;
  v.readout.textContent = "";
  v.chunksLine.textContent = "";
  v.estimateLine.textContent = "";
  v.fill.style.width = "0";
}

/** Bring the thumbs, the checkbox and the labels in line with the traits. */
function sync(ctx: SliderCtx, v: SliderView, root: HTMLElement, body: HTMLElement): void {
  const c = ctx.get("chunk_size") || 0;
  const ready = ctx.get("state") === "ready" && c > 0;
  root.dataset.state = ctx.get("state") || "none";
  root.dataset.scheme = ctx.get("scheme") || "";
  v.illustrative.hidden = !ctx.get("illustrative_cost");
  showDisabled(ctx, v, body, ready);
  if (!ready) return;
  const units = ctx.get("scheme") === UNITS;
  const maxChunks = Math.round((ctx.get("max_value") || c) / c);
  const minChunks = Math.round((ctx.get("min_value") || 0) / c);
  v.limit = Math.max(ctx.get("max_chunks") || 20, maxChunks, minChunks, 1);
  for (const el of [v.lo, v.hi]) el.max = String(v.limit);
  v.lo.hidden = units;
  v.zero.checked = !units && !!ctx.get("scale_to_zero");
  v.zero.disabled = units;
  v.zeroLabel.title = units ? "Model-unit endpoints have fixed capacity: no scale-to-zero." : "";
  v.lo.disabled = v.zero.checked;
  v.lo.value = String(minChunks);
  v.hi.value = String(maxChunks);
  renderTicks(ctx, v);
  paint(ctx, v, current(ctx, v, "max"));
}

function wire(ctx: SliderCtx, v: SliderView, errors: { set(m: string): void }): void {
  for (const [input, which] of [
    [v.lo, "min"],
    [v.hi, "max"],
  ] as const) {
    input.addEventListener("input", () => paint(ctx, v, current(ctx, v, which)));
    input.addEventListener("change", () => commit(ctx, current(ctx, v, which)));
  }
  v.zero.addEventListener("change", () => {
    const c = ctx.get("chunk_size") || 0;
    v.lo.disabled = v.zero.checked;
    const r = current(ctx, v, "max");
    if (!v.zero.checked && r.minChunks < 1) r.minChunks = 1;
    ctx.set({ scale_to_zero: v.zero.checked, min_value: r.minChunks * c, max_value: r.maxChunks * c });
  });
  bindNumber(ctx, v.price, "price_per_dbu", (m) => errors.set(m), {
    optional: true,
    nonNegative: true,
    label: "The price per DBU",
  });
}

export function renderSlider(ctx: SliderCtx, root: HTMLElement): void {
  const errors = bindErrors(ctx);
  const v = sliderView();
  const body = h(
    "div",
    { class: "ptw-slider-body" },
    v.range,
    v.ticks,
    v.readout,
    v.chunksLine,
    h("div", { class: "ptw-row ptw-row-wrap" }, v.zeroLabel, field("$ per DBU", v.price)),
    v.estimateLine,
    v.illustrative,
  );
  root.append(h("div", { class: "ptw-slider" }, v.note, body, errors.el));
  wire(ctx, v, errors);
  ctx.on(
    [
      "state",
      "scheme",
      "chunk_size",
      "min_value",
      "max_value",
      "max_chunks",
      "scale_to_zero",
      "dbus_per_chunk",
      "price_per_dbu",
      "disabled_reason",
      "illustrative_cost",
    ],
    () => sync(ctx, v, root, body),
  );
  sync(ctx, v, root, body);
}
