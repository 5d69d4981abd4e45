/**
 * The store's own reliability, as layers: retries of transient failures, reads that resume where
 * they broke, and time limits. Every store has these three, outermost, in this order (retry, then
 * resumable reads, then the time limit, then the store's `layers`), configured by its `retry` and
 * `timeoutMs` options; an operation's own `retry` and `timeoutMs` reach them through the call's
 * context ({@link OperationContext.retry}, {@link OperationContext.timeoutMs}).
 *
 * What is repeated, and why each repeat is harmless, is written on {@link RetryPolicy}; the whole
 * behaviour is RELIABILITY.md's.
 *
 * @module
 */
import type {
  Backend,
  BackendCopyOptions,
  BackendListOptions,
  BackendReadResult,
  BackendSweepOptions,
  BackendWriteRequest,
  ByteRange,
  ListPage,
  ObjectInfo,
  OperationContext,
  SignUrlOptions,
} from '../backend.ts';
import { HELD_IN_MEMORY, abortedError, raceSignal } from '../bodies.ts';
import { PreconditionFailedError, isStowageError, type StowageError } from '../errors.ts';
import { resumableStream } from '../resumable-reads.ts';
import { isRetryable, pause, resolveRetryPolicy, retryDelay, type ResolvedRetryPolicy, type RetryPolicy } from '../retry.ts';
import type { SweepResult } from '../sweep.ts';
import { attemptScope, checkTimeout, timeoutError } from '../timeouts.ts';
import { LayeredBackend, type Layer } from './layer.ts';

/** The policy of one call: the call's own when it gave one (`false`: none), else the layer's. */
function policyOf(context: OperationContext, fallback: ResolvedRetryPolicy | undefined): ResolvedRetryPolicy | undefined {
  const own = context.retry;
  return own === undefined ? fallback : own === false ? undefined : own;
}

/**
 * Repeats an operation that failed with `UNAVAILABLE` (the store's `retry` option; see
 * {@link RetryPolicy} for what is repeated and why). `false` or no policy: only operations that
 * bring a policy of their own are repeated.
 */
export function retryLayer(policy?: RetryPolicy | boolean): Layer {
  const resolved = resolveRetryPolicy(policy);
  return { name: 'retry', wrap: (inner) => new RetryBackend(inner, resolved) };
}

/**
 * Reads that survive a connection lost midway: under a retry policy, a stream that fails with
 * `UNAVAILABLE` resumes from its last byte with a range request, and fails with
 * `PRECONDITION_FAILED` when the object changed in between.
 */
export function resumableReadsLayer(policy?: RetryPolicy | boolean): Layer {
  const resolved = resolveRetryPolicy(policy);
  return { name: 'resumable-reads', wrap: (inner) => new ResumableReadsBackend(inner, resolved) };
}

/**
 * Fails an attempt slower than `timeoutMs` with `UNAVAILABLE`; the clock's abort reaches the
 * backend's call like the caller's. A write is bounded until it is stored (a stalled body
 * included), a read until it is opened.
 */
export function timeoutLayer(timeoutMs?: number): Layer {
  const checked = checkTimeout(timeoutMs);
  return { name: 'timeout', wrap: (inner) => new TimeoutBackend(inner, checked) };
}

type Attempt<T> = (signal: AbortSignal | undefined) => Promise<T>;
type OnRepeatFailure<T> = (error: StowageError, signal: AbortSignal | undefined) => Promise<T>;

class RetryBackend extends LayeredBackend {
  readonly #policy: ResolvedRetryPolicy | undefined;

  constructor(inner: Backend, policy: ResolvedRetryPolicy | undefined) {
    super(inner);
    this.#policy = policy;
  }

  /**
   * `attempt` until it succeeds, fails with something other than `UNAVAILABLE`, the caller aborts,
   * or the policy's attempts or deadline run out. `onRepeatFailure` decides what an answer to a
   * repeat means (its first attempt may have landed).
   */
  #repeat<T>(context: OperationContext, key: string | undefined, attempt: (n: number) => Promise<T>, onRepeatFailure?: OnRepeatFailure<T>): Promise<T> {
    const policy = policyOf(context, this.#policy);
    if (policy === undefined) return attempt(1);
    const began = performance.now();
    // The first attempt runs without a frame of this layer's around it; only a failure enters the loop.
    let first: Promise<T>;
    try {
      first = attempt(1);
    } catch (error) {
      first = Promise.reject(error);
    }
    return first.catch((error: unknown) => this.#again(error, policy, began, context.signal, key, attempt, onRepeatFailure));
  }

  /** What follows a failed first attempt: the repeats, as long as the policy allows them. */
  async #again<T>(
    failure: unknown,
    policy: ResolvedRetryPolicy,
    began: number,
    signal: AbortSignal | undefined,
    key: string | undefined,
    attempt: (n: number) => Promise<T>,
    onRepeatFailure: OnRepeatFailure<T> | undefined,
  ): Promise<T> {
    let error = failure;
    for (let n = 1; ; n++) {
      // `error` is what attempt n failed with.
      if (n > 1 && onRepeatFailure && isStowageError(error) && !isRetryable(error) && !signal?.aborted) return onRepeatFailure(error, signal);
      if (!isRetryable(error) || signal?.aborted || n >= policy.attempts) throw error;
      const delay = retryDelay(policy, n);
      if (performance.now() - began + delay > policy.deadlineMs) throw error;
      await pause(delay, signal, key, this.name);
      try {
        return await attempt(n + 1);
      } catch (next) {
        error = next;
      }
    }
  }

