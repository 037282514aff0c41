// ComparePanel: two to four endpoints (or one endpoint at several temperatures) answer the
// same prompts side by side; answers stream into their cells, each with latency, tokens,
// time to first token and mean logprob. The run lives in the kernel (a background thread)
// and every view follows it through this panel's events; a late view pages the table in.
import { Ctx } from "./rpc";
import { ErrorBox, clear, errorText, field, h, setOptions } from "./dom";
import { formatNumber, shortTask } from "./format";

export const MAX_TARGETS = 4;
const PAGE_ROWS = 25;

export interface TargetState {
  endpoint: string;
  temperature: number | null;
  max_tokens: number | null;
  label: string;
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
  return text.split(/^[ \t]*---[ \t]*$/m).map((p) => p.trim()).filter((p) => p.length > 0);
}

/** The one-line figures under an answer. */
export function cellMetrics(cell: CellResult): string {
  if (cell.error) return "";
  const parts = [
    cell.latency_s !== null && cell.latency_s !== undefined ? `${formatNumber(cell.latency_s)} s` : "",
    cell.completion_tokens !== null && cell.completion_tokens !== undefined ?
      `${cell.completion_tokens} tokens` : cell.total_tokens ? `${cell.total_tokens} tokens` : "",
    cell.ttft_s !== null && cell.ttft_s !== undefined ? `first token ${formatNumber(cell.ttft_s)} s` : "",
    cell.mean_logprob !== null && cell.mean_logprob !== undefined ?
      `mean logprob ${formatNumber(cell.mean_logprob, 3)}` : "",
    cell.finish_reason && cell.finish_reason !== "stop" ? `finish: ${cell.finish_reason}` : "",
  ];
  return parts.filter(Boolean).join(" · ");
}

/** Per-target means over finished cells (what the summary row shows). */
export function summarize(cells: (CellResult | null | undefined)[]): {
  answers: number; errors: number; latency: number | null; tokens: number | null; logprob: number | null;
} {
  const done = cells.filter((c): c is CellResult => !!c);
  const ok = done.filter((c) => !c.error);
  const mean = (values: (number | null | undefined)[]) => {
    const xs = values.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
  };
  return {
    answers: ok.length, errors: done.length - ok.length,
    latency: mean(ok.map((c) => c.latency_s)), tokens: mean(ok.map((c) => c.completion_tokens)),
    logprob: mean(ok.map((c) => c.mean_logprob)),
  };
}

function emptyTarget(): TargetState {
  return { endpoint: "", temperature: null, max_tokens: null, label: "" };
}

