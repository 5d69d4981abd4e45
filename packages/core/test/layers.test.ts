import { describe, expect, it } from 'vitest';
import {
  LayeredBackend,
  Store,
  concurrencyLimitLayer,
  faultLayer,
  isStowageError,
  loggingLayer,
  observingLayer,
  openStores,
  rateLimitLayer,
  type Backend,
  type Capabilities,
  type Layer,
  type LayerCall,
  type StowageError,
} from '@stowage/core';
import { MemoryBackend } from '@stowage/memory';
import { countingBackend, failure } from './fixtures.ts';

/** A layer that records the operations passing through it, under its own name. */
function recordingLayer(name: string, seen: string[]): Layer {
  class Recording<C extends Capabilities> extends LayeredBackend<C> {
    protected override around<T>(call: LayerCall, run: () => Promise<T>): Promise<T> {
      seen.push(`${name}:${call.operation}`);
      return run();
    }
  }
  return { name, wrap: (inner) => new Recording(inner) };
}

describe('LayeredBackend', () => {
  it('forwards every method, optional ones exactly when the inner backend has them, and the capabilities', async () => {
    const full = new MemoryBackend();
    const layered = new LayeredBackend(full);
    expect(layered.capabilities).toBe(full.capabilities);
    expect(layered.name).toBe('memory');
    for (const method of ['copy', 'move', 'deleteMany', 'sweep'] as const) expect(typeof layered[method]).toBe(typeof full[method]);
    expect(layered.signUrl).toBeUndefined();
    expect(layered.unwrap()).toBe(full.unwrap());

    const { backend: bare } = countingBackend({}, { dropNative: ['copy', 'move'] });
    const thin = new LayeredBackend(bare);
    expect(thin.copy).toBeUndefined();
    expect(thin.move).toBeUndefined();
    expect(thin.sweep).toBeUndefined();
  });

  it('carries a whole store through: what is written through the layer reads back from the inner backend', async () => {
    const inner = new MemoryBackend();
    const store = new Store(inner, { layers: [recordingLayer('a', [])] });
    await store.write('x/y.txt', 'hello', { metadata: { owner: 'me' } });
    await store.copy('x/y.txt', 'x/z.txt');
    await store.move('x/z.txt', 'w.txt');
    expect(await new Store(inner).readText('w.txt')).toBe('hello');
    expect((await store.stat('w.txt')).metadata).toEqual({ owner: 'me' });
    expect((await store.list({ prefix: 'x/' })).items.map((item) => item.key)).toEqual(['x/y.txt']);
  });

  it('refuses what is not a backend, and a layer that returns none', () => {
    expect(() => new LayeredBackend(undefined as unknown as Backend)).toThrow(/a layer wraps a backend/);
    const broken = { name: 'broken', wrap: () => ({}) as Backend };
    expect(() => new Store(new MemoryBackend(), { layers: [broken] })).toThrow(/'broken' did not return a backend/);
    expect(() => new Store(new MemoryBackend(), { layers: [{} as Layer] })).toThrow(/layers\[0\] must be a layer/);
  });
});

