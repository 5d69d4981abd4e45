/**
 * OpenTelemetry for stowage: {@link tracingLayer} (a span per storage operation) and
 * {@link metricsLayer} (durations, bytes moved, errors by code, operations in flight), layers for
 * any store. Only `@opentelemetry/api` is needed; without an SDK both cost next to nothing.
 *
 * @example
 * ```ts
 * import { Store } from '@stowage/core'
 * import { MemoryBackend } from '@stowage/memory'
 * import { metricsLayer, tracingLayer } from '@stowage/opentelemetry'
 *
 * const store = new Store(new MemoryBackend(), { layers: [tracingLayer(), metricsLayer()] })
 * ```
 *
 * @module
 */
export { ATTRIBUTES, type CommonOptions } from './attributes.ts';
export { METRICS, metricsLayer, type MetricsOptions } from './metrics.ts';
export { tracingLayer, type TracingOptions } from './tracing.ts';
