// ModelPicker: catalog -> schema -> model (searchable, paged list) -> version.
import { Ctx } from "./rpc";
import { ErrorBox, clear, debounce, errorText, field, h, setOptions } from "./dom";
import { formatInt, shortTask } from "./format";

export const PAGE_SIZE = 50;

interface ModelsPage {
  items: string[];
  total: number;
  offset: number;
  schema_total: number;
}

interface VersionRow {
  version: string;
  aliases: string[];
  status: string;
  comment: string;
}

export function renderPicker(ctx: Ctx, root: HTMLElement): void {
  const errors = new ErrorBox(() => ctx.set({ error: "" }));
  const catalog = h("select", { "data-testid": "catalog", "aria-label": "Catalog" });
  const schema = h("select", { "data-testid": "schema", "aria-label": "Schema" });
  const search = h("input", {
    type: "search", placeholder: "Search models (text or glob, e.g. *instruct*)",
    "data-testid": "model-search", "aria-label": "Search models", autocomplete: "off",
  });
  const count = h("span", { class: "ptw-muted ptw-count", "data-testid": "model-count" });
  const list = h("ul", { class: "ptw-list", role: "listbox", "data-testid": "model-list",
                         "aria-label": "Models", tabindex: 0 });
  const version = h("select", { "data-testid": "version", "aria-label": "Version" });
  const info = h("div", { class: "ptw-info", "data-testid": "model-info", "aria-live": "polite" });

  root.append(
    h("div", { class: "ptw-picker" },
      h("div", { class: "ptw-row" }, field("Catalog", catalog), field("Schema", schema)),
      h("div", { class: "ptw-row ptw-search-row" }, search, count),
      list,
      h("div", { class: "ptw-row" }, field("Version", version)),
      info,
      errors.el),
  );

  // ---------------------------------------------------------------- catalogs and schemas
  let catalogs: string[] = [];
  let schemas: string[] = [];

  async function loadCatalogs() {
    try {
      const res = await ctx.request<{ items: string[] }>("catalogs");
      catalogs = res.items;
      const current = ctx.get<string>("catalog");
      setOptions(catalog, catalogs.map((c) => ({ value: c, label: c })), current,
                 "Choose a catalog…");
      if (!current && catalogs.includes("system")) chooseCatalog("system");
      else if (current) loadSchemas(current);
    } catch (e) {
      errors.set(errorText(e));
    }
  }

  function chooseCatalog(name: string) {
    catalog.value = name;
    ctx.set({ catalog: name, schema: "", model: "", version: "" });
  }

  async function loadSchemas(cat: string) {
    setOptions(schema, [], "", "Loading…");
    try {
      const res = await ctx.request<{ items: string[] }>("schemas", { catalog: cat });
      if (cat !== ctx.get("catalog")) return;
      schemas = res.items;
      const current = ctx.get<string>("schema");
      setOptions(schema, schemas.map((s) => ({ value: s, label: s })), current,
                 schemas.length ? "Choose a schema…" : "No schemas");
      if (!current && schemas.length === 1) chooseSchema(schemas[0]);
      else if (current) resetModels();
    } catch (e) {
      errors.set(errorText(e));
    }
  }

  function chooseSchema(name: string) {
    schema.value = name;
    ctx.set({ schema: name, model: "", version: "" });
  }

  catalog.addEventListener("change", () => chooseCatalog(catalog.value));
  schema.addEventListener("change", () => chooseSchema(schema.value));
  ctx.on("catalog", () => {
    const cat = ctx.get<string>("catalog");
    if (catalogs.includes(cat)) catalog.value = cat;
    clear(list);
    count.textContent = "";
    if (cat) loadSchemas(cat);
    else setOptions(schema, [], "", "Choose a catalog first");
  });
  ctx.on("schema", () => {
    const sch = ctx.get<string>("schema");
    if (schemas.includes(sch)) schema.value = sch;
    resetModels();
  });

  // ---------------------------------------------------------------- models, paged
  let seq = 0;
  let loaded = 0;
  let total = 0;
  let loading = false;
  const more = h("li", { class: "ptw-more", role: "presentation", "data-testid": "load-more" });

  function resetModels() {
    seq += 1;
    loaded = 0;
    total = 0;
    clear(list);
    loadPage();
  }

  async function loadPage() {
    const cat = ctx.get<string>("catalog");
    const sch = ctx.get<string>("schema");
    if (!cat || !sch) {
      count.textContent = "";
      list.append(h("li", { class: "ptw-empty", role: "presentation", text: "Choose a catalog and a schema." }));
      return;
    }
    const mine = seq;
    loading = true;
    more.textContent = "Loading…";
    if (!more.isConnected) list.append(more);
    try {
      const page = await ctx.request<ModelsPage>("models", {
        catalog: cat, schema: sch, query: search.value.trim(), offset: loaded, limit: PAGE_SIZE,
      });
      if (mine !== seq) return;
      more.remove();
      const selected = ctx.get<string>("model");
      for (const name of page.items) {
        const full = `${cat}.${sch}.${name}`;
        list.append(h("li", {
          role: "option", class: full === selected ? "ptw-option ptw-selected" : "ptw-option",
          "aria-selected": full === selected ? "true" : "false", dataset: { name: full },
          text: name, title: full, onclick: () => chooseModel(full),
        }));
      }
      loaded += page.items.length;
      total = page.total;
      const query = search.value.trim();
      count.textContent = query
        ? `${formatInt(page.total)} of ${formatInt(page.schema_total)} models`
        : `${formatInt(page.schema_total)} models`;
      if (loaded < total) {
        more.textContent = `Show more (${formatInt(total - loaded)} left)`;
        list.append(more);
      } else if (total === 0) {
        list.append(h("li", { class: "ptw-empty", role: "presentation",
                              text: query ? `No model matches “${query}”.` : "No models here." }));
      }
    } catch (e) {
      if (mine === seq) {
        more.remove();
        errors.set(errorText(e));
      }
    } finally {
      if (mine === seq) loading = false;
    }
  }

  more.addEventListener("click", () => { if (!loading) loadPage(); });
  list.addEventListener("scroll", () => {
    if (!loading && loaded < total && list.scrollTop + list.clientHeight >= list.scrollHeight - 60) {
      loadPage();
    }
  });
  const onSearch = debounce(() => resetModels(), 200);
  search.addEventListener("input", () => onSearch());
  search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") onSearch.flush();
  });

  function markSelected() {
    const selected = ctx.get<string>("model");
    list.querySelectorAll<HTMLLIElement>("li.ptw-option").forEach((li) => {
      const on = li.dataset.name === selected;
      li.classList.toggle("ptw-selected", on);
      li.setAttribute("aria-selected", on ? "true" : "false");
    });
  }

  // ---------------------------------------------------------------- versions
  let versionSeq = 0;

  function chooseModel(full: string) {
    ctx.set({ model: full, version: "" });
  }

  async function loadVersions(model: string, autoselect: boolean) {
    const mine = ++versionSeq;
    setOptions(version, [], "", model ? "Loading…" : "Choose a model first");
    if (!model) return;
    try {
      const res = await ctx.request<{ items: VersionRow[] }>("versions", { model });
      if (mine !== versionSeq) return;
      const options = res.items.map((v) => ({
        value: v.version,
        label: v.aliases.length ? `${v.version} (${v.aliases.join(", ")})` : v.version,
      }));
      const current = ctx.get<string>("version");
      setOptions(version, options, current, options.length ? "Choose a version…" : "No versions");
      if (!current && autoselect && options.length) {
        version.value = options[0].value;
        ctx.set({ version: options[0].value });
      }
    } catch (e) {
      errors.set(errorText(e));
    }
  }

  version.addEventListener("change", () => ctx.set({ version: version.value }));
  ctx.on("model", () => {
    markSelected();
    loadVersions(ctx.get("model"), true);
  });
  ctx.on("version", () => {
    const v = ctx.get<string>("version");
    if (Array.from(version.options).some((o) => o.value === v)) version.value = v;
  });

  // ---------------------------------------------------------------- task and eligibility
  function renderInfo() {
    clear(info);
    const state = ctx.get<string>("info_state");
    const model = ctx.get<string>("model");
    const ver = ctx.get<string>("version");
    info.dataset.state = state || "none";
    if (!model || !ver) {
      info.append(h("span", { class: "ptw-muted", text: "Choose a model and a version." }));
      return;
    }
    if (state === "loading") {
      info.append(h("span", { class: "ptw-spinner", "aria-hidden": "true" }),
                  h("span", { class: "ptw-muted", text: ` Checking ${model} version ${ver}…` }));
      return;
    }
    if (state === "error") {
      info.append(h("span", { class: "ptw-chip ptw-chip-bad", text: "unknown" }),
                  h("span", { class: "ptw-muted", text: " Could not check this version." }));
      return;
    }
    if (state !== "ready") return;
    const task = shortTask(ctx.get("task"));
    const eligible = ctx.get<boolean | null>("eligible");
    const aliases = ctx.get<string[]>("aliases") || [];
    const chips = h("div", { class: "ptw-chips" },
      h("span", { class: "ptw-chip", "data-testid": "task-chip", title: ctx.get("task") || "",
                  text: task ? `task: ${task}` : "task: unknown" }),
      eligible
        ? h("span", { class: "ptw-chip ptw-chip-good", "data-testid": "eligibility",
                      text: "✓ eligible for provisioned throughput" })
        : h("span", { class: "ptw-chip ptw-chip-bad", "data-testid": "eligibility",
                      text: "✗ not eligible" }),
      ctx.get("model_type") ? h("span", { class: "ptw-chip", text: `type: ${ctx.get("model_type")}` }) : null,
      ...aliases.map((a) => h("span", { class: "ptw-chip ptw-chip-alias", text: `@${a}` })),
    );
    info.append(chips);
    if (eligible) {
      const unit = ctx.get("scheme") === "model_units" ? "model units" : "tokens/s";
      info.append(h("div", { class: "ptw-muted",
                             text: `Sized in chunks of ${formatInt(ctx.get("chunk_size"))} ${unit}.` }));
    } else {
      info.append(h("div", { class: "ptw-reason", "data-testid": "ineligible-reason",
                             text: ctx.get("reason") || "" }));
    }
  }

  ctx.on(["info_state", "task", "eligible", "reason", "aliases", "chunk_size", "scheme"], renderInfo);
  ctx.on("error", () => errors.set(ctx.get("error")));

  // ---------------------------------------------------------------- start
  setOptions(catalog, [], "", "Loading catalogs…");
  setOptions(schema, [], "", "Choose a catalog first");
  setOptions(version, [], "", "Choose a model first");
  list.append(h("li", { class: "ptw-empty", role: "presentation", text: "Choose a catalog and a schema." }));
  renderInfo();
  errors.set(ctx.get("error"));
  loadCatalogs();
  if (ctx.get("model")) loadVersions(ctx.get("model"), false);
}
