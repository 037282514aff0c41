// ComparePanel: two to four endpoints (or one endpoint at several temperatures) answer the
// same prompts side by side; answers stream into their cells, each with latency, tokens,
// time to first token and mean logprob. The run lives in the kernel (a background thread)
// and every view follows it through this panel's events; a late view pages the table in.
import { bindButton, bindCheckbox, bindErrors, bindNumber, bindText, onCtrlEnter } from "./bind";
import { button, type ErrorBox, errorText, field, h, runBar } from "./dom";
import { type EndpointItem, endpointList, fillEndpoints } from "./endpoint_select";
import { formatNumber } from "./format";
import type { Ctx, Payload } from "./rpc";

export const MAX_TARGETS = 4;
const PAGE_ROWS = 25;

export interface TargetState {
  endpoint: string;
  temperature: number | null;
  max_tokens: number | null;
  label: string;
}

export interface CompareState {
  targets: TargetState[];
  system_prompt: string;
  max_tokens: number;
  temperature: number;
  logprobs: boolean;
  status: string; // idle running done stopped error
  progress: string; // "3/8": answers so far of all
  error: string;
}

type CompareCtx = Ctx<CompareState>;

/** A page of the run's table, as the kernel's "page" request answers it. */
interface RowsPage {
  targets?: string[];
  kinds?: string[];
  rows: { prompt: string; cells: (CellResult | null)[] }[];
  total: number;
}

export interface CellResult {
  answer: string | null;
  finish_reason: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  total_tokens: number | null;
  latency_s: number | null;
  ttft_s: number | null;
  mean_logprob: number | null;
  error: string | null;
}

