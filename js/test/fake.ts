// A fake anywidget model: traits, change events, custom messages, and a scripted kernel.
import type { AnyModel } from "@anywidget/types";

type Handler = (...args: any[]) => void;
export type Kernel = (method: string, params: any, reply: Reply) => void;
export interface Reply {
  ok(result: any): void;
  error(message: string): void;
  event(event: any): void;
}

export class FakeModel implements AnyModel<Record<string, any>> {
  widget_manager = {
    get_model: (): Promise<never> => Promise.reject(new Error("no widget manager in the tests")),
  };
  state: Record<string, any>;
  sent: any[] = [];
  saves = 0;
  requests: { method: string; params: any; id: string }[] = [];
  private handlers = new Map<string, Set<Handler>>();

  constructor(
    state: Record<string, any> = {},
    public kernel?: Kernel,
  ) {
    this.state = { ...state };
  }

  get(name: string) {
    return this.state[name];
  }

  set(name: string, value: any) {
    const old = this.state[name];
    this.state[name] = value;
    if (JSON.stringify(old) !== JSON.stringify(value)) this.emit(`change:${name}`);
  }

  /** What the kernel does: set traits and notify, like a state update message. */
  update(values: Record<string, any>) {
    for (const [k, v] of Object.entries(values)) this.set(k, v);
  }

  on(event: string, cb: Handler) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event)!.add(cb);
  }

  off(event?: string | null, cb?: Handler | null) {
    if (!event) {
      this.handlers.clear();
      return;
    }
    if (!cb) {
      this.handlers.delete(event);
      return;
    }
    this.handlers.get(event)?.delete(cb);
  }

  listeners(event: string): number {
    return this.handlers.get(event)?.size ?? 0;
  }

  emit(event: string, ...args: any[]) {
    for (const cb of Array.from(this.handlers.get(event) ?? [])) cb(...args);
  }

  save_changes() {
    this.saves += 1;
  }

  send(content: any) {
    this.sent.push(content);
    if (content?.ptw === "request") {
      this.requests.push({ method: content.method, params: content.params, id: content.id });
      const reply: Reply = {
        ok: (result) => this.emit("msg:custom", { ptw: "response", id: content.id, ok: true, result }),
        error: (message) =>
          this.emit("msg:custom", { ptw: "response", id: content.id, ok: false, error: message }),
        event: (event) =>
          this.emit("msg:custom", {
            ptw: "event",
            id: content.id,
            scope: content.method.split(":")[0],
            event,
          }),
      };
      this.kernel?.(content.method, content.params, reply);
    }
  }

  calls(method: string) {
    return this.requests.filter((r) => r.method === method);
  }
}

/** Let pending promises (replies) run. */
export async function flush(times = 5) {
  for (let i = 0; i < times; i++) await Promise.resolve();
  await new Promise((r) => setTimeout(r, 0));
}

export function byTestId<T extends Element = HTMLElement>(root: ParentNode, id: string): T {
  const el = root.querySelector<T>(`[data-testid="${id}"]`);
  if (!el) throw new Error(`no element [data-testid=${id}]`);
  return el as unknown as T;
}
