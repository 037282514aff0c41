import { describe, expect, it } from "vitest";
import { renderEndpoints, sizingOf, stateOf } from "../src/endpoints";
import { Ctx, Rpc } from "../src/rpc";
import { byTestId, FakeModel, flush } from "./fake";

const ROW = {
  name: "chat-ep",
  ready: "READY",
  config_update: "NOT_UPDATING",
  updating: false,
  task: "llm/v1/chat",
  model: "system.ai.smollm2_135m_instruct",
  version: "1",
  min_provisioned_throughput: 120,
  max_provisioned_throughput: 240,
  provisioned_model_units: null,
  scale_to_zero_enabled: false,
  state_message: "",
  creator: "me",
  created_ms: 0,
};

describe("EndpointsTable", () => {
  it("describes state and sizing", () => {
    expect(sizingOf(ROW)).toBe("120–240 tokens/s");
    expect(sizingOf({ ...ROW, provisioned_model_units: 50 })).toBe("50 model units");
    expect(stateOf({ ...ROW, updating: true }).label).toBe("updating");
    expect(stateOf({ ...ROW, ready: "NOT_READY", config_update: "UPDATE_FAILED" }).status).toBe("failed");
  });

  it("lists endpoints, deletes only after confirmation, then refreshes", async () => {
    let rows = [ROW, { ...ROW, name: "emb-ep", task: "llm/v1/embeddings" }];
    const model = new FakeModel({ selected: "", error: "" }, (method, params, reply) => {
      if (method === "endpoints:list") reply.ok({ items: rows });
      else if (method === "endpoints:delete") {
        rows = rows.filter((r) => r.name !== params.name);
        reply.ok({ name: params.name, deleted: true });
      }
    });
    const root = document.createElement("div");
    renderEndpoints(new Ctx(model, "", "endpoints", new Rpc(model), new AbortController().signal), root, {
      query: true,
    });
    await flush();
    expect(root.querySelectorAll("[data-testid=endpoint-row]")).toHaveLength(2);
    expect(byTestId(root, "endpoints-updated").textContent).toMatch(/^2 endpoints/);
    (root.querySelector("[data-name=chat-ep] [data-testid=delete-endpoint]") as HTMLElement).click();
    expect(model.calls("endpoints:delete")).toHaveLength(0);
    expect(root.querySelector("[data-name=chat-ep]")!.textContent).toMatch(/Delete endpoint 'chat-ep'\?/);
    byTestId(root, "keep-endpoint").click();
    expect(root.querySelector("[data-name=chat-ep] [data-testid=delete-endpoint]")).not.toBeNull();
    (root.querySelector("[data-name=chat-ep] [data-testid=delete-endpoint]") as HTMLElement).click();
    byTestId(root, "confirm-delete").click();
    await flush();
    expect(model.calls("endpoints:delete")[0].params).toEqual({ name: "chat-ep", confirmed: true });
    expect(root.querySelectorAll("[data-testid=endpoint-row]")).toHaveLength(1);
    (root.querySelector("[data-name=emb-ep] button") as HTMLElement).click();
    expect(model.state.selected).toBe("emb-ep");
  });

  it("reloads when Python asks, and shows errors", async () => {
    const model = new FakeModel({ selected: "", error: "" }, (_m, _p, reply) =>
      reply.error("Cannot reach the workspace."),
    );
    const root = document.createElement("div");
    renderEndpoints(new Ctx(model, "", "endpoints", new Rpc(model), new AbortController().signal), root);
    await flush();
    expect(byTestId(root, "error").textContent).toMatch(/Cannot reach/);
    model.kernel = (_m, _p, reply) => reply.ok({ items: [] });
    model.emit("msg:custom", { ptw: "event", id: null, scope: "endpoints", event: { type: "refresh" } });
    await flush();
    expect(root.textContent).toMatch(/No serving endpoints yet/);
  });
});
