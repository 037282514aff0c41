// Playground: a task-aware form for the selected endpoint; streaming chat; tables of
// results; a per-token probability chart; cosine similarities for embeddings.
import { Ctx } from "./rpc";
import { ErrorBox, clear, errorText, field, h, setOptions, table } from "./dom";
import {
  formatNumber, probabilities, shortTask, showToken, similarityAlpha, splitStops, splitTexts,
} from "./format";

const RUN_TIMEOUT_MS = 10 * 60_000;
const MODE_LABELS: Record<string, string> = {
  chat: "Chat", completions: "Completions", embeddings: "Embeddings",
};

interface TokenRow {
  position: number;
  token: string;
  logprob: number | null;
  probability: number | null;
  rank: number | null;
  top: { token: string; logprob: number | null }[];
}

export interface GenerationResult {
  mode: string;
  endpoint: string;
  text: string;
  finish_reason: string | null;
  usage: { prompt_tokens: number | null; completion_tokens: number | null; total_tokens: number | null };
  latency_s: number;
  ttft_s: number | null;
  logprobs: TokenRow[];
}

export interface EmbeddingsResult {
  mode: "embeddings";
  endpoint: string;
  dimensions: number;
  rows: { index: number; input: string; dimensions: number; norm: number; preview: number[] }[];
  similarity: { labels: string[]; matrix: number[][] };
  note: string;
  latency_s: number;
}

type Message = { role: string; content: string };

/** An SVG bar chart of per-token probabilities (exp(logprob)). */
export function logprobChart(tokens: TokenRow[]): SVGSVGElement {
  const ns = "http://www.w3.org/2000/svg";
  const width = Math.max(240, Math.min(900, 30 + tokens.length * 14));
  const height = 90;
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(height));
  svg.setAttribute("class", "ptw-chart");
  svg.setAttribute("role", "img");
  svg.setAttribute("data-testid", "logprob-chart");
  svg.setAttribute("aria-label", "Probability of each generated token");
  const probs = probabilities(tokens.map((t) => t.logprob));
  const barW = tokens.length ? (width - 30) / tokens.length : 0;
  const axis = document.createElementNS(ns, "line");
  Object.entries({ x1: 28, y1: height - 12, x2: width, y2: height - 12, class: "ptw-axis" })
    .forEach(([k, v]) => axis.setAttribute(k, String(v)));
  svg.append(axis);
  for (const [label, y] of [["1", 6], ["0.5", (height - 18) / 2 + 6], ["0", height - 12]] as const) {
    const text = document.createElementNS(ns, "text");
    text.setAttribute("x", "0");
    text.setAttribute("y", String(Number(y) + 3));
    text.setAttribute("class", "ptw-axis-label");
    text.textContent = label;
    svg.append(text);
  }
  probs.forEach((p, i) => {
    const rect = document.createElementNS(ns, "rect");
    const barH = Math.max(1, p * (height - 18));
    rect.setAttribute("x", String(30 + i * barW));
    rect.setAttribute("y", String(height - 12 - barH));
    rect.setAttribute("width", String(Math.max(1, barW - 1)));
    rect.setAttribute("height", String(barH));
    rect.setAttribute("class", p < 0.5 ? "ptw-bar ptw-bar-low" : "ptw-bar");
    const title = document.createElementNS(ns, "title");
    title.textContent = `${showToken(tokens[i].token)}: p=${formatNumber(p, 3)}`;
    rect.append(title);
    svg.append(rect);
  });
  return svg;
}

export function tokenTable(tokens: TokenRow[]): HTMLTableElement {
  return table(
    [["position", "#"], ["token", "token"], ["logprob", "logprob"], ["probability", "probability"],
     ["top", "top alternatives"]],
    tokens,
    {
      testid: "token-table",
      format: (key, value) => {
        if (key === "token") return h("code", { text: showToken(String(value)) });
        if (key === "logprob") return formatNumber(value, 3);
        if (key === "probability") return formatNumber(value, 3);
        if (key === "top") {
          return (value as TokenRow["top"]).map((t) => `${showToken(t.token)} (${formatNumber(
            t.logprob === null ? null : Math.exp(t.logprob), 2)})`).join(", ");
        }
        return value;
      },
    });
}