export function renderCompare(ctx: Ctx, root: HTMLElement): void {
  const errors = new ErrorBox(() => ctx.set({ error: "" }));
  const targetsBox = h("div", { class: "ptw-targets", "data-testid": "cmp-targets" });
  const addButton = h("button", { class: "ptw-button", "data-testid": "cmp-add", text: "+ Add endpoint" });
  const refresh = h("button", { class: "ptw-icon-button", title: "Reload endpoints", text: "↻",
                                "aria-label": "Reload endpoints" });
  const system = h("textarea", { rows: 1, "data-testid": "cmp-system", placeholder: "(none)" });
  const maxTokens = h("input", { type: "number", min: 1, max: 4096, step: 1, class: "ptw-num",
                                 "data-testid": "cmp-max-tokens" });
  const temperature = h("input", { type: "number", min: 0, max: 2, step: 0.1, class: "ptw-num",
                                   "data-testid": "cmp-temperature" });
  const logprobs = h("input", { type: "checkbox", "data-testid": "cmp-logprobs" });
  const prompts = h("textarea", { rows: 3, "data-testid": "cmp-prompts",
                                  placeholder: "A prompt. Several: separate them with a line holding only ---" });
  const runButton = h("button", { class: "ptw-button ptw-primary", "data-testid": "cmp-run", text: "Compare" });
  const stopButton = h("button", { class: "ptw-button", "data-testid": "cmp-stop", text: "Stop", hidden: true });
  const status = h("span", { class: "ptw-muted", "data-testid": "cmp-status" });
  const results = h("div", { class: "ptw-scroll ptw-compare-results", "data-testid": "cmp-results",
                             "aria-live": "polite" });
  root.append(h("div", { class: "ptw-compare" },
    h("div", { class: "ptw-row" }, h("span", { class: "ptw-label", text: "Endpoints" }), refresh),
    targetsBox, h("div", { class: "ptw-row" }, addButton),
    h("div", { class: "ptw-row ptw-row-wrap ptw-params" },
      field("System prompt", system), field("Max tokens", maxTokens), field("Temperature", temperature),
      h("label", { class: "ptw-check" }, logprobs, h("span", { text: "mean logprob" }))),
    field("Prompt", prompts, "One prompt, or several separated by a line holding only ---."),
    h("div", { class: "ptw-row" }, runButton, stopButton, status),
    results, errors.el));

  // ------------------------------------------------------------------ targets
  let endpoints: { name: string; task: string; ready: boolean }[] = [];

  function targets(): TargetState[] {
    const list = (ctx.get<TargetState[]>("targets") || []).map((t) => ({ ...emptyTarget(), ...t }));
    return list.length ? list : [emptyTarget(), emptyTarget()];
  }

  function saveTargets(list: TargetState[]) {
    ctx.set({ targets: list });
    renderTargets();
  }

  function renderTargets() {
    const list = targets();
    clear(targetsBox);
    list.forEach((t, i) => {
      const select = h("select", { "data-testid": `cmp-endpoint-${i}`, "aria-label": `Endpoint ${i + 1}` });
      const options = endpoints.map((e) => ({
        value: e.name, label: `${e.name}${e.task ? ` (${shortTask(e.task)})` : ""}${e.ready ? "" : " – not ready"}`,
      }));
      if (t.endpoint && !options.some((o) => o.value === t.endpoint)) options.unshift({ value: t.endpoint, label: t.endpoint });
      setOptions(select, options, t.endpoint, options.length ? "Choose an endpoint…" : "No endpoints yet");
      select.addEventListener("change", () => {
        const next = targets();
        next[i] = { ...next[i], endpoint: select.value, label: "" };
        saveTargets(next);
      });
      const temp = h("input", { type: "number", min: 0, max: 2, step: 0.1, class: "ptw-num",
                                "data-testid": `cmp-temp-${i}`, placeholder: "default",
                                value: t.temperature === null || t.temperature === undefined ? "" : String(t.temperature) });
      temp.addEventListener("change", () => {
        const next = targets();
        const value = temp.value.trim() === "" ? null : Number(temp.value);
        if (value !== null && !Number.isFinite(value)) { errors.set("Temperature must be a number."); return; }
        next[i] = { ...next[i], temperature: value, label: "" };
        saveTargets(next);
      });
      const remove = h("button", { class: "ptw-icon-button", title: "Remove", "aria-label": "Remove endpoint",
                                   text: "×", "data-testid": `cmp-remove-${i}`, disabled: list.length <= 1 });
      remove.addEventListener("click", () => saveTargets(targets().filter((_, j) => j !== i)));
      targetsBox.append(h("div", { class: "ptw-row ptw-target", dataset: { index: i } },
        h("span", { class: "ptw-target-num", text: String(i + 1) }), select,
        h("label", { class: "ptw-inline" }, h("span", { class: "ptw-label", text: "temperature" }), temp), remove));
    });
    addButton.disabled = list.length >= MAX_TARGETS;
  }

  async function loadEndpoints() {
    try {
      endpoints = (await ctx.request<{ items: typeof endpoints }>("endpoints")).items;
      renderTargets();
    } catch (e) {
      errors.set(errorText(e));
    }
  }

  addButton.addEventListener("click", () => {
    const list = targets();
    if (list.length < MAX_TARGETS) saveTargets([...list, { ...emptyTarget(), endpoint: list[list.length - 1]?.endpoint || "" }]);
  });
  refresh.addEventListener("click", () => loadEndpoints());

  // ------------------------------------------------------------------ params
  function renderParams() {
    if (document.activeElement !== system) system.value = ctx.get("system_prompt") || "";
    if (document.activeElement !== maxTokens) maxTokens.value = String(ctx.get("max_tokens"));
    if (document.activeElement !== temperature) temperature.value = String(ctx.get("temperature"));
    logprobs.checked = !!ctx.get("logprobs");
  }
  const numberTrait = (input: HTMLInputElement, trait: string, integer: boolean) => {
    input.addEventListener("change", () => {
      const value = Number(input.value);
      if (input.value.trim() === "" || !Number.isFinite(value)) {
        errors.set(`${trait.replace("_", " ")} must be a number.`);
        renderParams();
        return;
      }
      ctx.set({ [trait]: integer ? Math.round(value) : value });
    });
  };
  numberTrait(maxTokens, "max_tokens", true);
  numberTrait(temperature, "temperature", false);
  system.addEventListener("change", () => ctx.set({ system_prompt: system.value }));
  logprobs.addEventListener("change", () => ctx.set({ logprobs: logprobs.checked }));

  // ------------------------------------------------------------------ the table
  let labels: string[] = [];
  let rows: { prompt: string; cells: (CellResult | null)[]; answers: HTMLDivElement[]; metrics: HTMLDivElement[] }[] = [];
  let summaryCells: HTMLTableCellElement[] = [];
  let tbody: HTMLTableSectionElement | null = null;
  // cells of rows not paged in yet (a long Python-started run): applied when the row arrives
  let early = new Map<string, CellResult>();

  function buildTable(prompts: string[], total: number, targetLabels: string[], kinds: string[]) {
    labels = targetLabels;
    rows = [];
    early = new Map();
    clear(results);
    const head = h("tr", {}, h("th", { text: "Prompt" }),
      labels.map((l, j) => h("th", { "data-testid": "cmp-target-label", title: kinds[j] || "", text: l })));
    tbody = h("tbody", {});
    summaryCells = labels.map(() => h("td", { class: "ptw-cmp-summary", "data-testid": "cmp-summary" }));
    const foot = h("tfoot", {}, h("tr", {}, h("th", { text: "Mean" }), summaryCells));
    results.append(h("table", { class: "ptw-table ptw-compare-table", "data-testid": "cmp-table" },
                     h("thead", {}, head), tbody, foot));
    for (const p of prompts) addRow(p);
    if (total > prompts.length) loadRows(prompts.length, total);
  }

  function addRow(prompt: string, cells?: (CellResult | null)[]) {
    const answers = labels.map(() => h("div", { class: "ptw-cmp-answer", "data-testid": "cmp-answer" }));
    const metrics = labels.map(() => h("div", { class: "ptw-usage", "data-testid": "cmp-metrics" }));
    const row = { prompt, cells: labels.map(() => null) as (CellResult | null)[], answers, metrics };
    rows.push(row);
    tbody?.append(h("tr", { "data-testid": "cmp-row" }, h("td", { class: "ptw-cmp-prompt", text: prompt }),
      labels.map((_, j) => h("td", { class: "ptw-cmp-cell" }, answers[j], metrics[j]))));
    const i = rows.length - 1;
    labels.forEach((_, j) => {
      const c = early.get(`${i}:${j}`) || (cells || [])[j];
      early.delete(`${i}:${j}`);
      if (c) setCell(i, j, c);
    });
  }

  function setCell(i: number, j: number, cell: CellResult) {
    const row = rows[i];
    if (j >= labels.length) return;
    if (!row) {
      early.set(`${i}:${j}`, cell);
      return;
    }
    row.cells[j] = cell;
    row.answers[j].classList.remove("ptw-streaming");
    row.answers[j].classList.toggle("ptw-cmp-error", !!cell.error);
    row.answers[j].textContent = cell.error || cell.answer || "";
    row.metrics[j].textContent = cellMetrics(cell);
    row.answers[j].dataset.done = "true";
    renderSummary();
  }

  function renderSummary() {
    labels.forEach((_, j) => {
      const s = summarize(rows.map((r) => r.cells[j]));
      const parts = [
        s.latency !== null ? `${formatNumber(s.latency)} s` : "",
        s.tokens !== null ? `${formatNumber(s.tokens, 1)} tokens` : "",
        s.logprob !== null ? `logprob ${formatNumber(s.logprob, 3)}` : "",
        s.errors ? `${s.errors} error${s.errors === 1 ? "" : "s"}` : "",
      ].filter(Boolean);
      summaryCells[j].textContent = parts.join(" · ");
    });
  }

  async function loadRows(offset: number, total: number) {
    for (let at = offset; at < total; at += PAGE_ROWS) {
      const page = await ctx.request<any>("page", { offset: at, limit: PAGE_ROWS });
      for (const r of page.rows) addRow(r.prompt, r.cells);
    }
  }

  async function restore() {
    try {
      const page = await ctx.request<any>("page", { offset: 0, limit: PAGE_ROWS });
      if (!page.targets?.length || rows.length) return;
      buildTable([], 0, page.targets, page.kinds || []);
      for (const r of page.rows) addRow(r.prompt, r.cells);
      if (page.total > page.rows.length) await loadRows(page.rows.length, page.total);
    } catch (e) {
      errors.set(errorText(e));
    }
  }

  ctx.onEvent((event) => {
    if (!event) return;
    if (event.type === "start") buildTable(event.prompts || [], event.total || 0, event.targets || [], event.kinds || []);
    else if (event.type === "delta") {
      const box = rows[event.row]?.answers[event.target];
      if (box && box.dataset.done !== "true") {
        box.classList.add("ptw-streaming");
        box.textContent += event.text;
      }
    } else if (event.type === "cell") setCell(event.row, event.target, event.cell);
  });

  // ------------------------------------------------------------------ running
  async function run() {
    errors.set("");
    const list = splitPrompts(prompts.value);
    if (!list.length) { errors.set("Write a prompt first."); return; }
    if (!targets().some((t) => t.endpoint)) { errors.set("Choose the endpoints to compare first."); return; }
    runButton.disabled = true;
    try {
      await ctx.request("run", { prompts: list });
    } catch (e) {
      errors.set(errorText(e));
      renderStatus();
    }
  }

  function renderStatus() {
    const s = ctx.get<string>("status") || "idle";
    const running = s === "running";
    root.dataset.status = s;
    runButton.disabled = running;
    stopButton.hidden = !running;
    const progress = ctx.get<string>("progress");
    status.textContent = running ? `Comparing… ${progress} answers` :
      s === "done" ? `Done: ${progress} answers` : s === "stopped" ? `Stopped after ${progress} answers` : "";
  }

  runButton.addEventListener("click", () => run());
  stopButton.addEventListener("click", () => {
    ctx.request("stop").catch((e) => errors.set(errorText(e)));
  });
  prompts.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      if (!runButton.disabled) run();
    }
  });

  ctx.on("targets", renderTargets);
  ctx.on(["system_prompt", "max_tokens", "temperature", "logprobs"], renderParams);
  ctx.on(["status", "progress"], renderStatus);
  ctx.on("error", () => errors.set(ctx.get("error")));
  renderTargets();
  renderParams();
  renderStatus();
  errors.set(ctx.get("error"));
  loadEndpoints();
  restore();
}
