/**
 * Layers: one way to wrap a backend. A layer takes a backend and returns a backend that does what
 * the inner one does, plus one cross-cutting concern (limits, logs, traces, metrics, faults). A
 * store applies its layers once, when it is made; the first layer of the list is the outermost, the
 * one the store calls first.
 *
 * {@link LayeredBackend} is the forwarding base: every method, the optional ones included, and the
 * capabilities pass through to the inner backend, so a layer overrides only what it changes. Most
 * layers override {@link LayeredBackend.around}, the one place every operation goes through.
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
import type { Capabilities } from '../capabilities.ts';
import { InvalidArgumentError } from '../errors.ts';
import { describeValue } from '../arguments.ts';
import type { SweepResult } from '../sweep.ts';

/**
 * Wraps a backend in one concern. `name` is what `store.describe()` lists; `wrap` returns the
 * wrapping backend (usually a {@link LayeredBackend}). A layer that changes what the backend can do
 * returns the changed capabilities from its backend.
 *
 * @example
 * ```ts
 * const prefixLogs: Layer = { name: 'my-layer', wrap: (inner) => new MyLayerBackend(inner) }
 * const store = new Store(new MemoryBackend(), { layers: [prefixLogs] })
 * ```
 */
export interface Layer {
  /** A short name, such as `'concurrency-limit'`. */
  readonly name: string;
  /** The backend that adds this layer's concern to `inner` (the store keeps its capability types). */
  wrap(inner: Backend): Backend;
}

/** The backend operations, as layers and observers name them. */
export type OperationName = 'stat' | 'read' | 'write' | 'delete' | 'deleteMany' | 'list' | 'copy' | 'move' | 'signUrl' | 'sweep' | 'health';

/** Every operation name, in the order the contract lists them. */
export const OPERATION_NAMES: readonly OperationName[] = Object.freeze(['stat', 'read', 'write', 'delete', 'deleteMany', 'list', 'copy', 'move', 'signUrl', 'sweep', 'health']);

/** One call going through a layer. */
export interface LayerCall {
  /** The operation. */
  readonly operation: OperationName;
  /** The (absolute) key, the source key of a copy or move, the prefix of a listing or sweep. */
  readonly key: string | undefined;
  /** The destination key of a copy or move. */
  readonly to?: string | undefined;
  /** How many keys a `deleteMany` deletes. */
  readonly count?: number | undefined;
  /** The caller's abort signal (with the store's time limit). */
  readonly signal: AbortSignal | undefined;
}

/**
 * The forwarding base of a layer: forwards every call, optional methods included (each is present
 * exactly when the inner backend has it), and the capabilities. Override {@link around} to act on
 * every operation, or a method to change one; a subclass that overrides an optional method must keep
 * it absent when `inner` lacks it (override the getter, as this class does).
 */
export class LayeredBackend<C extends Capabilities = Capabilities> implements Backend<C> {
  readonly name: string;
  readonly capabilities: C;
  /** The wrapped backend. */
  readonly inner: Backend<C>;
  /** Whether {@link around} is this class's own (it only runs the call): then calls go straight on, with no call record made. */
  readonly #plain: boolean;

  constructor(inner: Backend<C>, options: { name?: string | undefined; capabilities?: C | undefined } = {}) {
    if (typeof inner !== 'object' || inner === null || typeof inner.stat !== 'function') {
      throw new InvalidArgumentError(`a layer wraps a backend, got ${describeValue(inner)}`);
    }
    this.inner = inner;
    this.name = options.name ?? inner.name;
    this.capabilities = options.capabilities ?? inner.capabilities;
    this.#plain = this.around === LayeredBackend.prototype.around;
  }

  /** Runs `call` (the inner backend's operation); the one place every operation passes through. */
  protected around<T>(_call: LayerCall, run: () => Promise<T>): Promise<T> {
    return run();
  }

