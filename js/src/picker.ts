// ModelPicker: catalog -> schema -> model (searchable, paged list) -> version, then the
// version's task and eligibility as the kernel reports them.
import { bindErrors } from "./bind";
import { clear, debounce, type ErrorBox, errorText, field, h, setNames, setOptions } from "./dom";
import { formatInt, shortTask } from "./format";
import { type ModelsPage, StartOnce, type StartPages } from "./picker_start";
import type { Ctx } from "./rpc";

export const PAGE_SIZE = 50;

export interface PickerState {
  catalog: string;
  schema: string;
  model: string; // catalog.schema.name
  version: string;
  aliases: string[];
  info_state: string; // "", "loading", "ready", "error"
  task: string;
  eligible: boolean | null;
  reason: string;
  model_type: string;
  scheme: string;
  chunk_size: number;
  dbus_per_chunk: number | null;
  error: string;
  start: StartPages; // first pages prefetched by the kernel (see picker_start.ts)
}

type PickerCtx = Ctx<PickerState>;

interface VersionRow {
  version: string;
  aliases: string[];
  status: string;
  comment: string;
}

function emptyItem(text: string): HTMLLIElement {
  return h("li", { class: "ptw-empty", role: "presentation", text });
}

/** Catalog and schema selects: the system catalog and a lone schema are chosen for you. */
function catalogSection(ctx: PickerCtx, errors: ErrorBox, start: StartOnce, onSchema: () => void) {
  const catalog = h("select", { "data-testid": "catalog", "aria-label": "Catalog" });
  const schema = h("select", { "data-testid": "schema", "aria-label": "Schema" });
  let catalogs: string[] = [];
  let schemas: string[] = [];
  const chooseCatalog = (name: string) => {
    catalog.value = name;
    ctx.set({ catalog: name, schema: "", model: "", version: "" });
  };
  const chooseSchema = (name: string) => {
    schema.value = name;
    ctx.set({ schema: name, model: "", version: "" });
  };
  const loadSchemas = async (cat: string) => {
    setOptions(schema, [], "", "Loading…");
    // awaited even when prefetched: the ctx.set that chose the catalog is still setting traits
    const items = await (start.schemas(cat) ??
      ctx.request<{ items: string[] }>("schemas", { catalog: cat }).then((r) => r.items));
    if (cat !== ctx.get("catalog")) return;
    schemas = items;
    const current = ctx.get("schema");
    setNames(schema, schemas, current, schemas.length ? "Choose a schema…" : "No schemas");
    if (!current && schemas.length === 1) chooseSchema(schemas[0]);
    else if (current) onSchema();
  };
  let shown = false; // from the start pages or the request, whichever comes first
  const showCatalogs = async (items: string[]) => {
    if (shown) return;
    shown = true;
    catalogs = items;
    const current = ctx.get("catalog");
    setNames(catalog, catalogs, current, "Choose a catalog…");
    if (!current && catalogs.includes("system")) chooseCatalog("system");
    else if (current) await loadSchemas(current);
  };
  const loadCatalogs = async () => {
    if (start.pending()) return; // the kernel is fetching them: "start" brings them
    const known = start.catalogs();
    await showCatalogs(known ?? (await ctx.request<{ items: string[] }>("catalogs")).items);
  };
  const report = (e: unknown) => errors.set(errorText(e));
  ctx.on("start", () => {
    if (!shown) loadCatalogs().catch(report);
  });
  catalog.addEventListener("change", () => chooseCatalog(catalog.value));
  schema.addEventListener("change", () => chooseSchema(schema.value));
  ctx.on("catalog", () => {
    const cat = ctx.get("catalog");
    if (catalogs.includes(cat)) catalog.value = cat;
    if (cat) loadSchemas(cat).catch(report);
    else setOptions(schema, [], "", "Choose a catalog first");
  });
  ctx.on("schema", () => {
    if (schemas.includes(ctx.get("schema"))) schema.value = ctx.get("schema");
    onSchema();
  });
  setOptions(catalog, [], "", "Loading catalogs…");
  setOptions(schema, [], "", "Choose a catalog first");
  return { catalog, schema, start: () => loadCatalogs().catch(report) };
}

/** One model of the list; clicking it chooses it (its version is then chosen for you). */
function modelOption(ctx: PickerCtx, full: string, name: string): HTMLLIElement {
  const selected = full === ctx.get("model");
  return h("li", {
    role: "option",
    class: selected ? "ptw-option ptw-selected" : "ptw-option",
    "aria-selected": selected ? "true" : "false",
    dataset: { name: full },
    text: name,
    title: full,
    onclick: () => ctx.set({ model: full, version: "" }),
  });
}

