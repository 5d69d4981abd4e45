/**
 * A backend wrapper that injects faults at chosen operations: `UNAVAILABLE` before the call reaches
 * the backend, `UNAVAILABLE` after it did (an answer lost on the way back), slowness that honours
 * the caller's abort, and read streams that break after a number of bytes. Wrap a real backend and
 * hand the wrapper to a `Store`, to see what the store makes of a backend having a bad day.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbortedError,
  UnavailableError,
  type Backend,
  type BackendCopyOptions,
  type BackendListOptions,
  type BackendReadResult,
  type BackendSweepOptions,
  type BackendWriteRequest,
  type ByteRange,
  type Capabilities,
  type ListPage,
  type ObjectInfo,
  type OperationContext,
  type SignUrlOptions,
  type SweepResult,
} from '@stowage/core';

/** The backend operations a fault can be attached to. */
export type FaultOperation = 'stat' | 'read' | 'write' | 'delete' | 'deleteMany' | 'list' | 'copy' | 'move' | 'sweep' | 'health';

/** What happens to a matching call. */
export type Fault =
  /** Fails with `UNAVAILABLE` without reaching the backend (a refused connection, a 503). */
  | { readonly kind: 'unavailable' }
  /** Runs the call on the backend, then fails with `UNAVAILABLE`: it happened, the caller is not told. */
  | { readonly kind: 'lost-response' }
  /** Waits `ms` before the call (failing with `ABORTED` at once when the signal fires), then runs it. */
  | { readonly kind: 'delay'; readonly ms: number }
  /** A read whose stream fails with `UNAVAILABLE` after `afterBytes` bytes. */
  | { readonly kind: 'cut-read'; readonly afterBytes: number };

/** When a fault applies. */
export interface FaultRule {
  /** The operation, or `'*'` for all. */
  readonly operation: FaultOperation | '*';
  readonly fault: Fault;
  /** How many matching calls get it (default every one). */
  readonly times?: number | undefined;
  /** Only calls on this key (the backend's absolute key), or keys matching this pattern. */
  readonly key?: string | RegExp | undefined;
}

/** One call the wrapper saw. */
export interface RecordedCall {
  readonly operation: FaultOperation;
  readonly key: string | undefined;
  /** The fault it got, if any. */
  readonly fault: Fault['kind'] | undefined;
}

/** Options of {@link FaultyBackend}. */
export interface FaultyBackendOptions<C extends Capabilities> {
  /** The name the wrapper reports (default the wrapped backend's). */
  name?: string | undefined;
  /** Capabilities to declare instead of the wrapped backend's (to see a store without `rangeRead`, say). */
  capabilities?: Partial<C> | undefined;
  /** Rules to start with. */
  rules?: readonly FaultRule[] | undefined;
}

interface ActiveRule {
  rule: FaultRule;
  left: number;
}

/**
 * Wraps `inner`, forwarding every call, except that calls matching a rule get its fault. Rules are
 * tried in the order they were added; the first matching one with calls left applies.
 *
 * @example
 * ```ts
 * const faulty = new FaultyBackend(new MemoryBackend()).inject({ operation: 'stat', fault: { kind: 'unavailable' }, times: 2 })
 * const store = new Store(faulty, { retry: true })
 * await store.stat('a.txt') // two UNAVAILABLE failures, then the real answer
 * ```
 */
export class FaultyBackend<C extends Capabilities = Capabilities> implements Backend<C> {
  readonly name: string;
  readonly capabilities: C;
  readonly #inner: Backend<C>;
  #rules: ActiveRule[] = [];
  readonly #calls: RecordedCall[] = [];

  constructor(inner: Backend<C>, options: FaultyBackendOptions<C> = {}) {
    this.#inner = inner;
    this.name = options.name ?? inner.name;
    this.capabilities = Object.freeze({ ...inner.capabilities, ...options.capabilities }) as C;
    for (const rule of options.rules ?? []) this.inject(rule);
  }

  /** Adds a rule; returns the wrapper, for chaining. */
  inject(rule: FaultRule): this {
    this.#rules.push({ rule, left: rule.times ?? Number.POSITIVE_INFINITY });
    return this;
  }

  /** Removes every rule (the recorded calls stay). */
  clear(): this {
    this.#rules = [];
    return this;
  }

  /** Every call so far, in order. */
  get calls(): readonly RecordedCall[] {
    return this.#calls;
  }

  /** The wrapped backend. */
  get inner(): Backend<C> {
    return this.#inner;
  }

