// The governance panel's tables: usage per user and the latest inference-table rows (paged,
// 25 rows at a time, payloads clipped by the kernel), and the endpoint's permissions with
// grant / revoke for its managers.
import { bindButton } from "./bind";
import { button, field, h, table } from "./dom";
import type { Ctx } from "./rpc";

export const PAGE_ROWS = 25;
export const LEVELS = ["CAN_VIEW", "CAN_QUERY", "CAN_MANAGE"] as const;

/** A page of a governance table, as the kernel's "page" request answers it. */
export interface TablePage {
  columns: string[];
  rows: Record<string, unknown>[];
  total: number;
  offset: number;
  not_enforced?: string[];
}

export interface PermissionRow {
  principal: string;
  level: string;
  inherited: boolean;
}

/** "rows 26–50 of 60", or what an empty table means. */
export function pageLabel(page: Pick<TablePage, "total" | "offset" | "rows">, empty: string): string {
  if (!page.total) return empty;
  return `rows ${page.offset + 1}–${page.offset + page.rows.length} of ${page.total}`;
}

/** A paged table of one kind ("usage" or "inference"); `load()` reads its first page again. */
export function pagedTable<S extends object>(
  ctx: Ctx<S>,
  which: "usage" | "inference",
  empty: string,
  onError: (message: string) => void,
) {
  const prev = button("‹ Newer", `${which}-prev`);
  const next = button("Older ›", `${which}-next`);
  const label = h("span", { class: "ptw-muted", "data-testid": `${which}-rows` });
  const wrap = h("div", { class: "ptw-scroll" });
  const el = h(
    "div",
    { "data-testid": `${which}-table` },
    h("div", { class: "ptw-row" }, prev, next, label),
    wrap,
  );
  let offset = 0;
  let total = 0;
  const read = async (at: number) => {
    const page = await ctx.request<TablePage>("page", { table: which, offset: at, limit: PAGE_ROWS });
    offset = page.offset;
    total = page.total;
    label.textContent = pageLabel(page, empty);
    wrap.replaceChildren(
      page.rows.length ? table(page.columns, page.rows, { className: "ptw-gov-table" }) : "",
    );
  };
  const paint = () => {
    prev.disabled = offset <= 0;
    next.disabled = offset + PAGE_ROWS >= total;
  };
  bindButton(prev, () => read(Math.max(0, offset - PAGE_ROWS)), onError, paint);
  bindButton(next, () => read(offset + PAGE_ROWS), onError, paint);
  const load = () =>
    read(0)
      .catch((e) => onError(e instanceof Error ? e.message : String(e)))
      .finally(paint);
  paint();
  return { el, load };
}

function permissionRow(row: PermissionRow, manage: boolean, revoke: (who: string) => void) {
  const action =
    manage && !row.inherited
      ? h("button", {
          class: "ptw-button ptw-danger-outline",
          "data-testid": "revoke",
          text: "Revoke",
          onclick: () => revoke(row.principal),
        })
      : null;
  return h(
    "tr",
    { dataset: { principal: row.principal }, "data-testid": "permission-row" },
    h("td", {}, h("code", { text: row.principal })),
    h("td", { text: row.level }),
    h("td", { class: "ptw-muted", text: row.inherited ? "inherited" : "direct" }),
    h("td", {}, action),
  );
}

/** Who holds which level; a grant form and revoke buttons (kernel refuses non-managers too). */
export function permissionsSection<S extends { can_manage: boolean }>(
  ctx: Ctx<S>,
  onError: (message: string) => void,
) {
  const who = h("input", {
    type: "text",
    placeholder: "user@example.com or users",
    "data-testid": "grant-principal",
  });
  const level = h(
    "select",
    { "data-testid": "grant-level" },
    LEVELS.map((l) => h("option", { value: l, text: l })),
  );
  level.value = "CAN_QUERY";
  const grant = button("Grant", "grant", "ptw-primary");
  const form = h(
    "div",
    { class: "ptw-row ptw-row-end ptw-row-wrap" },
    field("Principal", who),
    field("Level", level),
    grant,
  );
  const list = h("tbody", {});
  const el = h(
    "div",
    { "data-testid": "permissions" },
    h(
      "table",
      { class: "ptw-table" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Principal", "Level", "", ""].map((c) => h("th", { text: c })),
        ),
      ),
      list,
    ),
    form,
  );
  const show = (rows: PermissionRow[]) => {
    const manage = !!ctx.get("can_manage");
    list.replaceChildren(...rows.map((r) => permissionRow(r, manage, revoke)));
    form.hidden = !manage;
  };
  const revoke = (principal: string) =>
    ctx.request<{ rows: PermissionRow[] }>("revoke", { principal }).then(
      (a) => show(a.rows),
      (e) => onError(String(e?.message ?? e)),
    );
  bindButton(
    grant,
    async () => {
      show(
        (
          await ctx.request<{ rows: PermissionRow[] }>("grant", {
            principal: who.value.trim(),
            level: level.value,
          })
        ).rows,
      );
      who.value = "";
    },
    onError,
  );
  const load = async () =>
    show(ctx.get("can_manage") ? (await ctx.request<{ rows: PermissionRow[] }>("permissions")).rows : []);
  return { el, load };
}
