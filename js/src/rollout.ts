// The deploy panel's rollout section: the served entities of the ready endpoint with their live
// state, an add form (a version of the same model, or another model, with its own
// chunk-multiple sizing), the traffic split between the oldest entity and a chosen candidate
// (a slider, ±10 % steps, promote, roll back) and remove. Every change is one request the
// kernel answers at once; the `status`/`action` traits say what runs until the endpoint is
// READY again, and every control waits while it does.
import { bindButton, bindErrors, bindText, parseNumber } from "./bind";
import { sizingLabel } from "./deploy";
import { button, field, h, setOptions } from "./dom";
import { clampRange, formatInt, UNITS } from "./format";
import type { Ctx } from "./rpc";

export interface RolloutEntity {
  name: string;
  model: string;
  version: string;
  min: number | null;
  max: number | null;
  units: number | null;
  scale_to_zero: boolean;
  state: string; // the entity's deployment state, e.g. DEPLOYMENT_READY
  message: string;
  traffic: number | null; // null: only in the pending config (being added)
  pending: boolean;
}

export interface RolloutState {
  endpoint: string;
  entities: RolloutEntity[];
  config_update: string;
  status: string; // idle loading ready busy error
  action: string;
  message: string;
  candidate: string;
  add_model: string;
  add_version: string;
  error: string;
}

type RolloutCtx = Ctx<RolloutState>;
type OnError = (message: string) => void;
/** A traffic split: served entity -> whole percentage, in config order (oldest first). */
export type Split = Record<string, number>;

export const STEP = 10;

/** The live split (entities of the pending config only have no share yet). */
export function liveSplit(entities: RolloutEntity[]): Split {
  const split: Split = {};
  for (const e of entities ?? []) if (!e.pending) split[e.name] = e.traffic ?? 0;
  return split;
}

/**
 * The split with `candidate` at `pct` %, taken from (or given back to) the oldest entity; any
 * other entity keeps its share, so the pair moves within what the two hold together.
 */
export function splitWith(split: Split, candidate: string, pct: number): Split {
  const oldest = Object.keys(split)[0];
  if (!oldest || !(candidate in split) || candidate === oldest) return { ...split };
  const pair = split[oldest] + split[candidate];
  const share = Math.max(0, Math.min(pair, Math.round(pct)));
  return { ...split, [oldest]: pair - share, [candidate]: share };
}

/** One step of `delta` % toward (positive) or away from the candidate. */
export function stepSplit(split: Split, candidate: string, delta: number): Split {
  return splitWith(split, candidate, (split[candidate] ?? 0) + delta);
}

/** What the oldest and the candidate hold together: the slider's range. */
export function pairTotal(split: Split, candidate: string): number {
  const oldest = Object.keys(split)[0];
  return oldest && candidate in split && candidate !== oldest ? split[oldest] + split[candidate] : 0;
}

export function sameSplit(a: Split, b: Split): boolean {
  const names = Object.keys(a);
  return names.length === Object.keys(b).length && names.every((n) => a[n] === b[n]);
}

/** "chat-1 90 % · chat-2 10 %". */
export function describeSplit(split: Split): string {
  return Object.entries(split)
    .map(([name, pct]) => `${name} ${pct} %`)
    .join(" · ");
}

/** An entity's sizing as the deploy panel words it ("60–120 tokens/s", "50 model units"). */
export function entitySizing(e: RolloutEntity): string {
  if (e.units) return sizingLabel({ scheme: UNITS, provisioned_model_units: e.units });
  return sizingLabel({
    scheme: "tokens_per_second",
    min_provisioned_throughput: e.min ?? 0,
    max_provisioned_throughput: e.max ?? 0,
    scale_to_zero_enabled: e.scale_to_zero,
  });
}

/** The add form's sizing in whole chunks, as the kernel's `add` request takes it. */
export function addSizing(
  scheme: string,
  chunk: number,
  minChunks: number,
  maxChunks: number,
  limit: number,
): Record<string, number | boolean> {
  const r = clampRange(minChunks, maxChunks, limit, scheme, minChunks === 0, "max");
  if (scheme === UNITS) return { model_units: r.maxChunks * chunk };
  return {
    min_throughput: r.minChunks * chunk,
    max_throughput: r.maxChunks * chunk,
    scale_to_zero: r.minChunks === 0,
  };
}

function entityRow(e: RolloutEntity, canRemove: boolean, remove: (name: string) => void): HTMLElement {
  const state = e.pending ? `${e.state || "PENDING"} (being added)` : e.state || "unknown";
  return h(
    "tr",
    { "data-testid": "rollout-entity", dataset: { name: e.name, state: e.state } },
    h("td", {}, h("code", { text: e.name })),
    h("td", { title: e.model, text: `${e.model.split(".").pop()} v${e.version}` }),
    h("td", { text: entitySizing(e) }),
    h("td", { class: "ptw-muted", title: e.message, text: state }),
    h("td", { "data-testid": "rollout-traffic", text: e.traffic === null ? "–" : `${e.traffic} %` }),
    h(
      "td",
      {},
      canRemove && !e.pending
        ? h("button", {
            class: "ptw-button ptw-danger-outline",
            "data-testid": "rollout-remove",
            text: "Remove",
            onclick: () => remove(e.name),
          })
        : null,
    ),
  );
}

