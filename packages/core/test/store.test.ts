import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Store, isStowageError, type StowageError } from '@stowage/core';
import { readNode, toNodeReadable } from '@stowage/core/node';
import { MemoryBackend } from '@stowage/memory';
import { chunks, countingBackend } from './fixtures.ts';

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isStowageError(error)) return error.code;
    throw error;
  }
  return 'resolved';
}

describe('Store: capability gates refuse before any I/O', () => {
  it('refuses ranges, conditions, metadata and signing when undeclared', async () => {
    const { backend, calls } = countingBackend({ rangeRead: false, conditionalWrite: false, userMetadata: false, signedUrl: false });
    const store = new Store(backend);
    expect(await code(store.read('a', { range: { offset: 0 } }))).toBe('CAPABILITY_NOT_SUPPORTED');
    expect(await code(store.write('a', 'x', { ifNoneMatch: '*' }))).toBe('CAPABILITY_NOT_SUPPORTED');
    expect(await code(store.write('a', 'x', { ifMatch: '"1"' }))).toBe('CAPABILITY_NOT_SUPPORTED');
    expect(await code(store.write('a', 'x', { metadata: { a: 'b' } }))).toBe('CAPABILITY_NOT_SUPPORTED');
    expect(await code(store.copy('a', 'b', { ifNoneMatch: '*' }))).toBe('CAPABILITY_NOT_SUPPORTED');
    expect(await code(store.signUrl('a'))).toBe('CAPABILITY_NOT_SUPPORTED');
    expect(calls).toEqual([]);
    const error = await store.signUrl('a').catch((e: StowageError) => e);
    expect(error).toMatchObject({ code: 'CAPABILITY_NOT_SUPPORTED', capability: 'signedUrl', backend: 'counting', key: 'a' });
  });

  it('refuses invalid keys and arguments before any I/O', async () => {
    const { backend, calls } = countingBackend();
    const store = new Store(backend);
    expect(await code(store.write('../x', 'x'))).toBe('INVALID_PATH');
    expect(await code(store.stat('a//b'))).toBe('INVALID_PATH');
    expect(await code(store.list({ prefix: '/a' }))).toBe('INVALID_PATH');
    expect(await code(store.write('a', 42 as never))).toBe('INVALID_ARGUMENT');
    expect(await code(store.write('a', 'x', { metadata: { Upper: 'x' } }))).toBe('INVALID_ARGUMENT');
    expect(await code(store.write('a', 'x', { metadata: { a: 'x'.repeat(3000) } }))).toBe('INVALID_ARGUMENT');
    expect(await code(store.write('a', 'x', { contentType: 'text\r\nplain' }))).toBe('INVALID_ARGUMENT');
    expect(await code(store.write('a', 'x', { ifNoneMatch: 'x' as '*' }))).toBe('INVALID_ARGUMENT');
    expect(await code(store.write('a', 'x', { ifNoneMatch: '*', ifMatch: '"1"' }))).toBe('INVALID_ARGUMENT');
    expect(await code(store.read('a', { range: { offset: -1 } }))).toBe('INVALID_ARGUMENT');
    expect(await code(store.read('a', { range: { offset: 1.5 } }))).toBe('INVALID_ARGUMENT');
    expect(await code(store.list({ limit: 0 }))).toBe('INVALID_ARGUMENT');
    expect(await code(store.list({ limit: 1001 }))).toBe('INVALID_ARGUMENT');
    expect(await code(store.signUrl('a', { expiresIn: 0 }))).toBe('CAPABILITY_NOT_SUPPORTED');
    expect(calls).toEqual([]);
  });
});

