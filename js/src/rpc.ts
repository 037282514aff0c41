// Request/response over anywidget custom messages. Every request gets exactly one answer
// from the kernel ({ok, result} or {ok: false, error}); if none comes within the timeout the
// promise rejects with a sentence saying why, so the page never waits on a lost reply.

import type { AnyModel } from "@anywidget/types";

/** What the request/response protocol needs of a model: custom messages only. */
export type MessageModel = Pick<AnyModel, "on" | "off" | "send">;

/** A panel's traits by their full name: `Prefixed<"picker_", PickerState>` inside the App. */
export type Prefixed<P extends string, S> = { [K in keyof S & string as `${P}${K}`]: S[K] };

/** A JSON payload from the kernel (a reply or an event); each panel types what it reads. */
// biome-ignore lint/suspicious/noExplicitAny: kernel payloads are JSON, typed where they are read
export type Payload = any;

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  onEvent?: (event: Payload) => void;
}

type Pending = {
  resolve: (value: Payload) => void;
  reject: (error: Error) => void;
  onEvent?: (event: Payload) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
};

export const DEFAULT_TIMEOUT_MS = 60_000;

export class RpcError extends Error {
  constructor(
    message: string,
    readonly kind: "error" | "timeout" | "cancelled" | "closed",
  ) {
    super(message);
    this.name = "RpcError";
  }
}

let counter = 0;

export class Rpc {
  private pending = new Map<string, Pending>();
  private listeners = new Map<string, Set<(event: Payload) => void>>();
  private closed = false;

  constructor(
    private model: MessageModel,
    signal?: AbortSignal,
  ) {
    this.handle = this.handle.bind(this);
    model.on("msg:custom", this.handle);
    signal?.addEventListener("abort", () => this.close());
  }

  request<T = Payload>(
    method: string,
    params: Record<string, Payload> = {},
    options: RequestOptions = {},
  ): Promise<T> {
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
          reject(
            new RpcError(
              `No answer from the kernel after ${Math.round(timeoutMs / 1000)} s ` +
                `(${method}): it may be busy running a cell, or it was restarted (then re-run ` +
                "the cell).",
              "timeout",
            ),
          );
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

  /**
   * Send a request nobody waits for (its answer is ignored). Sent even once this view is
   * closing, so a view can say it is going away (the monitor stops polling when unseen).
   */
  post(method: string, params: Record<string, Payload> = {}): void {
    counter += 1;
    this.model.send({ ptw: "request", id: `post-${counter}`, method, params });
  }

  /** Listen to unsolicited events of one scope (e.g. results computed in Python). */
  onEvent(scope: string, callback: (event: Payload) => void): () => void {
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

  private handle(msg: Payload): void {
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
      for (const cb of set ?? []) cb(msg.event);
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

type Name<S> = keyof S & string;

/**
 * One panel's typed view of the model: its (prefixed) traits as `S`, its requests and its
 * events. Standalone widgets use the prefix "", the App "picker_", "slider_", ...
 */
export class Ctx<S extends object, P extends string = string> {
  private readonly model: AnyModel<Record<string, unknown>>;

  constructor(
    model: AnyModel<Prefixed<P, S>>,
    readonly prefix: P,
    readonly scope: string,
    readonly rpc: Rpc,
    readonly signal: AbortSignal,
  ) {
    // one model, many panels: the typed model is read by full names built from the prefix
    this.model = model as unknown as AnyModel<Record<string, unknown>>;
  }

  get<K extends Name<S>>(name: K): S[K] {
    return this.model.get(this.prefix + name) as S[K];
  }

  /** Set traits and send them to the kernel in one message. */
  set(values: Partial<S>): void {
    for (const [name, value] of Object.entries(values)) {
      this.model.set(this.prefix + name, value);
    }
    this.model.save_changes();
  }

  /** Call back when any of the named traits changes; removed when the view goes away. */
  on(names: Name<S> | Name<S>[], callback: () => void): void {
    for (const name of Array.isArray(names) ? names : [names]) {
      const event = `change:${this.prefix}${name}`;
      this.model.on(event, callback);
      this.signal.addEventListener("abort", () => this.model.off(event, callback));
    }
  }

  request<T = Payload>(
    method: string,
    params: Record<string, unknown> = {},
    options: RequestOptions = {},
  ): Promise<T> {
    return this.rpc.request<T>(`${this.scope}:${method}`, params, options);
  }

  /** A request whose answer nobody waits for, sent even while the view closes. */
  post(method: string, params: Record<string, unknown> = {}): void {
    this.rpc.post(`${this.scope}:${method}`, params);
  }

  onEvent(callback: (event: Payload) => void): void {
    const off = this.rpc.onEvent(this.scope, callback);
    this.signal.addEventListener("abort", off);
  }

  /** Run `cleanup` when the view goes away (timers, debounced calls). */
  onClose(cleanup: () => void): void {
    this.signal.addEventListener("abort", cleanup);
  }
}