  override stat(key: string, context: OperationContext): Promise<ObjectInfo> {
    return this.#repeat(context, key, () => this.inner.stat(key, context));
  }

  override read(key: string, options: OperationContext & { range?: ByteRange | undefined }): Promise<BackendReadResult> {
    return this.#repeat(options, key, () => this.inner.read(key, options));
  }

  override write(key: string, request: BackendWriteRequest): Promise<ObjectInfo> {
    const again = request.again;
    // A body read once (a stream) cannot be sent again: one attempt.
    if (again === undefined || policyOf(request, this.#policy) === undefined) return this.inner.write(key, request);
    const onRepeatFailure = async (error: StowageError, signal: AbortSignal | undefined): Promise<ObjectInfo> => {
      // The first attempt may have landed with its answer lost; the repeat then meets the caller's own write.
      if (request.ifNoneMatch === '*' && error.code === 'ALREADY_EXISTS') {
        const stored = await this.inner.stat(key, { signal }).catch(() => undefined);
        if (stored !== undefined && (await isThisWrite(stored, again(), this.inner.capabilities.userMetadata))) return stored;
        throw error;
      }
      if (request.ifMatch !== undefined && error.code === 'PRECONDITION_FAILED') {
        throw new PreconditionFailedError(
          `${error.message} (on a repeat: an earlier attempt failed after it may have reached the backend, so this write may have been applied; read the object again before deciding)`,
          { key, backend: error.backend ?? this.name, cause: error },
        );
      }
      throw error;
    };
    return this.#repeat(request, key, (n) => this.inner.write(key, n === 1 ? request : again()), onRepeatFailure);
  }

  override delete(key: string, context: OperationContext): Promise<void> {
    return this.#repeat(context, key, () => this.inner.delete(key, context));
  }

  override list(options: BackendListOptions): Promise<ListPage> {
    return this.#repeat(options, options.prefix, () => this.inner.list(options));
  }

  override health(context: OperationContext): Promise<void> {
    return this.#repeat(context, undefined, () => this.inner.health(context));
  }

  override get deleteMany(): ((keys: readonly string[], context: OperationContext) => Promise<void>) | undefined {
    const inner = this.inner;
    if (!inner.deleteMany) return undefined;
    return (keys, context) => this.#repeat(context, undefined, () => inner.deleteMany!(keys, context));
  }

  override get copy(): ((from: string, to: string, options: BackendCopyOptions) => Promise<ObjectInfo>) | undefined {
    const inner = this.inner;
    if (!inner.copy) return undefined;
    return (from, to, options) => {
      const onRepeatFailure = async (error: StowageError, signal: AbortSignal | undefined): Promise<ObjectInfo> => {
        // A create-only copy whose first attempt landed finds its own copy: the source's bytes.
        if (options.ifNoneMatch !== '*' || error.code !== 'ALREADY_EXISTS') throw error;
        const [original, copied] = await Promise.all([inner.stat(from, { signal }), inner.stat(to, { signal })]).catch(() => [undefined, undefined]);
        if (original?.sha256 !== undefined && copied?.sha256 === original.sha256 && copied.size === original.size) return copied;
        throw error;
      };
      return this.#repeat(options, from, () => inner.copy!(from, to, options), onRepeatFailure);
    };
  }
  // move, signUrl and sweep are never repeated: a repeated move that landed finds no source, signing
  // does no I/O on most backends, and a sweep is run again by whoever asked for it.
}

/** Whether `stored` is exactly what `request` (a fresh copy of the write) stores: digest, size, type, metadata. */
async function isThisWrite(stored: ObjectInfo, request: BackendWriteRequest, userMetadata: boolean): Promise<boolean> {
  for await (const chunk of request.body) void chunk;
  const metadata = request.metadata;
  const names = Object.keys(metadata);
  return (
    stored.sha256 === request.sha256() &&
    stored.size === request.bytesWritten() &&
    stored.contentType === request.contentType &&
    (!userMetadata || (names.length === Object.keys(stored.metadata).length && names.every((name) => stored.metadata[name] === metadata[name])))
  );
}

class ResumableReadsBackend extends LayeredBackend {
  readonly #policy: ResolvedRetryPolicy | undefined;

  constructor(inner: Backend, policy: ResolvedRetryPolicy | undefined) {
    super(inner);
    this.#policy = policy;
  }

  override async read(key: string, options: OperationContext & { range?: ByteRange | undefined }): Promise<BackendReadResult> {
    const policy = policyOf(options, this.#policy);
    const first = await this.inner.read(key, options);
    if (policy === undefined) return first;
    // The resumed reads are single attempts (no retry of their own: the stream counts its attempts),
    // each bounded by the time limit below this layer.
    const reopen = this.inner.capabilities.rangeRead
      ? (range: { offset: number; length: number }) => this.inner.read(key, { ...options, retry: false, range })
      : undefined;
    return { ...first, body: resumableStream({ first, reopen, policy, signal: options.signal, key, backend: this.name }) };
  }
}

class TimeoutBackend extends LayeredBackend {
  readonly #timeoutMs: number | undefined;

  constructor(inner: Backend, timeoutMs: number | undefined) {
    super(inner);
    this.#timeoutMs = timeoutMs;
  }

  /** One attempt under the call's time limit (the call's own, else the layer's); none: as it is. */
  #timed<T>(context: OperationContext, key: string | undefined, attempt: Attempt<T>): Promise<T> {
    const timeoutMs = context.timeoutMs ?? this.#timeoutMs;
    if (timeoutMs === undefined) return attempt(context.signal);
    const scope = attemptScope(context.signal, timeoutMs);
    const failed = (error: unknown): never => {
      const timedOut = scope.timedOut();
      scope.dispose();
      throw timedOut ? timeoutError(error, timeoutMs, key, this.name) : error;
    };
    let pending: Promise<T>;
    try {
      pending = attempt(scope.signal);
    } catch (error) {
      return Promise.reject(error).catch(failed);
    }
    return pending.then((value) => {
      scope.dispose();
      return value;
    }, failed);
  }

  override stat(key: string, context: OperationContext): Promise<ObjectInfo> {
    return this.#timed(context, key, (signal) => this.inner.stat(key, { ...context, signal }));
  }

  override read(key: string, options: OperationContext & { range?: ByteRange | undefined }): Promise<BackendReadResult> {
    return this.#timed(options, key, (signal) => this.inner.read(key, { ...options, signal }));
  }

  override write(key: string, request: BackendWriteRequest): Promise<ObjectInfo> {
    return this.#timed(request, key, (signal) =>
      // The clock also ends a body whose source stalled, which the backend may be waiting on; a body
      // held in memory cannot stall, and is passed on as it is.
      this.inner.write(
        key,
        signal === request.signal ? request : { ...request, body: (request as { [HELD_IN_MEMORY]?: true })[HELD_IN_MEMORY] ? request.body : bounded(request.body, signal, key, this.name), signal },
      ),
    );
  }

  override delete(key: string, context: OperationContext): Promise<void> {
    return this.#timed(context, key, (signal) => this.inner.delete(key, { ...context, signal }));
  }

  override list(options: BackendListOptions): Promise<ListPage> {
    return this.#timed(options, options.prefix, (signal) => this.inner.list({ ...options, signal }));
  }

  override health(context: OperationContext): Promise<void> {
    return this.#timed(context, undefined, (signal) => this.inner.health({ ...context, signal }));
  }

  override get deleteMany(): ((keys: readonly string[], context: OperationContext) => Promise<void>) | undefined {
    const inner = this.inner;
    if (!inner.deleteMany) return undefined;
    return (keys, context) => this.#timed(context, undefined, (signal) => inner.deleteMany!(keys, { ...context, signal }));
  }

  override get copy(): ((from: string, to: string, options: BackendCopyOptions) => Promise<ObjectInfo>) | undefined {
    const inner = this.inner;
    if (!inner.copy) return undefined;
    return (from, to, options) => this.#timed(options, from, (signal) => inner.copy!(from, to, { ...options, signal }));
  }

  override get move(): ((from: string, to: string, options: BackendCopyOptions) => Promise<ObjectInfo>) | undefined {
    const inner = this.inner;
    if (!inner.move) return undefined;
    return (from, to, options) => this.#timed(options, from, (signal) => inner.move!(from, to, { ...options, signal }));
  }

  override get signUrl(): ((key: string, options: SignUrlOptions) => Promise<string>) | undefined {
    const inner = this.inner;
    if (!inner.signUrl) return undefined;
    return (key, options) => this.#timed({}, key, () => inner.signUrl!(key, options));
  }

  override get sweep(): ((options: BackendSweepOptions) => Promise<SweepResult>) | undefined {
    const inner = this.inner;
    if (!inner.sweep) return undefined;
    return (options) => this.#timed(options, options.prefix, (signal) => inner.sweep!({ ...options, signal }));
  }
}

/** `body`, each pull raced against `signal`, so that the clock ends a write whose source stalled. */
async function* bounded(body: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined, key: string, backend: string): AsyncGenerator<Uint8Array> {
  const iterator = body[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await raceSignal(iterator.next(), signal, () => abortedError(signal!, key, backend));
      if (next.done) return;
      yield next.value;
    }
  } finally {
    void iterator.return?.()?.catch?.(() => undefined);
  }
}