describe('Store: URL signers', () => {
  it('signs through the signer when the backend cannot, with the absolute key and validated options', async () => {
    const { backend, calls } = countingBackend({ signedUrl: false });
    const signed: unknown[] = [];
    const signer = { sign: (key: string, options: unknown) => (signed.push([key, options]), `https://files.example/${key}`) };
    const store = new Store(backend).withSigner(signer);
    expect(store.capabilities.signedUrl).toBe(true);
    expect(backend.capabilities.signedUrl).toBe(false);
    const tenant = store.at('tenant-1');
    expect(await tenant.signUrl('a b.txt')).toBe('https://files.example/tenant-1/a b.txt');
    expect(await tenant.signUrl('up.bin', { method: 'PUT', expiresIn: 60, contentType: 'image/png' })).toBe('https://files.example/tenant-1/up.bin');
    expect(signed).toEqual([
      ['tenant-1/a b.txt', { method: 'GET', expiresIn: 900, contentType: undefined }],
      ['tenant-1/up.bin', { method: 'PUT', expiresIn: 60, contentType: 'image/png' }],
    ]);
    expect(await code(tenant.signUrl('../x'))).toBe('INVALID_PATH');
    expect(await code(tenant.signUrl('a', { expiresIn: 0 }))).toBe('INVALID_ARGUMENT');
    expect(await code(tenant.signUrl('a', { method: 'DELETE' as 'GET' }))).toBe('INVALID_ARGUMENT');
    expect(await code(tenant.signUrl('a', { method: 'PUT', contentType: 'not a type' }))).toBe('INVALID_ARGUMENT');
    expect(signed).toHaveLength(2);
    expect(calls).toEqual([]);
  });

  it('keeps a backend that signs natively on its own signer', async () => {
    const { backend } = countingBackend({ signedUrl: true });
    (backend as { signUrl?: (key: string) => Promise<string> }).signUrl = async (key) => `native:${key}`;
    const store = new Store(backend).withSigner({ sign: () => 'hmac' });
    expect(await store.signUrl('a')).toBe('native:a');
    expect(store.signer).toBeUndefined();
  });

  it('refuses a signer that is not one', () => {
    const { backend } = countingBackend();
    expect(() => new Store(backend, { signer: {} as never })).toThrow(/signer must be an object with a sign/);
  });
});

describe('Store: size limits', () => {
  it('refuses a body of known size above maxSize before any I/O', async () => {
    const { backend, calls } = countingBackend();
    const store = new Store(backend, { maxSize: 10 });
    const error = await store.write('a', new Uint8Array(11)).catch((e: StowageError) => e);
    expect(error).toMatchObject({ code: 'TOO_LARGE', limit: 10, key: 'a' });
    expect(await code(store.write('a', new Blob([new Uint8Array(11)])))).toBe('TOO_LARGE');
    expect(await code(store.write('a', chunks(1, 5), { size: 11 }))).toBe('TOO_LARGE');
    expect(calls).toEqual([]);
  });

  it('stops a stream as soon as it crosses the limit, and stores nothing', async () => {
    const inner = new MemoryBackend();
    const store = new Store(inner, { maxSize: 1000 });
    await store.write('a', 'old');
    let pulled = 0;
    async function* body() {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield new Uint8Array(300);
      }
    }
    expect(await code(store.write('a', body()))).toBe('TOO_LARGE');
    expect(pulled).toBe(4); // the 4th chunk crosses 1000 bytes; nothing more is read
    expect(await store.readText('a')).toBe('old');
    expect(await code(store.write('b', body()))).toBe('TOO_LARGE');
    expect(await store.exists('b')).toBe(false);
  });

  it('applies the smaller of the store and write limits', async () => {
    const store = new Store(new MemoryBackend(), { maxSize: 100 });
    expect(await code(store.write('a', new Uint8Array(50), { maxSize: 40 }))).toBe('TOO_LARGE');
    expect(await code(store.write('a', new Uint8Array(150), { maxSize: 400 }))).toBe('TOO_LARGE');
    await store.write('a', new Uint8Array(40), { maxSize: 40 });
  });

  it('checks a declared size against the bytes that arrive', async () => {
    const store = new Store(new MemoryBackend());
    expect(await code(store.write('a', chunks(2, 10), { size: 15 }))).toBe('INVALID_ARGUMENT');
    expect(await code(store.write('a', chunks(2, 10), { size: 25 }))).toBe('INVALID_ARGUMENT');
    expect(await store.exists('a')).toBe(false);
    await store.write('a', chunks(2, 10), { size: 20 });
    expect((await store.stat('a')).size).toBe(20);
  });
});