/** The entities table (live state per entity); remove asks the kernel. */
function entitiesTable(ctx: RolloutCtx, onError: OnError) {
  const body = h("tbody", {});
  const el = h(
    "table",
    { class: "ptw-table", "data-testid": "rollout-entities" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Entity", "Model", "Throughput", "State", "Traffic", ""].map((c) => h("th", { text: c })),
      ),
    ),
    body,
  );
  const remove = (entity: string) =>
    ctx.request("remove", { entity }).catch((e) => onError(String(e?.message ?? e)));
  const paint = () => {
    const entities = ctx.get("entities") ?? [];
    const removable = ctx.get("status") === "ready" && entities.filter((e) => !e.pending).length > 1;
    body.replaceChildren(...entities.map((e) => entityRow(e, removable, remove)));
    el.dataset.split = describeSplit(liveSplit(entities));
  };
  return { el, paint };
}

function splitView() {
  return {
    candidate: h("select", { "data-testid": "rollout-candidate", "aria-label": "Candidate entity" }),
    slider: h("input", { type: "range", min: 0, max: 100, step: 1, "data-testid": "rollout-split" }),
    readout: h("div", {
      class: "ptw-readout",
      "data-testid": "rollout-split-readout",
      "aria-live": "polite",
    }),
    down: button(`−${STEP} %`, "rollout-step-down"),
    up: button(`+${STEP} %`, "rollout-step-up"),
    apply: button("Apply split", "rollout-apply", "ptw-primary"),
    promote: button("Promote", "rollout-promote"),
    rollback: button("Roll back", "rollout-rollback"),
  };
}

/** The split slider between the oldest entity and the candidate, steps, promote, roll back. */
function splitControls(ctx: RolloutCtx, onError: OnError) {
  const v = splitView();
  const live = () => liveSplit(ctx.get("entities"));
  const proposed = () => splitWith(live(), v.candidate.value, Number(v.slider.value));
  const send = (split: Split) => ctx.request("set_traffic", { split });
  const el = h(
    "div",
    { class: "ptw-rollout-split", "data-testid": "rollout-split-controls" },
    h("div", { class: "ptw-row ptw-row-end" }, field("Candidate", v.candidate), field("Its share", v.slider)),
    v.readout,
    h("div", { class: "ptw-row ptw-row-wrap" }, v.down, v.up, v.apply, v.promote, v.rollback),
  );
  const showProposal = () => {
    v.readout.textContent = describeSplit(proposed());
    v.apply.disabled = ctx.get("status") !== "ready" || sameSplit(proposed(), live());
  };
  const paint = () => {
    const split = live();
    const names = Object.keys(split);
    const candidate = ctx.get("candidate");
    setOptions(
      v.candidate,
      names.slice(1).map((n) => ({ value: n, label: n })),
      candidate,
    );
    v.slider.max = String(pairTotal(split, v.candidate.value));
    if (document.activeElement !== v.slider) v.slider.value = String(split[v.candidate.value] ?? 0);
    showProposal();
    const idle = ctx.get("status") === "ready" && names.length > 1;
    for (const b of [v.candidate, v.slider, v.down, v.up, v.promote, v.rollback]) b.disabled = !idle;
    v.apply.disabled = !idle || sameSplit(proposed(), split);
    el.hidden = names.length < 2;
  };
  v.slider.addEventListener("input", showProposal);
  v.candidate.addEventListener("change", () => ctx.set({ candidate: v.candidate.value }));
  bindButton(v.apply, () => send(proposed()), onError, paint);
  bindButton(v.up, () => send(stepSplit(live(), v.candidate.value, STEP)), onError, paint);
  bindButton(v.down, () => send(stepSplit(live(), v.candidate.value, -STEP)), onError, paint);
  bindButton(v.promote, () => ctx.request("promote", { entity: v.candidate.value }), onError, paint);
  bindButton(v.rollback, () => ctx.request("rollback"), onError, paint);
  return { el, paint };
}

interface AddPlan {
  model: string;
  versions: string[];
  version: string;
  scheme: string;
  chunk_size: number;
}

