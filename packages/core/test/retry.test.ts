import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_POLICY,
  Store,
  UnavailableError,
  isStowageError,
  openStore,
  openStores,
  resolveRetryPolicy,
  retryDelay,
  type Backend,
  type StowageError,
} from '@stowage/core';
import { FaultyBackend } from '@stowage/conformance/faults';
import { MemoryBackend } from '@stowage/memory';
import { failure } from './fixtures.ts';

/** Retries without waiting long: the policy's shape is what is tested, not the clock. */
const QUICK = { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 } as const;

function bytes(size: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

async function* stream(data: Uint8Array): AsyncGenerator<Uint8Array> {
  yield data;
}

function setup(policy: object | boolean = QUICK, capabilities = {}) {
  const inner = new MemoryBackend();
  const faulty = new FaultyBackend(inner, { capabilities });
  const store = new Store(faulty, { retry: policy as never });
  const plain = new Store(inner);
  return { inner, faulty, store, plain, calls: (operation: string) => faulty.calls.filter((call) => call.operation === operation).length };
}

describe('retry policy', () => {
  it('resolves defaults, refuses nonsense, and treats one attempt as none', () => {
    expect(resolveRetryPolicy(undefined)).toBeUndefined();
    expect(resolveRetryPolicy(false)).toBeUndefined();
    expect(resolveRetryPolicy(true)).toEqual(DEFAULT_RETRY_POLICY);
    expect(resolveRetryPolicy({ attempts: 5 })).toEqual({ ...DEFAULT_RETRY_POLICY, attempts: 5 });
    expect(resolveRetryPolicy({ attempts: 1 })).toBeUndefined();
    for (const bad of [{ attempts: 0 }, { attempts: 2.5 }, { baseDelayMs: -1 }, { deadlineMs: Number.NaN }, { tries: 3 }, 'yes', 3, []]) {
      expect(() => resolveRetryPolicy(bad), JSON.stringify(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    expect(() => new Store(new MemoryBackend(), { retry: { attempts: -1 } })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new Store(new MemoryBackend(), { timeoutMs: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('backs off with full jitter: uniformly below a ceiling that doubles and is capped', () => {
    const policy = { attempts: 10, baseDelayMs: 100, maxDelayMs: 1000, deadlineMs: 60_000 };
    expect(retryDelay(policy, 1, () => 0)).toBe(0);
    expect(retryDelay(policy, 1, () => 0.999)).toBe(99);
    expect(retryDelay(policy, 2, () => 0.999)).toBe(199);
    expect(retryDelay(policy, 3, () => 0.5)).toBe(200);
    expect(retryDelay(policy, 8, () => 0.999)).toBe(999);
  });

  it('is off by default: the first UNAVAILABLE is the answer', async () => {
    const { faulty, calls } = setup();
    const store = new Store(faulty);
    faulty.inject({ operation: 'stat', fault: { kind: 'unavailable' }, times: 1 });
    expect((await failure(store.stat('a'))).code).toBe('UNAVAILABLE');
    expect(calls('stat')).toBe(1);
  });

  it('openStore and openStores check the option before opening, and pass it on', async () => {
    await expect(openStore('memory://', { retry: { attempts: 0 } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const opened = await openStore('memory://', { retry: { attempts: 4 }, timeoutMs: 1000 });
    expect(opened.retryPolicy?.attempts).toBe(4);
    expect(opened.at('sub/').retryPolicy?.attempts).toBe(4);
    const { stores, closeAll } = await openStores({ backends: { m: { type: 'memory' } }, stores: { a: { backend: 'm', retry: true }, b: { backend: 'm' } } });
    expect(stores.a!.retryPolicy).toEqual(DEFAULT_RETRY_POLICY);
    expect(stores.b!.retryPolicy).toBeUndefined();
    await closeAll();
  });
});

describe('Store with retries: operations safe to repeat', () => {
  it('repeats stat, list, delete, deleteMany, health and opening a read until they succeed', async () => {
    const { faulty, store, plain, calls } = setup();
    await plain.write('a.txt', 'alpha');
    for (const operation of ['stat', 'list', 'delete', 'deleteMany', 'health', 'read'] as const) {
      faulty.inject({ operation, fault: { kind: 'unavailable' }, times: 2 });
    }
    expect((await store.stat('a.txt')).size).toBe(5);
    expect((await store.list()).items.map((item) => item.key)).toEqual(['a.txt']);
    expect(await store.readText('a.txt')).toBe('alpha');
    await store.health();
    await store.deleteMany(['a.txt']);
    await store.delete('a.txt');
    for (const operation of ['stat', 'list', 'delete', 'deleteMany', 'health', 'read']) expect(calls(operation), operation).toBe(3);
  });

  it('gives up after the last attempt with the last UNAVAILABLE', async () => {
    const { faulty, store, calls } = setup();
    faulty.inject({ operation: 'stat', fault: { kind: 'unavailable' } });
    const error = await failure(store.stat('a'));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.key).toBe('a');
    expect(calls('stat')).toBe(3);
  });

  it('starts no attempt after the deadline', async () => {
    const { faulty, store, calls } = setup({ attempts: 10, baseDelayMs: 60_000, maxDelayMs: 60_000, deadlineMs: 1 });
    faulty.inject({ operation: 'stat', fault: { kind: 'unavailable' } });
    expect((await failure(store.stat('a'))).code).toBe('UNAVAILABLE');
    expect(calls('stat')).toBe(1);
  });

  it('never repeats an answer: NOT_FOUND, PRECONDITION_FAILED and the like come back at once', async () => {
    const { store, calls } = setup();
    expect((await failure(store.stat('missing'))).code).toBe('NOT_FOUND');
    expect(calls('stat')).toBe(1);
  });

  it('never repeats an aborted operation, and an abort during the backoff ends it as ABORTED', async () => {
    const { faulty, store, calls } = setup({ attempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000, deadlineMs: 600_000 });
    faulty.inject({ operation: 'stat', fault: { kind: 'unavailable' } });
    const controller = new AbortController();
    const pending = failure(store.stat('a', { signal: controller.signal }));
    setTimeout(() => controller.abort(new Error('caller gave up')), 20);
    expect((await pending).code).toBe('ABORTED');
    expect(calls('stat')).toBe(1);
  });

  it('per operation: retry: false turns retries off, a policy replaces the store one', async () => {
    const { faulty, store, calls } = setup();
    faulty.inject({ operation: 'stat', fault: { kind: 'unavailable' } });
    await failure(store.stat('a', { retry: false }));
    expect(calls('stat')).toBe(1);
    await failure(store.stat('a', { retry: { attempts: 5, baseDelayMs: 1, maxDelayMs: 1 } }));
    expect(calls('stat')).toBe(6);
  });
});

describe('Store with retries: writes', () => {
  // Bounded by its own work, not by the default 5 s, which a loaded 2-core runner exceeded.
  it('repeats a write whose body can be sent again (bytes, string, Blob)', async () => {
    const { faulty, store, plain, calls } = setup();
    const data = bytes(3 * 1024 * 1024 + 5);
    faulty.inject({ operation: 'write', fault: { kind: 'unavailable' }, times: 2 });
    const info = await store.write('big.bin', data);
    expect(calls('write')).toBe(3);
    expect(await plain.readBytes('big.bin')).toEqual(data);
    expect(info.size).toBe(data.byteLength);
    faulty.inject({ operation: 'write', fault: { kind: 'unavailable' }, times: 1 });
    await store.write('text.txt', 'héllo');
    faulty.inject({ operation: 'write', fault: { kind: 'unavailable' }, times: 1 });
    await store.write('blob.bin', new Blob([data.subarray(0, 1000)]));
    expect(await plain.readText('text.txt')).toBe('héllo');
    expect(await plain.readBytes('blob.bin')).toEqual(data.subarray(0, 1000));
    expect((await plain.stat('blob.bin')).sha256).toBe((await new Store(new MemoryBackend()).write('x', data.subarray(0, 1000))).sha256);
  }, 30_000);

  it('never repeats a write of a stream: it fails with the first UNAVAILABLE and stores nothing', async () => {
    const { faulty, store, plain, calls } = setup();
    faulty.inject({ operation: 'write', fault: { kind: 'unavailable' }, times: 1 });
    expect((await failure(store.write('s.bin', stream(bytes(100))))).code).toBe('UNAVAILABLE');
    expect(calls('write')).toBe(1);
    expect(await plain.exists('s.bin')).toBe(false);
  });

  it('create-only: a repeat that meets its own lost write succeeds', async () => {
    const { faulty, store, plain, calls } = setup();
    faulty.inject({ operation: 'write', fault: { kind: 'lost-response' }, times: 1 });
    const info = await store.write('lock', 'owner=me', { ifNoneMatch: '*', metadata: { owner: 'me' } });
    expect(calls('write')).toBe(2);
    expect(await plain.readText('lock')).toBe('owner=me');
    expect(info.etag).toBe((await plain.stat('lock')).etag);
  });

  it("create-only: a repeat that meets someone else's object fails with ALREADY_EXISTS", async () => {
    const inner = new MemoryBackend();
    const plain = new Store(inner);
    let first = true;
    // The first attempt never lands; another writer creates the key before the repeat.
    const competing: Backend = {
      name: 'competing',
      capabilities: inner.capabilities,
      stat: (key) => inner.stat(key),
      read: (key, options) => inner.read(key, options),
      write: async (key, request) => {
        if (first) {
          first = false;
          for await (const chunk of request.body) void chunk;
          await plain.write('lock', 'owner=other');
          throw new UnavailableError('connection reset');
        }
        return inner.write(key, request);
      },
      delete: (key) => inner.delete(key),
      list: (options) => inner.list(options),
      health: () => inner.health(),
      close: () => inner.close(),
      unwrap: () => inner.unwrap(),
    };
    const store = new Store(competing, { retry: QUICK });
    expect((await failure(store.write('lock', 'owner=me', { ifNoneMatch: '*' }))).code).toBe('ALREADY_EXISTS');
    expect(await plain.readText('lock')).toBe('owner=other');
  });

  it('compare-and-swap: a repeat after a lost answer says the write may have been applied', async () => {
    const { faulty, store, plain } = setup();
    const base = await plain.write('counter', '1');
    faulty.inject({ operation: 'write', fault: { kind: 'lost-response' }, times: 1 });
    const error = await failure(store.write('counter', '2', { ifMatch: base.etag }));
    expect(error.code).toBe('PRECONDITION_FAILED');
    expect(error.message).toMatch(/may have been applied/);
    expect(await plain.readText('counter')).toBe('2');
  });

  it('compare-and-swap: a repeat whose first attempt never landed succeeds', async () => {
    const { faulty, store, plain } = setup();
    const base = await plain.write('counter', '1');
    faulty.inject({ operation: 'write', fault: { kind: 'unavailable' }, times: 1 });
    await store.write('counter', '2', { ifMatch: base.etag });
    expect(await plain.readText('counter')).toBe('2');
  });

  it('copy is repeated; a create-only copy that meets its own lost copy succeeds; move is not repeated', async () => {
    const { faulty, store, plain, calls } = setup();
    await plain.write('src', 'source bytes');
    faulty.inject({ operation: 'copy', fault: { kind: 'lost-response' }, times: 1 });
    await store.copy('src', 'dst', { ifNoneMatch: '*' });
    expect(calls('copy')).toBe(2);
    expect(await plain.readText('dst')).toBe('source bytes');
    faulty.inject({ operation: 'move', fault: { kind: 'unavailable' }, times: 1 });
    expect((await failure(store.move('src', 'moved'))).code).toBe('UNAVAILABLE');
    expect(calls('move')).toBe(1);
  });
});

describe('Store with retries: reads that break midway', () => {
  it('resume from the last byte delivered, with a range read, to the same bytes', async () => {
    const { faulty, store, plain, calls } = setup({ attempts: 4, baseDelayMs: 1, maxDelayMs: 2 });
    const data = bytes(200_000);
    await plain.write('obj', data);
    faulty.inject({ operation: 'read', fault: { kind: 'cut-read', afterBytes: 70_001 }, times: 2 });
    expect(await store.readBytes('obj')).toEqual(data);
    expect(calls('read')).toBe(3);
    faulty.inject({ operation: 'read', fault: { kind: 'cut-read', afterBytes: 1000 }, times: 1 });
    expect(await store.readBytes('obj', { range: { offset: 5000, length: 3000 } })).toEqual(data.subarray(5000, 8000));
    faulty.inject({ operation: 'read', fault: { kind: 'cut-read', afterBytes: 10 }, times: 1 });
    expect(await store.readBytes('obj', { range: { suffix: 100 } })).toEqual(data.subarray(data.byteLength - 100));
  });

  it('fail with PRECONDITION_FAILED rather than splice two versions', async () => {
    const { faulty, store, plain } = setup();
    await plain.write('obj', bytes(100_000, 1));
    faulty.inject({ operation: 'read', fault: { kind: 'cut-read', afterBytes: 1000 }, times: 1 });
    const reader = (await store.read('obj')).getReader();
    const first = await reader.read();
    expect(first.value?.byteLength).toBe(1000);
    await plain.write('obj', bytes(100_000, 2));
    const error = await failure(reader.read());
    expect(error.code).toBe('PRECONDITION_FAILED');
    expect(error.message).toMatch(/changed while it was being read/);
  });

  it('without rangeRead, fail with UNAVAILABLE', async () => {
    const { faulty, store, plain } = setup(QUICK, { rangeRead: false });
    await plain.write('obj', bytes(100_000));
    faulty.inject({ operation: 'read', fault: { kind: 'cut-read', afterBytes: 1000 }, times: 1 });
    expect((await failure(store.readBytes('obj'))).code).toBe('UNAVAILABLE');
  });

  it('without retries, fail with the break as it is', async () => {
    const { faulty, plain } = setup();
    await plain.write('obj', bytes(100_000));
    faulty.inject({ operation: 'read', fault: { kind: 'cut-read', afterBytes: 1000 }, times: 1 });
    expect((await failure(new Store(faulty).readBytes('obj'))).code).toBe('UNAVAILABLE');
  });
});

describe('Store: time limits', () => {
  it('an attempt slower than timeoutMs fails with UNAVAILABLE long before the backend would answer', async () => {
    const { faulty, plain } = setup();
    await plain.write('a', 'x');
    faulty.inject({ operation: 'stat', fault: { kind: 'delay', ms: 30_000 } });
    const started = Date.now();
    const error = await failure(new Store(faulty, { timeoutMs: 50 }).stat('a'));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toMatch(/timed out after 50 ms/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('the per-operation timeoutMs wins, and a timed-out attempt is retried', async () => {
    const { faulty, plain, calls } = setup();
    await plain.write('a', 'x');
    faulty.inject({ operation: 'stat', fault: { kind: 'delay', ms: 30_000 }, times: 2 });
    const store = new Store(faulty, { retry: QUICK, timeoutMs: 60_000 });
    expect((await store.stat('a', { timeoutMs: 30 })).size).toBe(1);
    expect(calls('stat')).toBe(3);
  });

  it("the caller's abort during a slow call is ABORTED, never a timeout and never retried", async () => {
    const { faulty, calls } = setup();
    faulty.inject({ operation: 'list', fault: { kind: 'delay', ms: 30_000 } });
    const store = new Store(faulty, { retry: QUICK, timeoutMs: 20_000 });
    const controller = new AbortController();
    const pending = failure(store.list({ signal: controller.signal }));
    setTimeout(() => controller.abort(), 20);
    expect((await pending).code).toBe('ABORTED');
    expect(calls('list')).toBe(1);
  });

  it('bounds opening a read, not reading its stream', async () => {
    const { plain, inner } = setup();
    await plain.write('a', bytes(300_000));
    const store = new Store(inner, { timeoutMs: 30 });
    const body = await store.read('a');
    await new Promise((resolve) => setTimeout(resolve, 80));
    let total = 0;
    for await (const chunk of body) total += chunk.byteLength;
    expect(total).toBe(300_000);
  });

  it('bounds a write whose body stalls, leaving the previous object as it was; a body in memory is written whole', async () => {
    const { plain, inner } = setup();
    await plain.write('a', 'before');
    const store = new Store(inner, { timeoutMs: 60 });
    async function* stalled(): AsyncGenerator<Uint8Array> {
      yield new TextEncoder().encode('half');
      await new Promise(() => {});
    }
    const started = performance.now();
    const error = await failure(store.write('a', stalled()));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toMatch(/timed out after 60 ms/);
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(await plain.readText('a')).toBe('before');
    await store.write('a', bytes(300_000));
    expect((await plain.readBytes('a')).byteLength).toBe(300_000);
  });

  it('one clock for many attempts: only the slow ones time out, none before its time, and every later one is timed too', async () => {
    const { faulty, plain } = setup();
    await plain.write('a', 'x');
    faulty.inject({ operation: 'stat', fault: { kind: 'delay', ms: 30_000 }, times: 5 });
    const store = new Store(faulty, { timeoutMs: 120 });
    const started = performance.now();
    // Five slow calls first, then fast ones that come and go while the slow ones wait.
    const slow = Array.from({ length: 5 }, () => failure(store.stat('a')).then((error) => ({ error, after: performance.now() - started })));
    for (let i = 0; i < 200; i++) expect((await store.stat('a')).size).toBe(1);
    for (const { error, after } of await Promise.all(slow)) {
      expect(error.code).toBe('UNAVAILABLE');
      expect(after).toBeGreaterThanOrEqual(119);
    }
    // After the clock fired and emptied, a new slow call gets its own full time again.
    faulty.inject({ operation: 'stat', fault: { kind: 'delay', ms: 30_000 }, times: 1 });
    const again = performance.now();
    expect((await failure(store.stat('a'))).code).toBe('UNAVAILABLE');
    expect(performance.now() - again).toBeGreaterThanOrEqual(119);
  });

  it('a clock with nothing in flight does not keep the process alive', async () => {
    const { spawnSync } = await import('node:child_process');
    const script = [
      "import { Store } from '@stowage/core';",
      "import { MemoryBackend } from '@stowage/memory';",
      'const store = new Store(new MemoryBackend(), { timeoutMs: 600000 });',
      "await store.write('a', 'x');",
      "await store.stat('a');",
      "console.log('done');",
    ].join('\n');
    const started = Date.now();
    const child = spawnSync(process.execPath, ['--conditions=@stowage/source', '--input-type=module', '-e', script], {
      cwd: new URL('.', import.meta.url),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('done');
    expect(child.status).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
