// Playground: a task-aware form for the selected endpoint; streaming chat; tables of
// results; a per-token probability chart; cosine similarities for embeddings.
import { bindButton, bindCheckbox, bindErrors, bindNumber, bindSelect, bindText, onCtrlEnter } from "./bind";
import { button, clear, type ErrorBox, errorText, field, h, setOptions } from "./dom";
import { endpointSelect } from "./endpoint_select";
import { shortTask, splitStops, splitTexts } from "./format";
import { type EmbeddingsResult, type GenerationResult, showResult } from "./playground_results";
import type { Ctx } from "./rpc";

export type { EmbeddingsResult, GenerationResult } from "./playground_results";

const RUN_TIMEOUT_MS = 10 * 60_000;
const MODE_LABELS: Record<string, string> = {
  chat: "Chat",
  completions: "Completions",
  embeddings: "Embeddings",
};

export interface PlaygroundState {
  endpoint: string;
  endpoint_task: string;
  modes: string[];
  mode: string;
  system_prompt: string;
  temperature: number;
  max_tokens: number;
  stop: string;
  logprobs: boolean;
  top_logprobs: number;
  stream: boolean;
  status: string;
  disabled_reason: string;
  error: string;
  served_model: string; // one served entity of the endpoint, "" = the traffic split
  served_models: string[];
}

type PlaygroundCtx = Ctx<PlaygroundState>;
type Message = { role: string; content: string };
type Result = GenerationResult | EmbeddingsResult;

function textArea(rows: number, testid: string, placeholder: string): HTMLTextAreaElement {
  return h("textarea", { rows, "data-testid": testid, placeholder });
}

function numberInput(testid: string, min: number, max: number, step: number): HTMLInputElement {
  return h("input", { type: "number", min, max, step, "data-testid": testid, class: "ptw-num" });
}

/** The three forms (one per mode), the generation parameters and the actions. */
function playgroundView() {
  const v = {
    system: textArea(2, "system-prompt", "You are a helpful assistant."),
    conversation: h("div", { class: "ptw-conversation", "data-testid": "conversation" }),
    chatInput: textArea(3, "chat-input", "Your message (Ctrl+Enter sends)"),
    prompt: textArea(4, "prompt-input", "Text to continue"),
    texts: textArea(5, "texts-input", "One text per line"),
    temperature: numberInput("temperature", 0, 2, 0.1),
    maxTokens: numberInput("max-tokens", 1, 4096, 1),
    stop: h("input", {
      type: "text",
      placeholder: "e.g. \\n\\n, END",
      "data-testid": "stop",
      class: "ptw-stop",
    }),
    logprobs: h("input", { type: "checkbox", "data-testid": "logprobs" }),
    topLogprobs: numberInput("top-logprobs", 0, 20, 1),
    stream: h("input", { type: "checkbox", "data-testid": "stream" }),
    send: button("Send", "send-button", "ptw-primary"),
    stopButton: button("Stop", "stop-button", "", true),
    clearButton: button("Clear", "clear-button"),
    runStatus: h("span", { class: "ptw-muted ptw-run-status", "data-testid": "run-status" }),
    output: h("div", { class: "ptw-output", "data-testid": "pg-output", "aria-live": "polite" }),
    taskChip: h("span", { class: "ptw-chip", "data-testid": "pg-task" }),
    tabs: h("div", { class: "ptw-tabs", role: "tablist" }),
  };
  const forms = {
    chat: h(
      "div",
      { class: "ptw-form", dataset: { mode: "chat" } },
      field("System prompt", v.system),
      v.conversation,
      field("Message", v.chatInput),
    ),
    completions: h("div", { class: "ptw-form", dataset: { mode: "completions" } }, field("Prompt", v.prompt)),
    embeddings: h(
      "div",
      { class: "ptw-form", dataset: { mode: "embeddings" } },
      field("Texts", v.texts, "One per line; each gets a vector."),
    ),
    params: h(
      "div",
      { class: "ptw-row ptw-row-wrap ptw-params" },
      field("Temperature", v.temperature),
      field("Max tokens", v.maxTokens),
      field("Stop", v.stop),
      h("label", { class: "ptw-check" }, v.logprobs, h("span", { text: "logprobs" })),
      field("Top logprobs", v.topLogprobs),
      h("label", { class: "ptw-check ptw-stream-check" }, v.stream, h("span", { text: "stream" })),
    ),
  };
  return { ...v, forms };
}

type PlaygroundView = ReturnType<typeof playgroundView>;

