// Request/response over anywidget custom messages. Every request gets exactly one answer
// from the kernel ({ok, result} or {ok: false, error}); if none comes within the timeout the
// promise rejects with a sentence saying why, so the page never waits on a lost reply.

export interface Model {
  get(name: string): any;
  set(name: string, value: any): void;
  on(event: string, callback: (...args: any[]) => void): void;
  off(event?: string | null, callback?: ((...args: any[]) => void) | null): void;
  save_changes(): void;
  send(content: any, callbacks?: any, buffers?: any): void;
}

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  onEvent?: (event: any) => void;
}

type Pending = {
  resolve: (value: any) => void;
  reject: (error: Error) => void;
  onEvent?: (event: any) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
};

export const DEFAULT_TIMEOUT_MS = 60_000;

export class RpcError extends Error {
  constructor(message: string, readonly kind: "error" | "timeout" | "cancelled" | "closed") {
    super(message);
    this.name = "RpcError";
  }
}

let counter = 0;

export class Rpc {
  private pending = new Map<string, Pending>();
  private listeners = new Map<string, Set<(event: any) => void>>();
  private closed = false;

  constructor(private model: Model, signal?: AbortSignal) {
    this.handle = this.handle.bind(this);
    model.on("msg:custom", this.handle);
    signal?.addEventListener("abort", () => this.close());
  }

  request<T = any>(method: string, params: Record<string, any> = {},
                   options: RequestOptions = {}): Promise<T> {
    if (this.closed) {
      return Promise.reject(new RpcError("This view was closed.", "closed"));
    }
    counter += 1;
    const id = `${Date.now().toString(36)}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { resolve, reject, onEvent: options.onEvent, timer: undefined };
      if (timeoutMs > 0) {
        entry.timer = setTimeout(() => {
          this.pending.delete(id);
          this.model.send({ ptw: "cancel", id });
          reject(new RpcError(
            `No answer from the kernel after ${Math.round(timeoutMs / 1000)} s ` +
            `(${method}): it may be busy running a cell, or it was restarted (then re-run ` +
            "the cell).", "timeout"));
        }, timeoutMs);
      }
      this.pending.set(id, entry);
      if (options.signal) {
        if (options.signal.aborted) {
          this.settle(id);
          reject(new RpcError("Cancelled.", "cancelled"));
          return;
        }
        options.signal.addEventListener("abort", () => {
          if (this.settle(id)) {
            this.model.send({ ptw: "cancel", id });
            reject(new RpcError("Cancelled.", "cancelled"));
          }
        });
      }
      this.model.send({ ptw: "request", id, method, params });
    });
  }

  /** Listen to unsolicited events of one scope (e.g. results computed in Python). */
  onEvent(scope: string, callback: (event: any) => void): () => void {
    let set = this.listeners.get(scope);
    if (!set) {
      set = new Set();
      this.listeners.set(scope, set);
    }
    set.add(callback);
    return () => set?.delete(callback);
  }

  get inFlight(): number {
    return this.pending.size;
  }

  private settle(id: string): Pending | undefined {
    const entry = this.pending.get(id);
    if (entry) {
      this.pending.delete(id);
      if (entry.timer !== undefined) clearTimeout(entry.timer);
    }
    return entry;
  }

  private handle(msg: any): void {
    if (!msg || typeof msg !== "object") return;
    if (msg.ptw === "response") {
      const entry = this.settle(String(msg.id));
      if (!entry) return;
      if (msg.ok) entry.resolve(msg.result);
      else entry.reject(new RpcError(String(msg.error || "The kernel reported an error."), "error"));
    } else if (msg.ptw === "event") {
      if (msg.id) {
        const entry = this.pending.get(String(msg.id));
        if (entry?.onEvent) {
          entry.onEvent(msg.event);
          return;
        }
        if (entry) return;
      }
      const set = this.listeners.get(String(msg.scope || ""));
      set?.forEach((cb) => cb(msg.event));
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.model.off("msg:custom", this.handle);
    for (const [id, entry] of this.pending) {
      if (entry.timer !== undefined) clearTimeout(entry.timer);
      this.model.send({ ptw: "cancel", id });
      entry.reject(new RpcError("This view was closed.", "closed"));
    }
    this.pending.clear();
    this.listeners.clear();
  }
}

/** One panel's view of the model: its prefixed traits, its requests and its events. */
export class Ctx {
  constructor(readonly model: Model, readonly prefix: string, readonly scope: string,
              readonly rpc: Rpc, readonly signal: AbortSignal) {}

  get<T = any>(name: string): T {
    return this.model.get(this.prefix + name) as T;
  }

  /** Set traits and send them to the kernel in one message. */
  set(values: Record<string, any>): void {
    for (const [name, value] of Object.entries(values)) {
      this.model.set(this.prefix + name, value);
    }
    this.model.save_changes();
  }

  /** Call back when any of the named traits changes; removed when the view goes away. */
  on(names: string | string[], callback: () => void): void {
    for (const name of Array.isArray(names) ? names : [names]) {
      const event = `change:${this.prefix}${name}`;
      this.model.on(event, callback);
      this.signal.addEventListener("abort", () => this.model.off(event, callback));
    }
  }

  request<T = any>(method: string, params: Record<string, any> = {},
                   options: RequestOptions = {}): Promise<T> {
    return this.rpc.request<T>(`${this.scope}:${method}`, params, options);
  }

  onEvent(callback: (event: any) => void): void {
    const off = this.rpc.onEvent(this.scope, callback);
    this.signal.addEventListener("abort", off);
  }
}
