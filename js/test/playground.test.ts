import { describe, expect, it } from "vitest";
import { renderPlayground } from "../src/playground";
import { Ctx, Rpc } from "../src/rpc";
import { byTestId, FakeModel, flush } from "./fake";

const STATE = {
  endpoint: "chat-ep",
  endpoint_task: "llm/v1/chat",
  modes: ["chat", "completions"],
  mode: "chat",
  system_prompt: "",
  temperature: 0.2,
  max_tokens: 64,
  stop: "",
  logprobs: true,
  top_logprobs: 2,
  stream: true,
  status: "idle",
  disabled_reason: "",
  error: "",
};

const CHAT_RESULT = {
  mode: "chat",
  endpoint: "chat-ep",
  text: "Paris.",
  finish_reason: "stop",
  usage: { prompt_tokens: 12, completion_tokens: 2, total_tokens: 14 },
  latency_s: 0.5,
  ttft_s: 0.1,
  logprobs: [
    {
      position: 0,
      token: "Paris",
      logprob: -0.1,
      probability: 0.905,
      rank: 1,
      top: [
        { token: "Paris", logprob: -0.1 },
        { token: "Lyon", logprob: -3 },
      ],
    },
    {
      position: 1,
      token: ".",
      logprob: -0.7,
      probability: 0.5,
      rank: 1,
      top: [{ token: ".", logprob: -0.7 }],
    },
  ],
};

const EMBED_RESULT = {
  mode: "embeddings",
  endpoint: "emb",
  dimensions: 384,
  note: "",
  latency_s: 0.1,
  rows: [
    { index: 0, input: "a cat", dimensions: 384, norm: 1, preview: [0.1, 0.2] },
    { index: 1, input: "a dog", dimensions: 384, norm: 1, preview: [0.3, 0.4] },
  ],
  similarity: {
    labels: ["a cat", "a dog"],
    matrix: [
      [1, 0.6],
      [0.6, 1],
    ],
  },
};

function setup(state: Record<string, any>, kernel: any) {
  const model = new FakeModel({ ...STATE, ...state }, kernel);
  const root = document.createElement("div");
  renderPlayground(new Ctx(model, "", "playground", new Rpc(model), new AbortController().signal), root);
  return { model, root };
}

function baseKernel(run: (params: any, reply: any) => void) {
  return (method: string, params: any, reply: any) => {
    if (method === "playground:endpoints")
      reply.ok({ items: [{ name: "chat-ep", task: "llm/v1/chat", ready: true, model: "m" }] });
    else if (method === "playground:last") reply.ok({ result: null });
    else if (method === "playground:run") run(params, reply);
  };
}

