import { describe, expect, it } from "vitest";
import { PAGE_SIZE, renderPicker } from "../src/picker";
import { Ctx, Rpc } from "../src/rpc";
import { byTestId, FakeModel, flush } from "./fake";

const NAMES = Array.from({ length: 10_000 }, (_, i) => `model_${String(i).padStart(5, "0")}`);

function kernel(method: string, params: any, reply: any) {
  if (method === "picker:catalogs") reply.ok({ items: ["bulk", "system"] });
  else if (method === "picker:schemas") reply.ok({ items: params.catalog === "bulk" ? ["models"] : ["ai"] });
  else if (method === "picker:models") {
    const all = params.catalog === "bulk" ? NAMES : ["all_minilm_l6_v2", "smollm2_135m_instruct"];
    const match = all.filter((n) => n.includes(params.query || ""));
    reply.ok({
      items: match.slice(params.offset, params.offset + params.limit),
      total: match.length,
      offset: params.offset,
      schema_total: all.length,
    });
  } else if (method === "picker:versions") {
    reply.ok({
      items: [
        { version: "2", aliases: ["champion"], status: "READY", comment: "" },
        { version: "1", aliases: [], status: "READY", comment: "" },
      ],
    });
  } else reply.error(`unexpected ${method}`);
}

function setup(state: Record<string, any> = {}) {
  const model = new FakeModel(
    {
      catalog: "",
      schema: "",
      model: "",
      version: "",
      aliases: [],
      info_state: "",
      task: "",
      eligible: null,
      reason: "",
      scheme: "",
      chunk_size: 0,
      model_type: "",
      error: "",
      ...state,
    },
    kernel,
  );
  const root = document.createElement("div");
  // the kernel echoes trait writes, like the real one (they are plain state here)
  renderPicker(new Ctx(model, "", "picker", new Rpc(model), new AbortController().signal), root);
  return { model, root };
}

