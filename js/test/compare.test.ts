import { describe, expect, it } from "vitest";
import { cellMetrics, renderCompare, splitPrompts, summarize } from "../src/compare";
import { render } from "../src/index";
import { Ctx, Rpc } from "../src/rpc";
import { byTestId, FakeModel, flush } from "./fake";

const STATE = {
  targets: [
    { endpoint: "ep", temperature: 0, max_tokens: null, label: "" },
    { endpoint: "ep", temperature: 1, max_tokens: null, label: "" },
  ],
  system_prompt: "",
  max_tokens: 64,
  temperature: 0.2,
  logprobs: true,
  status: "idle",
  progress: "",
  error: "",
};

const CELL = {
  answer: "Paris.",
  finish_reason: "stop",
  prompt_tokens: 30,
  completion_tokens: 3,
  total_tokens: 33,
  latency_s: 0.5,
  ttft_s: 0.1,
  mean_logprob: -0.25,
  error: null,
};

function mount(kernel: (m: string, p: any, reply: any) => void, state: Record<string, any> = STATE) {
  const model = new FakeModel(state, kernel);
  const root = document.createElement("div");
  renderCompare(new Ctx(model, "", "compare", new Rpc(model), new AbortController().signal), root);
  return { model, root };
}

const event = (model: FakeModel, ev: any) =>
  model.emit("msg:custom", { ptw: "event", id: null, scope: "compare", event: ev });

describe("Compare helpers", () => {
  it("splits prompts on --- lines only", () => {
    expect(splitPrompts("one\n---\ntwo\nlines\n  ---  \n\n")).toEqual(["one", "two\nlines"]);
    expect(splitPrompts("a --- b")).toEqual(["a --- b"]);
    expect(splitPrompts("  \n")).toEqual([]);
  });

  it("formats a cell's figures and a target's means", () => {
    expect(cellMetrics(CELL)).toBe("0.5 s · 3 tokens · first token 0.1 s · mean logprob -0.25");
    expect(cellMetrics({ ...CELL, finish_reason: "length" })).toMatch(/finish: length$/);
    expect(cellMetrics({ ...CELL, error: "boom" })).toBe("");
    const s = summarize([
      CELL,
      { ...CELL, latency_s: 1.5, mean_logprob: -0.75 },
      { ...CELL, error: "x" },
      null,
    ]);
    expect(s).toEqual({ answers: 2, errors: 1, latency: 1, tokens: 3, logprob: -0.5 });
  });
});

