/**
 * The tracing layer: one OpenTelemetry span per backend operation.
 *
 * @module
 */
import { ProxyTracerProvider, SpanKind, SpanStatusCode, context, trace, type Attributes, type Span, type TracerProvider } from '@opentelemetry/api';
import { InvalidArgumentError, describeValue, observingLayer, type Layer, type ObservedCall, type ObservedOutcome } from '@stowage/core';
import { ATTRIBUTES, baseAttributes, checkFields, errorType, type CommonOptions } from './attributes.ts';
import { INSTRUMENTATION_NAME } from './version.ts';

/** The API's own no-op provider, which the global one hands spans to until an SDK registers. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/** Options of {@link tracingLayer}. */
export interface TracingOptions extends CommonOptions {
  /** Where the tracer comes from (default: the global one, `trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider | undefined;
  /**
   * Record keys, prefixes and destinations (`stowage.key`, `stowage.prefix`,
   * `stowage.destination.key`, `aws.s3.key`) and error messages. Off by default: keys can be
   * personal data, and stowage's error messages name the key.
   */
  recordKeys?: boolean | undefined;
  /** Operations to leave untraced (for example `['health']`). */
  skip?: readonly string[] | undefined;
}

const FIELDS: readonly string[] = ['tracerProvider', 'recordKeys', 'skip', 'bucket', 'attributes'];

/**
 * A layer that traces every operation of the backend it wraps: one span of kind `CLIENT`, a child
 * of the active context, named `<operation> <bucket>` (or `<operation> <backend>` without a
 * bucket), as the conventions name database spans. A read's span ends when its stream does: at its
 * last byte, on its failure, or when its reader cancels it.
 *
 * @example
 * ```ts
 * import { tracingLayer } from '@stowage/opentelemetry'
 * const store = new Store(new MemoryBackend(), { layers: [tracingLayer({ bucket: 'uploads' })] })
 * await store.write('a.txt', 'hi') // a span 'write uploads' with stowage.bytes.written = 2
 * ```
 */
export function tracingLayer(options?: TracingOptions): Layer {
  const checked = checkFields(options, FIELDS, 'tracingLayer');
  const recordKeys = checked.recordKeys ?? false;
  if (typeof recordKeys !== 'boolean') throw new InvalidArgumentError(`tracingLayer: recordKeys must be a boolean, got ${describeValue(recordKeys)}`);
  const skip = new Set<string>(checked.skip ?? []);
  const tracer = (checked.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_NAME);
  // With the API alone (no SDK registered yet: the global provider still hands out the API's no-op
  // tracer), a call is not observed at all. Checked per call, so an SDK registered later is used.
  const global = checked.tracerProvider === undefined ? trace.getTracerProvider() : undefined;
  const registered = global instanceof ProxyTracerProvider ? (): boolean => global.getDelegate() !== NOOP_PROVIDER : undefined;
  const common: CommonOptions = { bucket: checked.bucket, attributes: checked.attributes };

  return observingLayer(
    'tracing',
    (call) => {
      if (skip.has(call.operation)) return undefined;
      const parent = context.active();
      const span = tracer.startSpan(`${call.operation} ${common.bucket ?? call.backend}`, { kind: SpanKind.CLIENT }, parent);
      // A span nobody records (the API alone, or sampled out) costs nothing more: its attributes are
      // never built, and the operation runs as if untraced, its stream unwrapped.
      if (!span.isRecording()) {
        span.end();
        return undefined;
      }
      span.setAttributes(startAttributes(call, common, recordKeys));
      const active = trace.setSpan(parent, span);
      return {
        run: (operation) => context.with(active, operation),
        end: (outcome) => endSpan(span, call, outcome, recordKeys),
      };
    },
    { enabled: registered },
  );
}

function startAttributes(call: ObservedCall, options: CommonOptions, recordKeys: boolean): Attributes {
  const attributes = baseAttributes(call, options);
  if (call.count !== undefined) attributes[ATTRIBUTES.batchSize] = call.count;
  if (recordKeys && call.key !== undefined) {
    if (call.operation === 'list' || call.operation === 'sweep') attributes[ATTRIBUTES.prefix] = call.key;
    else {
      attributes[ATTRIBUTES.key] = call.key;
      if (call.backend === 's3') attributes['aws.s3.key'] = call.key;
    }
  }
  if (recordKeys && call.to !== undefined) attributes[ATTRIBUTES.destination] = call.to;
  return attributes;
}

function endSpan(span: Span, call: ObservedCall, outcome: ObservedOutcome, recordKeys: boolean): void {
  if (call.operation === 'read') span.setAttribute(ATTRIBUTES.bytesRead, outcome.bytesRead);
  if (call.operation === 'write') span.setAttribute(ATTRIBUTES.bytesWritten, outcome.bytesWritten);
  if (outcome.status === 'cancelled') span.setAttribute(ATTRIBUTES.cancelled, true);
  if (outcome.status === 'error') {
    const type = errorType(outcome);
    span.setAttribute(ATTRIBUTES.errorType, type);
    if (outcome.code !== undefined) span.setAttribute(ATTRIBUTES.errorCode, outcome.code);
    const message = (outcome.error as { message?: unknown } | null | undefined)?.message;
    if (recordKeys && outcome.error instanceof Error) span.recordException(outcome.error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: recordKeys && typeof message === 'string' ? message : type });
  }
  span.end();
}

/**
 * The tracing layer from a configuration file: `{ "type": "@stowage/opentelemetry/tracing",
 * "options": { "recordKeys": false, "bucket": "uploads" } }` (or the short type `tracing`).
 */
export function createLayer(options?: TracingOptions): Layer {
  return tracingLayer(options);
}