function renderTabs(ctx: PlaygroundCtx, v: PlaygroundView): void {
  const mode = ctx.get("mode");
  v.tabs.replaceChildren(
    ...(ctx.get("modes") || []).map((m) =>
      h("button", {
        role: "tab",
        class: m === mode ? "ptw-tab ptw-tab-active" : "ptw-tab",
        "aria-selected": m === mode ? "true" : "false",
        "data-testid": `tab-${m}`,
        text: MODE_LABELS[m] || m,
        onclick: () => ctx.set({ mode: m }),
      }),
    ),
  );
  v.forms.chat.hidden = mode !== "chat";
  v.forms.completions.hidden = mode !== "completions";
  v.forms.embeddings.hidden = mode !== "embeddings";
  v.forms.params.hidden = mode === "embeddings";
  v.send.textContent = mode === "embeddings" ? "Embed" : mode === "chat" ? "Send" : "Complete";
  const task = shortTask(ctx.get("endpoint_task"));
  v.taskChip.textContent = task ? `task: ${task}` : "";
  v.taskChip.hidden = !task;
}

function bindParams(ctx: PlaygroundCtx, v: PlaygroundView, errors: ErrorBox): void {
  const onError = (m: string) => errors.set(m);
  bindNumber(ctx, v.temperature, "temperature", onError);
  bindNumber(ctx, v.maxTokens, "max_tokens", onError, { integer: true });
  bindNumber(ctx, v.topLogprobs, "top_logprobs", onError, { integer: true });
  bindText(ctx, v.stop, "stop");
  bindText(ctx, v.system, "system_prompt");
  bindCheckbox(ctx, v.logprobs, "logprobs");
  bindCheckbox(ctx, v.stream, "stream");
}

/** Options of the served-entity chooser: the split first, then each entity by name. */
export function entityOptions(names: string[]): { value: string; label: string }[] {
  return [{ value: "", label: "any (traffic split)" }, ...(names ?? []).map((n) => ({ value: n, label: n }))];
}

/**
 * Aim queries at one served entity of a multi-entity endpoint (its own invocations route),
 * or at the split. Shown only when the endpoint serves more than one; opening it rereads them.
 */
function entityChooser(ctx: PlaygroundCtx, onError: (message: string) => void): HTMLLabelElement {
  const select = h("select", { "data-testid": "pg-entity", "aria-label": "Served entity" });
  const label = field("Served entity", select);
  const paint = () => {
    const names = ctx.get("served_models") ?? [];
    setOptions(select, entityOptions(names), ctx.get("served_model") || "");
    label.hidden = names.length < 2 && !ctx.get("served_model");
  };
  select.addEventListener("focus", () => {
    ctx.request("entities").catch((e) => onError(errorText(e)));
  });
  ctx.on("served_models", paint);
  paint();
  bindSelect(ctx, select, "served_model");
  return label;
}

/** The chat so far, with the answer streaming in as a pending message. */
function conversation(box: HTMLElement) {
  const c = {
    messages: [] as Message[],
    render(pending?: { text: string }) {
      clear(box);
      for (const m of c.messages) {
        box.append(
          h(
            "div",
            { class: `ptw-msg ptw-msg-${m.role}` },
            h("span", { class: "ptw-role", text: m.role }),
            h("div", { class: "ptw-msg-text", text: m.content }),
          ),
        );
      }
      if (pending) {
        box.append(
          h(
            "div",
            { class: "ptw-msg ptw-msg-assistant ptw-msg-pending" },
            h("span", { class: "ptw-role", text: "assistant" }),
            h("div", { class: "ptw-msg-text", "data-testid": "streaming", text: pending.text || "…" }),
          ),
        );
      }
      box.hidden = box.childElementCount === 0;
    },
  };
  return c;
}

type Conversation = ReturnType<typeof conversation>;

/** What the kernel's "run" gets: the mode's input and the form's parameters (or a problem). */
function runParams(
  ctx: PlaygroundCtx,
  v: PlaygroundView,
  chat: Conversation,
): { params: Record<string, unknown>; problem: string } {
  const mode = ctx.get("mode");
  const params: Record<string, unknown> = {
    mode,
    endpoint: ctx.get("endpoint"),
    temperature: Number(v.temperature.value),
    max_tokens: Math.round(Number(v.maxTokens.value)),
    stop: splitStops(v.stop.value),
    logprobs: v.logprobs.checked,
    top_logprobs: Math.round(Number(v.topLogprobs.value) || 0),
    stream: v.stream.checked,
    system: v.system.value,
  };
  if (mode === "chat") {
    const text = v.chatInput.value.trim();
    if (!text) return { params, problem: "Write a message first." };
    params.messages = [...chat.messages, { role: "user", content: text }];
  } else if (mode === "completions") {
    params.prompt = v.prompt.value;
  } else {
    params.texts = splitTexts(v.texts.value);
    if (!(params.texts as string[]).length)
      return { params, problem: "Write at least one text (one per line)." };
  }
  return { params, problem: "" };
}

