/**
 * Limits as layers: at most N operations in flight ({@link concurrencyLimitLayer}) and at most so
 * many operations or bytes per second ({@link rateLimitLayer}). Waiting calls are served in the order
 * they came; a waiting call whose signal fires leaves the queue at once with `ABORTED`.
 *
 * @module
 */
import type { Backend, BackendReadResult, BackendWriteRequest, ObjectInfo, OperationContext, ByteRange } from '../backend.ts';
import type { Capabilities } from '../capabilities.ts';
import { checkKnownFields, checkOptions, describeValue } from '../arguments.ts';
import { AbortedError, InvalidArgumentError } from '../errors.ts';
import { LayeredBackend, type Layer, type LayerCall } from './layer.ts';
import { watchStream } from './streams.ts';

interface Waiter {
  grant(): void;
}

/** A counting semaphore whose waiters are served first come, first served. */
class Slots {
  #free: number;
  readonly #queue: Waiter[] = [];

  constructor(size: number) {
    this.#free = size;
  }

  /** Resolves with a release function once a slot is free; `ABORTED` when `signal` fires first. */
  acquire(signal: AbortSignal | undefined, call: LayerCall, backend: string): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(aborted(call, backend, signal));
    if (this.#free > 0 && this.#queue.length === 0) {
      this.#free--;
      return Promise.resolve(this.#releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.#releaser());
        },
      };
      const onAbort = (): void => {
        const index = this.#queue.indexOf(waiter);
        if (index !== -1) this.#queue.splice(index, 1);
        reject(aborted(call, backend, signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  /** Calls waiting for a slot. */
  get waiting(): number {
    return this.#queue.length;
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#queue.shift();
      if (next) next.grant();
      else this.#free++;
    };
  }
}

function aborted(call: LayerCall, backend: string, signal: AbortSignal): AbortedError {
  const what = call.key === undefined ? call.operation : `${call.operation} of ${JSON.stringify(call.key)}`;
  return new AbortedError(`${what} aborted while it waited for its turn`, { key: call.key, backend, cause: signal.reason });
}

function positiveInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got ${describeValue(value)}`);
  return value;
}

function positiveNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got ${describeValue(value)}`);
  return value;
}

/** Options of {@link concurrencyLimitLayer}. */
export interface ConcurrencyLimitOptions {
  /** At most this many operations in flight at once (per store made with the layer, and the stores `at` and `with` make from it). */
  limit: number;
  /**
   * Whether a read keeps its slot until its stream ends (or is cancelled), rather than until it is
   * open. Off by default: a caller holding `limit` unread streams would otherwise block every other
   * call, including the write of an emulated copy that reads its own source.
   */
  holdReadStreams?: boolean | undefined;
}

/**
 * At most `limit` operations of the wrapped backend in flight at once; the rest wait in the order
 * they came. A write holds its slot until it is stored (its body read), a read until it is open (or,
 * with `holdReadStreams`, until its stream ends).
 *
 * @example
 * ```ts
 * const store = new Store(backend, { layers: [concurrencyLimitLayer({ limit: 8 })] })
 * ```
 */
export function concurrencyLimitLayer(options: ConcurrencyLimitOptions): Layer {
  options = checkOptions(options as ConcurrencyLimitOptions | undefined, 'concurrencyLimitLayer');
  checkKnownFields(options as unknown as Record<string, unknown>, ['limit', 'holdReadStreams'], 'concurrencyLimitLayer');
  const limit = positiveInteger(options.limit, 'concurrencyLimitLayer: limit');
  const hold = options.holdReadStreams ?? false;
  if (typeof hold !== 'boolean') throw new InvalidArgumentError(`concurrencyLimitLayer: holdReadStreams must be a boolean, got ${describeValue(hold)}`);
  return { name: 'concurrency-limit', wrap: <C extends Capabilities>(inner: Backend<C>) => new ConcurrencyLimitedBackend(inner, new Slots(limit), hold) };
}

class ConcurrencyLimitedBackend<C extends Capabilities> extends LayeredBackend<C> {
  readonly #slots: Slots;
  readonly #hold: boolean;

  constructor(inner: Backend<C>, slots: Slots, hold: boolean) {
    super(inner);
    this.#slots = slots;
    this.#hold = hold;
  }

  protected override async around<T>(call: LayerCall, run: () => Promise<T>): Promise<T> {
    const release = await this.#slots.acquire(call.signal, call, this.inner.name);
    try {
      return await run();
    } finally {
      release();
    }
  }

