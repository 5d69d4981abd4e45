/**
 * The tracing layer on the real memory backend, read back through OpenTelemetry's in-memory span
 * exporter: names, kinds, parents, attributes, error status, and read spans that end with their
 * streams.
 */
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { LayeredBackend, Store, faultLayer, isStowageError, type Layer, type ObjectInfo, type OperationContext } from '@stowage/core';
import { MemoryBackend } from '@stowage/memory';
import { describe, expect, test } from 'vitest';
import { ATTRIBUTES, tracingLayer, type TracingOptions } from '../src/index.ts';
import { bytes, eachTestWithTelemetry, type Telemetry } from './telemetry.ts';

let telemetry: Telemetry;
eachTestWithTelemetry((fresh) => (telemetry = fresh));

function traced(options: TracingOptions = {}): Store {
  return new Store(new MemoryBackend(), { layers: [tracingLayer({ tracerProvider: telemetry.tracerProvider, ...options })] });
}

async function only(name: string) {
  const spans = (await telemetry.spans()).filter((span) => span.name === name);
  expect(spans).toHaveLength(1);
  return spans[0]!;
}

describe('spans', () => {
  test('one CLIENT span per operation, named after the operation and the bucket, with its attributes', async () => {
    const store = traced({ bucket: 'uploads', attributes: { 'stowage.store.name': 'avatars' } });
    await store.write('users/ada.png', bytes(1000));
    await store.stat('users/ada.png');
    await store.delete('users/ada.png');
    expect((await telemetry.spans()).map((span) => span.name)).toEqual(['write uploads', 'stat uploads', 'delete uploads']);
    const write = await only('write uploads');
    expect(write.kind).toBe(SpanKind.CLIENT);
    expect(write.attributes).toEqual({
      [ATTRIBUTES.operation]: 'write',
      [ATTRIBUTES.backend]: 'memory',
      [ATTRIBUTES.bucket]: 'uploads',
      [ATTRIBUTES.bytesWritten]: 1000,
      'stowage.store.name': 'avatars',
    });
    expect(write.status.code).toBe(SpanStatusCode.UNSET);
    expect(write.instrumentationScope.name).toBe('@stowage/opentelemetry');
  });

  test('without a bucket a span is named after the backend', async () => {
    const store = traced();
    await store.list({ prefix: 'a/' });
    expect((await only('list memory')).attributes[ATTRIBUTES.operation]).toBe('list');
  });

  test('spans are children of the active span, and the backend runs inside the operation span', async () => {
    const tracer = telemetry.tracerProvider.getTracer('test');
    let insideBackend: string | undefined;
    class Spy extends LayeredBackend {
      override stat(key: string, context: OperationContext): Promise<ObjectInfo> {
        insideBackend = trace.getActiveSpan()?.spanContext().spanId;
        return super.stat(key, context);
      }
    }
    const backend = new MemoryBackend();
    const spy: Layer = { name: 'spy', wrap: (inner) => new Spy(inner) };
    const store = new Store(backend, { layers: [tracingLayer({ tracerProvider: telemetry.tracerProvider }), spy] });
    await store.write('a.txt', 'hi');
    const parentId = await tracer.startActiveSpan('request', async (parent) => {
      await store.stat('a.txt');
      parent.end();
      return parent.spanContext().spanId;
    });
    const stat = await only('stat memory');
    expect(stat.parentSpanContext?.spanId).toBe(parentId);
    expect(stat.spanContext().traceId).toBe((await only('request')).spanContext().traceId);
    expect(insideBackend).toBe(stat.spanContext().spanId);
    // The write ran outside any span: a root span.
    expect((await only('write memory')).parentSpanContext).toBeUndefined();
  });

  test('deleteMany records how many keys, copy and move their operation', async () => {
    const store = traced();
    await store.write('a', 'x');
    await store.copy('a', 'b');
    await store.move('b', 'c');
    await store.deleteMany(['a', 'c', 'missing']);
    expect((await only('deleteMany memory')).attributes[ATTRIBUTES.batchSize]).toBe(3);
    expect((await only('copy memory')).attributes[ATTRIBUTES.operation]).toBe('copy');
    expect((await only('move memory')).attributes[ATTRIBUTES.operation]).toBe('move');
  });
});