/** One run: streams deltas into the answer (and the chat), then shows the result. */
async function run(
  ctx: PlaygroundCtx,
  v: PlaygroundView,
  chat: Conversation,
  signal: AbortSignal,
): Promise<void> {
  const mode = ctx.get("mode");
  const { params, problem } = runParams(ctx, v, chat);
  if (problem) throw new Error(problem);
  const pending = mode === "chat" ? { text: "" } : undefined;
  if (pending) {
    chat.messages.push({ role: "user", content: v.chatInput.value.trim() });
    chat.render(pending);
  }
  v.runStatus.textContent = mode === "embeddings" ? "Embedding…" : "Generating…";
  const streamBox = h("div", { class: "ptw-answer ptw-streaming", "data-testid": "answer" });
  v.output.replaceChildren(...(mode === "embeddings" ? [] : [streamBox]));
  try {
    const result = await ctx.request<Result>("run", params, {
      timeoutMs: RUN_TIMEOUT_MS,
      signal,
      onEvent: (event) => {
        if (event?.type !== "delta") return;
        streamBox.textContent += event.text;
        if (pending) {
          pending.text += event.text;
          chat.render(pending);
        }
      },
    });
    if (pending) {
      chat.messages.push({ role: "assistant", content: (result as GenerationResult).text });
      v.chatInput.value = "";
      chat.render();
    }
    showResult(v.output, result);
  } catch (e) {
    if (pending) {
      chat.messages.pop();
      chat.render();
    }
    throw e;
  } finally {
    v.runStatus.textContent = "";
  }
}

/** Send (with Ctrl+Enter in the chat), Stop and Clear. */
function wireRun(ctx: PlaygroundCtx, v: PlaygroundView, chat: Conversation, errors: ErrorBox) {
  let controller: AbortController | null = null;
  const renderRunning = () => {
    v.send.disabled = controller !== null || !!ctx.get("disabled_reason") || !ctx.get("endpoint");
    v.stopButton.hidden = controller === null;
  };
  const send = bindButton(
    v.send,
    async () => {
      errors.set("");
      controller = new AbortController();
      renderRunning();
      try {
        await run(ctx, v, chat, controller.signal);
      } finally {
        controller = null;
      }
    },
    (m) => errors.set(m),
    renderRunning,
  );
  v.stopButton.addEventListener("click", () => controller?.abort());
  v.clearButton.addEventListener("click", () => {
    chat.messages = [];
    chat.render();
    clear(v.output);
    errors.set("");
  });
  onCtrlEnter(v.chatInput, () => {
    if (!v.send.disabled) send.run();
  });
  return renderRunning;
}

export function renderPlayground(ctx: PlaygroundCtx, root: HTMLElement): void {
  const errors = bindErrors(ctx);
  const note = h("div", { class: "ptw-note", "data-testid": "playground-disabled" });
  const v = playgroundView();
  const endpoint = endpointSelect(ctx, "pg-endpoint", (m) => errors.set(m));
  const body = h(
    "div",
    { class: "ptw-playground-body" },
    h(
      "div",
      { class: "ptw-row ptw-row-end" },
      field("Endpoint", endpoint.select),
      endpoint.list.reload,
      entityChooser(ctx, (m) => errors.set(m)),
      v.taskChip,
    ),
    v.tabs,
    v.forms.chat,
    v.forms.completions,
    v.forms.embeddings,
    v.forms.params,
    h("div", { class: "ptw-row" }, v.send, v.stopButton, v.clearButton, v.runStatus),
    v.output,
  );
  root.append(h("div", { class: "ptw-playground" }, note, body, errors.el));
  bindParams(ctx, v, errors);
  const chat = conversation(v.conversation);
  const renderRunning = wireRun(ctx, v, chat, errors);
  const renderState = () => {
    const reason = ctx.get("disabled_reason");
    note.textContent = reason || "";
    note.hidden = !reason;
    body.classList.toggle("ptw-disabled", !!reason);
    root.dataset.status = ctx.get("status") || "idle";
    renderRunning();
  };
  ctx.on(["modes", "mode", "endpoint_task"], () => renderTabs(ctx, v));
  ctx.on(["disabled_reason", "status", "endpoint"], renderState);
  ctx.onEvent((event) => {
    if (event?.type === "result") showResult(v.output, event.result);
  });
  renderTabs(ctx, v);
  chat.render();
  renderState();
  endpoint.list.load();
  ctx
    .request<{ result: Result | null }>("last")
    .then((res) => {
      if (res.result && !v.output.childElementCount) showResult(v.output, res.result);
    })
    .catch((e) => errors.set(errorText(e)));
}
