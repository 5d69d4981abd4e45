/**
 * The layers from configuration files: `tracing` and `metrics` (short types core maps to this
 * package's `/tracing` and `/metrics` entries), or those entries by name, through their
 * `createLayer` exports.
 */
import { trace, metrics } from '@opentelemetry/api';
import { openStores, isStowageError, type ModuleLoader } from '@stowage/core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { METRICS } from '../src/index.ts';
import { setUpTelemetry, type Telemetry } from './telemetry.ts';

let telemetry: Telemetry;
beforeAll(() => {
  telemetry = setUpTelemetry();
  // A configuration file cannot hold a provider: the layers use the global ones.
  trace.setGlobalTracerProvider(telemetry.tracerProvider);
  metrics.setGlobalMeterProvider(telemetry.meterProvider);
});
afterAll(async () => {
  trace.disable();
  metrics.disable();
  await telemetry.shutdown();
});

const asked: string[] = [];
// This package's entries from source; everything else (the memory adapter) as core would load it.
const load: ModuleLoader = async (specifier) => {
  asked.push(specifier);
  if (specifier === '@stowage/opentelemetry/tracing') return import('../src/tracing.ts');
  if (specifier === '@stowage/opentelemetry/metrics') return import('../src/metrics.ts');
  return import(specifier);
};

test('tracing and metrics layers come from a configuration, by their short types or their modules', async () => {
  const { stores, closeAll } = await openStores(
    {
      backends: { memory: { type: 'memory' } },
      stores: {
        short: { backend: 'memory', layers: [{ type: 'tracing', options: { bucket: 'short-bucket' } }, { type: 'metrics', options: { bucket: 'short-bucket' } }] },
        long: { backend: 'memory', layers: [{ type: '@stowage/opentelemetry/tracing', options: { recordKeys: true } }, { type: '@stowage/opentelemetry/metrics' }] },
      },
    },
    { load },
  );
  expect(asked).toEqual(expect.arrayContaining(['@stowage/opentelemetry/tracing', '@stowage/opentelemetry/metrics']));
  expect(stores.short!.describe().layers).toEqual(['tracing', 'metrics']);
  await stores.short!.write('a.txt', 'hello');
  await stores.long!.write('b.txt', 'hi');
  const spans = await telemetry.spans();
  expect(spans.map((span) => span.name)).toEqual(['write short-bucket', 'write memory']);
  expect(spans[1]!.attributes['stowage.key']).toBe('b.txt');
  expect(await telemetry.sum(METRICS.io)).toBe(7);
  await closeAll();
});

test('a bad option in a configuration is refused before any store opens', async () => {
  const error: unknown = await openStores({ stores: { s: { backend: 'memory://', layers: [{ type: 'tracing', options: { recordKey: true } }] } } }, { load }).catch((caught: unknown) => caught);
  expect(isStowageError(error, 'INVALID_ARGUMENT')).toBe(true);
  expect((error as Error).message).toMatch(/recordKey/);
});