/** The search box and the lazily paged list of models (more on scroll or click). */
function modelList(ctx: PickerCtx, errors: ErrorBox, start: StartOnce) {
  const search = h("input", {
    type: "search",
    placeholder: "Search models (text or glob, e.g. *instruct*)",
    "data-testid": "model-search",
    "aria-label": "Search models",
    autocomplete: "off",
  });
  const count = h("span", { class: "ptw-muted ptw-count", "data-testid": "model-count" });
  const list = h("ul", {
    class: "ptw-list",
    role: "listbox",
    "data-testid": "model-list",
    "aria-label": "Models",
    tabindex: 0,
  });
  const more = h("li", { class: "ptw-more", role: "presentation", "data-testid": "load-more" });
  const at = { seq: 0, loaded: 0, total: 0, loading: false };
  const showPage = (page: ModelsPage, cat: string, sch: string) => {
    more.remove();
    list.append(...page.items.map((name) => modelOption(ctx, `${cat}.${sch}.${name}`, name)));
    at.loaded += page.items.length;
    at.total = page.total;
    const query = search.value.trim();
    count.textContent = query
      ? `${formatInt(page.total)} of ${formatInt(page.schema_total)} models`
      : `${formatInt(page.schema_total)} models`;
    if (at.loaded < at.total) {
      more.textContent = `Show more (${formatInt(at.total - at.loaded)} left)`;
      list.append(more);
    } else if (at.total === 0) {
      list.append(emptyItem(query ? `No model matches “${query}”.` : "No models here."));
    }
  };
  const loadPage = async () => {
    const [cat, sch, mine] = [ctx.get("catalog"), ctx.get("schema"), at.seq];
    if (!cat || !sch) {
      count.textContent = "";
      list.append(emptyItem("Choose a catalog and a schema."));
      return;
    }
    const known = at.loaded === 0 && !search.value.trim() ? start.models(cat, sch) : undefined;
    if (known) return showPage(known, cat, sch);
    at.loading = true;
    more.textContent = "Loading…";
    if (!more.isConnected) list.append(more);
    try {
      const page = await ctx.request<ModelsPage>("models", {
        catalog: cat,
        schema: sch,
        query: search.value.trim(),
        offset: at.loaded,
        limit: PAGE_SIZE,
      });
      if (mine === at.seq) showPage(page, cat, sch);
    } catch (e) {
      if (mine === at.seq) {
        more.remove();
        errors.set(errorText(e));
      }
    } finally {
      if (mine === at.seq) at.loading = false;
    }
  };
  const reset = () => {
    Object.assign(at, { seq: at.seq + 1, loaded: 0, total: 0 });
    clear(list);
    loadPage();
  };
  return { search, count, list, more, at, loadPage, reset };
}

/** Paging and searching: scroll near the end or click "Show more"; search after a pause. */
function wireModelList(ctx: PickerCtx, m: ReturnType<typeof modelList>): void {
  m.more.addEventListener("click", () => {
    if (!m.at.loading) m.loadPage();
  });
  m.list.addEventListener("scroll", () => {
    const nearEnd = m.list.scrollTop + m.list.clientHeight >= m.list.scrollHeight - 60;
    if (!m.at.loading && m.at.loaded < m.at.total && nearEnd) m.loadPage();
  });
  const onSearch = debounce(() => m.reset(), 200);
  ctx.onClose(() => onSearch.cancel());
  m.search.addEventListener("input", () => onSearch());
  m.search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") onSearch.flush();
  });
  ctx.on("catalog", () => {
    clear(m.list);
    m.count.textContent = "";
  });
  ctx.on("model", () => {
    const selected = ctx.get("model");
    m.list.querySelectorAll<HTMLLIElement>("li.ptw-option").forEach((li) => {
      const on = li.dataset.name === selected;
      li.classList.toggle("ptw-selected", on);
      li.setAttribute("aria-selected", on ? "true" : "false");
    });
  });
  m.list.append(emptyItem("Choose a catalog and a schema."));
}