export function vectorsTable(result: EmbeddingsResult): HTMLTableElement {
  const dims = result.rows[0]?.preview.length ?? 0;
  return table(
    [["index", "#"], ["input", "text"], ["dimensions", "dims"], ["norm", "norm"],
     ["preview", `first ${dims} values`]],
    result.rows,
    {
      testid: "vectors-table",
      format: (key, value) => {
        if (key === "preview") return h("code", { text: `[${(value as number[]).map((v) => v.toFixed(3)).join(", ")}, …]` });
        if (key === "norm") return formatNumber(value, 3);
        return value;
      },
    });
}

export function similarityTable(result: EmbeddingsResult): HTMLTableElement {
  const labels = result.similarity.labels.map((l, i) => `${i}: ${l.length > 24 ? `${l.slice(0, 23)}…` : l}`);
  const columns: [string, string][] = [["label", ""], ...labels.map((_, i) => [String(i), String(i)] as [string, string])];
  const rows = result.similarity.matrix.map((row, i) => {
    const out: Record<string, any> = { label: labels[i] };
    row.forEach((v, j) => { out[String(j)] = v; });
    return out;
  });
  const t = table(columns, rows, {
    testid: "similarity-table", className: "ptw-similarity",
    format: (key, value) => {
      if (key === "label") return value;
      const cell = h("span", { class: "ptw-heat", text: formatNumber(value, 3) });
      cell.style.setProperty("--ptw-heat", String(similarityAlpha(value)));
      return cell;
    },
  });
  t.querySelectorAll("thead th").forEach((th, i) => {
    if (i > 0) th.setAttribute("title", labels[i - 1]);
  });
  return t;
}

