/**
 * What layers cost, on the memory backend (so that only stowage's own work is measured), each side
 * against the same operations on the same backend:
 *
 * - no layers: a bare `Store`;
 * - default layers: retries and a time limit (`retry: true`, `timeoutMs`), as a production store has;
 * - no-op telemetry: the default layers plus `@stowage/opentelemetry`'s tracing and metrics layers
 *   with the OpenTelemetry API alone (no SDK registered: the API's no-op tracer and meter);
 * - SDK telemetry: the same with the SDK recording every span (simple processor, in-memory
 *   exporter) and every measurement (a metric reader that is never asked).
 *
 * @module
 */
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Store, type Layer } from '@stowage/core';
import { MemoryBackend } from '@stowage/memory';
import { metricsLayer, tracingLayer } from '@stowage/opentelemetry';
import { createHash } from 'node:crypto';
import { addComparisonRows, compare, formatNumber, formatRatio, formatSize, KiB, MiB, type BenchSuite } from '../harness.ts';

async function drain(stream: ReadableStream<Uint8Array>): Promise<void> {
  const reader = stream.getReader();
  while (!(await reader.read()).done);
}

const SIDES = ['no layers', 'default layers', 'no-op telemetry', 'SDK telemetry'] as const;

export const suite: BenchSuite = {
  name: 'layers',
  description: 'The cost of layers on the memory backend (no I/O): none, the default retry and time limit, and tracing plus metrics with the OpenTelemetry API alone (no-op) and with the SDK recording.',
  async run(context) {
    const inner = new MemoryBackend();
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const meterProvider = new MeterProvider();
    const reliable = { retry: true, timeoutMs: 30_000 } as const;
    const telemetry = (sdk: boolean): Layer[] =>
      sdk ? [tracingLayer({ tracerProvider }), metricsLayer({ meterProvider })] : [tracingLayer(), metricsLayer()];
    const stores: Record<(typeof SIDES)[number], Store> = {
      'no layers': new Store(inner),
      'default layers': new Store(inner, reliable),
      'no-op telemetry': new Store(inner, { ...reliable, layers: telemetry(false) }),
      'SDK telemetry': new Store(inner, { ...reliable, layers: telemetry(true) }),
    };
    // The in-memory exporter keeps every span: forget them now and then, so that memory stays flat.
    let calls = 0;
    const forget = (): void => {
      if (++calls % 10_000 === 0) exporter.reset();
    };

    const small = new Uint8Array(KiB).fill(7);
    const size = context.profile.size(16 * MiB, MiB);
    await stores['no layers'].write('small.bin', small);
    await stores['no layers'].write('big.bin', new Uint8Array(size).fill(3));
    const table = context.table('Operations through each stack of layers', [
      'case',
      'unit',
      ...SIDES,
      'default ÷ none',
      'no-op telemetry ÷ default',
      'SDK telemetry ÷ default',
    ]);
    const cases: readonly [string, 'ops/s' | 'MiB/s', (store: Store) => Promise<unknown>, number?][] = [
      ['put 1 KiB', 'ops/s', (store) => store.write('small.bin', small)],
      ['get 1 KiB', 'ops/s', (store) => store.readBytes('small.bin')],
      ['stat', 'ops/s', (store) => store.stat('small.bin')],
      ['list 1 page', 'ops/s', (store) => store.list({ limit: 10 })],
      [`read ${formatSize(size)}`, 'MiB/s', async (store) => drain(await store.read('big.bin')), size],
    ];
    // Operations of a microsecond are at the mercy of the collector and the other core: many short
    // rounds (the same time in all) give medians that hold better than a few long ones, and the
    // SDK side, which allocates a span and measurements per call, runs in a comparison of its own so
    // that its garbage is not collected during the other sides' rounds.
    const profile = context.profile.quick ? context.profile : { ...context.profile, rounds: context.profile.rounds * 3, roundTime: context.profile.roundTime / 3 };
    const measure = async (name: string, unit: 'ops/s' | 'MiB/s', bytes: number | undefined, labels: readonly (typeof SIDES)[number][], run: (store: Store) => Promise<unknown>) => {
      const result = await compare(
        {
          name,
          unit,
          bytes,
          sides: labels.map((label) => ({
            label,
            run: () => {
              forget();
              return run(stores[label]);
            },
          })),
        },
        profile,
      );
      // The default side runs in both comparisons; the record keeps its first (the one beside no-op).
      for (const side of result.sides) if (!(side.label === 'default layers' && labels.includes('SDK telemetry'))) context.record({ case: name, side: side.label, metric: unit, unit, median: side.median, samples: side.samples, error: side.error });
      return result.sides.map((side) => side.median);
    };
    for (const [name, unit, run, bytes] of cases) {
      const [none, reliableOnly, noop] = await measure(name, unit, bytes, SIDES.slice(0, 3), run);
      const [reliableAgain, sdk] = await measure(name, unit, bytes, ['default layers', 'SDK telemetry'], run);
      table.rows.push([
        name,
        unit,
        ...[none, reliableOnly, noop, sdk].map(formatNumber),
        formatRatio(reliableOnly, none),
        formatRatio(noop, reliableOnly),
        formatRatio(sdk, reliableAgain),
      ]);
    }
    // A bare store against its backend called directly, doing the same work: the direct put hashes
    // its body too (a store records every object's SHA-256) and the direct get reads the stream
    // into one buffer, as `readBytes` does.
    const direct = context.table('A bare store against its backend called directly', ['case', 'unit', 'Store', 'backend directly', 'Store ÷ backend']);
    const bytesOf = async (stream: ReadableStream<Uint8Array>): Promise<void> => {
      const reader = stream.getReader();
      for (let next = await reader.read(); !next.done; next = await reader.read());
    };
    const bare = stores['no layers'];
    const directCases: readonly [string, (store: Store) => Promise<unknown>, () => Promise<unknown>][] = [
      ['put 1 KiB', (store) => store.write('small.bin', small), () => {
        const hash = createHash('sha256');
        async function* body(): AsyncGenerator<Uint8Array> {
          hash.update(small);
          yield small;
        }
        return inner.write('small.bin', { body: body(), size: KiB, contentType: 'application/octet-stream', metadata: {}, sha256: () => hash.digest('hex'), bytesWritten: () => KiB });
      }],
      ['get 1 KiB', (store) => store.readBytes('small.bin'), async () => bytesOf((await inner.read('small.bin', {})).body)],
      ['stat', (store) => store.stat('small.bin'), () => inner.stat('small.bin')],
    ];
    for (const [name, throughStore, directly] of directCases) {
      const result = await compare({ name, unit: 'ops/s', sides: [{ label: 'Store', run: () => throughStore(bare) }, { label: 'backend directly', run: directly }] }, profile);
      addComparisonRows(direct, context, result);
    }
    context.note('Every ratio is of speeds: 0.95× means the stack costs 5 %. The goal is a no-op telemetry stack within 5 % of the default layers (no-op telemetry ÷ default ≥ 0.95×).');
    context.note('With the API alone, the tracing layer starts a span nobody records and steps aside for that call (no attributes built, the read stream not wrapped); the metrics layer sees the no-op meter when it is made and forwards every call unchanged. What remains is two layers\' calls per operation: visible on operations that take a microsecond in memory (stat, list), lost in any real I/O.');
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
  },
};