describe("ModelPicker", () => {
  it("chooses the system catalog and its only schema, then lists models", async () => {
    const { model, root } = setup();
    await flush();
    expect(model.state.catalog).toBe("system");
    await flush();
    expect(model.state.schema).toBe("ai");
    await flush();
    const items = root.querySelectorAll("[data-testid=model-list] li.ptw-option");
    expect(Array.from(items).map((li) => li.textContent)).toEqual([
      "all_minilm_l6_v2",
      "smollm2_135m_instruct",
    ]);
    expect(byTestId(root, "model-count").textContent).toBe("2 models");
  });

  it("pages a schema of 10,000 models: 50 at a time, never one message per model", async () => {
    const { model, root } = setup({ catalog: "bulk", schema: "models" });
    await flush();
    const list = byTestId(root, "model-list");
    expect(list.querySelectorAll("li.ptw-option")).toHaveLength(PAGE_SIZE);
    expect(byTestId(root, "model-count").textContent).toBe("10,000 models");
    expect(model.calls("picker:models")).toHaveLength(1);
    byTestId(root, "load-more").click();
    await flush();
    expect(list.querySelectorAll("li.ptw-option")).toHaveLength(2 * PAGE_SIZE);
    expect(model.calls("picker:models").map((c) => c.params.offset)).toEqual([0, PAGE_SIZE]);
    expect(model.sent.length).toBeLessThan(10);
  });

  it("searches on the kernel side and shows the match count", async () => {
    const { model, root } = setup({ catalog: "bulk", schema: "models" });
    await flush();
    const search = byTestId<HTMLInputElement>(root, "model-search");
    search.value = "0999";
    search.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    await flush();
    const items = root.querySelectorAll("[data-testid=model-list] li.ptw-option");
    expect(Array.from(items).map((li) => li.textContent)).toEqual([
      "model_00999",
      "model_09990",
      "model_09991",
      "model_09992",
      "model_09993",
      "model_09994",
      "model_09995",
      "model_09996",
      "model_09997",
      "model_09998",
      "model_09999",
    ]);
    expect(byTestId(root, "model-count").textContent).toBe("11 of 10,000 models");
    expect(model.calls("picker:models").at(-1)!.params.query).toBe("0999");
  });

  it("picking a model loads its versions with aliases and selects the newest", async () => {
    const { model, root } = setup({ catalog: "system", schema: "ai" });
    await flush();
    (root.querySelector("li[data-name='system.ai.smollm2_135m_instruct']") as HTMLElement).click();
    await flush();
    expect(model.state.model).toBe("system.ai.smollm2_135m_instruct");
    expect(model.state.version).toBe("2");
    const options = Array.from(byTestId<HTMLSelectElement>(root, "version").options).map((o) => o.text);
    expect(options).toContain("2 (champion)");
    expect(root.querySelector("li.ptw-selected")?.textContent).toBe("smollm2_135m_instruct");
  });

  it("shows task and eligibility as soon as the kernel knows them", async () => {
    const { model, root } = setup({ catalog: "system", schema: "ai", model: "system.ai.x", version: "1" });
    await flush();
    model.update({ info_state: "loading" });
    expect(byTestId(root, "model-info").textContent).toMatch(/Checking system.ai.x version 1/);
    model.update({
      task: "llm/v1/chat",
      eligible: true,
      scheme: "tokens_per_second",
      chunk_size: 980,
      model_type: "llama",
      info_state: "ready",
    });
    expect(byTestId(root, "task-chip").textContent).toBe("task: chat");
    expect(byTestId(root, "eligibility").textContent).toMatch(/eligible/);
    expect(byTestId(root, "model-info").textContent).toMatch(/chunks of 980 tokens\/s/);
    model.update({ eligible: false, reason: "No llm/v1 task: log it with task=...", scheme: "" });
    expect(byTestId(root, "ineligible-reason").textContent).toMatch(/No llm\/v1 task/);
  });

  it("shows the kernel's prefetched first pages at once, without a request", async () => {
    const page = {
      items: ["all_minilm_l6_v2", "smollm2_135m_instruct"],
      total: 2,
      offset: 0,
      schema_total: 2,
    };
    const { model, root } = setup({
      start: { catalogs: ["bulk", "system"], schemas: { system: ["ai"] }, models: { "system.ai": page } },
    });
    for (let i = 0; i < 5; i++) await Promise.resolve(); // microtasks: before the next paint
    expect(model.state.catalog).toBe("system");
    expect(model.state.schema).toBe("ai");
    const items = root.querySelectorAll("[data-testid=model-list] li.ptw-option");
    expect(Array.from(items).map((li) => li.textContent)).toEqual(page.items);
    expect(byTestId(root, "model-count").textContent).toBe("2 models");
    expect(model.requests).toEqual([]);
  });

  it("uses first pages that arrive after the render, and asks for anything later", async () => {
    const { model, root } = setup();
    expect(model.calls("picker:catalogs")).toHaveLength(1); // drawn before the prefetch ended
    model.update({ start: { catalogs: ["bulk", "system"], schemas: { system: ["ai"] } } });
    await flush();
    expect(model.state.schema).toBe("ai");
    expect(model.calls("picker:schemas")).toHaveLength(0);
    expect(model.calls("picker:models")).toHaveLength(1); // not prefetched: asked
    expect(root.querySelectorAll("[data-testid=model-list] li.ptw-option")).toHaveLength(2);
    model.update({ catalog: "bulk" });
    await flush();
    model.update({ catalog: "system" }); // coming back: asked again, fresh
    await flush();
    expect(model.calls("picker:schemas").map((c) => c.params.catalog)).toEqual(["bulk", "system"]);
  });

  it("waits for the kernel's prefetch instead of racing it, and asks if it failed", async () => {
    const { model, root } = setup({ start: {} });
    await flush();
    expect(model.requests).toEqual([]);
    expect(byTestId<HTMLSelectElement>(root, "catalog").options[0].text).toBe("Loading catalogs…");
    model.update({ start: { failed: true } });
    await flush();
    expect(model.calls("picker:catalogs")).toHaveLength(1);
    expect(model.state.schema).toBe("ai");
    expect(root.querySelectorAll("[data-testid=model-list] li.ptw-option")).toHaveLength(2);
  });

  it("shows request errors and the error trait in the widget", async () => {
    const model = new FakeModel({ catalog: "", error: "" }, (_m, _p, reply) =>
      reply.error("Cannot reach the workspace."),
    );
    const root = document.createElement("div");
    renderPicker(new Ctx(model, "", "picker", new Rpc(model), new AbortController().signal), root);
    await flush();
    expect(byTestId(root, "error").hidden).toBe(false);
    expect(byTestId(root, "error").textContent).toMatch(/Cannot reach the workspace/);
    model.update({ error: "Something else." });
    expect(byTestId(root, "error").textContent).toMatch(/Something else/);
  });
});