describe("ComparePanel view", () => {
  it("lists endpoints per target, adds up to four, and syncs temperatures", async () => {
    const { model, root } = mount((method, _p, reply) => {
      if (method === "compare:endpoints")
        reply.ok({
          items: [
            { name: "ep", task: "llm/v1/chat", ready: true },
            { name: "emb", task: "llm/v1/embeddings", ready: true },
          ],
        });
      else reply.ok({ targets: [], kinds: [], total: 0, rows: [] });
    });
    await flush();
    const select = byTestId<HTMLSelectElement>(root, "cmp-endpoint-0");
    expect(Array.from(select.options).map((o) => o.value)).toEqual(["", "ep", "emb"]);
    expect(select.value).toBe("ep");
    const temp = byTestId<HTMLInputElement>(root, "cmp-temp-1");
    expect(temp.value).toBe("1");
    temp.value = "0.7";
    temp.dispatchEvent(new Event("change"));
    expect(model.state.targets[1].temperature).toBe(0.7);
    byTestId(root, "cmp-add").click();
    byTestId(root, "cmp-add").click();
    expect(model.state.targets).toHaveLength(4);
    expect(byTestId<HTMLButtonElement>(root, "cmp-add").disabled).toBe(true);
    byTestId(root, "cmp-remove-3").click();
    expect(model.state.targets).toHaveLength(3);
  });

  it("runs, streams deltas into cells, fills metrics and the summary", async () => {
    const { model, root } = mount((method, _params, reply) => {
      if (method === "compare:run") reply.ok({ started: true });
      else if (method === "compare:endpoints") reply.ok({ items: [] });
      else reply.ok({ targets: [], kinds: [], total: 0, rows: [] });
    });
    await flush();
    byTestId<HTMLTextAreaElement>(root, "cmp-prompts").value = "Capital of France?\n---\nOf Italy?";
    byTestId(root, "cmp-run").click();
    await flush();
    expect(model.calls("compare:run")[0].params).toEqual({ prompts: ["Capital of France?", "Of Italy?"] });
    model.update({ status: "running", progress: "0 of 4" });
    expect(byTestId<HTMLButtonElement>(root, "cmp-run").disabled).toBe(true);
    expect(byTestId(root, "cmp-stop").hidden).toBe(false);
    event(model, {
      type: "start",
      prompts: ["Capital of France?", "Of Italy?"],
      total: 2,
      targets: ["ep (temperature=0)", "ep (temperature=1)"],
      kinds: ["chat", "chat"],
    });
    expect(
      Array.from(root.querySelectorAll("[data-testid=cmp-target-label]")).map((e) => e.textContent),
    ).toEqual(["ep (temperature=0)", "ep (temperature=1)"]);
    event(model, { type: "delta", row: 0, target: 1, text: "Par" });
    event(model, { type: "delta", row: 0, target: 1, text: "is" });
    const answers = root.querySelectorAll<HTMLElement>("[data-testid=cmp-answer]");
    expect(answers[1].textContent).toBe("Paris");
    expect(answers[1].classList.contains("ptw-streaming")).toBe(true);
    event(model, { type: "cell", row: 0, target: 1, cell: CELL });
    event(model, {
      type: "cell",
      row: 1,
      target: 0,
      cell: { ...CELL, answer: null, error: "Endpoint 'ep' is busy." },
    });
    expect(answers[1].textContent).toBe("Paris.");
    expect(answers[1].dataset.done).toBe("true");
    expect(answers[2].textContent).toBe("Endpoint 'ep' is busy.");
    expect(answers[2].classList.contains("ptw-cmp-error")).toBe(true);
    event(model, { type: "delta", row: 0, target: 1, text: " late" }); // after the cell: ignored
    expect(answers[1].textContent).toBe("Paris.");
    const summary = root.querySelectorAll("[data-testid=cmp-summary]");
    expect(summary[1].textContent).toMatch(/0\.5 s · 3 tokens · logprob -0\.25/);
    expect(summary[0].textContent).toMatch(/1 error/);
    byTestId(root, "cmp-stop").click();
    expect(model.calls("compare:stop")).toHaveLength(1);
    model.update({ status: "stopped", progress: "2 of 4" });
    expect(byTestId(root, "cmp-status").textContent).toBe("Stopped after 2 of 4 answers");
  });

  it("pages in a table it did not see start, cells included", async () => {
    const pages: any[] = [];
    const { model, root } = mount((method, params, reply) => {
      if (method === "compare:page") {
        pages.push(params);
        const rows = [{ row: params.offset, prompt: `p${params.offset}`, cells: [CELL, null] }];
        reply.ok({ targets: ["a", "b"], kinds: ["chat", "chat"], total: 2, offset: params.offset, rows });
      } else reply.ok({ items: [] });
    });
    await flush(10);
    expect(root.querySelectorAll("[data-testid=cmp-row]")).toHaveLength(2);
    expect(pages.map((p) => p.offset)).toEqual([0, 1]);
    expect(root.querySelectorAll("[data-testid=cmp-answer]")[0].textContent).toBe("Paris.");
    expect(model.listeners("msg:custom")).toBe(1);
  });

  it("keeps cells that arrive before their row is paged in", () => {
    const { model, root } = mount((_m, _p, reply) =>
      reply.ok({ items: [], targets: [], rows: [], total: 0 }),
    );
    event(model, { type: "start", prompts: ["p0"], total: 1, targets: ["a"], kinds: ["chat"] });
    event(model, { type: "cell", row: 0, target: 0, cell: CELL });
    expect(root.querySelector("[data-testid=cmp-answer]")!.textContent).toBe("Paris.");
  });

  it("says what is missing before sending anything", async () => {
    const { model, root } = mount(
      (_m, _p, reply) => reply.ok({ items: [], targets: [], rows: [], total: 0 }),
      { ...STATE, targets: [] },
    );
    byTestId<HTMLTextAreaElement>(root, "cmp-prompts").value = "Hi";
    byTestId(root, "cmp-run").click();
    expect(byTestId(root, "error").textContent).toMatch(/Choose the endpoints/);
    expect(model.calls("compare:run")).toHaveLength(0);
  });

  it("is registered as a view kind", () => {
    const el = document.createElement("div");
    render({ model: new FakeModel({ _kind: "compare", ...STATE }), el });
    byTestId(el, "ptw-compare");
    byTestId(el, "cmp-run");
  });
});
