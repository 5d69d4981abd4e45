/**
 * Watching operations from a layer: when each starts, when it ends, how it ended and how many bytes
 * it moved. A read ends when its stream does (its last byte, a failure or a cancel), not when it
 * opens, and a write's bytes are counted as the backend takes them from the body. The logging layer
 * and `@stowage/opentelemetry`'s tracing and metrics layers are built on this.
 *
 * @module
 */
import { describeValue } from '../arguments.ts';
import type { Backend, BackendListOptions, BackendReadResult, BackendWriteRequest, ListPage, ObjectInfo, OperationContext } from '../backend.ts';
import type { Capabilities } from '../capabilities.ts';
import { InvalidArgumentError, isStowageError, type ErrorCode } from '../errors.ts';
import { LayeredBackend, type Layer, type LayerCall } from './layer.ts';
import { watchStream } from './streams.ts';

/** An operation an observer sees start. */
export interface ObservedCall extends LayerCall {
  /** The name of the backend the layer wraps. */
  readonly backend: string;
}

/** How an observed operation ended. */
export interface ObservedOutcome {
  /** `'ok'`, `'error'`, or `'cancelled'` (a read stream the caller cancelled before its end). */
  readonly status: 'ok' | 'error' | 'cancelled';
  /** The failure, when `status` is `'error'`. */
  readonly error?: unknown;
  /** The stowage error code of the failure, when it has one. */
  readonly code?: ErrorCode | undefined;
  /** Milliseconds from the start to the end (for a read, to the end of its stream). */
  readonly durationMs: number;
  /** Bytes a read delivered. */
  readonly bytesRead: number;
  /** Bytes a write took from its body. */
  readonly bytesWritten: number;
}

/** What an observer does with one operation. */
export interface Observation {
  /**
   * Runs the operation (and so everything the inner backend does for it) inside a context of the
   * observer's, such as an OpenTelemetry span made active. Absent: the operation just runs.
   */
  run?<T>(call: () => Promise<T>): Promise<T>;
  /** Called exactly once, when the operation ends. */
  end(outcome: ObservedOutcome): void;
}

/** Sees every operation start; returns what to do with it (or nothing, to leave it unobserved). */
export type Observer = (call: ObservedCall) => Observation | undefined;

/** Options of {@link observingLayer}. */
export interface ObservingOptions {
  /**
   * Whether anyone observes now, asked at the start of every call. While it answers `false`, calls
   * go straight to the inner backend: no call record is made and the observer is not asked (an
   * OpenTelemetry layer with no SDK registered yet, say). Absent: always.
   */
  enabled?: (() => boolean) | undefined;
}

/**
 * A layer that reports every operation of the backend it wraps to `observer`.
 *
 * @example
 * ```ts
 * const timing = observingLayer('timing', (call) => ({
 *   end: (outcome) => console.log(call.operation, outcome.status, outcome.durationMs),
 * }))
 * ```
 */
export function observingLayer(name: string, observer: Observer, options: ObservingOptions = {}): Layer {
  const enabled = options.enabled;
  if (enabled !== undefined && typeof enabled !== 'function') {
    throw new InvalidArgumentError(`observingLayer: enabled must be a function, got ${describeValue(enabled)}`);
  }
  return { name, wrap: <C extends Capabilities>(inner: Backend<C>) => new ObservingBackend(inner, observer, enabled) };
}

class ObservingBackend<C extends Capabilities> extends LayeredBackend<C> {
  readonly #observer: Observer;
  readonly #enabled: (() => boolean) | undefined;

  constructor(inner: Backend<C>, observer: Observer, enabled: (() => boolean) | undefined) {
    super(inner);
    this.#observer = observer;
    this.#enabled = enabled;
  }