  #take(operation: FaultOperation, key: string | undefined): Fault | undefined {
    for (const active of this.#rules) {
      const { rule } = active;
      if (active.left <= 0) continue;
      if (rule.operation !== '*' && rule.operation !== operation) continue;
      if (rule.key !== undefined && (key === undefined || (typeof rule.key === 'string' ? rule.key !== key : !rule.key.test(key)))) continue;
      active.left--;
      return rule.fault;
    }
    return undefined;
  }

  async #run<T>(operation: FaultOperation, key: string | undefined, signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T> {
    const fault = this.#take(operation, key);
    this.#calls.push({ operation, key, fault: fault?.kind });
    const where = key === undefined ? operation : `${operation} ${JSON.stringify(key)}`;
    if (fault?.kind === 'unavailable') throw new UnavailableError(`injected fault: ${where} is unavailable`, { key, backend: this.name });
    if (fault?.kind === 'delay') {
      try {
        await sleep(fault.ms, undefined, signal ? { signal } : undefined);
      } catch (cause) {
        throw new AbortedError(`${where} aborted while the injected delay ran`, { key, backend: this.name, cause: signal?.reason ?? cause });
      }
    }
    const result = await call();
    if (fault?.kind === 'lost-response') throw new UnavailableError(`injected fault: the answer to ${where} was lost`, { key, backend: this.name });
    if (fault?.kind === 'cut-read') {
      const read = result as unknown as BackendReadResult;
      return { ...read, body: cutAfter(read.body, fault.afterBytes, key ?? '', this.name) } as T;
    }
    return result;
  }

  stat(key: string, context: OperationContext): Promise<ObjectInfo> {
    return this.#run('stat', key, context.signal, () => this.#inner.stat(key, context));
  }

  read(key: string, options: OperationContext & { range?: ByteRange | undefined }): Promise<BackendReadResult> {
    return this.#run('read', key, options.signal, () => this.#inner.read(key, options));
  }

  write(key: string, request: BackendWriteRequest): Promise<ObjectInfo> {
    return this.#run('write', key, request.signal, () => this.#inner.write(key, request));
  }

  delete(key: string, context: OperationContext): Promise<void> {
    return this.#run('delete', key, context.signal, () => this.#inner.delete(key, context));
  }

  async deleteMany(keys: readonly string[], context: OperationContext): Promise<void> {
    return this.#run('deleteMany', undefined, context.signal, async () => {
      if (this.#inner.deleteMany) await this.#inner.deleteMany(keys, context);
      else for (const key of keys) await this.#inner.delete(key, context);
    });
  }

  list(options: BackendListOptions): Promise<ListPage> {
    return this.#run('list', options.prefix, options.signal, () => this.#inner.list(options));
  }

  health(context: OperationContext): Promise<void> {
    return this.#run('health', undefined, context.signal, () => this.#inner.health(context));
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  unwrap(): unknown {
    return this.#inner.unwrap();
  }

  /** Copies natively when the wrapped backend does (declared `copy: 'emulated'` otherwise). */
  get copy(): ((from: string, to: string, options: BackendCopyOptions) => Promise<ObjectInfo>) | undefined {
    const inner = this.#inner;
    if (!inner.copy) return undefined;
    return (from, to, options) => this.#run('copy', from, options.signal, () => inner.copy!(from, to, options));
  }

  /** Moves natively when the wrapped backend does. */
  get move(): ((from: string, to: string, options: BackendCopyOptions) => Promise<ObjectInfo>) | undefined {
    const inner = this.#inner;
    if (!inner.move) return undefined;
    return (from, to, options) => this.#run('move', from, options.signal, () => inner.move!(from, to, options));
  }

  /** Sweeps when the wrapped backend does. */
  get sweep(): ((options: BackendSweepOptions) => Promise<SweepResult>) | undefined {
    const inner = this.#inner;
    if (!inner.sweep) return undefined;
    return (options) => this.#run('sweep', options.prefix, options.signal, () => inner.sweep!(options));
  }

  /** Signs when the wrapped backend does. */
  get signUrl(): ((key: string, options: SignUrlOptions) => Promise<string>) | undefined {
    const inner = this.#inner;
    return inner.signUrl ? (key, options) => inner.signUrl!(key, options) : undefined;
  }
}

/** A stream of `body`'s first `afterBytes` bytes that then fails with `UNAVAILABLE` (and cancels `body`). */
function cutAfter(body: ReadableStream<Uint8Array>, afterBytes: number, key: string, backend: string): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let passed = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (passed >= afterBytes) {
          await reader.cancel().catch(() => undefined);
          controller.error(new UnavailableError(`injected fault: the read of ${JSON.stringify(key)} broke after ${passed} bytes`, { key, backend }));
          return;
        }
        const next = await reader.read();
        if (next.done) {
          controller.close();
          return;
        }
        const room = afterBytes - passed;
        const chunk = next.value.byteLength > room ? next.value.subarray(0, room) : next.value;
        passed += chunk.byteLength;
        controller.enqueue(chunk);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}
