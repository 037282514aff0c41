// GovernancePanel: one endpoint's AI gateway (rate limits, usage tracking, inference table),
// usage per user, the latest inference-table rows and its permissions. Managers and admins
// change them; everyone else sees why the panel is read-only. Every change is a request the
// kernel checks again, so a stale view cannot do what its user may not.
import { bindButton, bindErrors, parseNumber } from "./bind";
import { button, errorText, field, h } from "./dom";
import { formatInt } from "./format";
import { pagedTable, permissionsSection } from "./governance_tables";
import type { Ctx } from "./rpc";

export interface RateLimit {
  key: string; // "endpoint" (all callers together) or "user" (each user, or only `principal`)
  principal: string;
  calls: number | null; // per minute
  tokens: number | null; // per minute
}

export interface GovernanceState {
  endpoint: string;
  level: string;
  can_manage: boolean;
  read_only_reason: string;
  rate_limits: RateLimit[];
  usage_tracking: boolean;
  inference_table: boolean;
  not_enforced: string[];
  error: string;
}

type GovCtx = Ctx<GovernanceState>;

/** "each user: 5 calls, 1,000 tokens / minute" (or "alice@…: …", "endpoint: …"). */
export function describeLimit(limit: RateLimit): string {
  const who = limit.key === "endpoint" ? "all callers together" : limit.principal || "each user";
  const amounts = [
    limit.calls ? `${formatInt(limit.calls)} calls` : "",
    limit.tokens ? `${formatInt(limit.tokens)} tokens` : "",
  ].filter(Boolean);
  return `${who}: ${amounts.join(", ")} / minute`;
}

/** The limit the add form describes, or one sentence saying what is missing. */
export function readLimit(key: string, principal: string, calls: string, tokens: string): RateLimit | string {
  const rule = { integer: true, positive: true, optional: true };
  const c = parseNumber(calls, { ...rule, label: "Calls per minute" });
  const t = parseNumber(tokens, { ...rule, label: "Tokens per minute" });
  if (c.error || t.error) return c.error || t.error;
  if (c.value === null && t.value === null)
    return "A rate limit needs calls per minute, tokens per minute or both.";
  return { key, principal: key === "user" ? principal.trim() : "", calls: c.value, tokens: t.value };
}

/** Send the whole gateway config with one change applied (the route replaces it). */
function saveGateway(
  ctx: GovCtx,
  change: Partial<Pick<GovernanceState, "rate_limits" | "usage_tracking" | "inference_table">>,
) {
  return ctx.request("set_gateway", {
    rate_limits: change.rate_limits ?? ctx.get("rate_limits"),
    usage_tracking: change.usage_tracking ?? ctx.get("usage_tracking"),
    inference_table: change.inference_table ?? ctx.get("inference_table"),
  });
}

function limitForm(ctx: GovCtx, onError: (message: string) => void): HTMLElement {
  const key = h(
    "select",
    { "data-testid": "limit-key" },
    h("option", { value: "user", text: "per user" }),
    h("option", { value: "endpoint", text: "per endpoint" }),
  );
  const principal = h("input", { type: "text", placeholder: "every user", "data-testid": "limit-principal" });
  const calls = h("input", { type: "number", min: 1, step: 1, "data-testid": "limit-calls" });
  const tokens = h("input", { type: "number", min: 1, step: 1, "data-testid": "limit-tokens" });
  const add = button("Add limit", "limit-add", "ptw-primary");
  key.addEventListener("change", () => {
    principal.disabled = key.value !== "user";
  });
  bindButton(
    add,
    async () => {
      const limit = readLimit(key.value, principal.value, calls.value, tokens.value);
      if (typeof limit === "string") throw new Error(limit);
      await saveGateway(ctx, { rate_limits: [...ctx.get("rate_limits"), limit] });
      calls.value = tokens.value = principal.value = "";
    },
    onError,
  );
  return h(
    "div",
    { class: "ptw-row ptw-row-end ptw-row-wrap" },
    field("Key", key),
    field("User", principal, "empty: each user"),
    field("Calls / min", calls),
    field("Tokens / min", tokens),
    add,
  );
}