describe('Store: bodies and reads', () => {
  it('accepts every body type and computes sha256 and content type', async () => {
    const store = new Store(new MemoryBackend());
    const text = 'héllo wörld';
    const bytes = new TextEncoder().encode(text);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const bodies = {
      'string.txt': text,
      'bytes.txt': bytes,
      'buffer.txt': Buffer.from(bytes),
      'arraybuffer.txt': bytes.slice().buffer,
      'blob.txt': new Blob([bytes]),
      'web.txt': new Blob([bytes]).stream(),
      'node.txt': Readable.from([Buffer.from(bytes.subarray(0, 3)), Buffer.from(bytes.subarray(3))]),
      'iterable.txt': (async function* () {
        yield bytes.subarray(0, 5);
        yield bytes.subarray(5);
      })(),
    };
    for (const [key, body] of Object.entries(bodies)) {
      const info = await store.write(key, body);
      expect(info).toMatchObject({ key, size: bytes.byteLength, sha256: sha, contentType: 'text/plain' });
      expect(await store.readText(key)).toBe(text);
    }
  });

  it('reads JSON and bytes, and refuses invalid UTF-8 as text', async () => {
    const store = new Store(new MemoryBackend());
    await store.write('d.json', JSON.stringify({ a: [1, 2] }));
    expect(await store.readJson('d.json')).toEqual({ a: [1, 2] });
    expect(await store.stat('d.json')).toMatchObject({ contentType: 'application/json' });
    await store.write('bad', new Uint8Array([0xff, 0xfe]));
    expect(await code(store.readText('bad'))).toBe('INVALID_ARGUMENT');
    expect(await code(store.readJson('bad'))).toBe('INVALID_ARGUMENT');
    await store.write('notjson', 'nope');
    expect(await code(store.readJson('notjson'))).toBe('INVALID_ARGUMENT');
  });

  it('answers zero-length ranges from stat', async () => {
    const store = new Store(new MemoryBackend());
    await store.write('a', 'abc');
    expect(await store.readBytes('a', { range: { offset: 3, length: 0 } })).toEqual(new Uint8Array());
    expect(await store.readBytes('a', { range: { suffix: 0 } })).toEqual(new Uint8Array());
    expect(await code(store.read('a', { range: { offset: 4, length: 0 } }))).toBe('RANGE_NOT_SATISFIABLE');
  });

  it('counts one byte as "1 byte" in its messages', async () => {
    const store = new Store(new MemoryBackend());
    await store.write('one', 'x');
    const message = async (promise: Promise<unknown>) => (await promise.then(() => undefined, (error: Error) => error))?.message;
    expect(await message(store.read('one', { range: { offset: 2, length: 0 } }))).toBe('range starts at 2, past the end of "one" (1 byte)');
    expect(await message(store.readBytes('one', { range: { offset: 2 } }))).toBe('range starts at 2, past the end of "one" (1 byte)');
    expect(await message(store.write('two', 'xy', { maxSize: 1 }))).toMatch(/ is 2 bytes; the limit is 1 byte$/);
    expect(await message(store.write('two', chunks(1, 2), { size: 1 }))).toMatch(/ is longer than its declared size of 1 byte$/);
  });

  it('gives Node streams through @stowage/core/node', async () => {
    const store = new Store(new MemoryBackend());
    await store.write('a', 'node stream');
    const parts: Buffer[] = [];
    for await (const chunk of await readNode(store, 'a')) parts.push(chunk as Buffer);
    expect(Buffer.concat(parts).toString()).toBe('node stream');
    const readable = toNodeReadable(await store.read('a'));
    expect(readable).toBeInstanceOf(Readable);
    readable.destroy();
  });

  it('aborts a write mid-stream, leaving the old object', async () => {
    const store = new Store(new MemoryBackend());
    await store.write('a', 'old');
    const controller = new AbortController();
    async function* body() {
      yield new Uint8Array(10);
      controller.abort(new Error('user cancelled'));
      yield new Uint8Array(10);
    }
    const error = await store.write('a', body(), { signal: controller.signal }).catch((e: StowageError) => e);
    expect(error).toMatchObject({ code: 'ABORTED', key: 'a' });
    expect(await store.readText('a')).toBe('old');
    expect(await code(store.stat('a', { signal: controller.signal }))).toBe('ABORTED');
  });

  it('aborts a read stream', async () => {
    const store = new Store(new MemoryBackend());
    await store.write('big', new Uint8Array(1024 * 1024));
    const controller = new AbortController();
    const reader = (await store.read('big', { signal: controller.signal })).getReader();
    await reader.read();
    controller.abort();
    await expect(reader.read()).rejects.toMatchObject({ code: 'ABORTED' });
  });
});

describe('Store: rooted stores', () => {
  it('see only their prefix and report relative keys', async () => {
    const backend = new MemoryBackend();
    const top = new Store(backend);
    const tenant = top.at('tenant-42');
    expect(tenant.root).toBe('tenant-42/');
    await tenant.write('docs/a.txt', 'A');
    await top.write('other.txt', 'O');
    expect(await top.readText('tenant-42/docs/a.txt')).toBe('A');
    expect((await tenant.stat('docs/a.txt')).key).toBe('docs/a.txt');
    const page = await tenant.list({ delimiter: '/' });
    expect(page.prefixes).toEqual(['docs/']);
    expect(page.items).toEqual([]);
    expect((await tenant.list({ prefix: 'docs/' })).items.map((i) => i.key)).toEqual(['docs/a.txt']);
    expect(await tenant.exists('other.txt')).toBe(false);
    const nested = tenant.at('docs/');
    expect(await nested.readText('a.txt')).toBe('A');
    const error = await tenant.stat('missing').catch((e: StowageError) => e);
    expect(error).toMatchObject({ code: 'NOT_FOUND', key: 'missing', backend: 'memory' });
  });

  it('count the root in the key length limit', async () => {
    const store = new Store(new MemoryBackend()).at('r'.repeat(200));
    const key = `${'k'.repeat(250)}/${'k'.repeat(250)}/${'k'.repeat(250)}/${'k'.repeat(80)}`; // 833 bytes + a 201-byte root > 1024
    expect(await code(store.write(key, 'x'))).toBe('INVALID_PATH');
  });
});