describe('Store and layers', () => {
  it('applies the first layer outermost, and describe() lists them in that order', async () => {
    const seen: string[] = [];
    const store = new Store(new MemoryBackend(), { layers: [recordingLayer('outer', seen), recordingLayer('inner', seen)] });
    await store.write('a', 'x');
    expect(seen).toEqual(['outer:write', 'inner:write']);
    expect(store.describe().layers).toEqual(['outer', 'inner']);
    expect(store.describe().backend).toBe('memory');
  });

  it('with() adds layers outside the existing ones and keeps root and limits; at() keeps the layers', async () => {
    const seen: string[] = [];
    const base = new Store(new MemoryBackend(), { layers: [recordingLayer('first', seen)], maxSize: 10 }).at('root');
    const more = base.with(recordingLayer('second', seen));
    await more.write('k', 'v');
    expect(seen).toEqual(['second:write', 'first:write']);
    expect(more.describe()).toMatchObject({ layers: ['second', 'first'], root: 'root/', maxSize: 10 });
    expect((await failure(more.write('big', 'more than ten bytes'))).code).toBe('TOO_LARGE');
    expect(base.at('sub').describe().layers).toEqual(['first']);
    // The original store is unchanged.
    expect(base.describe().layers).toEqual(['first']);
  });

  it('a store without layers describes none and calls its backend directly', () => {
    const backend = new MemoryBackend();
    const store = new Store(backend);
    expect(store.describe().layers).toEqual([]);
    expect(store.backend).toBe(backend);
  });

  it('reads layers from a configuration, built-in and by module, and refuses unknown ones with the names it knows', async () => {
    const lines: unknown[] = [];
    const logger = { debug: (line: unknown) => lines.push(line), info: () => {}, warn: () => {}, error: () => {} };
    const { stores, closeAll } = await openStores({
      stores: {
        docs: {
          backend: 'memory://',
          layers: [{ type: 'concurrency-limit', options: { limit: 2 } }, loggingLayer({ logger }), { type: './custom-layer.js', options: { tag: 't' } }],
        },
      },
    }, {
      load: async (specifier) => {
        if (specifier === './custom-layer.js') return { createLayer: (options: { tag: string }) => recordingLayer(`custom-${options.tag}`, []) };
        return import(specifier);
      },
    });
    expect(stores.docs!.describe().layers).toEqual(['concurrency-limit', 'logging', 'custom-t']);
    await stores.docs!.write('a', 'b');
    expect(lines).toHaveLength(1);
    await closeAll();
    const unknown = await failure(openStores({ stores: { s: { backend: 'memory://', layers: [{ type: 'retrying' }] } } }));
    expect(unknown.message).toMatch(/unknown type 'retrying'.*concurrency-limit, rate-limit, logging, faults/);
    const badOption = await failure(openStores({ stores: { s: { backend: 'memory://', layers: [{ type: 'concurrency-limit', options: { limt: 2 } }] } } }));
    expect(badOption.code).toBe('INVALID_ARGUMENT');
    expect(badOption.message).toMatch(/limt/);
  });
});

/** A backend that counts the calls in flight at once (the most it saw), each taking a few milliseconds. */
function inFlightCounter(): { backend: Backend; peak: () => number; completed: () => number } {
  const inner = new MemoryBackend();
  let now = 0;
  let peak = 0;
  let completed = 0;
  class Counting<C extends Capabilities> extends LayeredBackend<C> {
    protected override async around<T>(_call: LayerCall, run: () => Promise<T>): Promise<T> {
      now++;
      peak = Math.max(peak, now);
      try {
        await new Promise((resolve) => setTimeout(resolve, 2));
        return await run();
      } finally {
        now--;
        completed++;
      }
    }
  }
  return { backend: new Counting(inner), peak: () => peak, completed: () => completed };
}