export function renderPlayground(ctx: Ctx, root: HTMLElement): void {
  const errors = new ErrorBox(() => ctx.set({ error: "" }));
  const note = h("div", { class: "ptw-note", "data-testid": "playground-disabled" });
  const endpoint = h("select", { "data-testid": "pg-endpoint", "aria-label": "Endpoint" });
  const refresh = h("button", { class: "ptw-icon-button", title: "Reload endpoints", text: "↻",
                                "aria-label": "Reload endpoints" });
  const taskChip = h("span", { class: "ptw-chip", "data-testid": "pg-task" });
  const tabs = h("div", { class: "ptw-tabs", role: "tablist" });

  // chat
  const system = h("textarea", { rows: 2, "data-testid": "system-prompt",
                                 placeholder: "You are a helpful assistant." });
  const conversation = h("div", { class: "ptw-conversation", "data-testid": "conversation" });
  const chatInput = h("textarea", { rows: 3, "data-testid": "chat-input",
                                    placeholder: "Your message (Ctrl+Enter sends)" });
  // completions
  const prompt = h("textarea", { rows: 4, "data-testid": "prompt-input",
                                 placeholder: "Text to continue" });
  // embeddings
  const texts = h("textarea", { rows: 5, "data-testid": "texts-input",
                                placeholder: "One text per line" });
  // params
  const temperature = h("input", { type: "number", min: 0, max: 2, step: 0.1,
                                   "data-testid": "temperature", class: "ptw-num" });
  const maxTokens = h("input", { type: "number", min: 1, max: 4096, step: 1,
                                 "data-testid": "max-tokens", class: "ptw-num" });
  const stop = h("input", { type: "text", placeholder: "e.g. \\n\\n, END", "data-testid": "stop",
                            class: "ptw-stop" });
  const logprobs = h("input", { type: "checkbox", "data-testid": "logprobs" });
  const topLogprobs = h("input", { type: "number", min: 0, max: 20, step: 1,
                                   "data-testid": "top-logprobs", class: "ptw-num" });
  const stream = h("input", { type: "checkbox", "data-testid": "stream" });
  const sendButton = h("button", { class: "ptw-button ptw-primary", "data-testid": "send-button",
                                   text: "Send" });
  const stopButton = h("button", { class: "ptw-button", "data-testid": "stop-button", text: "Stop",
                                   hidden: true });
  const clearButton = h("button", { class: "ptw-button", text: "Clear", "data-testid": "clear-button" });

  const chatForm = h("div", { class: "ptw-form", dataset: { mode: "chat" } },
    field("System prompt", system), conversation, field("Message", chatInput));
  const completionsForm = h("div", { class: "ptw-form", dataset: { mode: "completions" } },
    field("Prompt", prompt));
  const embeddingsForm = h("div", { class: "ptw-form", dataset: { mode: "embeddings" } },
    field("Texts", texts, "One per line; each gets a vector."));
  const genParams = h("div", { class: "ptw-row ptw-row-wrap ptw-params" },
    field("Temperature", temperature), field("Max tokens", maxTokens), field("Stop", stop),
    h("label", { class: "ptw-check" }, logprobs, h("span", { text: "logprobs" })),
    field("Top logprobs", topLogprobs),
    h("label", { class: "ptw-check ptw-stream-check" }, stream, h("span", { text: "stream" })));
  const actions = h("div", { class: "ptw-row" }, sendButton, stopButton, clearButton,
                    h("span", { class: "ptw-muted ptw-run-status", "data-testid": "run-status" }));
  const output = h("div", { class: "ptw-output", "data-testid": "pg-output", "aria-live": "polite" });

  const body = h("div", { class: "ptw-playground-body" },
    h("div", { class: "ptw-row ptw-row-end" }, field("Endpoint", endpoint), refresh, taskChip),
    tabs, chatForm, completionsForm, embeddingsForm, genParams, actions, output);
  root.append(h("div", { class: "ptw-playground" }, note, body, errors.el));

  // ------------------------------------------------------------------ endpoints
  let endpoints: { name: string; task: string; ready: boolean; model: string }[] = [];

  async function loadEndpoints() {
    try {
      const res = await ctx.request<{ items: typeof endpoints }>("endpoints");
      endpoints = res.items;
      renderEndpoints();
    } catch (e) {
      errors.set(errorText(e));
    }
  }

  function renderEndpoints() {
    const current = ctx.get<string>("endpoint");
    const options = endpoints.map((e) => ({
      value: e.name,
      label: `${e.name}${e.task ? ` (${shortTask(e.task)})` : ""}${e.ready ? "" : " – not ready"}`,
    }));
    if (current && !options.some((o) => o.value === current)) {
      options.unshift({ value: current, label: current });
    }
    setOptions(endpoint, options, current, options.length ? "Choose an endpoint…" : "No endpoints yet");
  }

  endpoint.addEventListener("change", () => ctx.set({ endpoint: endpoint.value }));
  refresh.addEventListener("click", () => loadEndpoints());

  // ------------------------------------------------------------------ mode and form
  function renderTabs() {
    clear(tabs);
    const modes = ctx.get<string[]>("modes") || [];
    const mode = ctx.get<string>("mode");
    for (const m of modes) {
      tabs.append(h("button", {
        role: "tab", class: m === mode ? "ptw-tab ptw-tab-active" : "ptw-tab",
        "aria-selected": m === mode ? "true" : "false", "data-testid": `tab-${m}`,
        text: MODE_LABELS[m] || m, onclick: () => ctx.set({ mode: m }),
      }));
    }
    chatForm.hidden = mode !== "chat";
    completionsForm.hidden = mode !== "completions";
    embeddingsForm.hidden = mode !== "embeddings";
    genParams.hidden = mode === "embeddings";
    sendButton.textContent = mode === "embeddings" ? "Embed" : mode === "chat" ? "Send" : "Complete";
    const task = shortTask(ctx.get("endpoint_task"));
    taskChip.textContent = task ? `task: ${task}` : "";
    taskChip.hidden = !task;
  }

  function renderParams() {
    if (document.activeElement !== temperature) temperature.value = String(ctx.get("temperature"));
    if (document.activeElement !== maxTokens) maxTokens.value = String(ctx.get("max_tokens"));
    if (document.activeElement !== stop) stop.value = ctx.get("stop") || "";
    if (document.activeElement !== system) system.value = ctx.get("system_prompt") || "";
    logprobs.checked = !!ctx.get("logprobs");
    topLogprobs.value = String(ctx.get("top_logprobs") || 0);
    stream.checked = !!ctx.get("stream");
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
  numberTrait(temperature, "temperature", false);
  numberTrait(maxTokens, "max_tokens", true);
  numberTrait(topLogprobs, "top_logprobs", true);
  stop.addEventListener("change", () => ctx.set({ stop: stop.value }));
  system.addEventListener("change", () => ctx.set({ system_prompt: system.value }));
  logprobs.addEventListener("change", () => ctx.set({ logprobs: logprobs.checked }));
  stream.addEventListener("change", () => ctx.set({ stream: stream.checked }));

  // ------------------------------------------------------------------ conversation
  let messages: Message[] = [];

  function renderConversation(pending?: { text: string }) {
    clear(conversation);
    for (const m of messages) {
      conversation.append(h("div", { class: `ptw-msg ptw-msg-${m.role}` },
        h("span", { class: "ptw-role", text: m.role }), h("div", { class: "ptw-msg-text", text: m.content })));
    }
    if (pending) {
      conversation.append(h("div", { class: "ptw-msg ptw-msg-assistant ptw-msg-pending" },
        h("span", { class: "ptw-role", text: "assistant" }),
        h("div", { class: "ptw-msg-text", "data-testid": "streaming", text: pending.text || "…" })));
    }
    conversation.hidden = conversation.childElementCount === 0;
  }

  // ------------------------------------------------------------------ running
  let controller: AbortController | null = null;

  const runStatus = actions.querySelector<HTMLSpanElement>(".ptw-run-status")!;

  function setRunning(running: boolean, text = "") {
    sendButton.disabled = running || !!ctx.get("disabled_reason") || !ctx.get("endpoint");
    stopButton.hidden = !running;
    runStatus.textContent = text;
  }
  async function run() {
    const mode = ctx.get<string>("mode");
    errors.set("");
    const params: Record<string, any> = {
      mode, endpoint: ctx.get("endpoint"),
      temperature: Number(temperature.value), max_tokens: Math.round(Number(maxTokens.value)),
      stop: splitStops(stop.value), logprobs: logprobs.checked,
      top_logprobs: Math.round(Number(topLogprobs.value) || 0), stream: stream.checked,
      system: system.value,
    };
    let pending: { text: string } | undefined;
    if (mode === "chat") {
      const text = chatInput.value.trim();
      if (!text) { errors.set("Write a message first."); return; }
      messages.push({ role: "user", content: text });
      params.messages = messages.slice();
      pending = { text: "" };
      renderConversation(pending);
    } else if (mode === "completions") {
      params.prompt = prompt.value;
    } else {
      params.texts = splitTexts(texts.value);
      if (!params.texts.length) { errors.set("Write at least one text (one per line)."); return; }
    }
    controller = new AbortController();
    setRunning(true, mode === "embeddings" ? "Embedding…" : "Generating…");
    clear(output);
    const streamBox = h("div", { class: "ptw-answer ptw-streaming", "data-testid": "answer" });
    if (mode !== "embeddings") output.append(streamBox);
    try {
      const result = await ctx.request<any>("run", params, {
        timeoutMs: RUN_TIMEOUT_MS, signal: controller.signal,
        onEvent: (event) => {
          if (event?.type === "delta") {
            streamBox.textContent += event.text;
            if (pending) {
              pending.text += event.text;
              renderConversation(pending);
            }
          }
        },
      });
      if (mode === "chat") {
        messages.push({ role: "assistant", content: result.text });
        chatInput.value = "";
        renderConversation();
      }
      showResult(result);
    } catch (e) {
      if (mode === "chat") {
        messages.pop();
        renderConversation();
      }
      errors.set(errorText(e));
    } finally {
      controller = null;
      setRunning(false);
    }
  }

  function showResult(result: GenerationResult | EmbeddingsResult | null) {
    clear(output);
    if (!result) return;
    if (result.mode === "embeddings") {
      const r = result as EmbeddingsResult;
      output.append(
        h("div", { class: "ptw-usage", "data-testid": "usage",
                   text: `${r.rows.length} vectors × ${r.dimensions} dimensions · ${formatNumber(r.latency_s)} s` }),
        r.note ? h("div", { class: "ptw-muted", text: r.note }) : "",
        h("h4", { text: "Vectors" }), h("div", { class: "ptw-scroll" }, vectorsTable(r)),
        h("h4", { text: "Cosine similarity" }), h("div", { class: "ptw-scroll" }, similarityTable(r)));
      return;
    }
    const r = result as GenerationResult;
    const u = r.usage || {};
    const parts = [
      `${u.prompt_tokens ?? "?"} prompt + ${u.completion_tokens ?? "?"} completion tokens`,
      `${formatNumber(r.latency_s)} s`,
      r.ttft_s !== null && r.ttft_s !== undefined ? `first token ${formatNumber(r.ttft_s)} s` : "",
      r.finish_reason ? `finish: ${r.finish_reason}` : "",
    ].filter(Boolean);
    output.append(
      h("div", { class: "ptw-answer", "data-testid": "answer", text: r.text }),
      h("div", { class: "ptw-usage", "data-testid": "usage", text: parts.join(" · ") }));
    if (r.logprobs && r.logprobs.length) {
      output.append(h("h4", { text: "Token probabilities" }), logprobChart(r.logprobs),
                    h("div", { class: "ptw-scroll" }, tokenTable(r.logprobs)));
    }
  }

  sendButton.addEventListener("click", () => run());
  stopButton.addEventListener("click", () => controller?.abort());
  clearButton.addEventListener("click", () => {
    messages = [];
    renderConversation();
    clear(output);
    errors.set("");
  });
  chatInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      if (!sendButton.disabled) run();
    }
  });

  // ------------------------------------------------------------------ state
  function renderState() {
    const reason = ctx.get<string>("disabled_reason");
    note.textContent = reason || "";
    note.hidden = !reason;
    body.classList.toggle("ptw-disabled", !!reason);
    root.dataset.status = ctx.get("status") || "idle";
    setRunning(controller !== null, runStatus.textContent || "");
  }

  ctx.on(["modes", "mode", "endpoint_task"], renderTabs);
  ctx.on(["temperature", "max_tokens", "stop", "system_prompt", "logprobs", "top_logprobs", "stream"],
         renderParams);
  ctx.on(["disabled_reason", "status", "endpoint"], renderState);
  ctx.on("endpoint", () => {
    if (!endpoints.some((e) => e.name === ctx.get("endpoint"))) loadEndpoints();
    else renderEndpoints();
  });
  ctx.on("error", () => errors.set(ctx.get("error")));
  ctx.onEvent((event) => {
    if (event?.type === "result") showResult(event.result);
  });

  setOptions(endpoint, [], "", "Loading endpoints…");
  renderTabs();
  renderParams();
  renderConversation();
  renderState();
  errors.set(ctx.get("error"));
  loadEndpoints();
  ctx.request<{ result: any }>("last").then((res) => {
    if (res.result && !output.childElementCount) showResult(res.result);
  }).catch((e) => errors.set(errorText(e)));
}
