import { describe, expect, it } from "vitest";
import { renderExternal } from "../src/external";
import { describeLimit, readLimit, renderGovernance } from "../src/governance";
import { pageLabel } from "../src/governance_tables";
import { Ctx, Rpc } from "../src/rpc";
import { byTestId, FakeModel, flush } from "./fake";

const STATE = {
  endpoint: "chat",
  level: "CAN_MANAGE",
  can_manage: true,
  read_only_reason: "",
  rate_limits: [{ key: "user", principal: "", calls: 5, tokens: null }],
  usage_tracking: true,
  inference_table: false,
  not_enforced: [],
  error: "",
};

function governanceKernel(
  model: () => FakeModel,
  grants: { principal: string; level: string; inherited: boolean }[],
) {
  return (method: string, params: any, reply: any) => {
    if (method === "governance:load") reply.ok({});
    else if (method === "governance:permissions") reply.ok({ rows: grants });
    else if (method === "governance:grant") {
      grants.push({ principal: params.principal, level: params.level, inherited: false });
      reply.ok({ rows: grants });
    } else if (method === "governance:revoke") {
      grants.splice(
        grants.findIndex((g) => g.principal === params.principal),
        1,
      );
      reply.ok({ rows: grants });
    } else if (method === "governance:set_gateway") {
      model().update({
        rate_limits: params.rate_limits,
        usage_tracking: params.usage_tracking,
        inference_table: params.inference_table,
      });
      reply.ok({});
    } else if (method === "governance:page") {
      const total = params.table === "usage" ? 1 : 60;
      const rows = Array.from({ length: Math.min(params.limit, total - params.offset) }, (_, i) => ({
        requester: `r${params.offset + i}`,
      }));
      reply.ok({ columns: ["requester"], rows, total, offset: params.offset });
    } else reply.error(`unexpected ${method}`);
  };
}

function setup(state: Record<string, any> = {}) {
  const grants = [{ principal: "local-user@localhost", level: "CAN_MANAGE", inherited: false }];
  let model: FakeModel;
  model = new FakeModel(
    { ...STATE, ...state },
    governanceKernel(() => model, grants),
  );
  const root = document.createElement("div");
  renderGovernance(new Ctx(model, "", "governance", new Rpc(model), new AbortController().signal), root);
  return { model, root };
}

function type(root: HTMLElement, testid: string, value: string) {
  const el = byTestId<HTMLInputElement>(root, testid);
  el.value = value;
  el.dispatchEvent(new Event("change"));
}

describe("GovernancePanel", () => {
  it("describes and reads rate limits", () => {
    expect(describeLimit({ key: "user", principal: "", calls: 5, tokens: 1000 })).toBe(
      "each user: 5 calls, 1,000 tokens / minute",
    );
    expect(describeLimit({ key: "endpoint", principal: "x", calls: null, tokens: 10 })).toBe(
      "all callers together: 10 tokens / minute",
    );
    expect(readLimit("user", " bob@example.com ", "3", "")).toEqual({
      key: "user",
      principal: "bob@example.com",
      calls: 3,
      tokens: null,
    });
    expect(readLimit("endpoint", "bob", "", "")).toMatch(/needs calls per minute/);
    expect(readLimit("user", "", "-1", "")).toBe("Calls per minute must be a positive number.");
    expect(pageLabel({ total: 60, offset: 25, rows: new Array(25) }, "none")).toBe("rows 26–50 of 60");
    expect(pageLabel({ total: 0, offset: 0, rows: [] }, "none")).toBe("none");
  });

  it("lists permissions, grants and revokes, pages the inference table", async () => {
    const { model, root } = setup();
    await flush();
    expect(root.querySelectorAll("[data-testid=permission-row]")).toHaveLength(1);
    type(root, "grant-principal", "bob@example.com");
    byTestId<HTMLSelectElement>(root, "grant-level").value = "CAN_QUERY";
    byTestId(root, "grant").click();
    await flush();
    expect(model.calls("governance:grant")[0].params).toEqual({
      principal: "bob@example.com",
      level: "CAN_QUERY",
    });
    const bob = root.querySelector("[data-principal='bob@example.com']")!;
    expect(bob.textContent).toContain("CAN_QUERY");
    (bob.querySelector("[data-testid=revoke]") as HTMLElement).click();
    await flush();
    expect(root.querySelector("[data-principal='bob@example.com']")).toBeNull();
    expect(byTestId(root, "inference-rows").textContent).toBe("rows 1–25 of 60");
    byTestId(root, "inference-next").click();
    await flush();
    expect(byTestId(root, "inference-rows").textContent).toBe("rows 26–50 of 60");
    expect(byTestId<HTMLButtonElement>(root, "inference-prev").disabled).toBe(false);
    expect(byTestId<HTMLButtonElement>(root, "usage-next").disabled).toBe(true);
  });

  it("adds and removes rate limits and switches the inference table", async () => {
    const { model, root } = setup();
    await flush();
    expect(byTestId(root, "rate-limits").textContent).toContain("each user: 5 calls / minute");
    byTestId<HTMLSelectElement>(root, "limit-key").value = "endpoint";
    type(root, "limit-tokens", "1000");
    byTestId(root, "limit-add").click();
    await flush();
    expect(model.calls("governance:set_gateway")[0].params.rate_limits).toEqual([
      STATE.rate_limits[0],
      { key: "endpoint", principal: "", calls: null, tokens: 1000 },
    ]);
    expect(root.querySelectorAll("[data-testid=rate-limit]")).toHaveLength(2);
    (root.querySelector("[data-testid=limit-remove]") as HTMLElement).click();
    await flush();
    expect(model.state.rate_limits).toEqual([{ key: "endpoint", principal: "", calls: null, tokens: 1000 }]);
    const toggle = byTestId<HTMLInputElement>(root, "inference-table-toggle");
    toggle.checked = true;
    toggle.dispatchEvent(new Event("change"));
    await flush();
    expect(model.state.inference_table).toBe(true);
    expect(model.calls("governance:set_gateway").at(-1)!.params.usage_tracking).toBe(true);
  });

  it("is read-only, with a sentence, for a caller who does not manage the endpoint", async () => {
    const reason =
      "You hold CAN_VIEW on 'chat': only its managers (CAN_MANAGE) and workspace admins see and change its permissions, limits and tables.";
    const { model, root } = setup({ level: "CAN_VIEW", can_manage: false, read_only_reason: reason });
    await flush();
    expect(byTestId(root, "read-only").textContent).toBe(reason);
    expect(byTestId(root, "read-only").hidden).toBe(false);
    expect(byTestId<HTMLInputElement>(root, "usage-tracking").disabled).toBe(true);
    expect(root.querySelector("[data-testid=limit-remove]")).toBeNull();
    expect(model.calls("governance:permissions")).toHaveLength(0);
    expect(model.calls("governance:page")).toHaveLength(0);
  });
});