/** The version select: the newest is chosen for a newly picked model. */
function versionSection(ctx: PickerCtx, errors: ErrorBox) {
  const version = h("select", { "data-testid": "version", "aria-label": "Version" });
  let seq = 0;
  const load = async (model: string, autoselect: boolean) => {
    const mine = ++seq;
    setOptions(version, [], "", model ? "Loading…" : "Choose a model first");
    if (!model) return;
    try {
      const res = await ctx.request<{ items: VersionRow[] }>("versions", { model });
      if (mine !== seq) return;
      const options = res.items.map((v) => ({
        value: v.version,
        label: v.aliases.length ? `${v.version} (${v.aliases.join(", ")})` : v.version,
      }));
      const current = ctx.get("version");
      setOptions(version, options, current, options.length ? "Choose a version…" : "No versions");
      if (!current && autoselect && options.length) {
        version.value = options[0].value;
        ctx.set({ version: options[0].value });
      }
    } catch (e) {
      errors.set(errorText(e));
    }
  };
  version.addEventListener("change", () => ctx.set({ version: version.value }));
  ctx.on("model", () => load(ctx.get("model"), true));
  ctx.on("version", () => {
    const v = ctx.get("version");
    if (Array.from(version.options).some((o) => o.value === v)) version.value = v;
  });
  setOptions(version, [], "", "Choose a model first");
  if (ctx.get("model")) load(ctx.get("model"), false);
  return version;
}

function infoChips(ctx: PickerCtx): HTMLElement {
  const task = shortTask(ctx.get("task"));
  const eligible = ctx.get("eligible");
  return h(
    "div",
    { class: "ptw-chips" },
    h("span", {
      class: "ptw-chip",
      "data-testid": "task-chip",
      title: ctx.get("task") || "",
      text: task ? `task: ${task}` : "task: unknown",
    }),
    eligible
      ? h("span", {
          class: "ptw-chip ptw-chip-good",
          "data-testid": "eligibility",
          text: "✓ eligible for provisioned throughput",
        })
      : h("span", { class: "ptw-chip ptw-chip-bad", "data-testid": "eligibility", text: "✗ not eligible" }),
    ctx.get("model_type") ? h("span", { class: "ptw-chip", text: `type: ${ctx.get("model_type")}` }) : null,
    ...(ctx.get("aliases") || []).map((a) => h("span", { class: "ptw-chip ptw-chip-alias", text: `@${a}` })),
  );
}

/** Task and eligibility of the chosen version (or why there is nothing to show yet). */
function renderInfo(ctx: PickerCtx, info: HTMLElement): void {
  const [state, model, ver] = [ctx.get("info_state"), ctx.get("model"), ctx.get("version")];
  info.dataset.state = state || "none";
  if (!model || !ver) {
    info.replaceChildren(h("span", { class: "ptw-muted", text: "Choose a model and a version." }));
  } else if (state === "loading") {
    info.replaceChildren(
      h("span", { class: "ptw-spinner", "aria-hidden": "true" }),
      h("span", { class: "ptw-muted", text: ` Checking ${model} version ${ver}…` }),
    );
  } else if (state === "error") {
    info.replaceChildren(
      h("span", { class: "ptw-chip ptw-chip-bad", text: "unknown" }),
      h("span", { class: "ptw-muted", text: " Could not check this version." }),
    );
  } else if (state !== "ready") {
    clear(info);
  } else if (ctx.get("eligible")) {
    const unit = ctx.get("scheme") === "model_units" ? "model units" : "tokens/s";
    info.replaceChildren(
      infoChips(ctx),
      h("div", {
        class: "ptw-muted",
        text: `Sized in chunks of ${formatInt(ctx.get("chunk_size"))} ${unit}.`,
      }),
    );
  } else {
    info.replaceChildren(
      infoChips(ctx),
      h("div", { class: "ptw-reason", "data-testid": "ineligible-reason", text: ctx.get("reason") || "" }),
    );
  }
}

export function renderPicker(ctx: PickerCtx, root: HTMLElement): void {
  const errors = bindErrors(ctx);
  const start = new StartOnce(() => ctx.get("start"));
  const models = modelList(ctx, errors, start);
  // before the catalog section: its "catalog" handler clears the list, and with the start
  // pages the section fills the new list within the same change event
  wireModelList(ctx, models);
  const catalogs = catalogSection(ctx, errors, start, models.reset);
  const version = versionSection(ctx, errors);
  const info = h("div", { class: "ptw-info", "data-testid": "model-info", "aria-live": "polite" });
  root.append(
    h(
      "div",
      { class: "ptw-picker" },
      h("div", { class: "ptw-row" }, field("Catalog", catalogs.catalog), field("Schema", catalogs.schema)),
      h("div", { class: "ptw-row ptw-search-row" }, models.search, models.count),
      models.list,
      h("div", { class: "ptw-row" }, field("Version", version)),
      info,
      errors.el,
    ),
  );
  ctx.on(
    ["info_state", "task", "eligible", "reason", "aliases", "chunk_size", "scheme", "model", "version"],
    () => renderInfo(ctx, info),
  );
  renderInfo(ctx, info);
  catalogs.start();
}