describe('keys', () => {
  test('are never recorded by default: no attribute, status or event holds one', async () => {
    const store = traced();
    const secret = 'patients/jane-doe-1970.pdf';
    await store.write(secret, 'x');
    await store.copy(secret, `${secret}.bak`);
    await store.list({ prefix: 'patients/' });
    await expect(store.stat(`${secret}.missing`)).rejects.toSatisfy((error) => isStowageError(error, 'NOT_FOUND'));
    const recorded = JSON.stringify((await telemetry.spans()).map((span) => ({ name: span.name, attributes: span.attributes, status: span.status, events: span.events })));
    expect(recorded).not.toContain('jane-doe');
    expect(recorded).not.toContain('patients');
  });

  test('are recorded with recordKeys: key, destination, prefix, and the error message', async () => {
    const store = traced({ recordKeys: true });
    await store.write('a/b.txt', 'x');
    await store.copy('a/b.txt', 'a/c.txt');
    await store.list({ prefix: 'a/' });
    await expect(store.stat('a/missing')).rejects.toThrow();
    expect((await only('write memory')).attributes[ATTRIBUTES.key]).toBe('a/b.txt');
    expect((await only('copy memory')).attributes).toMatchObject({ [ATTRIBUTES.key]: 'a/b.txt', [ATTRIBUTES.destination]: 'a/c.txt' });
    expect((await only('list memory')).attributes[ATTRIBUTES.prefix]).toBe('a/');
    const failed = await only('stat memory');
    expect(failed.status.message).toContain('a/missing');
    expect(failed.events.map((event) => event.name)).toEqual(['exception']);
  });
});

describe('errors', () => {
  test('a failure sets the error status, error.type and the stowage code', async () => {
    const store = traced();
    await expect(store.stat('missing')).rejects.toSatisfy((error) => isStowageError(error, 'NOT_FOUND'));
    const stat = await only('stat memory');
    expect(stat.status).toEqual({ code: SpanStatusCode.ERROR, message: 'NOT_FOUND' });
    expect(stat.attributes).toMatchObject({ [ATTRIBUTES.errorType]: 'NOT_FOUND', [ATTRIBUTES.errorCode]: 'NOT_FOUND' });
    expect(stat.events).toEqual([]);
  });

  test('a refused create-only write has its code', async () => {
    const store = traced();
    await store.write('a', 'first');
    await expect(store.write('a', 'second', { ifNoneMatch: '*' })).rejects.toSatisfy((error) => isStowageError(error, 'ALREADY_EXISTS'));
    const [, refused] = (await telemetry.spans()).filter((span) => span.name === 'write memory');
    expect(refused!.status.code).toBe(SpanStatusCode.ERROR);
    expect(refused!.attributes[ATTRIBUTES.errorCode]).toBe('ALREADY_EXISTS');
  });
});