/** Prompts from the textarea: blocks separated by a line holding only `---`. */
export function splitPrompts(text: string): string[] {
  return text
    .split(/^[ \t]*---[ \t]*$/m)
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

/** The one-line figures under an answer. */
export function cellMetrics(cell: CellResult): string {
  if (cell.error) return "";
  const parts = [
    cell.latency_s !== null && cell.latency_s !== undefined ? `${formatNumber(cell.latency_s)} s` : "",
    cell.completion_tokens !== null && cell.completion_tokens !== undefined
      ? `${cell.completion_tokens} tokens`
      : cell.total_tokens
        ? `${cell.total_tokens} tokens`
        : "",
    cell.ttft_s !== null && cell.ttft_s !== undefined ? `first token ${formatNumber(cell.ttft_s)} s` : "",
    cell.mean_logprob !== null && cell.mean_logprob !== undefined
      ? `mean logprob ${formatNumber(cell.mean_logprob, 3)}`
      : "",
    cell.finish_reason && cell.finish_reason !== "stop" ? `finish: ${cell.finish_reason}` : "",
  ];
  return parts.filter(Boolean).join(" · ");
}

/** Per-target means over finished cells (what the summary row shows). */
export function summarize(cells: (CellResult | null | undefined)[]): {
  answers: number;
  errors: number;
  latency: number | null;
  tokens: number | null;
  logprob: number | null;
} {
  const done = cells.filter((c): c is CellResult => !!c);
  const ok = done.filter((c) => !c.error);
  const mean = (values: (number | null | undefined)[]) => {
    const xs = values.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
  };
  return {
    answers: ok.length,
    errors: done.length - ok.length,
    latency: mean(ok.map((c) => c.latency_s)),
    tokens: mean(ok.map((c) => c.completion_tokens)),
    logprob: mean(ok.map((c) => c.mean_logprob)),
  };
}

function emptyTarget(): TargetState {
  return { endpoint: "", temperature: null, max_tokens: null, label: "" };
}

/** The targets as saved, two empty ones to start with. */
function targetsOf(ctx: CompareCtx): TargetState[] {
  const list = (ctx.get("targets") || []).map((t) => ({ ...emptyTarget(), ...t }));
  return list.length ? list : [emptyTarget(), emptyTarget()];
}

/** One target row: its endpoint, its temperature (blank: the form's) and a remove button. */
function targetRow(ctx: CompareCtx, i: number, endpoints: EndpointItem[], errors: ErrorBox): HTMLElement {
  const t = targetsOf(ctx)[i];
  const change = (values: Partial<TargetState>) => {
    const next = targetsOf(ctx);
    next[i] = { ...next[i], ...values, label: "" };
    ctx.set({ targets: next });
  };
  const select = h("select", { "data-testid": `cmp-endpoint-${i}`, "aria-label": `Endpoint ${i + 1}` });
  fillEndpoints(select, endpoints, t.endpoint);
  select.addEventListener("change", () => change({ endpoint: select.value }));
  const temp = h("input", {
    type: "number",
    min: 0,
    max: 2,
    step: 0.1,
    class: "ptw-num",
    placeholder: "default",
    "data-testid": `cmp-temp-${i}`,
    value: t.temperature ?? "",
  });
  temp.addEventListener("change", () => {
    const value = temp.value.trim() === "" ? null : Number(temp.value);
    if (value !== null && !Number.isFinite(value)) errors.set("Temperature must be a number.");
    else change({ temperature: value });
  });
  const remove = h("button", {
    class: "ptw-icon-button",
    title: "Remove",
    "aria-label": "Remove endpoint",
    text: "×",
    "data-testid": `cmp-remove-${i}`,
    disabled: targetsOf(ctx).length <= 1,
    onclick: () => ctx.set({ targets: targetsOf(ctx).filter((_, j) => j !== i) }),
  });
  return h(
    "div",
    { class: "ptw-row ptw-target", dataset: { index: i } },
    h("span", { class: "ptw-target-num", text: String(i + 1) }),
    select,
    h("label", { class: "ptw-inline" }, h("span", { class: "ptw-label", text: "temperature" }), temp),
    remove,
  );
}

/** The endpoints to compare: two to four rows, each re-drawn when the targets change. */
function targetsSection(ctx: CompareCtx, errors: ErrorBox) {
  const box = h("div", { class: "ptw-targets", "data-testid": "cmp-targets" });
  const add = button("+ Add endpoint", "cmp-add");
  const render = () => {
    const list = targetsOf(ctx);
    box.replaceChildren(...list.map((_, i) => targetRow(ctx, i, endpoints.items, errors)));
    add.disabled = list.length >= MAX_TARGETS;
  };
  const endpoints = endpointList(ctx, render, (m) => errors.set(m));
  add.addEventListener("click", () => {
    const list = targetsOf(ctx);
    const last = list[list.length - 1]?.endpoint || "";
    if (list.length < MAX_TARGETS) ctx.set({ targets: [...list, { ...emptyTarget(), endpoint: last }] });
  });
  ctx.on("targets", render);
  render();
  return {
    el: h(
      "div",
      {},
      h("div", { class: "ptw-row" }, h("span", { class: "ptw-label", text: "Endpoints" }), endpoints.reload),
      box,
      h("div", { class: "ptw-row" }, add),
    ),
    load: endpoints.load,
  };
}

/** The shared parameters: system prompt, max tokens, temperature, mean logprob. */
function paramsSection(ctx: CompareCtx, errors: ErrorBox): HTMLElement {
  const system = h("textarea", { rows: 1, "data-testid": "cmp-system", placeholder: "(none)" });
  const maxTokens = h("input", {
    type: "number",
    min: 1,
    max: 4096,
    step: 1,
    class: "ptw-num",
    "data-testid": "cmp-max-tokens",
  });
  const temperature = h("input", {
    type: "number",
    min: 0,
    max: 2,
    step: 0.1,
    class: "ptw-num",
    "data-testid": "cmp-temperature",
  });
  const logprobs = h("input", { type: "checkbox", "data-testid": "cmp-logprobs" });
  bindText(ctx, system, "system_prompt");
  bindNumber(ctx, maxTokens, "max_tokens", (m) => errors.set(m), { integer: true });
  bindNumber(ctx, temperature, "temperature", (m) => errors.set(m));
  bindCheckbox(ctx, logprobs, "logprobs");
  return h(
    "div",
    { class: "ptw-row ptw-row-wrap ptw-params" },
    field("System prompt", system),
    field("Max tokens", maxTokens),
    field("Temperature", temperature),
    h("label", { class: "ptw-check" }, logprobs, h("span", { text: "mean logprob" })),
  );
}

/** A target's means over its finished answers: "0.8 s · 12.5 tokens · logprob -0.3 · 1 error". */
export function summaryText(cells: (CellResult | null | undefined)[]): string {
  const s = summarize(cells);
  return [
    s.latency !== null ? `${formatNumber(s.latency)} s` : "",
    s.tokens !== null ? `${formatNumber(s.tokens, 1)} tokens` : "",
    s.logprob !== null ? `logprob ${formatNumber(s.logprob, 3)}` : "",
    s.errors ? `${s.errors} error${s.errors === 1 ? "" : "s"}` : "",
  ]
    .filter(Boolean)
    .join(" · ");
}

interface TableRow {
  cells: (CellResult | null)[];
  answers: HTMLDivElement[];
  metrics: HTMLDivElement[];
}

/**
 * The results: one row a prompt, one column a target, a mean row at the foot. Cells of rows
 * not paged in yet (a long run started in Python) wait in `early` until their row arrives.
 */
function resultsTable(ctx: CompareCtx, box: HTMLElement) {
  const t = {
    labels: [] as string[],
    rows: [] as TableRow[],
    summary: [] as HTMLTableCellElement[],
    body: h("tbody", {}),
    early: new Map<string, CellResult>(),
  };
  const setCell = (i: number, j: number, cell: CellResult) => {
    const row = t.rows[i];
    if (j >= t.labels.length) return;
    if (!row) {
      t.early.set(`${i}:${j}`, cell);
      return;
    }
    row.cells[j] = cell;
    const answer = row.answers[j];
    answer.classList.remove("ptw-streaming");
    answer.classList.toggle("ptw-cmp-error", !!cell.error);
    answer.textContent = cell.error || cell.answer || "";
    answer.dataset.done = "true";
    row.metrics[j].textContent = cellMetrics(cell);
    t.labels.forEach((_, k) => {
      t.summary[k].textContent = summaryText(t.rows.map((r) => r.cells[k]));
    });
  };
  const addRow = (prompt: string, cells: (CellResult | null)[] = []) => {
    const answers = t.labels.map(() => h("div", { class: "ptw-cmp-answer", "data-testid": "cmp-answer" }));
    const metrics = t.labels.map(() => h("div", { class: "ptw-usage", "data-testid": "cmp-metrics" }));
    t.rows.push({ cells: t.labels.map(() => null), answers, metrics });
    t.body.append(
      h(
        "tr",
        { "data-testid": "cmp-row" },
        h("td", { class: "ptw-cmp-prompt", text: prompt }),
        t.labels.map((_, j) => h("td", { class: "ptw-cmp-cell" }, answers[j], metrics[j])),
      ),
    );
    const i = t.rows.length - 1;
    t.labels.forEach((_, j) => {
      const c = t.early.get(`${i}:${j}`) || cells[j];
      t.early.delete(`${i}:${j}`);
      if (c) setCell(i, j, c);
    });
  };
  const loadRows = async (offset: number, total: number) => {
    for (let at = offset; at < total; at += PAGE_ROWS) {
      const page = await ctx.request<RowsPage>("page", { offset: at, limit: PAGE_ROWS });
      for (const r of page.rows) addRow(r.prompt, r.cells);
    }
  };
  const build = (labels: string[], kinds: string[]) => {
    Object.assign(t, { labels, rows: [], early: new Map(), body: h("tbody", {}) });
    t.summary = labels.map(() => h("td", { class: "ptw-cmp-summary", "data-testid": "cmp-summary" }));
    const head = h(
      "tr",
      {},
      h("th", { text: "Prompt" }),
      labels.map((l, j) => h("th", { "data-testid": "cmp-target-label", title: kinds[j] || "", text: l })),
    );
    box.replaceChildren(
      h(
        "table",
        { class: "ptw-table ptw-compare-table", "data-testid": "cmp-table" },
        h("thead", {}, head),
        t.body,
        h("tfoot", {}, h("tr", {}, h("th", { text: "Mean" }), t.summary)),
      ),
    );
  };
  return { t, build, addRow, setCell, loadRows };
}

type ResultsTable = ReturnType<typeof resultsTable>;

/** Follow the run's events: a new table on start, streamed text, finished cells. */
function followRun(ctx: CompareCtx, table: ResultsTable): void {
  ctx.onEvent((event: Payload) => {
    if (!event) return;
    if (event.type === "start") {
      table.build(event.targets || [], event.kinds || []);
      const prompts: string[] = event.prompts || [];
      for (const p of prompts) table.addRow(p);
      if ((event.total || 0) > prompts.length) table.loadRows(prompts.length, event.total);
    } else if (event.type === "delta") {
      const box = table.t.rows[event.row]?.answers[event.target];
      if (box && box.dataset.done !== "true") {
        box.classList.add("ptw-streaming");
        box.textContent += event.text;
      }
    } else if (event.type === "cell") table.setCell(event.row, event.target, event.cell);
  });
}

/** A view opened late (or re-opened) pages in the last run's table. */
async function restore(ctx: CompareCtx, table: ResultsTable): Promise<void> {
  const page = await ctx.request<RowsPage>("page", { offset: 0, limit: PAGE_ROWS });
  if (!page.targets?.length || table.t.rows.length) return;
  table.build(page.targets, page.kinds || []);
  for (const r of page.rows) table.addRow(r.prompt, r.cells);
  if (page.total > page.rows.length) await table.loadRows(page.rows.length, page.total);
}

const STATUS_TEXT: Record<string, (progress: string) => string> = {
  running: (progress) => `Comparing… ${progress} answers`,
  done: (progress) => `Done: ${progress} answers`,
  stopped: (progress) => `Stopped after ${progress} answers`,
};

/** Compare / Stop and the status line ("Comparing… 3/8 answers"). */
function runSection(ctx: CompareCtx, root: HTMLElement, prompts: HTMLTextAreaElement, errors: ErrorBox) {
  const bar = runBar(
    button("Compare", "cmp-run", "ptw-primary"),
    button("Stop", "cmp-stop", "", true),
    "cmp-status",
  );
  const { start: runButton, stop: stopButton, status } = bar;
  const renderStatus = () => {
    const s = ctx.get("status") || "idle";
    const running = s === "running";
    root.dataset.status = s;
    runButton.disabled = running;
    stopButton.hidden = !running;
    status.textContent = STATUS_TEXT[s]?.(ctx.get("progress")) ?? "";
  };
  // checked before anything is sent; a plain (not async) action reports it at once
  const run = bindButton(
    runButton,
    () => {
      errors.set("");
      const list = splitPrompts(prompts.value);
      if (!list.length) throw new Error("Write a prompt first.");
      if (!targetsOf(ctx).some((t) => t.endpoint)) throw new Error("Choose the endpoints to compare first.");
      return ctx.request("run", { prompts: list });
    },
    (m) => errors.set(m),
    renderStatus,
  );
  bindButton(
    stopButton,
    () => ctx.request("stop"),
    (m) => errors.set(m),
    renderStatus,
  );
  onCtrlEnter(prompts, () => {
    if (!runButton.disabled) run.run();
  });
  ctx.on(["status", "progress"], renderStatus);
  renderStatus();
  return bar.el;
}

export function renderCompare(ctx: CompareCtx, root: HTMLElement): void {
  const errors = bindErrors(ctx);
  const prompts = h("textarea", {
    rows: 3,
    "data-testid": "cmp-prompts",
    placeholder: "A prompt. Several: separate them with a line holding only ---",
  });
  const results = h("div", {
    class: "ptw-scroll ptw-compare-results",
    "data-testid": "cmp-results",
    "aria-live": "polite",
  });
  const targets = targetsSection(ctx, errors);
  root.append(
    h(
      "div",
      { class: "ptw-compare" },
      targets.el,
      paramsSection(ctx, errors),
      field("Prompt", prompts, "One prompt, or several separated by a line holding only ---."),
      runSection(ctx, root, prompts, errors),
      results,
      errors.el,
    ),
  );
  const table = resultsTable(ctx, results);
  followRun(ctx, table);
  targets.load();
  restore(ctx, table).catch((e) => errors.set(errorText(e)));
}