/** Rate limits (list, remove, add) and the two switches. */
function gatewaySection(ctx: GovCtx, onError: (message: string) => void): HTMLElement {
  const list = h("ul", { class: "ptw-limits", "data-testid": "rate-limits" });
  const usage = h("input", { type: "checkbox", "data-testid": "usage-tracking" });
  const inference = h("input", { type: "checkbox", "data-testid": "inference-table-toggle" });
  const form = limitForm(ctx, onError);
  const remove = (index: number) =>
    saveGateway(ctx, { rate_limits: ctx.get("rate_limits").filter((_, i) => i !== index) }).catch((e) =>
      onError(errorText(e)),
    );
  const paint = () => {
    const manage = ctx.get("can_manage");
    const limits = ctx.get("rate_limits") ?? [];
    list.replaceChildren(
      ...(limits.length ? limits : []).map((limit, i) =>
        h(
          "li",
          { "data-testid": "rate-limit" },
          h("span", { text: describeLimit(limit) }),
          manage
            ? h("button", {
                class: "ptw-button ptw-danger-outline",
                "data-testid": "limit-remove",
                text: "Remove",
                onclick: () => remove(i),
              })
            : null,
        ),
      ),
      ...(limits.length ? [] : [h("li", { class: "ptw-muted", text: "No rate limits." })]),
    );
    usage.checked = !!ctx.get("usage_tracking");
    inference.checked = !!ctx.get("inference_table");
    usage.disabled = inference.disabled = form.hidden = !manage;
  };
  usage.addEventListener("change", () =>
    saveGateway(ctx, { usage_tracking: usage.checked })
      .catch((e) => onError(errorText(e)))
      .finally(paint),
  );
  inference.addEventListener("change", () =>
    saveGateway(ctx, { inference_table: inference.checked })
      .catch((e) => onError(errorText(e)))
      .finally(paint),
  );
  ctx.on(["rate_limits", "usage_tracking", "inference_table", "can_manage"], paint);
  paint();
  return h(
    "div",
    { "data-testid": "gateway" },
    list,
    form,
    h(
      "div",
      { class: "ptw-row" },
      h("label", {}, usage, " usage tracking"),
      h("label", {}, inference, " inference table"),
    ),
  );
}

function heading(title: string): HTMLElement {
  return h("h4", { class: "ptw-gov-heading", text: title });
}

export function renderGovernance(ctx: GovCtx, root: HTMLElement): void {
  const errors = bindErrors(ctx);
  const onError = (message: string) => errors.set(message);
  const who = h("div", { class: "ptw-row", "data-testid": "governance-endpoint" });
  const note = h("p", { class: "ptw-muted", "data-testid": "read-only" });
  const refresh = button("Refresh", "governance-refresh");
  const usage = pagedTable(ctx, "usage", "No requests recorded (turn usage tracking on).", onError);
  const inference = pagedTable(ctx, "inference", "No rows (turn the inference table on).", onError);
  const permissions = permissionsSection(ctx, onError);
  const managed = h(
    "div",
    {},
    heading("Usage per user"),
    usage.el,
    heading("Latest inference-table rows"),
    inference.el,
  );
  root.append(
    h(
      "div",
      { class: "ptw-governance" },
      h("div", { class: "ptw-row" }, who, refresh),
      note,
      heading("AI gateway"),
      gatewaySection(ctx, onError),
      heading("Permissions"),
      permissions.el,
      managed,
      errors.el,
    ),
  );
  const paint = () => {
    const level = ctx.get("level");
    who.replaceChildren(
      h("code", { text: ctx.get("endpoint") || "no endpoint" }),
      level ? h("span", { class: "ptw-badge", text: `you: ${level}` }) : "",
    );
    note.textContent = ctx.get("read_only_reason");
    note.hidden = !ctx.get("read_only_reason");
    managed.hidden = !ctx.get("can_manage");
  };
  const reload = bindButton(
    refresh,
    async () => {
      await ctx.request("load");
      await Promise.all([
        permissions.load(),
        ...(ctx.get("can_manage") ? [usage.load(), inference.load()] : []),
      ]);
    },
    onError,
  );
  ctx.on(["endpoint", "level", "can_manage", "read_only_reason"], paint);
  ctx.on("endpoint", () => reload.run());
  ctx.onEvent((event) => {
    if (event?.type === "refresh") reload.run();
  });
  paint();
  if (ctx.get("endpoint")) reload.run();
}
