/**
 * The whole conformance suite through a store with every layer stacked, tracing and metrics
 * included and recording (the SDK with in-memory exporters, so that every span and measurement is
 * really made): on memory, local and SQLite (4 KiB chunks, so that chunked objects go through the
 * layers too). A layer forwards what it does not change, so the suite's verdict must not change.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { layeredStore } from '@stowage/conformance';
import { describeConformance } from '@stowage/conformance/vitest';
import type { Backend, Layer } from '@stowage/core';
import { LocalBackend } from '@stowage/local';
import { MemoryBackend } from '@stowage/memory';
import { SqlBlobBackend } from '@stowage/sql-blob';
import { afterAll, expect, test } from 'vitest';
import { METRICS, metricsLayer, tracingLayer } from '../src/index.ts';
import { setUpTelemetry } from './telemetry.ts';

const telemetry = setUpTelemetry();
let spans = 0;

function observed(): Layer[] {
  return [tracingLayer({ tracerProvider: telemetry.tracerProvider, recordKeys: true }), metricsLayer({ meterProvider: telemetry.meterProvider })];
}

async function drain(): Promise<void> {
  // Count and forget the spans, so that a long suite does not keep them all.
  spans += (await telemetry.spans()).length;
  telemetry.resetSpans();
}

function through(open: () => Promise<{ backend: Backend; teardown(): Promise<void> }>) {
  return async () => {
    const { backend, teardown } = await open();
    return {
      store: layeredStore(backend, 'every-layer', observed()),
      teardown: async () => {
        await teardown();
        await drain();
      },
    };
  };
}

describeConformance({
  name: 'memory (every layer, tracing and metrics)',
  factory: through(async () => ({ backend: new MemoryBackend(), teardown: async () => undefined })),
});

describeConformance({
  name: 'local (every layer, tracing and metrics)',
  rooted: false,
  factory: through(async () => {
    const root = await mkdtemp(join(tmpdir(), 'stowage-otel-local-'));
    return { backend: new LocalBackend({ root }), teardown: () => rm(root, { recursive: true, force: true }) };
  }),
});

describeConformance({
  name: 'sql-blob sqlite (every layer, tracing and metrics, 4 KiB chunks)',
  rooted: false,
  factory: through(async () => {
    const directory = await mkdtemp(join(tmpdir(), 'stowage-otel-sqlite-'));
    const backend = await SqlBlobBackend.open({ url: `sqlite:${join(directory, 'store.db')}`, chunkSize: 4096 });
    return {
      backend,
      teardown: async () => {
        await backend.close();
        await rm(directory, { recursive: true, force: true });
      },
    };
  }),
});

test('the layers recorded while the suites ran', async () => {
  await drain();
  expect(spans).toBeGreaterThan(0);
  expect(await telemetry.sum(METRICS.active)).toBe(0);
});

afterAll(() => telemetry.shutdown());
