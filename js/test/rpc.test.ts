import { afterEach, describe, expect, it, vi } from "vitest";
import { Ctx, Rpc, RpcError } from "../src/rpc";
import { FakeModel, flush } from "./fake";

afterEach(() => vi.useRealTimers());

describe("Rpc", () => {
  it("resolves with the kernel's result", async () => {
    const model = new FakeModel({}, (method, params, reply) => reply.ok({ echo: params.x, method }));
    const rpc = new Rpc(model);
    await expect(rpc.request("picker:catalogs", { x: 1 })).resolves.toEqual({
      echo: 1,
      method: "picker:catalogs",
    });
    expect(rpc.inFlight).toBe(0);
  });

  it("rejects with the kernel's sentence", async () => {
    const model = new FakeModel({}, (_m, _p, reply) => reply.error("Catalog 'x' does not exist."));
    const rpc = new Rpc(model);
    await expect(rpc.request("picker:schemas")).rejects.toThrow("Catalog 'x' does not exist.");
  });

  it("gives up after the timeout, tells the kernel, and says why", async () => {
    vi.useFakeTimers();
    const model = new FakeModel();
    const rpc = new Rpc(model);
    const p = rpc.request("picker:models", {}, { timeoutMs: 2000 });
    const check = expect(p).rejects.toThrow(/No answer from the kernel after 2 s/);
    await vi.advanceTimersByTimeAsync(2001);
    await check;
    expect(model.sent.at(-1)).toMatchObject({ ptw: "cancel" });
    expect(rpc.inFlight).toBe(0);
  });

  it("streams events to the request that asked, others to scope listeners", async () => {
    let saved: any;
    const model = new FakeModel({}, (_m, _p, reply) => {
      saved = reply;
    });
    const rpc = new Rpc(model);
    const events: any[] = [];
    const pushed: any[] = [];
    rpc.onEvent("playground", (e) => pushed.push(e));
    const p = rpc.request("playground:run", {}, { onEvent: (e) => events.push(e) });
    saved.event({ type: "delta", text: "Hel" });
    saved.event({ type: "delta", text: "lo" });
    model.emit("msg:custom", { ptw: "event", id: null, scope: "playground", event: { type: "result" } });
    saved.ok({ text: "Hello" });
    await expect(p).resolves.toEqual({ text: "Hello" });
    expect(events.map((e) => e.text).join("")).toBe("Hello");
    expect(pushed).toEqual([{ type: "result" }]);
  });

  it("cancels on abort and on close", async () => {
    const model = new FakeModel();
    const rpc = new Rpc(model);
    const controller = new AbortController();
    const p = rpc.request("playground:run", {}, { signal: controller.signal });
    controller.abort();
    await expect(p).rejects.toBeInstanceOf(RpcError);
    expect(model.sent.filter((m) => m.ptw === "cancel")).toHaveLength(1);
    const q = rpc.request("picker:catalogs");
    rpc.close();
    await expect(q).rejects.toThrow("closed");
    expect(model.listeners("msg:custom")).toBe(0);
    await expect(rpc.request("x:y")).rejects.toThrow("closed");
  });

  it("ignores answers to unknown ids and foreign messages", async () => {
    const model = new FakeModel();
    const rpc = new Rpc(model);
    model.emit("msg:custom", { ptw: "response", id: "nope", ok: true, result: 1 });
    model.emit("msg:custom", "not an object");
    await flush();
    expect(rpc.inFlight).toBe(0);
  });
});

describe("Ctx", () => {
  it("prefixes traits, saves once per set, and unsubscribes on abort", () => {
    const model = new FakeModel({ slider_max_value: 1 });
    const controller = new AbortController();
    const ctx = new Ctx<{ max_value: number; min_value: number }, "slider_">(
      model,
      "slider_",
      "slider",
      new Rpc(model),
      controller.signal,
    );
    expect(ctx.get("max_value")).toBe(1);
    const seen: number[] = [];
    ctx.on("max_value", () => seen.push(ctx.get("max_value")));
    ctx.set({ max_value: 2, min_value: 1 });
    expect(model.saves).toBe(1);
    expect(model.state.slider_min_value).toBe(1);
    controller.abort();
    model.set("slider_max_value", 3);
    expect(seen).toEqual([2]);
    expect(model.listeners("change:slider_max_value")).toBe(0);
  });

  it("scopes requests", async () => {
    const model = new FakeModel({}, (method, _p, reply) => reply.ok(method));
    const ctx = new Ctx<{ status: string }, "deploy_">(
      model,
      "deploy_",
      "deploy",
      new Rpc(model),
      new AbortController().signal,
    );
    await expect(ctx.request("check_name")).resolves.toBe("deploy:check_name");
  });
});