  override async read(key: string, options: OperationContext & { range?: ByteRange | undefined }): Promise<BackendReadResult> {
    if (!this.#hold) return super.read(key, options);
    const release = await this.#slots.acquire(options.signal, { operation: 'read', key, signal: options.signal }, this.inner.name);
    let result: BackendReadResult;
    try {
      result = await this.inner.read(key, options);
    } catch (error) {
      release();
      throw error;
    }
    return { ...result, body: watchStream(result.body, { end: release }) };
  }
}

/** Options of {@link rateLimitLayer}: at least one of the two rates. */
export interface RateLimitOptions {
  /** At most this many operations start per second (bursts of up to one second's worth). */
  operationsPerSecond?: number | undefined;
  /** At most this many bytes read and written per second, across every operation (bursts of up to one second's worth). */
  bytesPerSecond?: number | undefined;
}

/** A token bucket refilled continuously, holding at most one second's worth; waiters are served in order. */
class Bucket {
  readonly #rate: number;
  #tokens: number;
  #updated = performance.now();
  #tail: Promise<void> = Promise.resolve();

  constructor(rate: number) {
    this.#rate = rate;
    this.#tokens = rate;
  }

  /**
   * Waits until `amount` tokens are there and takes them. An amount larger than the bucket waits for
   * a full bucket and leaves it in debt, so that one big chunk is slowed, not refused.
   */
  take(amount: number, signal: AbortSignal | undefined, call: LayerCall, backend: string): Promise<void> {
    const turn = this.#tail.then(() => this.#wait(Math.min(amount, this.#rate), signal, call, backend)).then(() => {
      this.#tokens -= amount;
    });
    // The next waiter queues behind this one whether it succeeded or was aborted.
    this.#tail = turn.catch(() => undefined);
    return turn;
  }

  async #wait(needed: number, signal: AbortSignal | undefined, call: LayerCall, backend: string): Promise<void> {
    for (;;) {
      if (signal?.aborted) throw aborted(call, backend, signal);
      const now = performance.now();
      this.#tokens = Math.min(this.#rate, this.#tokens + ((now - this.#updated) / 1000) * this.#rate);
      this.#updated = now;
      if (this.#tokens >= needed) return;
      const ms = Math.ceil(((needed - this.#tokens) / this.#rate) * 1000);
      await sleep(ms, signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * At most `operationsPerSecond` operations start per second, and at most `bytesPerSecond` bytes
 * flow through reads and writes per second; calls over the rate wait their turn.
 *
 * @example
 * ```ts
 * const store = new Store(backend, { layers: [rateLimitLayer({ operationsPerSecond: 100, bytesPerSecond: 10_000_000 })] })
 * ```
 */
export function rateLimitLayer(options: RateLimitOptions): Layer {
  options = checkOptions(options as RateLimitOptions | undefined, 'rateLimitLayer');
  checkKnownFields(options as unknown as Record<string, unknown>, ['operationsPerSecond', 'bytesPerSecond'], 'rateLimitLayer');
  if (options.operationsPerSecond === undefined && options.bytesPerSecond === undefined) {
    throw new InvalidArgumentError('rateLimitLayer needs operationsPerSecond, bytesPerSecond or both');
  }
  const ops = options.operationsPerSecond === undefined ? undefined : positiveNumber(options.operationsPerSecond, 'rateLimitLayer: operationsPerSecond');
  const bytes = options.bytesPerSecond === undefined ? undefined : positiveNumber(options.bytesPerSecond, 'rateLimitLayer: bytesPerSecond');
  return {
    name: 'rate-limit',
    wrap: <C extends Capabilities>(inner: Backend<C>) =>
      new RateLimitedBackend(inner, ops === undefined ? undefined : new Bucket(ops), bytes === undefined ? undefined : new Bucket(bytes)),
  };
}

class RateLimitedBackend<C extends Capabilities> extends LayeredBackend<C> {
  readonly #operations: Bucket | undefined;
  readonly #bytes: Bucket | undefined;

  constructor(inner: Backend<C>, operations: Bucket | undefined, bytes: Bucket | undefined) {
    super(inner);
    this.#operations = operations;
    this.#bytes = bytes;
  }

  protected override async around<T>(call: LayerCall, run: () => Promise<T>): Promise<T> {
    await this.#operations?.take(1, call.signal, call, this.inner.name);
    return run();
  }

  override async read(key: string, options: OperationContext & { range?: ByteRange | undefined }): Promise<BackendReadResult> {
    const result = await super.read(key, options);
    const bytes = this.#bytes;
    if (!bytes) return result;
    const call: LayerCall = { operation: 'read', key, signal: options.signal };
    const backend = this.inner.name;
    const body = watchStream(result.body, { each: (chunk) => bytes.take(chunk.byteLength, options.signal, call, backend) });
    return { ...result, body };
  }

  override write(key: string, request: BackendWriteRequest): Promise<ObjectInfo> {
    const bytes = this.#bytes;
    if (!bytes) return super.write(key, request);
    const call: LayerCall = { operation: 'write', key, signal: request.signal };
    const backend = this.inner.name;
    const body = (async function* () {
      for await (const chunk of request.body) {
        await bytes.take(chunk.byteLength, request.signal, call, backend);
        yield chunk;
      }
    })();
    return super.write(key, { ...request, body });
  }
}
