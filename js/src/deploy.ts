// DeployPanel: endpoint name (suggested, validated as you type), create-or-update, live
// state with elapsed time and progress, failure reason and build-log tail, cancel.
import { Ctx } from "./rpc";
import { ErrorBox, debounce, errorText, field, h } from "./dom";
import { UNITS, endpointNameProblem, formatDuration, formatInt } from "./format";

const RUNNING = new Set(["starting", "deploying"]);

export function sizingLabel(sizing: Record<string, any> | null | undefined): string {
  if (!sizing || !sizing.scheme) return "";
  if (sizing.scheme === "default") return "smallest always-on size";
  if (sizing.scheme === UNITS) return `${formatInt(sizing.provisioned_model_units)} model units`;
  const lo = formatInt(sizing.min_provisioned_throughput);
  const hi = formatInt(sizing.max_provisioned_throughput);
  const zero = sizing.scale_to_zero_enabled ? ", scales to zero" : "";
  return `${lo === hi ? hi : `${lo}–${hi}`} tokens/s${zero}`;
}

export function renderDeploy(ctx: Ctx, root: HTMLElement): void {
  const errors = new ErrorBox(() => ctx.set({ error: "" }));
  const summary = h("div", { class: "ptw-summary", "data-testid": "deploy-summary" });
  const name = h("input", { type: "text", "data-testid": "endpoint-name", spellcheck: false,
                            autocomplete: "off", "aria-label": "Endpoint name", maxlength: 80 });
  const nameStatus = h("div", { class: "ptw-name-status", "data-testid": "name-status",
                                "aria-live": "polite" });
  const deployButton = h("button", { class: "ptw-button ptw-primary", "data-testid": "deploy-button",
                                     text: "Deploy" });
  const cancelButton = h("button", { class: "ptw-button", "data-testid": "cancel-button",
                                     text: "Cancel", hidden: true });
  const badge = h("span", { class: "ptw-badge", "data-testid": "deploy-status" });
  const elapsed = h("span", { class: "ptw-muted ptw-elapsed", "data-testid": "deploy-elapsed" });
  const phase = h("span", { class: "ptw-muted ptw-phase", "data-testid": "deploy-phase" });
  const bar = h("div", { class: "ptw-progress-bar" });
  const progress = h("div", { class: "ptw-progress", role: "progressbar", "aria-valuemin": 0,
                              "aria-valuemax": 100, "data-testid": "deploy-progress" }, bar);
  const message = h("div", { class: "ptw-message", "data-testid": "deploy-message" });
  const logs = h("pre", { class: "ptw-log", "data-testid": "log-tail" });
  const logBox = h("details", { class: "ptw-logs" }, h("summary", { text: "Build log" }), logs);
  const note = h("div", { class: "ptw-note", "data-testid": "deploy-disabled" });

  root.append(h("div", { class: "ptw-deploy" },
    note, summary,
    field("Endpoint name", name), nameStatus,
    h("div", { class: "ptw-row" }, deployButton, cancelButton),
    h("div", { class: "ptw-status-row" }, badge, elapsed, phase),
    progress, message, errors.el, logBox));

  // ------------------------------------------------------------------ name validation
  let nameState = { name: "", status: "", message: "" };
  let checkSeq = 0;

  const check = debounce(async (value: string) => {
    const mine = ++checkSeq;
    try {
      const res = await ctx.request<{ name: string; status: string; message: string }>(
        "check_name", { name: value });
      if (mine !== checkSeq || value !== name.value) return;
      nameState = res;
    } catch (e) {
      if (mine !== checkSeq) return;
      nameState = { name: value, status: "unknown", message: errorText(e) };
    }
    renderName();
    renderButtons();
  }, 300);

  function validate(value: string, fromUser: boolean) {
    const problem = endpointNameProblem(value);
    if (problem) {
      check.cancel();
      checkSeq += 1;
      nameState = { name: value, status: "invalid", message: problem };
    } else {
      nameState = { name: value, status: "checking", message: "Checking…" };
      if (fromUser) check(value);
      else check.flush(value);
    }
    renderName();
    renderButtons();
  }

  function renderName() {
    nameStatus.textContent = nameState.message;
    nameStatus.dataset.status = nameState.status;
    name.setAttribute("aria-invalid", nameState.status === "invalid" ? "true" : "false");
  }

  name.addEventListener("input", () => {
    ctx.set({ endpoint_name: name.value, name_edited: true });
    validate(name.value, true);
  });
  ctx.on("endpoint_name", () => {
    const value = ctx.get<string>("endpoint_name");
    if (value !== name.value) {
      name.value = value;
      validate(value, false);
    }
  });

  // ------------------------------------------------------------------ buttons
  function renderButtons() {
    const status = ctx.get<string>("status");
    const running = RUNNING.has(status);
    const reason = ctx.get<string>("disabled_reason");
    deployButton.disabled = running || !!reason || nameState.status === "invalid" ||
                            nameState.status === "checking" || !name.value;
    deployButton.textContent = nameState.status === "exists" ? "Update endpoint" : "Create endpoint";
    cancelButton.hidden = !running;
    name.disabled = running;
    note.hidden = !reason;
    note.textContent = reason || "";
  }

  deployButton.addEventListener("click", async () => {
    errors.set("");
    deployButton.disabled = true;
    try {
      await ctx.request("deploy", { endpoint_name: name.value });
    } catch (e) {
      errors.set(errorText(e));
    }
    renderButtons();
  });
  cancelButton.addEventListener("click", async () => {
    try {
      await ctx.request("cancel");
    } catch (e) {
      errors.set(errorText(e));
    }
  });

  // ------------------------------------------------------------------ live state
  let ticker: ReturnType<typeof setInterval> | undefined;
  let lastStatus = ctx.get<string>("status");

  function tick() {
    const started = ctx.get<number>("started_at");
    const status = ctx.get<string>("status");
    if (!started || status === "idle") {
      elapsed.textContent = "";
      return;
    }
    const seconds = RUNNING.has(status) ? (Date.now() - started) / 1000 : ctx.get<number>("elapsed_s");
    elapsed.textContent = formatDuration(seconds);
  }

  function renderState() {
    const status = ctx.get<string>("status") || "idle";
    root.dataset.status = status;
    badge.dataset.status = status;
    badge.textContent = {
      idle: "not deployed", starting: "submitting", deploying: "pending", ready: "ready",
      failed: "failed", cancelled: "stopped waiting",
    }[status] ?? status;
    phase.textContent = ctx.get("phase") || "";
    const fraction = Math.max(0, Math.min(1, ctx.get<number>("progress") || 0));
    bar.style.width = `${Math.round(fraction * 100)}%`;
    progress.setAttribute("aria-valuenow", String(Math.round(fraction * 100)));
    progress.hidden = status === "idle";
    progress.dataset.status = status;
    message.textContent = ctx.get("message") || "";
    logs.textContent = ctx.get("log_tail") || "";
    logBox.hidden = !ctx.get("log_tail");
    if (status === "failed" && ctx.get("log_tail")) logBox.open = true;
    errors.set(ctx.get("error"));
    if (RUNNING.has(status) && ticker === undefined) {
      ticker = setInterval(tick, 500);
    } else if (!RUNNING.has(status) && ticker !== undefined) {
      clearInterval(ticker);
      ticker = undefined;
    }
    tick();
    if (status !== lastStatus && !RUNNING.has(status) && name.value) {
      validate(name.value, false); // the endpoint may exist now: "create" becomes "update"
    }
    lastStatus = status;
    renderButtons();
  }

  function renderSummary() {
    const model = ctx.get<string>("model");
    const version = ctx.get<string>("version");
    const sizing = sizingLabel(ctx.get("sizing"));
    summary.textContent = model && version
      ? `${model} version ${version}${sizing ? ` · ${sizing}` : ""}` : "";
    summary.hidden = !summary.textContent;
    renderButtons();
  }

  ctx.signal.addEventListener("abort", () => {
    if (ticker !== undefined) clearInterval(ticker);
    check.cancel();
  });
  ctx.on(["status", "phase", "progress", "message", "log_tail", "error", "started_at", "elapsed_s"],
         renderState);
  ctx.on(["model", "version", "sizing", "disabled_reason"], renderSummary);

  name.value = ctx.get("endpoint_name") || "";
  if (name.value) validate(name.value, false);
  renderSummary();
  renderState();
}
