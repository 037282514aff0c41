// DeployPanel: endpoint name (suggested, validated as you type), create-or-update, live
// state as the workspace reports it (each state it passed through, with the elapsed time),
// failure reason and build-log tail, cancel. No percentage: the workspace reports states, not
// a fraction done, and a bar shaped by an expected duration would be made up.
import { bindButton, bindErrors } from "./bind";
import { button, debounce, errorText, field, h } from "./dom";
import { endpointNameProblem, formatDuration, formatInt, UNITS } from "./format";
import type { Ctx } from "./rpc";

const RUNNING = new Set(["starting", "deploying"]);
const BADGES: Record<string, string> = {
  idle: "not deployed",
  starting: "submitting",
  deploying: "pending",
  ready: "ready",
  failed: "failed",
  cancelled: "stopped waiting",
};

export interface Sizing {
  scheme?: string;
  provisioned_model_units?: number;
  min_provisioned_throughput?: number;
  max_provisioned_throughput?: number;
  scale_to_zero_enabled?: boolean;
}

export interface DeployState {
  model: string;
  version: string;
  sizing: Sizing;
  endpoint_name: string;
  name_edited: boolean;
  disabled_reason: string;
  status: string; // idle starting deploying ready failed cancelled
  phase: string; // the workspace's states, e.g. "IN_PROGRESS · DEPLOYMENT_CREATING"
  message: string;
  started_at: number; // epoch ms
  elapsed_s: number;
  progress: number; // kept in the protocol; not shown (see the header)
  log_tail: string;
  endpoint: string;
  endpoint_task: string;
  error: string;
}

type DeployCtx = Ctx<DeployState>;
type NameState = { name: string; status: string; message: string };

export function sizingLabel(sizing: Sizing | null | undefined): string {
  if (!sizing?.scheme) return "";
  if (sizing.scheme === "default") return "smallest always-on size";
  if (sizing.scheme === UNITS) return `${formatInt(sizing.provisioned_model_units)} model units`;
  const lo = formatInt(sizing.min_provisioned_throughput);
  const hi = formatInt(sizing.max_provisioned_throughput);
  const zero = sizing.scale_to_zero_enabled ? ", scales to zero" : "";
  return `${lo === hi ? hi : `${lo}–${hi}`} tokens/s${zero}`;
}

function deployView() {
  const logs = h("pre", { class: "ptw-log", "data-testid": "log-tail" });
  return {
    summary: h("div", { class: "ptw-summary", "data-testid": "deploy-summary" }),
    name: h("input", {
      type: "text",
      "data-testid": "endpoint-name",
      spellcheck: false,
      autocomplete: "off",
      "aria-label": "Endpoint name",
      maxlength: 80,
    }),
    nameStatus: h("div", { class: "ptw-name-status", "data-testid": "name-status", "aria-live": "polite" }),
    deploy: button("Deploy", "deploy-button", "ptw-primary"),
    cancel: button("Cancel", "cancel-button", "", true),
    badge: h("span", { class: "ptw-badge", "data-testid": "deploy-status" }),
    spinner: h("span", { class: "ptw-spinner", "aria-hidden": "true", hidden: true }),
    elapsed: h("span", { class: "ptw-muted ptw-elapsed", "data-testid": "deploy-elapsed" }),
    phase: h("span", { class: "ptw-muted ptw-phase", "data-testid": "deploy-phase" }),
    states: h("ol", {
      class: "ptw-states",
      "data-testid": "deploy-states",
      "aria-label": "States the workspace reported",
    }),
    message: h("div", { class: "ptw-message", "data-testid": "deploy-message" }),
    logs,
    logBox: h("details", { class: "ptw-logs" }, h("summary", { text: "Build log" }), logs),
    note: h("div", { class: "ptw-note", "data-testid": "deploy-disabled" }),
  };
}

type DeployView = ReturnType<typeof deployView>;

/** Validates the name at once in the browser, then (debounced) asks the kernel create/update. */
function nameChecker(ctx: DeployCtx, input: HTMLInputElement, changed: (s: NameState) => void) {
  let state: NameState = { name: "", status: "", message: "" };
  let seq = 0;
  const check = debounce(async (value: string) => {
    const mine = ++seq;
    try {
      const res = await ctx.request<NameState>("check_name", { name: value });
      if (mine !== seq || value !== input.value) return;
      state = res;
    } catch (e) {
      if (mine !== seq) return;
      state = { name: value, status: "unknown", message: errorText(e) };
    }
    changed(state);
  }, 300);
  ctx.onClose(() => check.cancel());
  return {
    get state() {
      return state;
    },
    validate(value: string, fromUser: boolean) {
      const problem = endpointNameProblem(value);
      if (problem) {
        check.cancel();
        seq += 1;
        state = { name: value, status: "invalid", message: problem };
      } else {
        state = { name: value, status: "checking", message: "Checking…" };
        if (fromUser) check(value);
        else check.flush(value);
      }
      changed(state);
    },
  };
}

type NameChecker = ReturnType<typeof nameChecker>;

function renderName(v: DeployView, state: NameState): void {
  v.nameStatus.textContent = state.message;
  v.nameStatus.dataset.status = state.status;
  v.name.setAttribute("aria-invalid", state.status === "invalid" ? "true" : "false");
}

