/**
 * The metrics layer: how long operations take, how many bytes they move, how they fail and how many
 * are in flight.
 *
 * @module
 */
import { createNoopMeter, metrics, type Attributes, type MeterProvider } from '@opentelemetry/api';
import { LayeredBackend, observingLayer, type Layer } from '@stowage/core';
import { ATTRIBUTES, baseAttributes, checkFields, errorType, type CommonOptions } from './attributes.ts';
import { INSTRUMENTATION_NAME } from './version.ts';

/** Options of {@link metricsLayer}. */
export interface MetricsOptions extends CommonOptions {
  /**
   * Where the meter comes from (default: the global one, `metrics.getMeterProvider()`, as it is when
   * the layer is made: set the SDK up first, or pass its provider here). With the API's no-op meter
   * the layer measures nothing and forwards every call unchanged.
   */
  meterProvider?: MeterProvider | undefined;
  /** Operations to leave unmeasured (for example `['health']`). */
  skip?: readonly string[] | undefined;
}

/** The names of the instruments {@link metricsLayer} records. */
export const METRICS = Object.freeze({
  /** Histogram, seconds: each operation from its start to its end (a read: to the end of its stream), with `error.type` on failures. */
  duration: 'stowage.client.operation.duration',
  /** Counter, bytes: what reads delivered and writes took, by `stowage.io.direction` (`read`, `write`). */
  io: 'stowage.client.io',
  /** Counter: failed operations, by `error.type` and `stowage.error.code`. */
  errors: 'stowage.client.operation.errors',
  /** UpDownCounter: operations started and not ended yet (a read stays in flight until its stream ends). */
  active: 'stowage.client.active_operations',
});

// The boundaries the conventions advise for `db.client.operation.duration`, in seconds.
const DURATION_BOUNDARIES = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

const FIELDS: readonly string[] = ['meterProvider', 'skip', 'bucket', 'attributes'];

/**
 * A layer that measures every operation of the backend it wraps. Measurements carry the
 * operation, the backend, the bucket when given and `attributes`, never a key.
 *
 * @example
 * ```ts
 * import { metricsLayer } from '@stowage/opentelemetry'
 * const store = new Store(new MemoryBackend(), { layers: [metricsLayer({ meterProvider })] })
 * await store.write('a.txt', 'hi') // stowage.client.io += 2 { stowage.io.direction: 'write', ... }
 * ```
 */
export function metricsLayer(options?: MetricsOptions): Layer {
  const checked = checkFields(options, FIELDS, 'metricsLayer');
  const skip = new Set<string>(checked.skip ?? []);
  const meter = (checked.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_NAME);
  // The API alone hands out a no-op meter: then the layer forwards every call as it is, streams
  // unwrapped, rather than measure into instruments that drop everything.
  if (meter.constructor === createNoopMeter().constructor) return { name: 'metrics', wrap: (inner) => new LayeredBackend(inner) };
  const common: CommonOptions = { bucket: checked.bucket, attributes: checked.attributes };
  const duration = meter.createHistogram(METRICS.duration, {
    description: 'Duration of storage operations (a read until the end of its stream).',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BOUNDARIES },
  });
  const io = meter.createCounter(METRICS.io, { description: 'Bytes read from and written to storage.', unit: 'By' });
  const errors = meter.createCounter(METRICS.errors, { description: 'Failed storage operations.', unit: '{operation}' });
  const active = meter.createUpDownCounter(METRICS.active, { description: 'Storage operations in flight.', unit: '{operation}' });

  return observingLayer('metrics', (call) => {
    if (skip.has(call.operation)) return undefined;
    const attributes = baseAttributes(call, common);
    active.add(1, attributes);
    return {
      end: (outcome) => {
        active.add(-1, attributes);
        if (outcome.bytesRead > 0) io.add(outcome.bytesRead, { ...attributes, [ATTRIBUTES.direction]: 'read' });
        if (outcome.bytesWritten > 0) io.add(outcome.bytesWritten, { ...attributes, [ATTRIBUTES.direction]: 'write' });
        let measured: Attributes = attributes;
        if (outcome.status === 'error') {
          measured = { ...attributes, [ATTRIBUTES.errorType]: errorType(outcome) };
          if (outcome.code !== undefined) measured[ATTRIBUTES.errorCode] = outcome.code;
          errors.add(1, measured);
        }
        duration.record(outcome.durationMs / 1000, measured);
      },
    };
  });
}

/**
 * The metrics layer from a configuration file: `{ "type": "@stowage/opentelemetry/metrics",
 * "options": { "bucket": "uploads" } }` (or the short type `metrics`).
 */
export function createLayer(options?: MetricsOptions): Layer {
  return metricsLayer(options);
}
