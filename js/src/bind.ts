// Bind a control to one of its panel's traits: the control shows the trait (except while the
// user is editing it, so a round trip never overwrites a half-typed value) and writes it back
// on change. One implementation, so every panel parses and reports bad input the same way.
import { ErrorBox, errorText } from "./dom";
import type { Ctx } from "./rpc";

/** The names of the traits of S whose values are of type V. */
export type KeysOf<S, V> = { [K in keyof S & string]: S[K] extends V ? K : never }[keyof S & string];

export interface NumberRule {
  integer?: boolean; // round to a whole number before saving
  positive?: boolean; // reject 0 and below
  nonNegative?: boolean; // reject below 0
  optional?: boolean; // an empty field means null (no value)
  label?: string; // how the error sentence names the field (default: from the trait name)
}

/** "max_requests_per_level" -> "Max requests per level" (every underscore, not the first). */
export function traitLabel(name: string): string {
  const words = name.split("_").filter(Boolean).join(" ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The number a field holds, or one sentence saying why it is not a valid one. */
export function parseNumber(
  text: string,
  rule: NumberRule = {},
  name = "value",
): { value: number | null; error: "" } | { value: null; error: string } {
  const label = rule.label ?? traitLabel(name);
  if (rule.optional && text.trim() === "") return { value: null, error: "" };
  const value = Number(text);
  const kind = rule.positive ? "a positive number" : rule.nonNegative ? "zero or more" : "a number";
  if (
    text.trim() === "" ||
    !Number.isFinite(value) ||
    (rule.positive && value <= 0) ||
    (rule.nonNegative && value < 0)
  ) {
    return { value: null, error: `${label} must be ${kind}.` };
  }
  return { value: rule.integer ? Math.round(value) : value, error: "" };
}

type Editable = HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;

/** Repaint `el` from the trait now and whenever it changes (unless the user is in it). */
function follow<S extends object>(
  ctx: Ctx<S>,
  name: keyof S & string,
  el: Editable,
  paint: () => void,
): void {
  const repaint = () => {
    if (document.activeElement !== el || el instanceof HTMLSelectElement) paint();
  };
  ctx.on(name, repaint);
  repaint();
}

/** A number field: parsed and checked on change; a bad value is reported and undone. */
export function bindNumber<S extends object>(
  ctx: Ctx<S>,
  input: HTMLInputElement,
  name: KeysOf<S, number | null>,
  onError: (message: string) => void,
  rule: NumberRule = {},
): void {
  const paint = () => {
    const value = ctx.get(name);
    input.value = value === null || value === undefined ? "" : String(value);
  };
  input.addEventListener("change", () => {
    const parsed = parseNumber(input.value, rule, name);
    if (parsed.error) {
      onError(parsed.error);
      paint();
      return;
    }
    ctx.set({ [name]: parsed.value } as Partial<S>);
  });
  follow(ctx, name, input, paint);
}

/** A control that writes `read()` to the trait on change and shows the trait with `show`. */
function bindControl<S extends object, K extends keyof S & string>(
  ctx: Ctx<S>,
  el: Editable,
  name: K,
  read: () => S[K],
  show: (value: S[K]) => void,
): void {
  el.addEventListener("change", () => ctx.set({ [name]: read() } as unknown as Partial<S>));
  follow(ctx, name, el, () => show(ctx.get(name)));
}

/** A text field or text area holding a string trait, saved on change. */
export function bindText<S extends object>(
  ctx: Ctx<S>,
  input: HTMLInputElement | HTMLTextAreaElement,
  name: KeysOf<S, string>,
): void {
  bindControl(
    ctx,
    input,
    name,
    () => input.value as S[typeof name],
    (v) => {
      input.value = String(v ?? "");
    },
  );
}

/** A checkbox holding a boolean trait. */
export function bindCheckbox<S extends object>(
  ctx: Ctx<S>,
  input: HTMLInputElement,
  name: KeysOf<S, boolean>,
): void {
  bindControl(
    ctx,
    input,
    name,
    () => input.checked as S[typeof name],
    (v) => {
      input.checked = !!v;
    },
  );
}

/** A select holding a string trait; shows it once the option exists (options may load later). */
export function bindSelect<S extends object>(
  ctx: Ctx<S>,
  select: HTMLSelectElement,
  name: KeysOf<S, string>,
): void {
  bindControl(
    ctx,
    select,
    name,
    () => select.value as S[typeof name],
    (v) => {
      if (Array.from(select.options).some((o) => o.value === String(v ?? ""))) select.value = String(v);
    },
  );
}

export interface BusyButton {
  readonly busy: boolean;
  /** Run the action as a click would (nothing when it is already running). */
  run(): Promise<void>;
}

/**
 * A button that runs an async action: disabled and marked busy until it settles, errors go
 * to `onError` as one sentence, `after` runs last (to repaint what decides `disabled`). An
 * action that throws before its first await (input checks) reports at once, in the click.
 */
export function bindButton(
  button: HTMLButtonElement,
  action: () => Promise<unknown>,
  onError: (message: string) => void,
  after?: () => void,
): BusyButton {
  const state = {
    busy: false,
    async run() {
      if (state.busy) return;
      state.busy = true;
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
      try {
        await action();
      } catch (e) {
        onError(errorText(e));
      } finally {
        state.busy = false;
        button.removeAttribute("aria-busy");
        button.disabled = false;
        after?.();
      }
    },
  };
  button.addEventListener("click", () => state.run());
  return state;
}

/** The panel's error box: shows the `error` trait; dismissing clears it in the kernel too. */
export function bindErrors<S extends { error: string }>(ctx: Ctx<S>): ErrorBox {
  const errors = new ErrorBox(() => ctx.set({ error: "" } as Partial<S>));
  ctx.on("error", () => errors.set(ctx.get("error")));
  errors.set(ctx.get("error"));
  return errors;
}

/** Ctrl+Enter (Cmd+Enter) in a text area runs `action`, like the panel's main button. */
export function onCtrlEnter(area: HTMLTextAreaElement, action: () => void): void {
  area.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      action();
    }
  });
}