function renderButtons(ctx: DeployCtx, v: DeployView, name: NameState): void {
  const running = RUNNING.has(ctx.get("status"));
  const reason = ctx.get("disabled_reason");
  v.deploy.disabled =
    running || !!reason || name.status === "invalid" || name.status === "checking" || !v.name.value;
  v.deploy.textContent = name.status === "exists" ? "Update endpoint" : "Create endpoint";
  v.cancel.hidden = !running;
  v.name.disabled = running;
  v.note.hidden = !reason;
  v.note.textContent = reason || "";
}

/** The states the workspace reported during this deploy, each with when it was first seen. */
function statesTimeline(ctx: DeployCtx, v: DeployView) {
  let seen: { phase: string; at: number }[] = [];
  let startedAt = 0;
  let ticker: ReturnType<typeof setInterval> | undefined;
  const seconds = () => {
    const status = ctx.get("status");
    return RUNNING.has(status) ? (Date.now() - ctx.get("started_at")) / 1000 : ctx.get("elapsed_s");
  };
  const tick = () => {
    const started = ctx.get("started_at");
    const idle = !started || ctx.get("status") === "idle";
    v.elapsed.textContent = idle ? "" : formatDuration(seconds());
  };
  const record = () => {
    if (ctx.get("started_at") !== startedAt) {
      startedAt = ctx.get("started_at");
      seen = [];
    }
    const status = ctx.get("status");
    const phase = status === "idle" ? "" : ctx.get("phase") || (status === "starting" ? BADGES.starting : "");
    if (startedAt && phase && seen[seen.length - 1]?.phase !== phase) seen.push({ phase, at: seconds() });
    v.states.replaceChildren(
      ...seen.map((s) =>
        h(
          "li",
          { dataset: { phase: s.phase } },
          h("span", { class: "ptw-muted", text: formatDuration(s.at) }),
          ` ${s.phase}`,
        ),
      ),
    );
    v.states.hidden = seen.length === 0;
  };
  ctx.onClose(() => clearInterval(ticker));
  return () => {
    const running = RUNNING.has(ctx.get("status"));
    if (running && ticker === undefined) ticker = setInterval(tick, 500);
    else if (!running && ticker !== undefined) {
      clearInterval(ticker);
      ticker = undefined;
    }
    v.spinner.hidden = !running;
    tick();
    record();
  };
}

function renderState(ctx: DeployCtx, v: DeployView, root: HTMLElement): void {
  const status = ctx.get("status") || "idle";
  root.dataset.status = status;
  v.badge.dataset.status = status;
  v.badge.textContent = BADGES[status] ?? status;
  v.phase.textContent = ctx.get("phase") || "";
  v.message.textContent = ctx.get("message") || "";
  v.logs.textContent = ctx.get("log_tail") || "";
  v.logBox.hidden = !ctx.get("log_tail");
  if (status === "failed" && ctx.get("log_tail")) v.logBox.open = true;
}

function renderSummary(ctx: DeployCtx, v: DeployView): void {
  const model = ctx.get("model");
  const version = ctx.get("version");
  const sizing = sizingLabel(ctx.get("sizing"));
  v.summary.textContent =
    model && version ? `${model} version ${version}${sizing ? ` · ${sizing}` : ""}` : "";
  v.summary.hidden = !v.summary.textContent;
}

/** The name field follows the trait (suggestions from the kernel) and reports what the user types. */
function wireName(ctx: DeployCtx, v: DeployView, names: NameChecker): void {
  v.name.addEventListener("input", () => {
    ctx.set({ endpoint_name: v.name.value, name_edited: true });
    names.validate(v.name.value, true);
  });
  ctx.on("endpoint_name", () => {
    const value = ctx.get("endpoint_name");
    if (value !== v.name.value) {
      v.name.value = value;
      names.validate(value, false);
    }
  });
  v.name.value = ctx.get("endpoint_name") || "";
  if (v.name.value) names.validate(v.name.value, false);
}

export function renderDeploy(ctx: DeployCtx, root: HTMLElement): void {
  const errors = bindErrors(ctx);
  const v = deployView();
  root.append(
    h(
      "div",
      { class: "ptw-deploy" },
      v.note,
      v.summary,
      field("Endpoint name", v.name),
      v.nameStatus,
      h("div", { class: "ptw-row" }, v.deploy, v.cancel),
      h("div", { class: "ptw-status-row" }, v.badge, v.spinner, v.elapsed, v.phase),
      v.states,
      v.message,
      errors.el,
      v.logBox,
    ),
  );
  const buttons = () => renderButtons(ctx, v, names.state);
  const names = nameChecker(ctx, v.name, (s) => {
    renderName(v, s);
    buttons();
  });
  bindButton(
    v.deploy,
    () => {
      errors.set("");
      return ctx.request("deploy", { endpoint_name: v.name.value });
    },
    (m) => errors.set(m),
    buttons,
  );
  bindButton(
    v.cancel,
    () => ctx.request("cancel"),
    (m) => errors.set(m),
    buttons,
  );
  const timeline = statesTimeline(ctx, v);
  let lastStatus = ctx.get("status");
  const onState = () => {
    renderState(ctx, v, root);
    timeline();
    const status = ctx.get("status");
    // the endpoint may exist now: "create" becomes "update"
    if (status !== lastStatus && !RUNNING.has(status) && v.name.value) names.validate(v.name.value, false);
    lastStatus = status;
    buttons();
  };
  ctx.on(["status", "phase", "message", "log_tail", "started_at", "elapsed_s"], onState);
  ctx.on(["model", "version", "sizing", "disabled_reason"], () => {
    renderSummary(ctx, v);
    buttons();
  });
  wireName(ctx, v, names);
  renderSummary(ctx, v);
  onState();
}
