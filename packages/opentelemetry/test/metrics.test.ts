/**
 * The metrics layer on the real memory backend, read back through OpenTelemetry's in-memory metric
 * exporter: counters equal to the bytes actually moved, durations per operation, errors by code,
 * operations in flight.
 */
import { Store, faultLayer, isStowageError } from '@stowage/core';
import { MemoryBackend } from '@stowage/memory';
import { describe, expect, test } from 'vitest';
import { ATTRIBUTES, METRICS, metricsLayer, type MetricsOptions } from '../src/index.ts';
import { bytes, eachTestWithTelemetry, type Telemetry } from './telemetry.ts';

let telemetry: Telemetry;
eachTestWithTelemetry((fresh) => (telemetry = fresh));

function measured(options: MetricsOptions = {}, backend = new MemoryBackend()): Store {
  return new Store(backend, { layers: [metricsLayer({ meterProvider: telemetry.meterProvider, ...options })] });
}

describe('bytes', () => {
  test('the counters equal the bytes that were written and read', async () => {
    const store = measured();
    const sizes = [0, 1, 1000, 200 * 1024];
    for (const [i, size] of sizes.entries()) await store.write(`f${i}`, bytes(size));
    let read = 0;
    for (const i of sizes.keys()) read += (await store.readBytes(`f${i}`)).byteLength;
    read += (await store.readBytes('f3', { range: { offset: 10, length: 5000 } })).byteLength;
    const written = sizes.reduce((total, size) => total + size, 0);
    expect(read).toBe(written + 5000);
    expect(await telemetry.sum(METRICS.io, { [ATTRIBUTES.direction]: 'write' })).toBe(written);
    expect(await telemetry.sum(METRICS.io, { [ATTRIBUTES.direction]: 'read' })).toBe(read);
    const [point] = await telemetry.points(METRICS.io);
    expect(point!.attributes).toMatchObject({ [ATTRIBUTES.operation]: 'write', [ATTRIBUTES.backend]: 'memory' });
  });

  test('a read its caller stops early counts only the bytes it delivered', async () => {
    const store = measured();
    await store.write('big', bytes(300 * 1024));
    const reader = (await store.read('big')).getReader();
    const first = await reader.read();
    await reader.cancel();
    expect(await telemetry.sum(METRICS.io, { [ATTRIBUTES.direction]: 'read' })).toBe(first.value!.byteLength);
  });

  test('a write cut after N bytes counts the N bytes the backend took', async () => {
    const faults = faultLayer();
    const store = new Store(new MemoryBackend(), { layers: [metricsLayer({ meterProvider: telemetry.meterProvider }), faults] });
    faults.inject({ operation: 'write', fault: { kind: 'cut-write', afterBytes: 4096 } });
    await expect(store.write('a', bytes(10_000))).rejects.toSatisfy((error) => isStowageError(error, 'UNAVAILABLE'));
    const written = await telemetry.sum(METRICS.io, { [ATTRIBUTES.direction]: 'write' });
    expect(written).toBeGreaterThanOrEqual(4096);
    expect(written).toBeLessThanOrEqual(10_000);
  });
});

describe('durations and errors', () => {
  test('one duration per operation, in seconds, with error.type only on failures', async () => {
    const store = measured({ bucket: 'uploads' });
    await store.write('a', 'x');
    await store.stat('a');
    await store.stat('a');
    await expect(store.stat('missing')).rejects.toThrow();
    const ok = await telemetry.histograms(METRICS.duration, { [ATTRIBUTES.operation]: 'stat', [ATTRIBUTES.errorType]: undefined });
    expect(ok).toHaveLength(1);
    expect(ok[0]!.value.count).toBe(2);
    expect(ok[0]!.value.sum).toBeGreaterThanOrEqual(0);
    expect(ok[0]!.value.sum).toBeLessThan(10); // seconds, not milliseconds
    expect(ok[0]!.attributes).toEqual({ [ATTRIBUTES.operation]: 'stat', [ATTRIBUTES.backend]: 'memory', [ATTRIBUTES.bucket]: 'uploads' });
    const failed = await telemetry.histograms(METRICS.duration, { [ATTRIBUTES.errorType]: 'NOT_FOUND' });
    expect(failed.map((point) => point.value.count)).toEqual([1]);
    const metric = (await telemetry.metrics()).find((each) => each.descriptor.name === METRICS.duration)!;
    expect(metric.descriptor.unit).toBe('s');
  });

  test('errors are counted by code', async () => {
    const store = measured();
    await store.write('a', 'x');
    await expect(store.stat('missing')).rejects.toThrow();
    await expect(store.read('missing')).rejects.toThrow();
    await expect(store.write('a', 'y', { ifNoneMatch: '*' })).rejects.toThrow();
    expect(await telemetry.sum(METRICS.errors, { [ATTRIBUTES.errorCode]: 'NOT_FOUND' })).toBe(2);
    expect(await telemetry.sum(METRICS.errors, { [ATTRIBUTES.errorCode]: 'ALREADY_EXISTS', [ATTRIBUTES.operation]: 'write' })).toBe(1);
    expect(await telemetry.sum(METRICS.errors)).toBe(3);
  });

  test('no measurement carries a key', async () => {
    const store = measured();
    await store.write('patients/jane-doe.pdf', 'x');
    await store.readBytes('patients/jane-doe.pdf');
    await expect(store.stat('patients/jane-doe.missing')).rejects.toThrow();
    expect(JSON.stringify(await telemetry.metrics())).not.toContain('jane-doe');
  });
});

describe('operations in flight', () => {
  test('a read stays in flight until its stream ends, then the count is back to zero', async () => {
    const store = measured();
    await store.write('a', bytes(200 * 1024));
    await store.write('b', bytes(10));
    const inFlight = (): Promise<number> => telemetry.sum(METRICS.active, { [ATTRIBUTES.operation]: 'read' });
    const first = await store.read('a');
    const second = await store.read('b');
    expect(await inFlight()).toBe(2);
    await new Response(second).arrayBuffer();
    expect(await inFlight()).toBe(1);
    await new Response(first).arrayBuffer();
    expect(await inFlight()).toBe(0);
    expect(await telemetry.sum(METRICS.active)).toBe(0);
  });
});

test('with the OpenTelemetry API alone (no SDK) the layer measures nothing and changes nothing', async () => {
  const store = new Store(new MemoryBackend(), { layers: [metricsLayer()] });
  await store.write('a', 'hello');
  expect(await store.readText('a')).toBe('hello');
  expect(store.describe().layers).toEqual(['metrics']);
});

test('bad options are refused with what is wrong', () => {
  expect(() => metricsLayer({ meter: {} } as never)).toThrow(/unknown option "meter"/);
  expect(() => metricsLayer({ attributes: [] as never })).toThrow(/attributes must be an object/);
});
