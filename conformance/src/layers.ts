/**
 * Stores whose backend is wrapped in layers, for running the suite through them: a layer must
 * forward what it does not change, so an adapter that passes the suite passes it through any stack
 * of the built-in layers too.
 *
 * @module
 */
import { Store, concurrencyLimitLayer, faultLayer, loggingLayer, type Backend, type Layer, type Logger } from '@stowage/core';

/** Which stack {@link layeredStore} builds. */
export type LayerStack =
  /** Retries, a time limit, a concurrency limit and logging (plus any `extra` layers, such as tracing and metrics). */
  | 'every-layer'
  /** The fault layer, set to inject nothing. */
  | 'no-faults';

/** A logger that formats nothing and keeps nothing, so logging costs the suite only the layer itself. */
const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * A store on `backend` through the given stack of layers. `extra` layers go outermost, in order.
 *
 * @example
 * ```ts
 * describeConformance({ name: 'memory (every layer)', factory: () => layeredStore(new MemoryBackend(), 'every-layer') })
 * ```
 */
export function layeredStore(backend: Backend, stack: LayerStack, extra: readonly Layer[] = []): Store {
  if (stack === 'no-faults') return new Store(backend, { layers: [...extra, faultLayer({ record: false })] });
  return new Store(backend, {
    retry: true,
    timeoutMs: 120_000,
    layers: [...extra, concurrencyLimitLayer({ limit: 16 }), loggingLayer({ logger: quiet, includeKeys: true })],
  });
}