  // While nobody observes, the most frequent calls skip even the call record of `around`.
  override stat(key: string, context: OperationContext): Promise<ObjectInfo> {
    if (this.#enabled?.() === false) return this.inner.stat(key, context);
    return this.#observe({ operation: 'stat', key, signal: context.signal }, () => this.inner.stat(key, context));
  }

  override delete(key: string, context: OperationContext): Promise<void> {
    if (this.#enabled?.() === false) return this.inner.delete(key, context);
    return this.#observe({ operation: 'delete', key, signal: context.signal }, () => this.inner.delete(key, context));
  }

  override list(options: BackendListOptions): Promise<ListPage> {
    if (this.#enabled?.() === false) return this.inner.list(options);
    return this.#observe({ operation: 'list', key: options.prefix, signal: options.signal }, () => this.inner.list(options));
  }

  protected override around<T>(call: LayerCall, run: () => Promise<T>): Promise<T> {
    if (this.#enabled?.() === false) return run();
    return this.#observe(call, run);
  }

  // `around` once `enabled` has said yes (stat, delete and list ask it themselves, once).
  #observe<T>(call: LayerCall, run: () => Promise<T>): Promise<T> {
    const observation = this.#observer({ ...call, backend: this.inner.name });
    // Unobserved: the call goes on as it is, without a promise of this layer's around it.
    if (!observation) return run();
    return this.#observed(observation, run);
  }

  async #observed<T>(observation: Observation, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const finish = once(observation, started);
    try {
      const result = await (observation.run ? observation.run(run) : run());
      finish('ok', undefined, 0, 0);
      return result;
    } catch (error) {
      finish('error', error, 0, 0);
      throw error;
    }
  }

  override read(key: string, options: Parameters<Backend['read']>[1]): Promise<BackendReadResult> {
    if (this.#enabled?.() === false) return this.inner.read(key, options);
    const observation = this.#observer({ operation: 'read', key, signal: options.signal, backend: this.inner.name });
    if (!observation) return this.inner.read(key, options);
    const started = performance.now();
    const finish = once(observation, started);
    const open = (): Promise<BackendReadResult> => this.inner.read(key, options);
    return (observation.run ? observation.run(open) : open()).then(
      (result) => ({ ...result, body: watchStream(result.body, { end: (how, error, delivered) => finish(how, error, delivered, 0) }) }),
      (error: unknown) => {
        finish('error', error, 0, 0);
        throw error;
      },
    );
  }

  override write(key: string, request: BackendWriteRequest): Promise<ObjectInfo> {
    if (this.#enabled?.() === false) return this.inner.write(key, request);
    const observation = this.#observer({ operation: 'write', key, signal: request.signal, backend: this.inner.name });
    if (!observation) return this.inner.write(key, request);
    return this.#observedWrite(observation, key, request);
  }

  async #observedWrite(observation: Observation, key: string, request: BackendWriteRequest): Promise<ObjectInfo> {
    const started = performance.now();
    const finish = once(observation, started);
    let taken = 0;
    const body = (async function* () {
      for await (const chunk of request.body) {
        taken += chunk.byteLength;
        yield chunk;
      }
    })();
    const store = (): Promise<ObjectInfo> => this.inner.write(key, { ...request, body });
    try {
      const info = await (observation.run ? observation.run(store) : store());
      finish('ok', undefined, 0, taken);
      return info;
    } catch (error) {
      finish('error', error, 0, taken);
      throw error;
    }
  }
}

type Finish = (status: ObservedOutcome['status'], error: unknown, bytesRead: number, bytesWritten: number) => void;

/** Ends `observation` once, however many of the stream's paths report. */
function once(observation: Observation, started: number): Finish {
  let ended = false;
  return (status, error, bytesRead, bytesWritten) => {
    if (ended) return;
    ended = true;
    const code = status === 'error' && isStowageError(error) ? error.code : undefined;
    try {
      observation.end({ status, error, code, durationMs: performance.now() - started, bytesRead, bytesWritten });
    } catch {
      // An observer's failure is its own: the operation's outcome stays what it was.
    }
  };
}
