/**
 * The OpenTelemetry SDK set up for one test: a tracer provider exporting to memory, a meter
 * provider read on demand, and the async-hooks context manager so that spans nest.
 */
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type DataPoint, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import { afterEach, beforeEach } from 'vitest';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

export interface Telemetry {
  readonly tracerProvider: TracerProvider;
  readonly meterProvider: MeterProvider;
  /** The spans ended so far (the simple processor exports each asynchronously: flushed first). */
  spans(): Promise<ReadableSpan[]>;
  /** Forgets the spans ended so far. */
  resetSpans(): void;
  /** The metrics as they stand now (cumulative). */
  metrics(): Promise<MetricData[]>;
  /** The points of one metric, each with its attributes. */
  points<T = number>(name: string): Promise<DataPoint<T>[]>;
  /** The sum of a counter's points whose attributes include `match`. */
  sum(name: string, match?: Record<string, unknown>): Promise<number>;
  /** The histogram points of a metric whose attributes include `match`. */
  histograms(name: string, match?: Record<string, unknown>): Promise<DataPoint<Histogram>[]>;
  shutdown(): Promise<void>;
}

function matches(attributes: Record<string, unknown>, match: Record<string, unknown>): boolean {
  return Object.entries(match).every(([name, value]) => attributes[name] === value);
}

export function setUpTelemetry(): Telemetry {
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spanExporter })] });
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const metrics = async (): Promise<MetricData[]> => {
    metricExporter.reset();
    await reader.forceFlush();
    return metricExporter.getMetrics().flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics));
  };
  const points = async <T>(name: string): Promise<DataPoint<T>[]> => (await metrics()).filter((metric) => metric.descriptor.name === name).flatMap((metric) => metric.dataPoints as DataPoint<T>[]);
  return {
    tracerProvider,
    meterProvider,
    async spans() {
      await tracerProvider.forceFlush();
      return spanExporter.getFinishedSpans();
    },
    resetSpans: () => spanExporter.reset(),
    metrics,
    points,
    async sum(name, match = {}) {
      return (await points<number>(name)).filter((point) => matches(point.attributes, match)).reduce((total, point) => total + point.value, 0);
    },
    async histograms(name, match = {}) {
      return (await points<Histogram>(name)).filter((point) => matches(point.attributes, match));
    },
    async shutdown() {
      await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}

/** A fresh {@link Telemetry} for each test of the file (handed to `use`), shut down after it. */
export function eachTestWithTelemetry(use: (telemetry: Telemetry) => void): void {
  let current: Telemetry | undefined;
  beforeEach(() => {
    current = setUpTelemetry();
    use(current);
  });
  afterEach(async () => {
    await current?.shutdown();
  });
}

/** `size` bytes of a repeating pattern. */
export const bytes = (size: number): Uint8Array => Uint8Array.from({ length: size }, (_, i) => i % 251);