describe("the store's own layers: retry, resumable reads, timeout", () => {
  it('sit outside the given layers, so each attempt passes through them again; describe().stack lists them', async () => {
    const seen: string[] = [];
    const faults = faultLayer({ rules: [{ operation: 'stat', fault: { kind: 'unavailable' }, times: 2 }] });
    const store = new Store(new MemoryBackend(), { retry: { attempts: 3, baseDelayMs: 1 }, timeoutMs: 5000, layers: [recordingLayer('seen', seen), faults] });
    await store.write('a', 'x');
    seen.length = 0;
    expect((await store.stat('a')).size).toBe(1);
    expect(seen).toEqual(['seen:stat', 'seen:stat', 'seen:stat']);
    expect(store.describe().layers).toEqual(['seen', 'faults']);
    expect(store.describe().stack).toEqual(['retry', 'resumable-reads', 'timeout', 'seen', 'faults']);
    // A store made from this one applies its own, not twice.
    expect(store.at('sub').describe().stack).toEqual(['retry', 'resumable-reads', 'timeout', 'seen', 'faults']);
  });

  it("an operation's own retry and timeoutMs reach the layers, on a store that has neither", async () => {
    const faults = faultLayer();
    const store = new Store(new MemoryBackend(), { layers: [faults] });
    await store.write('a', 'x');
    faults.inject({ operation: 'stat', fault: { kind: 'unavailable' }, times: 1 });
    expect((await store.stat('a', { retry: { attempts: 2, baseDelayMs: 1 } })).size).toBe(1);
    faults.inject({ operation: 'stat', fault: { kind: 'delay', ms: 10_000 }, times: 1 });
    const started = Date.now();
    const error = await failure(store.stat('a', { timeoutMs: 30 }));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toMatch(/timed out after 30 ms/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('an emulated delimiter listing repeats the backend page that failed, not the whole listing', async () => {
    const faults = faultLayer();
    const backend = new MemoryBackend();
    const store = new Store(backend, { retry: { attempts: 2, baseDelayMs: 1 }, layers: [faults] });
    const flat = new Store(backend);
    for (const key of ['d/1', 'd/2', 'e/1', 'f']) await flat.write(key, 'x');
    // Without listDelimiter, the store folds a flat listing itself.
    const folded = store.with({ name: 'flat', wrap: (inner) => new LayeredBackend(inner, { capabilities: { ...inner.capabilities, listDelimiter: false } }) });
    faults.inject({ operation: 'list', fault: { kind: 'unavailable' }, times: 1 });
    const page = await folded.list({ delimiter: '/' });
    expect(page.prefixes).toEqual(['d/', 'e/']);
    expect(page.items.map((item) => item.key)).toEqual(['f']);
  });
});

describe('concurrencyLimitLayer', () => {
  it('100 operations with a limit of 4 never have more than 4 in flight, and all complete', async () => {
    const counter = inFlightCounter();
    const store = new Store(counter.backend, { layers: [concurrencyLimitLayer({ limit: 4 })] });
    await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? store.write(`k${i}`, `v${i}`) : store.exists(`k${i - 1}`))));
    expect(counter.peak()).toBe(4);
    expect(counter.completed()).toBe(100);
    expect((await store.list()).items).toHaveLength(50);
  });

  it('serves waiting calls in the order they came', async () => {
    const order: string[] = [];
    const store = new Store(new MemoryBackend(), { layers: [concurrencyLimitLayer({ limit: 1 })] });
    await Promise.all(['a', 'b', 'c', 'd'].map((key) => store.write(key, key).then(() => order.push(key))));
    expect(order).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a queued call that is aborted leaves the queue at once, and the others go on', async () => {
    const counter = inFlightCounter();
    const store = new Store(counter.backend, { layers: [concurrencyLimitLayer({ limit: 1 })] });
    const controller = new AbortController();
    const first = store.write('one', '1');
    const queued = store.write('two', '2', { signal: controller.signal });
    const third = store.write('three', '3');
    controller.abort();
    expect((await failure(queued)).code).toBe('ABORTED');
    await Promise.all([first, third]);
    expect(await store.exists('two')).toBe(false);
    expect(await store.readText('three')).toBe('3');
  });

  it('with holdReadStreams, a read keeps its slot until its stream ends', async () => {
    const store = new Store(new MemoryBackend(), { layers: [concurrencyLimitLayer({ limit: 1, holdReadStreams: true })] });
    await store.write('a', 'aaa');
    const open = await store.get('a');
    let statDone = false;
    const stat = store.stat('a').then(() => (statDone = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(statDone).toBe(false);
    expect(new TextDecoder().decode(await new Response(open.body).arrayBuffer())).toBe('aaa');
    await stat;
    expect(statDone).toBe(true);
  });

  it('refuses bad options', () => {
    expect(() => concurrencyLimitLayer({ limit: 0 })).toThrow(/limit must be a positive integer/);
    expect(() => concurrencyLimitLayer({ limit: 2, hold: true } as never)).toThrow(/hold/);
  });
});

describe('rateLimitLayer', () => {
  it('spaces operations past the burst at the rate asked', async () => {
    const store = new Store(new MemoryBackend(), { layers: [rateLimitLayer({ operationsPerSecond: 50 })] });
    const started = performance.now();
    for (let i = 0; i < 60; i++) await store.write(`k${i}`, 'v');
    // 50 in the first burst, then 10 more at 50 per second: about 200 ms at least.
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('paces bytes of reads and writes, and an abort ends the wait', async () => {
    const store = new Store(new MemoryBackend(), { layers: [rateLimitLayer({ bytesPerSecond: 10_000 })] });
    await store.write('a', new Uint8Array(10_000));
    const controller = new AbortController();
    const slow = store.write('b', new Uint8Array(10_000), { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    expect((await failure(slow)).code).toBe('ABORTED');
    expect(await store.exists('b')).toBe(false);
  });

  it('needs a rate', () => {
    expect(() => rateLimitLayer({})).toThrow(/needs operationsPerSecond, bytesPerSecond or both/);
    expect(() => rateLimitLayer({ bytesPerSecond: -1 })).toThrow(/positive number/);
  });
});

describe('loggingLayer', () => {
  function capture() {
    const lines: { level: string; args: unknown[] }[] = [];
    const at = (level: string) => (...args: unknown[]) => lines.push({ level, args });
    return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
  }

  it('logs one line per operation with its outcome, duration and bytes; failures at their own level', async () => {
    const { lines, logger } = capture();
    const store = new Store(new MemoryBackend(), { layers: [loggingLayer({ logger, level: 'info' })] });
    await store.write('notes/a.txt', 'hello');
    expect(await store.readText('notes/a.txt')).toBe('hello');
    await failure(store.stat('missing'));
    expect(lines.map((line) => line.level)).toEqual(['info', 'info', 'warn']);
    expect(lines[0]!.args[0]).toMatch(/^stowage memory write ok [\d.]+ms 5 bytes$/);
    expect(lines[1]!.args[0]).toMatch(/^stowage memory read ok [\d.]+ms 5 bytes$/);
    expect(lines[2]!.args[0]).toMatch(/^stowage memory stat failed NOT_FOUND [\d.]+ms$/);
    expect(lines[2]!.args[1]).toMatchObject({ source: 'stowage', backend: 'memory', operation: 'stat', outcome: 'error', code: 'NOT_FOUND' });
  });

  it('never logs bodies, metadata, keys (unless asked), credentials or error messages', async () => {
    const { lines, logger } = capture();
    const secret = 'p4ssw0rd-abcdef';
    class Leaky<C extends Capabilities> extends LayeredBackend<C> {
      protected override around<T>(call: LayerCall, run: () => Promise<T>): Promise<T> {
        if (call.operation === 'delete') return Promise.reject(new (class extends Error {})(`connection to postgres://u:${secret}@db failed`));
        return run();
      }
    }
    const store = new Store(new Leaky(new MemoryBackend()), { layers: [loggingLayer({ logger })] });
    await store.write('people/alice@example.com', 'the secret body', { metadata: { token: secret } });
    await store.readText('people/alice@example.com');
    await store.delete('people/alice@example.com').catch(() => undefined);
    const text = JSON.stringify(lines);
    for (const forbidden of [secret, 'the secret body', 'alice@example.com']) expect(text).not.toContain(forbidden);
    expect(lines).toHaveLength(3);

    const keyed = capture();
    await new Store(new MemoryBackend(), { layers: [loggingLayer({ logger: keyed.logger, includeKeys: true, style: 'fields-first' })] }).write('k.txt', 'v');
    expect(keyed.lines[0]!.args[0]).toMatchObject({ key: 'k.txt', operation: 'write' });
    expect(keyed.lines[0]!.args[1]).toMatch(/write "k.txt" ok/);
  });

  it('refuses a logger without the four methods', () => {
    expect(() => loggingLayer({ logger: { info() {} } as never })).toThrow(/debug, info, warn and error/);
  });
});

describe('faultLayer', () => {
  it('injects errors by code before the backend, and lost answers after it', async () => {
    const inner = new MemoryBackend();
    const faults = faultLayer({ rules: [{ operation: 'write', fault: { kind: 'error', code: 'PERMISSION_DENIED' }, times: 1 }] });
    const store = new Store(inner, { layers: [faults] });
    expect((await failure(store.write('a', '1'))).code).toBe('PERMISSION_DENIED');
    expect(await new Store(inner).exists('a')).toBe(false);
    faults.inject({ operation: 'write', fault: { kind: 'lost-response' }, times: 1 });
    expect((await failure(store.write('a', '2'))).code).toBe('UNAVAILABLE');
    expect(await new Store(inner).readText('a')).toBe('2');
    expect(faults.calls.map((call) => call.fault)).toEqual(['error', 'lost-response']);
  });

  it('cuts a write after N bytes, leaving the previous object exactly as it was', async () => {
    const inner = new MemoryBackend();
    const store = new Store(inner, { layers: [faultLayer({ rules: [{ operation: 'write', key: 'doc', fault: { kind: 'cut-write', afterBytes: 100 } }] })] });
    await new Store(inner).write('doc', 'old');
    expect((await failure(store.write('doc', new Uint8Array(1000)))).code).toBe('UNAVAILABLE');
    expect(await new Store(inner).readText('doc')).toBe('old');
  });

  it('cuts a read after N bytes, and a retrying store resumes it', async () => {
    const inner = new MemoryBackend();
    const bytes = Uint8Array.from({ length: 5000 }, (_, i) => i % 251);
    await new Store(inner).write('blob', bytes);
    const faults = faultLayer({ rules: [{ operation: 'read', fault: { kind: 'cut-read', afterBytes: 1234 }, times: 1 }] });
    expect(await new Store(inner, { layers: [faults], retry: { baseDelayMs: 1 } }).readBytes('blob')).toEqual(bytes);
    faults.inject({ operation: 'read', fault: { kind: 'cut-read', afterBytes: 10 }, times: 1 });
    expect((await failure(new Store(inner, { layers: [faults] }).readBytes('blob'))).code).toBe('UNAVAILABLE');
  });

  it('draws probabilities from its seed, so a run repeats exactly', async () => {
    const run = async (seed: number) => {
      const faults = faultLayer({ seed, rules: [{ operation: 'stat', fault: { kind: 'unavailable' }, probability: 0.3 }] });
      const store = new Store(new MemoryBackend(), { layers: [faults] });
      await store.write('a', 'x');
      const outcomes: boolean[] = [];
      for (let i = 0; i < 50; i++) outcomes.push(await store.stat('a').then(() => true, () => false));
      return { outcomes, seed: faults.seed };
    };
    const first = await run(42);
    const again = await run(42);
    expect(again.outcomes).toEqual(first.outcomes);
    const failed = first.outcomes.filter((ok) => !ok).length;
    expect(failed).toBeGreaterThan(5);
    expect(failed).toBeLessThan(30);
    expect((await run(7)).outcomes).not.toEqual(first.outcomes);
    expect(typeof faultLayer().seed).toBe('number');
  });

  it('takes a script that sees every call, and delays that honour the abort', async () => {
    const faults = faultLayer({ script: ({ operation, index }) => (operation === 'stat' && index % 2 === 1 ? { kind: 'delay', ms: 5000 } : undefined) });
    const store = new Store(new MemoryBackend(), { layers: [faults] });
    await store.write('a', 'x');
    const started = performance.now();
    expect((await failure(store.stat('a', { timeoutMs: 30 }))).code).toBe('UNAVAILABLE');
    expect(performance.now() - started).toBeLessThan(4000);
    expect(faults.calls.map((call) => `${call.operation}:${call.fault ?? '-'}`)).toEqual(['write:-', 'stat:delay']);
  });

  it('refuses malformed rules before any call', () => {
    expect(() => faultLayer({ rules: [{ operation: 'wrte' as never, fault: { kind: 'unavailable' } }] })).toThrow(/operation must be/);
    expect(() => faultLayer({ rules: [{ operation: 'read', fault: { kind: 'error', code: 'NOPE' as never } }] })).toThrow(/stowage error code/);
    expect(() => faultLayer({ rules: [{ operation: 'read', fault: { kind: 'unavailable' }, probability: 2 }] })).toThrow(/probability/);
  });
});

describe('observingLayer', () => {
  it('while enabled() answers false, calls go straight on: the observer is not asked and read streams stay unwrapped', async () => {
    const inner = new MemoryBackend();
    let on = false;
    const seen: string[] = [];
    const layer = observingLayer('watch', (call) => (seen.push(call.operation), { end: (outcome) => seen.push(`end:${outcome.status}:${outcome.bytesRead + outcome.bytesWritten}`) }), {
      enabled: () => on,
    });
    const store = new Store(inner, { layers: [layer] });
    await store.write('a', 'hello');
    await store.stat('a');
    await store.list();
    await store.delete('missing').catch(() => undefined);
    // The stream the inner backend returned is the one the caller gets.
    let returned: ReadableStream<Uint8Array> | undefined;
    class Marking<C extends Capabilities> extends LayeredBackend<C> {
      override async read(key: string, options: Parameters<Backend['read']>[1]) {
        const result = await this.inner.read(key, options);
        returned = result.body;
        return result;
      }
    }
    const marked = new Store(inner, { layers: [layer, { name: 'marking', wrap: (backend) => new Marking(backend) }] });
    const opened = await marked.backend.read('a', {});
    expect(opened.body).toBe(returned);
    await opened.body.cancel();
    expect(seen).toEqual([]);

    on = true;
    await store.write('b', 'hey');
    expect(await store.readText('b')).toBe('hey');
    await store.stat('b');
    await store.list();
    expect(seen).toEqual(['write', 'end:ok:3', 'read', 'end:ok:3', 'stat', 'end:ok:0', 'list', 'end:ok:0']);
  });

  it('asks enabled() once per operation', async () => {
    let asked = 0;
    const layer = observingLayer('watch', () => ({ end: () => undefined }), { enabled: () => (asked++, true) });
    const store = new Store(new MemoryBackend(), { layers: [layer] });
    await store.write('a', 'hello');
    for (const [name, run] of [
      ['stat', () => store.stat('a')],
      ['list', () => store.list()],
      ['delete', () => store.delete('a')],
      ['write', () => store.write('a', 'again')],
      ['read', () => store.readText('a')],
    ] as const) {
      asked = 0;
      await run();
      expect(asked, name).toBe(1);
    }
  });

  it('refuses an enabled that is not a function', () => {
    expect(() => observingLayer('watch', () => undefined, { enabled: true as never })).toThrow(/enabled must be a function/);
  });
});