describe("Playground", () => {
  it("chat: streams the answer, then shows usage, the token chart and the token table", async () => {
    let pending: any;
    const { model, root } = setup(
      {},
      baseKernel((_params, reply) => {
        pending = reply;
      }),
    );
    await flush();
    expect(byTestId<HTMLSelectElement>(root, "pg-endpoint").value).toBe("chat-ep");
    expect(byTestId(root, "pg-task").textContent).toBe("task: chat");
    byTestId<HTMLTextAreaElement>(root, "chat-input").value = "Capital of France?";
    byTestId(root, "send-button").click();
    const params = model.calls("playground:run")[0].params;
    expect(params).toMatchObject({
      mode: "chat",
      endpoint: "chat-ep",
      logprobs: true,
      top_logprobs: 2,
      stream: true,
      messages: [{ role: "user", content: "Capital of France?" }],
    });
    pending.event({ type: "delta", text: "Par" });
    expect(byTestId(root, "streaming").textContent).toBe("Par");
    pending.event({ type: "delta", text: "is." });
    pending.ok(CHAT_RESULT);
    await flush();
    expect(root.querySelector("[data-testid=pg-output] [data-testid=answer]")!.textContent).toBe("Paris.");
    expect(byTestId(root, "usage").textContent).toMatch(/12 prompt \+ 2 completion tokens/);
    expect(byTestId(root, "token-table").querySelectorAll("tbody tr")).toHaveLength(2);
    expect(byTestId(root, "token-table").textContent).toMatch(/Lyon \(0\.05\)/);
    expect(byTestId(root, "logprob-chart").querySelectorAll("rect")).toHaveLength(2);
    expect(root.querySelectorAll("[data-testid=conversation] .ptw-msg")).toHaveLength(2);
  });

  it("a second chat turn sends the whole conversation", async () => {
    const { model, root } = setup(
      {},
      baseKernel((_p, reply) => reply.ok(CHAT_RESULT)),
    );
    await flush();
    for (const text of ["Hi", "And Germany?"]) {
      byTestId<HTMLTextAreaElement>(root, "chat-input").value = text;
      byTestId(root, "send-button").click();
      await flush();
    }
    expect(model.calls("playground:run")[1].params.messages).toEqual([
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Paris." },
      { role: "user", content: "And Germany?" },
    ]);
  });

  it("embeddings: several texts, a vectors table and a cosine similarity table", async () => {
    const { model, root } = setup(
      { endpoint: "emb", endpoint_task: "llm/v1/embeddings", modes: ["embeddings"], mode: "embeddings" },
      baseKernel((_p, reply) => reply.ok(EMBED_RESULT)),
    );
    await flush();
    expect(byTestId(root, "send-button").textContent).toBe("Embed");
    byTestId<HTMLTextAreaElement>(root, "texts-input").value = "a cat\n\na dog\n";
    byTestId(root, "send-button").click();
    await flush();
    expect(model.calls("playground:run")[0].params.texts).toEqual(["a cat", "a dog"]);
    expect(byTestId(root, "vectors-table").querySelectorAll("tbody tr")).toHaveLength(2);
    expect(byTestId(root, "similarity-table").textContent).toMatch(/0\.6/);
  });

  it("shows the kernel's error and puts the unanswered message back", async () => {
    const { root } = setup(
      {},
      baseKernel((_p, reply) =>
        reply.error(
          "The workspace is rate-limiting requests (over its provisioned throughput; HTTP 429); retry after 1 s.",
        ),
      ),
    );
    await flush();
    byTestId<HTMLTextAreaElement>(root, "chat-input").value = "Hi";
    byTestId(root, "send-button").click();
    await flush();
    expect(byTestId(root, "error").textContent).toMatch(/rate-limiting/);
    expect(root.querySelectorAll("[data-testid=conversation] .ptw-msg")).toHaveLength(0);
    expect(byTestId<HTMLButtonElement>(root, "send-button").disabled).toBe(false);
  });

  it("shows results computed in Python, and is disabled with a reason", async () => {
    const { model, root } = setup(
      { disabled_reason: "Deploy an endpoint first." },
      baseKernel(() => {}),
    );
    await flush();
    expect(byTestId(root, "playground-disabled").textContent).toBe("Deploy an endpoint first.");
    expect(byTestId<HTMLButtonElement>(root, "send-button").disabled).toBe(true);
    model.emit("msg:custom", {
      ptw: "event",
      id: null,
      scope: "playground",
      event: { type: "result", result: CHAT_RESULT },
    });
    expect(byTestId(root, "token-table").querySelectorAll("tbody tr")).toHaveLength(2);
    model.update({ disabled_reason: "" });
    expect(byTestId<HTMLButtonElement>(root, "send-button").disabled).toBe(false);
  });

  it("saves form parameters as traits", async () => {
    const { model, root } = setup(
      {},
      baseKernel(() => {}),
    );
    await flush();
    const temperature = byTestId<HTMLInputElement>(root, "temperature");
    temperature.value = "0.9";
    temperature.dispatchEvent(new Event("change"));
    const logprobs = byTestId<HTMLInputElement>(root, "logprobs");
    logprobs.checked = false;
    logprobs.dispatchEvent(new Event("change"));
    expect(model.state).toMatchObject({ temperature: 0.9, logprobs: false });
    byTestId(root, "tab-completions").click();
    expect(model.state.mode).toBe("completions");
    expect((root.querySelector("[data-mode=completions]") as HTMLElement).hidden).toBe(false);
  });
});

describe("served entity chooser", () => {
  it("is hidden for one entity, lists the split and each entity, and saves the choice", async () => {
    const kernel = baseKernel((_params, reply) => reply.ok({ ...CHAT_RESULT, served_model: "chat-2" }));
    const { model, root } = setup({ served_models: ["chat-1"], served_model: "" }, kernel);
    await flush();
    const select = byTestId<HTMLSelectElement>(root, "pg-entity");
    expect(select.closest("label")!.hidden).toBe(true);
    model.update({ served_models: ["chat-1", "chat-2"] });
    expect(select.closest("label")!.hidden).toBe(false);
    expect(Array.from(select.options).map((o) => o.textContent)).toEqual([
      "any (traffic split)",
      "chat-1",
      "chat-2",
    ]);
    select.value = "chat-2";
    select.dispatchEvent(new Event("change"));
    expect(model.state.served_model).toBe("chat-2");
    byTestId<HTMLTextAreaElement>(root, "chat-input").value = "Hi";
    byTestId(root, "send-button").click();
    await flush();
    expect(byTestId(root, "usage").textContent).toContain("answered by chat-2");
  });
});
