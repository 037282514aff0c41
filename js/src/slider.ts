// ThroughputSlider: a two-thumb range in whole chunks. The browser snaps (step = 1 chunk)
// and computes the live label; values are saved to the kernel when a thumb is released.
import { Ctx } from "./rpc";
import { ErrorBox, field, h } from "./dom";
import { UNITS, clampRange, estimate, formatInt } from "./format";

export function renderSlider(ctx: Ctx, root: HTMLElement): void {
  const errors = new ErrorBox(() => ctx.set({ error: "" }));
  const note = h("div", { class: "ptw-note", "data-testid": "slider-disabled" });
  const lo = h("input", { type: "range", class: "ptw-thumb ptw-thumb-min", step: 1, min: 0,
                          "data-testid": "slider-min", "aria-label": "Minimum throughput" });
  const hi = h("input", { type: "range", class: "ptw-thumb ptw-thumb-max", step: 1, min: 0,
                          "data-testid": "slider-max", "aria-label": "Maximum throughput" });
  const fill = h("div", { class: "ptw-fill" });
  const ticks = h("div", { class: "ptw-ticks", "aria-hidden": "true" });
  const range = h("div", { class: "ptw-range" }, h("div", { class: "ptw-track" }, fill), lo, hi);
  const readout = h("div", { class: "ptw-readout", "data-testid": "slider-readout",
                             "aria-live": "polite" });
  const chunksLine = h("div", { class: "ptw-muted", "data-testid": "slider-chunks" });
  const estimateLine = h("div", { class: "ptw-estimate", "data-testid": "slider-estimate" });
  const zero = h("input", { type: "checkbox", "data-testid": "scale-to-zero" });
  const zeroLabel = h("label", { class: "ptw-check" }, zero,
                      h("span", { text: "Scale to zero when idle (cold starts)" }));
  const price = h("input", { type: "number", min: 0, step: 0.01, placeholder: "e.g. 0.07",
                             class: "ptw-price", "data-testid": "price" });
  const body = h("div", { class: "ptw-slider-body" },
    range, ticks, readout, chunksLine,
    h("div", { class: "ptw-row ptw-row-wrap" }, zeroLabel, field("$ per DBU", price)),
    estimateLine);

  root.append(h("div", { class: "ptw-slider" }, note, body, errors.el));

  let limit = 20;

  function chunk(): number {
    return ctx.get<number>("chunk_size") || 0;
  }

  function scheme(): string {
    return ctx.get<string>("scheme");
  }

  /** Current thumbs as a valid range (clamped) -- pure browser work, no round trip. */
  function current(moved: "min" | "max"): { minChunks: number; maxChunks: number } {
    const r = clampRange(Number(lo.value), Number(hi.value), limit, scheme(), zero.checked, moved);
    lo.value = String(r.minChunks);
    hi.value = String(r.maxChunks);
    return r;
  }

  function paint(r: { minChunks: number; maxChunks: number }) {
    const c = chunk();
    const units = scheme() === UNITS;
    const left = units ? 0 : (r.minChunks / limit) * 100;
    const right = (r.maxChunks / limit) * 100;
    fill.style.left = `${left}%`;
    fill.style.width = `${Math.max(0, right - left)}%`;
    const p = ctx.get<number | null>("price_per_dbu");
    const est = estimate(scheme(), c, r.minChunks, r.maxChunks, ctx.get("dbus_per_chunk"),
                         p === null || p === undefined ? null : p);
    readout.textContent = units ? est.capacity : `${est.capacity}`;
    readout.dataset.min = String(units ? 0 : r.minChunks * c);
    readout.dataset.max = String(r.maxChunks * c);
    chunksLine.textContent = est.chunks;
    estimateLine.textContent = [
      units ? `Fixed capacity: ${est.capacity}` : `Capacity up to ${formatInt(r.maxChunks * c)} tokens/s`,
      est.dbus, est.cost || (est.dbus ? "set a $ per DBU price for a cost" : ""),
    ].filter(Boolean).join(" · ");
    hi.setAttribute("aria-valuetext", `${formatInt(r.maxChunks * c)} ${units ? "model units" : "tokens/s"}`);
    lo.setAttribute("aria-valuetext", `${formatInt(r.minChunks * c)} tokens/s`);
  }

  function commit(r: { minChunks: number; maxChunks: number }) {
    const c = chunk();
    const values: Record<string, any> = { max_value: r.maxChunks * c };
    if (scheme() !== UNITS) values.min_value = r.minChunks * c;
    if (values.max_value !== ctx.get("max_value") || values.min_value !== ctx.get("min_value")) {
      ctx.set(values);
    }
  }

  function renderTicks() {
    ticks.replaceChildren();
    const c = chunk();
    const steps = limit <= 10 ? 1 : limit <= 20 ? 5 : 10;
    for (let k = 0; k <= limit; k += steps) {
      const t = h("span", { class: "ptw-tick", text: formatInt(k * c) });
      t.style.left = `${(k / limit) * 100}%`;
      ticks.append(t);
    }
  }

  function sync() {
    const state = ctx.get<string>("state");
    const c = chunk();
    const ready = state === "ready" && c > 0;
    root.dataset.state = state || "none";
    root.dataset.scheme = scheme() || "";
    note.textContent = ready ? "" : state === "loading"
      ? "Looking up the model's provisioned throughput…"
      : (ctx.get<string>("disabled_reason") || "Pick an eligible model version first.");
    note.hidden = ready;
    note.classList.toggle("ptw-note-loading", state === "loading");
    body.hidden = !ready; // only the reason shows until there is something to size
    for (const el of [lo, hi, zero, price]) el.disabled = !ready;
    if (!ready) {
      readout.textContent = "";
      chunksLine.textContent = "";
      estimateLine.textContent = "";
      fill.style.width = "0";
      return;
    }
    const units = scheme() === UNITS;
    const maxChunks = Math.round((ctx.get<number>("max_value") || c) / c);
    const minChunks = Math.round((ctx.get<number>("min_value") || 0) / c);
    limit = Math.max(ctx.get<number>("max_chunks") || 20, maxChunks, minChunks, 1);
    for (const el of [lo, hi]) el.max = String(limit);
    lo.hidden = units;
    zero.checked = !units && !!ctx.get("scale_to_zero");
    zero.disabled = units;
    zeroLabel.title = units ? "Model-unit endpoints have fixed capacity: no scale-to-zero." : "";
    lo.disabled = zero.checked;
    lo.value = String(minChunks);
    hi.value = String(maxChunks);
    const p = ctx.get<number | null>("price_per_dbu");
    if (document.activeElement !== price) price.value = p === null || p === undefined ? "" : String(p);
    renderTicks();
    paint(current("max"));
  }

  for (const [input, which] of [[lo, "min"], [hi, "max"]] as const) {
    input.addEventListener("input", () => paint(current(which)));
    input.addEventListener("change", () => commit(current(which)));
  }
  zero.addEventListener("change", () => {
    const c = chunk();
    lo.disabled = zero.checked;
    const r = current("max");
    if (!zero.checked && r.minChunks < 1) r.minChunks = 1;
    ctx.set({ scale_to_zero: zero.checked, min_value: r.minChunks * c, max_value: r.maxChunks * c });
  });
  price.addEventListener("change", () => {
    const value = price.value.trim() === "" ? null : Number(price.value);
    ctx.set({ price_per_dbu: value !== null && Number.isFinite(value) && value >= 0 ? value : null });
  });

  ctx.on(["state", "scheme", "chunk_size", "min_value", "max_value", "max_chunks", "scale_to_zero",
          "dbus_per_chunk", "price_per_dbu", "disabled_reason"], sync);
  ctx.on("error", () => errors.set(ctx.get("error")));
  errors.set(ctx.get("error"));
  sync();
}
