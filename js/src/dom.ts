// Tiny DOM helpers: no framework, so the bundle stays small and the first paint fast.

type Child = Node | string | number | null | undefined | false;
type Props = Record<string, unknown>;
/** A table cell's value: any JSON value of a row; a column's formatter narrows it. */
// biome-ignore lint/suspicious/noExplicitAny: rows are JSON from the kernel, narrowed per column
type CellValue = any;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = String(value);
    else if (key === "text") el.textContent = String(value);
    else if (key === "style" && typeof value === "object") Object.assign(el.style, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value as EventListener);
    } else if (key === "dataset") {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) el.dataset[k] = String(v);
    } else if (key in el && typeof value !== "string")
      (el as unknown as Record<string, unknown>)[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

/** A button: `ptw-button` plus a variant ("ptw-primary", "ptw-danger"), hidden if asked. */
export function button(text: string, testid: string, variant = "", hidden = false): HTMLButtonElement {
  return h("button", { class: `ptw-button ${variant}`.trim(), "data-testid": testid, text, hidden });
}

/** A start button, a stop button (hidden until something runs) and a status line, in a row. */
export function runBar(start: HTMLButtonElement, stop: HTMLButtonElement, statusTestid: string) {
  const status = h("span", { class: "ptw-muted", "data-testid": statusTestid });
  return { start, stop, status, el: h("div", { class: "ptw-row" }, start, stop, status) };
}

export function append(el: Element, children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

export function show(el: HTMLElement, visible: boolean): void {
  el.hidden = !visible;
}

/** A labelled field: <label class="ptw-field"><span>Label</span>control</label>. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLLabelElement {
  return h(
    "label",
    { class: "ptw-field" },
    h("span", { class: "ptw-label", text: label }),
    control,
    hint ? h("span", { class: "ptw-hint", text: hint }) : null,
  );
}

/** Fill a <select> with options, keeping `value` selected if present. */
export function setOptions(
  select: HTMLSelectElement,
  options: { value: string; label: string }[],
  value: string,
  placeholder?: string,
): void {
  clear(select);
  if (placeholder !== undefined) {
    select.append(h("option", { value: "", text: placeholder, disabled: true }));
  }
  for (const o of options) select.append(h("option", { value: o.value, text: o.label }));
  const known = options.some((o) => o.value === value);
  select.value = known ? value : "";
  if (!known && placeholder !== undefined) select.selectedIndex = 0;
}

/** Fill a <select> with names (each its own label), keeping `value` selected if present. */
export function setNames(
  select: HTMLSelectElement,
  names: string[],
  value: string,
  placeholder: string,
): void {
  setOptions(
    select,
    names.map((n) => ({ value: n, label: n })),
    value,
    placeholder,
  );
}

/** An error box that shows one sentence, with a dismiss button. */
export class ErrorBox {
  readonly el: HTMLDivElement;
  private text: HTMLSpanElement;

  constructor(private onDismiss?: () => void) {
    this.text = h("span", { class: "ptw-error-text" });
    const close = h("button", {
      class: "ptw-icon-button",
      title: "Dismiss",
      "aria-label": "Dismiss",
      text: "×",
      onclick: () => {
        this.set("");
        this.onDismiss?.();
      },
    });
    this.el = h(
      "div",
      { class: "ptw-error", role: "alert", "data-testid": "error" },
      h("span", { class: "ptw-error-icon", text: "!" }),
      this.text,
      close,
    );
    this.el.hidden = true;
  }

  set(message: string | null | undefined): void {
    this.text.textContent = message || "";
    this.el.hidden = !message;
  }

  get message(): string {
    return this.text.textContent || "";
  }
}

export function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Render rows as a table: columns are [key, label] pairs or plain keys. */
export function table(
  columns: (string | [string, string])[],
  rows: Record<string, CellValue>[],
  options: {
    testid?: string;
    format?: (key: string, value: CellValue, row: Record<string, CellValue>) => Child;
    className?: string;
  } = {},
): HTMLTableElement {
  const cols = columns.map((c) => (Array.isArray(c) ? c : [c, c])) as [string, string][];
  const head = h(
    "thead",
    {},
    h(
      "tr",
      {},
      cols.map(([, label]) => h("th", { text: label })),
    ),
  );
  const body = h(
    "tbody",
    {},
    rows.map((row) =>
      h(
        "tr",
        {},
        cols.map(([key]) => {
          const value = options.format ? options.format(key, row[key], row) : row[key];
          const cell = h("td", {});
          if (value instanceof Node) cell.append(value);
          else cell.textContent = value === null || value === undefined ? "" : String(value);
          return cell;
        }),
      ),
    ),
  );
  return h(
    "table",
    { class: `ptw-table ${options.className || ""}`.trim(), "data-testid": options.testid },
    head,
    body,
  );
}

export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const wrapped = (...args: A) => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      fn(...args);
    }, ms);
  };
  wrapped.cancel = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  wrapped.flush = (...args: A) => {
    wrapped.cancel();
    fn(...args);
  };
  return wrapped;
}

/** An SVG element with attributes (and text), for the charts. */
export function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}