describe('read streams', () => {
  test("a read's span ends when its stream ends, with the bytes it delivered", async () => {
    const store = traced();
    const size = 200 * 1024; // the memory backend hands out 64 KiB slices: four chunks
    await store.write('big.bin', bytes(size));
    const stream = await store.read('big.bin');
    expect((await telemetry.spans()).filter((span) => span.name === 'read memory')).toEqual([]);
    const reader = stream.getReader();
    let received = 0;
    while (received < size) {
      const next = await reader.read();
      expect(next.done).toBe(false);
      received += next.value!.byteLength;
      // Every byte has been handed out, but until the reader sees the end the read goes on.
      expect((await telemetry.spans()).filter((span) => span.name === 'read memory')).toEqual([]);
    }
    expect((await reader.read()).done).toBe(true);
    const read = await only('read memory');
    expect(read.attributes[ATTRIBUTES.bytesRead]).toBe(size);
    expect(read.status.code).toBe(SpanStatusCode.UNSET);
  });

  test('a range read counts the bytes of its range', async () => {
    const store = traced();
    await store.write('a.bin', bytes(1000));
    expect((await store.readBytes('a.bin', { range: { offset: 100, length: 250 } })).byteLength).toBe(250);
    expect((await only('read memory')).attributes[ATTRIBUTES.bytesRead]).toBe(250);
  });

  test("a stream that fails ends its span with the error status and the bytes delivered before", async () => {
    const faults = faultLayer();
    const store = new Store(new MemoryBackend(), { layers: [tracingLayer({ tracerProvider: telemetry.tracerProvider }), faults] });
    await store.write('a.bin', bytes(100 * 1024));
    faults.inject({ operation: 'read', fault: { kind: 'cut-read', afterBytes: 70 * 1024 } });
    await expect(store.readBytes('a.bin')).rejects.toSatisfy((error) => isStowageError(error, 'UNAVAILABLE'));
    const read = await only('read memory');
    expect(read.status).toEqual({ code: SpanStatusCode.ERROR, message: 'UNAVAILABLE' });
    expect(read.attributes[ATTRIBUTES.errorCode]).toBe('UNAVAILABLE');
    expect(read.attributes[ATTRIBUTES.bytesRead]).toBe(70 * 1024);
  });

  test('a stream its reader cancels ends its span, marked cancelled and not as an error', async () => {
    const store = traced();
    await store.write('a.bin', bytes(200 * 1024));
    const reader = (await store.read('a.bin')).getReader();
    await reader.read();
    await reader.cancel();
    const read = await only('read memory');
    expect(read.status.code).toBe(SpanStatusCode.UNSET);
    expect(read.attributes[ATTRIBUTES.cancelled]).toBe(true);
    expect(read.attributes[ATTRIBUTES.bytesRead]).toBe(64 * 1024);
  });

  test('a read that fails to open ends its span at once', async () => {
    const store = traced();
    await expect(store.read('missing')).rejects.toSatisfy((error) => isStowageError(error, 'NOT_FOUND'));
    expect((await only('read memory')).status.code).toBe(SpanStatusCode.ERROR);
  });
});

describe('options', () => {
  test('skip leaves operations untraced', async () => {
    const store = traced({ skip: ['health', 'stat'] });
    await store.health();
    await store.write('a', 'x');
    await store.stat('a');
    expect((await telemetry.spans()).map((span) => span.name)).toEqual(['write memory']);
  });

  test('with the OpenTelemetry API alone (no SDK) the layer records nothing and changes nothing', async () => {
    const store = new Store(new MemoryBackend(), { layers: [tracingLayer()] });
    await store.write('a', 'hello');
    expect(await store.readText('a')).toBe('hello');
    expect((await telemetry.spans())).toEqual([]);
    expect(store.describe().layers).toEqual(['tracing']);
  });

  test('a layer made before the SDK registers traces once it has (the global provider is asked per call)', async () => {
    const store = new Store(new MemoryBackend(), { layers: [tracingLayer()] });
    await store.write('a', 'hello');
    expect(await telemetry.spans()).toEqual([]);
    trace.setGlobalTracerProvider(telemetry.tracerProvider);
    try {
      await store.stat('a');
      expect((await telemetry.spans()).map((span) => span.name)).toEqual(['stat memory']);
    } finally {
      trace.disable();
    }
  });

  test('bad options are refused with what is wrong', () => {
    expect(() => tracingLayer({ recordKey: true } as never)).toThrow(/unknown option "recordKey"/);
    expect(() => tracingLayer({ recordKeys: 'yes' } as never)).toThrow(/recordKeys must be a boolean/);
    expect(() => tracingLayer({ bucket: '' })).toThrow(/bucket must be a non-empty string/);
  });
});