function addView() {
  const chunks = (which: string) =>
    h("input", {
      type: "number",
      min: 0,
      step: 1,
      value: 1,
      class: "ptw-short",
      "data-testid": `rollout-add-${which}`,
    });
  return {
    model: h("input", {
      type: "text",
      spellcheck: false,
      "data-testid": "rollout-add-model",
      placeholder: "catalog.schema.model",
    }),
    version: h("select", { "data-testid": "rollout-add-version", "aria-label": "Version" }),
    min: chunks("min"),
    max: chunks("max"),
    traffic: h("input", {
      type: "number",
      min: 0,
      max: 100,
      step: 1,
      value: 10,
      class: "ptw-short",
      "data-testid": "rollout-add-traffic",
    }),
    readout: h("div", { class: "ptw-muted", "data-testid": "rollout-add-sizing" }),
    add: button("Add entity", "rollout-add", "ptw-primary"),
  };
}

const MAX_CHUNKS = 20;

/** The add form: model, version, min/max in whole chunks of the version's plan, traffic %. */
function addForm(ctx: RolloutCtx, onError: OnError) {
  const v = addView();
  let plan: AddPlan | null = null;
  const sizing = () =>
    plan && addSizing(plan.scheme, plan.chunk_size, Number(v.min.value), Number(v.max.value), MAX_CHUNKS);
  const showSizing = () => {
    const s = sizing();
    v.readout.textContent =
      !plan || !s
        ? "Choose a model version to size."
        : plan.scheme === UNITS
          ? `${formatInt(Number(s.model_units))} model units`
          : `${formatInt(Number(s.min_throughput))}–${formatInt(Number(s.max_throughput))} tokens/s (chunks of ${formatInt(plan.chunk_size)})`;
  };
  const lookUp = async () => {
    plan = null;
    showSizing();
    if (!v.model.value.trim()) return;
    plan = await ctx.request<AddPlan>("plan", { model: v.model.value, version: ctx.get("add_version") });
    setOptions(
      v.version,
      plan.versions.map((x) => ({ value: x, label: `version ${x}` })),
      plan.version,
    );
    v.min.hidden = plan.scheme === UNITS;
    showSizing();
  };
  const refresh = () => lookUp().catch((e) => onError(String(e?.message ?? e)));
  bindText(ctx, v.model, "add_model");
  ctx.on(["add_model", "add_version"], refresh);
  v.version.addEventListener("change", () => ctx.set({ add_version: v.version.value }));
  for (const input of [v.min, v.max]) input.addEventListener("input", showSizing);
  bindButton(
    v.add,
    async () => {
      const traffic = parseNumber(v.traffic.value, { integer: true, nonNegative: true, label: "Traffic %" });
      if (traffic.error) throw new Error(traffic.error);
      if (!plan) throw new Error("Choose a model version to add first.");
      await ctx.request("add", {
        model: plan.model,
        version: v.version.value,
        sizing: sizing(),
        traffic: traffic.value,
      });
    },
    onError,
  );
  const el = h(
    "div",
    { class: "ptw-row ptw-row-end ptw-row-wrap", "data-testid": "rollout-add-form" },
    field("Model", v.model),
    field("Version", v.version),
    field("Min chunks", v.min),
    field("Max chunks", v.max),
    field("Traffic %", v.traffic),
    v.add,
  );
  return { el, readout: v.readout, refresh, paint: (idle: boolean) => (v.add.disabled = !idle) };
}

export function renderRollout(ctx: RolloutCtx, root: HTMLElement): void {
  const errors = bindErrors(ctx);
  const onError = (message: string) => errors.set(message);
  const who = h("code", { "data-testid": "rollout-endpoint" });
  const action = h("span", { class: "ptw-muted", "data-testid": "rollout-action" });
  const spinner = h("span", { class: "ptw-spinner", "aria-hidden": "true", hidden: true });
  const message = h("div", { class: "ptw-message", "data-testid": "rollout-message" });
  const refresh = button("Refresh", "rollout-refresh");
  const table = entitiesTable(ctx, onError);
  const split = splitControls(ctx, onError);
  const add = addForm(ctx, onError);
  const body = h(
    "div",
    {},
    h("div", { class: "ptw-scroll" }, table.el),
    split.el,
    h("h4", { class: "ptw-gov-heading", text: "Add a served entity" }),
    add.el,
    add.readout,
  );
  const section = h(
    "div",
    { class: "ptw-rollout", "data-testid": "rollout" },
    h("div", { class: "ptw-row" }, h("span", { text: "Endpoint" }), who, refresh, spinner, action),
    body,
    message,
    errors.el,
  );
  root.append(section);
  const paint = () => {
    const status = ctx.get("status") || "idle";
    section.dataset.status = status;
    who.textContent = ctx.get("endpoint") || "none yet: deploy one above";
    body.hidden = !ctx.get("endpoint");
    spinner.hidden = status !== "busy" && status !== "loading";
    action.textContent = status === "busy" ? ctx.get("action") : "";
    message.textContent = ctx.get("message");
    table.paint();
    split.paint();
    add.paint(status === "ready");
  };
  bindButton(refresh, () => ctx.request("load"), onError, paint);
  ctx.on(["status", "entities", "candidate", "action", "message", "endpoint"], paint);
  paint();
  add.refresh();
}