describe("ExternalModelForm", () => {
  it("sends the key once in a request, empties the field and never sets a trait to it", async () => {
    const model = new FakeModel(
      {
        provider: "openai",
        base_url: "",
        model: "",
        task: "llm/v1/chat",
        endpoint_name: "",
        secret_reference: "",
        status: "idle",
        message: "",
        endpoint: "",
        endpoint_task: "",
        error: "",
      },
      (method, _params, reply) => {
        if (method === "external:secret") {
          model.update({ secret_reference: "{{secrets/pt-widgets/ext-key}}" });
          reply.ok({ reference: "{{secrets/pt-widgets/ext-key}}" });
        } else if (method === "external:deploy") {
          model.update({ status: "deploying", message: "Creating 'ext'…" });
          reply.ok({ started: true });
        } else reply.error(`unexpected ${method}`);
      },
    );
    const root = document.createElement("div");
    renderExternal(new Ctx(model, "", "external", new Rpc(model), new AbortController().signal), root);
    type(root, "external-base-url", "http://127.0.0.1:9/serving-endpoints");
    type(root, "external-model", "up-chat");
    type(root, "external-endpoint-name", "ext");
    byTestId<HTMLInputElement>(root, "external-secret").value = "sk-typed-secret-123";
    byTestId(root, "external-deploy").click();
    await flush();
    expect(byTestId<HTMLInputElement>(root, "external-secret").value).toBe("");
    expect(model.calls("external:secret")[0].params).toEqual({ value: "sk-typed-secret-123" });
    expect(model.calls("external:deploy")).toHaveLength(1);
    expect(JSON.stringify(model.state)).not.toContain("sk-typed-secret-123");
    expect(byTestId(root, "external-reference").textContent).toBe(
      "key stored as {{secrets/pt-widgets/ext-key}}",
    );
    expect(byTestId(root, "external-status").textContent).toBe("Creating 'ext'…");
  });

  it("checks the endpoint name before the key leaves the page", async () => {
    const model = new FakeModel({
      endpoint_name: "",
      status: "idle",
      message: "",
      secret_reference: "",
      error: "",
      provider: "openai",
      task: "llm/v1/chat",
      base_url: "",
      model: "",
    });
    const root = document.createElement("div");
    renderExternal(new Ctx(model, "", "external", new Rpc(model), new AbortController().signal), root);
    type(root, "external-endpoint-name", "bad name");
    byTestId<HTMLInputElement>(root, "external-secret").value = "sk-1";
    byTestId(root, "external-deploy").click();
    await flush();
    expect(model.requests).toHaveLength(0);
    expect(byTestId(root, "error").textContent).toContain("Use only letters");
  });
});
