import { afterEach, describe, expect, it, vi } from "vitest";
import { renderDeploy, sizingLabel } from "../src/deploy";
import { Ctx, Rpc } from "../src/rpc";
import { byTestId, FakeModel } from "./fake";

afterEach(() => vi.useRealTimers());

const READY_STATE = {
  model: "system.ai.smollm2_135m_instruct",
  version: "1",
  sizing: {
    scheme: "tokens_per_second",
    min_provisioned_throughput: 120,
    max_provisioned_throughput: 240,
    scale_to_zero_enabled: false,
  },
  endpoint_name: "",
  name_edited: false,
  disabled_reason: "",
  status: "idle",
  phase: "",
  message: "",
  started_at: 0,
  elapsed_s: 0,
  progress: 0,
  log_tail: "",
  endpoint: "",
  endpoint_task: "",
  error: "",
};

function setup(state: Record<string, any> = {}, kernel?: any) {
  const model = new FakeModel(
    { ...READY_STATE, ...state },
    kernel ??
      ((method: string, params: any, reply: any) => {
        if (method === "deploy:check_name")
          reply.ok({
            name: params.name,
            status: "new",
            message: `A new endpoint '${params.name}' will be created.`,
          });
        else if (method === "deploy:deploy") reply.ok({ started: true });
        else if (method === "deploy:cancel") reply.ok({ cancelled: true });
      }),
  );
  const root = document.createElement("div");
  renderDeploy(new Ctx(model, "", "deploy", new Rpc(model), new AbortController().signal), root);
  return { model, root };
}

async function tick(ms = 350) {
  await vi.advanceTimersByTimeAsync(ms);
}

describe("DeployPanel", () => {
  it("labels the sizing", () => {
    expect(sizingLabel(READY_STATE.sizing)).toBe("120–240 tokens/s");
    expect(sizingLabel({ scheme: "model_units", provisioned_model_units: 100 })).toBe("100 model units");
    expect(
      sizingLabel({
        scheme: "tokens_per_second",
        min_provisioned_throughput: 0,
        max_provisioned_throughput: 60,
        scale_to_zero_enabled: true,
      }),
    ).toBe("0–60 tokens/s, scales to zero");
  });

  it("validates the name as you type: at once in the browser, then asks the kernel", async () => {
    vi.useFakeTimers();
    const { model, root } = setup();
    const name = byTestId<HTMLInputElement>(root, "endpoint-name");
    name.value = "bad name!";
    name.dispatchEvent(new Event("input"));
    expect(byTestId(root, "name-status").textContent).toMatch(/Use only letters/);
    expect(byTestId<HTMLButtonElement>(root, "deploy-button").disabled).toBe(true);
    await tick();
    expect(model.calls("deploy:check_name")).toHaveLength(0);
    name.value = "my-endpoint";
    name.dispatchEvent(new Event("input"));
    expect(model.state).toMatchObject({ endpoint_name: "my-endpoint", name_edited: true });
    await tick();
    expect(model.calls("deploy:check_name")).toHaveLength(1);
    expect(byTestId(root, "name-status").dataset.status).toBe("new");
    const button = byTestId<HTMLButtonElement>(root, "deploy-button");
    expect(button.disabled).toBe(false);
    expect(button.textContent).toBe("Create endpoint");
  });

  it("says update when the endpoint exists", async () => {
    vi.useFakeTimers();
    const { root } = setup({ endpoint_name: "taken" }, (_method: string, params: any, reply: any) => {
      reply.ok({
        name: params.name,
        status: "exists",
        message: "Endpoint 'taken' exists: deploying updates it.",
      });
    });
    await tick();
    expect(byTestId(root, "deploy-button").textContent).toBe("Update endpoint");
  });

  it("deploys, shows live state with elapsed time, and offers cancel", async () => {
    vi.useFakeTimers();
    const { model, root } = setup({ endpoint_name: "ep" });
    await tick();
    byTestId(root, "deploy-button").click();
    await tick(1);
    expect(model.calls("deploy:deploy")[0].params).toEqual({ endpoint_name: "ep" });
    model.update({
      started_at: Date.now(),
      phase: "IN_PROGRESS · DEPLOYMENT_CREATING",
      progress: 0.4,
      message: "Creating resources.",
      status: "deploying",
    });
    expect(byTestId(root, "deploy-status").textContent).toBe("pending");
    expect(byTestId<HTMLButtonElement>(root, "cancel-button").hidden).toBe(false);
    expect(byTestId<HTMLButtonElement>(root, "deploy-button").disabled).toBe(true);
    await tick(65_000);
    expect(byTestId(root, "deploy-elapsed").textContent).toBe("1:05");
    // the states the workspace reported, each with when it was seen; no made-up percentage
    model.update({ phase: "IN_PROGRESS · DEPLOYMENT_READY" });
    const states = Array.from(byTestId(root, "deploy-states").querySelectorAll("li"));
    expect(states.map((li) => li.dataset.phase)).toEqual([
      "IN_PROGRESS · DEPLOYMENT_CREATING",
      "IN_PROGRESS · DEPLOYMENT_READY",
    ]);
    expect(states[1].textContent).toBe("1:05 IN_PROGRESS · DEPLOYMENT_READY");
    expect(root.querySelector("[role=progressbar]")).toBeNull();
    byTestId(root, "cancel-button").click();
    await tick(1);
    expect(model.calls("deploy:cancel")).toHaveLength(1);
    model.update({ progress: 1, elapsed_s: 70, endpoint: "ep", status: "ready" });
    expect(byTestId(root, "deploy-status").textContent).toBe("ready");
    expect(byTestId(root, "deploy-elapsed").textContent).toBe("1:10");
    expect(byTestId<HTMLButtonElement>(root, "cancel-button").hidden).toBe(true);
  });

  it("shows the failure reason and the build-log tail", () => {
    const { model, root } = setup({ endpoint_name: "ep" });
    model.update({
      error: "Deploying endpoint 'ep' failed (UPDATE_FAILED): Model load failed: out of memory.",
      log_tail: "loading weights\nERROR: out of memory",
      started_at: 1,
      elapsed_s: 3,
      status: "failed",
    });
    expect(byTestId(root, "error").textContent).toMatch(/out of memory/);
    expect(byTestId(root, "log-tail").textContent).toMatch(/ERROR: out of memory/);
    expect((root.querySelector(".ptw-logs") as HTMLDetailsElement).open).toBe(true);
  });

  it("shows why it cannot deploy yet, and a rejected deploy request", async () => {
    vi.useFakeTimers();
    const { model, root } = setup({ endpoint_name: "ep", disabled_reason: "Pick a model version first." });
    await tick();
    expect(byTestId(root, "deploy-disabled").textContent).toBe("Pick a model version first.");
    expect(byTestId<HTMLButtonElement>(root, "deploy-button").disabled).toBe(true);
    model.kernel = (method, params, reply) => {
      if (method === "deploy:check_name") reply.ok({ name: params.name, status: "new", message: "" });
      else reply.error("max_throughput must be a positive multiple of 60 tokens/s.");
    };
    model.update({ disabled_reason: "" });
    byTestId(root, "deploy-button").click();
    await tick(1);
    expect(byTestId(root, "error").textContent).toMatch(/multiple of 60/);
  });
});