describe('Store: emulated operations', () => {
  it('copies and moves through the client when the backend has no native copy', async () => {
    const { backend, calls } = countingBackend({ copy: 'emulated', move: 'emulated' }, { dropNative: ['copy', 'move'] });
    const store = new Store(backend);
    await store.write('a.txt', 'payload', { metadata: { owner: 'zoë' }, contentType: 'text/x-custom' });
    const copied = await store.copy('a.txt', 'b.bin');
    expect(copied).toMatchObject({ key: 'b.bin', contentType: 'text/x-custom', metadata: { owner: 'zoë' }, size: 7 });
    expect(calls).not.toContain('copy a.txt b.bin');
    await store.move('b.bin', 'c.bin');
    expect(await store.exists('b.bin')).toBe(false);
    expect(await store.readText('c.bin')).toBe('payload');
    expect(await code(store.copy('a.txt', 'c.bin', { ifNoneMatch: '*' }))).toBe('ALREADY_EXISTS');
  });

  it('emulates the delimiter over a flat listing', async () => {
    const { backend } = countingBackend({ listDelimiter: false });
    const store = new Store(backend);
    for (const key of ['a/1', 'a/2', 'b', 'c/d/e']) await store.write(key, 'x');
    const page = await store.list({ delimiter: '/' });
    expect(page.items.map((i) => i.key)).toEqual(['b']);
    expect(page.prefixes).toEqual(['a/', 'c/']);
    const folders: string[] = [];
    for await (const folder of store.listFolders()) folders.push(folder);
    expect(folders).toEqual(['a/', 'c/']);
  });

  it('enforces the filesystem rule on a flat backend with strictHierarchy', async () => {
    const store = new Store(new MemoryBackend(), { strictHierarchy: true });
    await store.write('a', 'file');
    expect(await code(store.write('a/b', 'x'))).toBe('ALREADY_EXISTS');
    await store.write('c/d', 'x');
    expect(await code(store.write('c', 'x'))).toBe('ALREADY_EXISTS');
    expect(await store.exists('a/b')).toBe(false);
    expect(await store.exists('c')).toBe(false);
  });

  it('deletes folders and globs over listings', async () => {
    const store = new Store(new MemoryBackend());
    for (let i = 0; i < 1205; i++) await store.write(`logs/${String(i).padStart(4, '0')}.log`, 'x');
    await store.write('logs.txt', 'keep');
    const matched: string[] = [];
    for await (const entry of store.glob('logs/00[0-1]?.log')) matched.push(entry.key);
    expect(matched).toHaveLength(20);
    expect(await store.isFolder('logs')).toBe(true);
    expect(await store.deleteFolder('logs')).toBe(1205);
    expect(await store.isFolder('logs')).toBe(false);
    expect(await store.readText('logs.txt')).toBe('keep');
  });
});

describe('Store: aborting a stalled source', () => {
  it('ends a write whose body never yields again', async () => {
    const store = new Store(new MemoryBackend());
    await store.write('a', 'old');
    const controller = new AbortController();
    async function* stalled() {
      yield new Uint8Array(5);
      await new Promise(() => {}); // never resolves
    }
    const pending = store.write('a', stalled(), { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
    expect(await store.readText('a')).toBe('old');
  });
});

describe('Store: emulated delimiter pages', () => {
  it('never return more than the limit, and resume without repeats', async () => {
    const { backend } = countingBackend({ listDelimiter: false });
    const store = new Store(backend);
    const keys = ['a', 'b/1', 'b/2', 'b/3', 'c', 'd/x/y', 'd/z', 'e'];
    for (const key of keys) await store.write(key, 'x');
    for (const limit of [1, 2, 3]) {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.list({ delimiter: '/', limit, cursor });
        expect(page.items.length + page.prefixes.length).toBeLessThanOrEqual(limit);
        seen.push(...page.items.map((i) => i.key), ...page.prefixes);
        cursor = page.cursor;
      } while (cursor);
      expect(seen.sort()).toEqual(['a', 'b/', 'c', 'd/', 'e']);
    }
  });

  it('refuse a prefix too long once the root is added', async () => {
    const store = new Store(new MemoryBackend()).at('r'.repeat(200));
    expect(await code(store.list({ prefix: `${'p'.repeat(250)}/${'p'.repeat(250)}/${'p'.repeat(250)}/${'p'.repeat(100)}` }))).toBe('INVALID_PATH');
  });
});
