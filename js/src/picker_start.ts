// The picker's first pages, fetched by the kernel while the widget is created (the `start`
// trait): the view shows them without a request, so its first model page needs no round
// trip to the kernel (before: catalogs, then schemas, then models, one after the other).

/** One page of a schema's model names, as the kernel's `models` request answers it. */
export interface ModelsPage {
  items: string[];
  total: number;
  offset: number;
  schema_total: number;
}

/**
 * What the kernel prefetched; any part may be missing (then the view asks for it). `{}`
 * while the kernel is still fetching; `{ failed: true }` if it could not (the view's own
 * requests then say why).
 */
export interface StartPages {
  failed?: boolean;
  catalogs?: string[];
  schemas?: Record<string, string[]>;
  models?: Record<string, ModelsPage>;
}

/**
 * Hands out each part of the start pages at most once per view: later loads (another
 * catalog, a search, coming back to a schema) ask the kernel, so they are never stale.
 */
export class StartOnce {
  private readonly used = new Set<string>();

  constructor(private readonly read: () => StartPages | undefined) {}

  /** The kernel is still fetching: wait for the trait rather than race it with requests. */
  pending(): boolean {
    const pages = this.read();
    return pages !== undefined && Object.keys(pages).length === 0;
  }

  catalogs(): string[] | undefined {
    return this.take("catalogs", this.read()?.catalogs);
  }

  schemas(catalog: string): string[] | undefined {
    return this.take(`schemas:${catalog}`, this.read()?.schemas?.[catalog]);
  }

  models(catalog: string, schema: string): ModelsPage | undefined {
    const key = `${catalog}.${schema}`;
    return this.take(`models:${key}`, this.read()?.models?.[key]);
  }

  private take<T>(key: string, value: T | undefined): T | undefined {
    if (value === undefined || this.used.has(key)) return undefined;
    this.used.add(key);
    return value;
  }
}