  stat(key: string, context: OperationContext): Promise<ObjectInfo> {
    if (this.#plain) return this.inner.stat(key, context);
    return this.around({ operation: 'stat', key, signal: context.signal }, () => this.inner.stat(key, context));
  }

  read(key: string, options: OperationContext & { range?: ByteRange | undefined }): Promise<BackendReadResult> {
    if (this.#plain) return this.inner.read(key, options);
    return this.around({ operation: 'read', key, signal: options.signal }, () => this.inner.read(key, options));
  }

  write(key: string, request: BackendWriteRequest): Promise<ObjectInfo> {
    if (this.#plain) return this.inner.write(key, request);
    return this.around({ operation: 'write', key, signal: request.signal }, () => this.inner.write(key, request));
  }

  delete(key: string, context: OperationContext): Promise<void> {
    if (this.#plain) return this.inner.delete(key, context);
    return this.around({ operation: 'delete', key, signal: context.signal }, () => this.inner.delete(key, context));
  }

  list(options: BackendListOptions): Promise<ListPage> {
    if (this.#plain) return this.inner.list(options);
    return this.around({ operation: 'list', key: options.prefix, signal: options.signal }, () => this.inner.list(options));
  }

  health(context: OperationContext): Promise<void> {
    return this.around({ operation: 'health', key: undefined, signal: context.signal }, () => this.inner.health(context));
  }

  /** Closes the inner backend (a layer that holds resources of its own releases them first). */
  close(): Promise<void> {
    return this.inner.close();
  }

  unwrap(): unknown {
    return this.inner.unwrap();
  }

  get deleteMany(): ((keys: readonly string[], context: OperationContext) => Promise<void>) | undefined {
    const inner = this.inner;
    if (!inner.deleteMany) return undefined;
    return (keys, context) => this.around({ operation: 'deleteMany', key: undefined, count: keys.length, signal: context.signal }, () => inner.deleteMany!(keys, context));
  }

  get copy(): ((from: string, to: string, options: BackendCopyOptions) => Promise<ObjectInfo>) | undefined {
    const inner = this.inner;
    if (!inner.copy) return undefined;
    return (from, to, options) => this.around({ operation: 'copy', key: from, to, signal: options.signal }, () => inner.copy!(from, to, options));
  }

  get move(): ((from: string, to: string, options: BackendCopyOptions) => Promise<ObjectInfo>) | undefined {
    const inner = this.inner;
    if (!inner.move) return undefined;
    return (from, to, options) => this.around({ operation: 'move', key: from, to, signal: options.signal }, () => inner.move!(from, to, options));
  }

  get signUrl(): ((key: string, options: SignUrlOptions) => Promise<string>) | undefined {
    const inner = this.inner;
    if (!inner.signUrl) return undefined;
    return (key, options) => this.around({ operation: 'signUrl', key, signal: undefined }, () => inner.signUrl!(key, options));
  }

  get sweep(): ((options: BackendSweepOptions) => Promise<SweepResult>) | undefined {
    const inner = this.inner;
    if (!inner.sweep) return undefined;
    return (options) => this.around({ operation: 'sweep', key: options.prefix, signal: options.signal }, () => inner.sweep!(options));
  }
}

// The names of the layers each layered backend was built with, outermost first.
const chains = new WeakMap<object, readonly string[]>();

/**
 * `backend` wrapped in `layers`, the first outermost (the one called first). A layer whose `wrap`
 * returns something that is not a backend is refused.
 */
export function applyLayers<C extends Capabilities>(backend: Backend<C>, layers: readonly Layer[]): Backend<C> {
  if (!Array.isArray(layers)) throw new InvalidArgumentError(`layers must be a list of layers, got ${describeValue(layers)}`);
  let wrapped = backend;
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i];
    if (typeof layer !== 'object' || layer === null || typeof layer.wrap !== 'function' || typeof layer.name !== 'string' || layer.name === '') {
      throw new InvalidArgumentError(`layers[${i}] must be a layer ({ name, wrap(backend) }), got ${describeValue(layer)}`);
    }
    const next = layer.wrap(wrapped) as Backend<C>;
    if (typeof next !== 'object' || next === null || typeof next.stat !== 'function' || typeof next.read !== 'function' || typeof next.write !== 'function') {
      throw new InvalidArgumentError(`the layer '${layer.name}' did not return a backend`);
    }
    chains.set(next, [layer.name, ...layerNames(wrapped)]);
    wrapped = next;
  }
  return wrapped;
}

/** The names of the layers `backend` was wrapped in by {@link applyLayers}, outermost first. */
export function layerNames(backend: Backend): readonly string[] {
  return chains.get(backend) ?? [];
}
