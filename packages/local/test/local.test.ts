/**
 * The local adapter's own behaviour: files as they are, metadata, etags, ranges, streams, listing
 * order and cursors, copy and move, the reserved directory, health and the registry entry.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Store, compareUtf8, openStore, type ListEntry } from '@stowage/core';
import { INTERNAL_DIR, LOCAL_CAPABILITIES, LocalBackend, adapter } from '@stowage/local';
import { expectCode, temporaryDirectory, temporaryFiles, treeOf, useTestRoot } from './helpers.ts';

const context = useTestRoot();

async function listAll(store: Store, options: { prefix?: string; delimiter?: '/'; limit?: number } = {}): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of store.pages(options)) {
    // Objects and prefixes merged in order, as a caller walking the listing sees them.
    const merged = [...page.items.map((item) => item.key), ...page.prefixes].sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
    keys.push(...merged);
  }
  return keys;
}

function utf8Sorted(keys: string[]): string[] {
  return [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

describe('files as they are', () => {
  it('stores the key a/b.txt as the file <root>/a/b.txt, byte for byte', async () => {
    const { store, root } = context;
    await store.write('a/b.txt', 'hello, world');
    expect(await readFile(join(root, 'a', 'b.txt'), 'utf8')).toBe('hello, world');
    expect(await treeOf(root)).toEqual(['a', 'a/b.txt']);
  });

  it('keeps keys byte-exact: case, NFC and NFD, spaces and punctuation are different files', async () => {
    const { store } = context;
    const keys = ['Case.txt', 'case.txt', 'caf\u00e9', 'cafe\u0301', 'a b+c%20d*e?f[g]\'h_i'];
    for (const key of keys) await store.write(key, key);
    for (const key of keys) expect(await store.readText(key)).toBe(key);
    expect((await store.list()).items.map((item) => item.key)).toEqual(utf8Sorted(keys));
  });

  it('declares its capabilities and name', () => {
    const { store } = context;
    expect(store.backendName).toBe('local');
    expect(store.capabilities).toEqual(LOCAL_CAPABILITIES);
    expect(LOCAL_CAPABILITIES).toMatchObject({ hierarchical: true, copy: 'native', move: 'atomic', signedUrl: false, multipart: false, listOrder: 'utf8' });
  });

  it('unwraps to the real path of the root', async () => {
    const base = await temporaryDirectory();
    try {
      await mkdir(join(base, 'real'));
      await symlink(join(base, 'real'), join(base, 'alias'));
      const backend = new LocalBackend({ root: join(base, 'alias') });
      expect(backend.unwrap()).toBe(join(base, 'real'));
      await new Store(backend).write('x', 'y');
      expect(await readFile(join(base, 'real', 'x'), 'utf8')).toBe('y');
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });

  it('creates a missing root, nested', async () => {
    const base = await temporaryDirectory();
    try {
      const backend = new LocalBackend({ root: join(base, 'x', 'y', 'z') });
      await backend.health();
      expect((await stat(join(base, 'x', 'y', 'z'))).isDirectory()).toBe(true);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });

  it('refuses a root that is a file, and options without a root', async () => {
    const base = await temporaryDirectory();
    try {
      await writeFile(join(base, 'file'), 'x');
      expect(() => new LocalBackend({ root: join(base, 'file') })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', backend: 'local' }));
      expect(() => new LocalBackend({ root: join(base, 'file', 'below') })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      expect(() => new LocalBackend({} as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      expect(() => new LocalBackend({ root: base, lockTimeoutMs: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});

describe('metadata and etags', () => {
  it('stat answers exactly what the write returned, and the listing has the same etag', async () => {
    const { store } = context;
    const written = await store.write('docs/report.pdf', 'pdf bytes', { metadata: { author: 'Zoë 😀', 'x-y_z': '' } });
    expect(written).toMatchObject({
      key: 'docs/report.pdf',
      size: 9,
      contentType: 'application/pdf',
      metadata: { author: 'Zoë 😀', 'x-y_z': '' },
      sha256: createHash('sha256').update('pdf bytes').digest('hex'),
    });
    expect(await store.stat('docs/report.pdf')).toEqual(written);
    const [entry] = (await store.list({ prefix: 'docs/' })).items as [ListEntry];
    expect(entry).toEqual({ key: 'docs/report.pdf', size: 9, lastModified: written.lastModified, etag: written.etag });
    expect((await store.get('docs/report.pdf')).info).toEqual(written);
  });

  it('keeps an explicit content type', async () => {
    const { store } = context;
    await store.write('data.bin', 'x', { contentType: 'text/csv; charset=utf-8' });
    expect((await store.stat('data.bin')).contentType).toBe('text/csv; charset=utf-8');
  });

  it('gives every write a new etag, even of the same content', async () => {
    const { store } = context;
    const etags = new Set<string>();
    for (let i = 0; i < 20; i++) etags.add((await store.write('same.txt', 'same')).etag);
    expect(etags.size).toBe(20);
  });

  it('gives a re-created key a new etag after a delete', async () => {
    const { store } = context;
    const etags = new Set<string>();
    for (let i = 0; i < 20; i++) {
      etags.add((await store.write('again.txt', 'same')).etag);
      await store.delete('again.txt');
    }
    expect(etags.size).toBe(20);
  });

  it('keeps metadata across a new backend instance on the same root', async () => {
    const { store, root } = context;
    const written = await store.write('keep/me.json', '{}', { metadata: { owner: 'ada' } });
    const reopened = new Store(new LocalBackend({ root }));
    expect(await reopened.stat('keep/me.json')).toEqual(written);
    const rewritten = await reopened.write('keep/me.json', '{"a":1}', { ifMatch: written.etag });
    expect(await store.stat('keep/me.json')).toEqual(rewritten);
  });

  it('serves a file written by another tool as an object without metadata', async () => {
    const { store, root } = context;
    await mkdir(join(root, 'ext'));
    await writeFile(join(root, 'ext', 'data.json'), '[1,2]');
    const info = await store.stat('ext/data.json');
    expect(info).toMatchObject({ key: 'ext/data.json', size: 5, contentType: 'application/json', metadata: {} });
    expect(info.sha256).toBeUndefined();
    expect(await store.readText('ext/data.json')).toBe('[1,2]');
    const rewritten = await store.write('ext/data.json', '[3]', { ifMatch: info.etag });
    expect(rewritten.sha256).toBeDefined();
  });

  it('ignores the metadata of a file changed behind its back, and changes its etag', async () => {
    const { store, root } = context;
    const written = await store.write('edited.txt', 'original', { contentType: 'application/x-custom', metadata: { a: 'b' } });
    await writeFile(join(root, 'edited.txt'), 'edited in place');
    const info = await store.stat('edited.txt');
    expect(info).toMatchObject({ size: 15, contentType: 'text/plain', metadata: {} });
    expect(info.sha256).toBeUndefined();
    expect(info.etag).not.toBe(written.etag);
    await expectCode(store.write('edited.txt', 'x', { ifMatch: written.etag }), 'PRECONDITION_FAILED');
  });

  it('keeps one metadata file per key, named by the hash of the key, even for a 1024-byte key', async () => {
    const { store, root } = context;
    const key = `${'d'.repeat(250)}/${'e'.repeat(250)}/${'f'.repeat(250)}/${'g'.repeat(250)}/${'h'.repeat(20)}`;
    expect(Buffer.byteLength(key)).toBe(1024);
    for (let i = 0; i < 3; i++) await store.write(key, `v${i}`, { metadata: { i: String(i) } });
    expect((await store.stat(key)).metadata).toEqual({ i: '2' });
    const hash = createHash('sha256').update(key).digest('hex');
    expect(await readdir(join(root, INTERNAL_DIR, 'meta', hash.slice(0, 2), hash))).toHaveLength(1);
    await store.delete(key);
    await expect(stat(join(root, INTERNAL_DIR, 'meta', hash.slice(0, 2), hash))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('reads', () => {
  it('reads ranges: offset and length, clamped, open-ended, suffixes, at the end, past the end', async () => {
    const { store } = context;
    await store.write('r.txt', '0123456789');
    const text = async (range: { offset: number; length?: number } | { suffix: number }) => {
      const result = await store.get('r.txt', { range });
      return { text: new TextDecoder().decode(await new Response(result.body).arrayBuffer()), range: result.range };
    };
    expect(await text({ offset: 2, length: 3 })).toEqual({ text: '234', range: { offset: 2, length: 3 } });
    expect(await text({ offset: 8, length: 100 })).toEqual({ text: '89', range: { offset: 8, length: 2 } });
    expect(await text({ offset: 4 })).toEqual({ text: '456789', range: { offset: 4, length: 6 } });
    expect(await text({ suffix: 3 })).toEqual({ text: '789', range: { offset: 7, length: 3 } });
    expect(await text({ suffix: 50 })).toEqual({ text: '0123456789', range: { offset: 0, length: 10 } });
    expect(await text({ offset: 10 })).toEqual({ text: '', range: { offset: 10, length: 0 } });
    const error = await expectCode(store.read('r.txt', { range: { offset: 11 } }), 'RANGE_NOT_SATISFIABLE');
    expect(error).toMatchObject({ size: 10, backend: 'local' });
  });

  it('streams are byte streams: a reader that brings its buffer gets the file read into it, with or without a signal', async () => {
    const { store } = context;
    // Above the 64 KiB that small reads prefetch, so the bytes come from the file descriptor.
    const bytes = new Uint8Array(3 * 1024 * 1024 + 17).map((_, index) => (index * 7) % 251);
    await store.write('byob.bin', bytes);
    const readAll = async (stream: ReadableStream<Uint8Array>, size: number): Promise<{ data: Uint8Array; reads: number }> => {
      const reader = stream.getReader({ mode: 'byob' });
      const data = new Uint8Array(size);
      let buffer = new ArrayBuffer(100_000);
      let filled = 0;
      let reads = 0;
      while (true) {
        const next = await reader.read(new Uint8Array(buffer));
        if (next.done) break;
        reads += 1;
        // The bytes arrive in our own buffer (moved into the answer), never more than it holds.
        expect(next.value.buffer.byteLength).toBe(100_000);
        data.set(next.value, filled);
        filled += next.value.byteLength;
        buffer = next.value.buffer as ArrayBuffer;
      }
      return { data: data.subarray(0, filled), reads };
    };
    const plain = await readAll(await store.read('byob.bin'), bytes.byteLength);
    expect(Buffer.from(plain.data).equals(Buffer.from(bytes))).toBe(true);
    expect(plain.reads).toBe(Math.ceil(bytes.byteLength / 100_000));
    const signal = new AbortController().signal;
    const guarded = await readAll(await store.read('byob.bin', { signal, range: { offset: 1000, length: 2_000_000 } }), 2_000_000);
    expect(Buffer.from(guarded.data).equals(Buffer.from(bytes.subarray(1000, 2_001_000)))).toBe(true);
    // A small object, read together with its record, is a byte stream too (a copy: the cache stays whole).
    await store.write('small.bin', bytes.subarray(0, 1000));
    for (let round = 0; round < 2; round++) {
      const small = await readAll(await store.read('small.bin'), 1000);
      expect(Buffer.from(small.data).equals(Buffer.from(bytes.subarray(0, 1000)))).toBe(true);
    }
    // A default reader still gets fresh chunks, and an abort mid-read still ends it with ABORTED.
    const controller = new AbortController();
    const reader = (await store.read('byob.bin', { signal: controller.signal })).getReader();
    const first = await reader.read();
    expect(first.value!.byteLength).toBeGreaterThan(0);
    controller.abort();
    await expectCode(reader.read(), 'ABORTED');
  });

  it('reads a missing key, a folder and an empty object as the contract says', async () => {
    const { store } = context;
    await expectCode(store.read('missing'), 'NOT_FOUND');
    await expectCode(store.stat('missing/deeper'), 'NOT_FOUND');
    await store.write('folder/x', 'x');
    await expectCode(store.stat('folder'), 'NOT_FOUND');
    await expectCode(store.stat('folder/x/y'), 'NOT_FOUND');
    await store.write('empty', new Uint8Array(0));
    expect(await store.readBytes('empty')).toEqual(new Uint8Array(0));
    expect((await store.stat('empty')).size).toBe(0);
  });

  it('streams a large object in bounded chunks, both ways', async () => {
    const { store } = context;
    const size = 5 * 1024 * 1024 + 123;
    const hash = createHash('sha256');
    async function* body(): AsyncGenerator<Uint8Array> {
      let sent = 0;
      let seed = 1;
      while (sent < size) {
        const chunk = new Uint8Array(Math.min(100_000, size - sent));
        for (let i = 0; i < chunk.length; i++) chunk[i] = seed = (seed * 31 + 7) & 0xff;
        hash.update(chunk);
        sent += chunk.length;
        yield chunk;
      }
    }
    const info = await store.write('big.bin', body());
    expect(info.size).toBe(size);
    expect(info.sha256).toBe(hash.digest('hex'));
    const readHash = createHash('sha256');
    let largest = 0;
    let total = 0;
    for await (const chunk of await store.read('big.bin')) {
      largest = Math.max(largest, chunk.byteLength);
      total += chunk.byteLength;
      readHash.update(chunk);
    }
    expect(total).toBe(size);
    expect(readHash.digest('hex')).toBe(info.sha256);
    expect(largest).toBeLessThanOrEqual(1024 * 1024);
  });

  it('closes the file when a read is cancelled or finished', async () => {
    const { store, root } = context;
    await store.write('held.bin', new Uint8Array(3 * 1024 * 1024));
    const openFiles = async (): Promise<string[]> => {
      const fds = await readdir('/proc/self/fd').catch(() => undefined);
      if (!fds) return [];
      const targets = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
      return targets.filter((target) => target.startsWith(join(root, 'held.bin')));
    };
    const stream = await store.read('held.bin');
    const reader = stream.getReader();
    await reader.read();
    await reader.cancel();
    expect(await openFiles()).toEqual([]);
    await store.readBytes('held.bin');
    expect(await openFiles()).toEqual([]);
    await store.readBytes('held.bin', { range: { offset: 3 * 1024 * 1024 } });
    await expectCode(store.read('held.bin', { range: { offset: 3 * 1024 * 1024 + 1 } }), 'RANGE_NOT_SATISFIABLE');
    expect(await openFiles()).toEqual([]);
  });

  it('keeps reading the version it opened while a write replaces it', async () => {
    const { store } = context;
    const old = 'o'.repeat(1024 * 1024);
    await store.write('v.txt', old, { metadata: { v: 'old' } });
    const { info, body } = await store.get('v.txt');
    await store.write('v.txt', 'new', { metadata: { v: 'new' } });
    expect(info.metadata).toEqual({ v: 'old' });
    expect(new TextDecoder().decode(await new Response(body).arrayBuffer())).toBe(old);
    expect(await store.readText('v.txt')).toBe('new');
  });
});

describe('listing', () => {
  const ordered = ['A', 'a b.txt', 'a-b', 'a.b', 'a/b/c', 'a0', 'aa', 'z', '~', 'é', 'Ａ', '😀'];

  it('lists in UTF-8 byte order, a folder sorting as its name plus "/"', async () => {
    const { store } = context;
    for (const key of [...ordered].reverse()) await store.write(key, key);
    expect((await store.list()).items.map((item) => item.key)).toEqual(ordered);
    expect(utf8Sorted(ordered)).toEqual(ordered);
  });

  it('lists the file a among the same neighbours (a filesystem cannot hold it beside a/b/c)', async () => {
    const { store } = context;
    const keys = ['A', 'a', 'a b.txt', 'a-b', 'a.b', 'a0', 'aa', 'z', '~', 'é', 'Ａ', '😀'];
    for (const key of [...keys].reverse()) await store.write(key, key);
    expect((await store.list()).items.map((item) => item.key)).toEqual(keys);
  });

  it('pages with any limit through the same order, each cursor resuming after the last entry', async () => {
    const { store } = context;
    const keys = [...ordered, 'a/b/d', 'a/bc', 'a/c/d/e', 'm/n', 'm/o/p'];
    for (const key of keys) await store.write(key, 'x');
    for (const limit of [1, 2, 3, 5, 100]) {
      expect(await listAll(store, { limit })).toEqual(utf8Sorted(keys));
      expect(await listAll(store, { limit, delimiter: '/' })).toEqual(['A', 'a b.txt', 'a-b', 'a.b', 'a/', 'a0', 'aa', 'm/', 'z', '~', 'é', 'Ａ', '😀']);
      expect(await listAll(store, { limit, prefix: 'a/', delimiter: '/' })).toEqual(['a/b/', 'a/bc', 'a/c/']);
    }
    const first = await store.list({ limit: 4 });
    expect(first.cursor).toBeDefined();
    const last = await store.list({ limit: 100 });
    expect(last.cursor).toBeUndefined();
  });

  it('matches prefixes that end inside a segment', async () => {
    const { store } = context;
    for (const key of ['a/b.txt', 'a/bc/d', 'a/b/e', 'a/c', 'ab', 'b']) await store.write(key, 'x');
    expect(await listAll(store, { prefix: 'a/b' })).toEqual(['a/b.txt', 'a/b/e', 'a/bc/d']);
    expect(await listAll(store, { prefix: 'a/b', delimiter: '/' })).toEqual(['a/b.txt', 'a/b/', 'a/bc/']);
    expect(await listAll(store, { prefix: 'a' })).toEqual(['a/b.txt', 'a/b/e', 'a/bc/d', 'a/c', 'ab']);
    expect(await listAll(store, { prefix: 'a', delimiter: '/' })).toEqual(['a/', 'ab']);
    expect(await listAll(store, { prefix: 'a/b/e' })).toEqual(['a/b/e']);
    expect(await listAll(store, { prefix: 'nothing/here' })).toEqual([]);
    expect(await listAll(store, { prefix: 'a/b.txt/' })).toEqual([]);
  });

  it('never lists the internal directory, empty folders, or names no key can have', async () => {
    const { store, root } = context;
    await store.write('visible', 'x');
    await mkdir(join(root, 'empty', 'deeper'), { recursive: true });
    await writeFile(join(root, 'back\\slash'), 'x');
    await writeFile(join(root, 'control\u0001char'), 'x');
    expect(await listAll(store)).toEqual(['visible']);
    expect(await listAll(store, { delimiter: '/' })).toEqual(['visible']);
    expect(await listAll(store, { prefix: '.st' })).toEqual([]);
    await expectCode(store.list({ prefix: '.stowage/' }), 'INVALID_PATH');
    await expectCode(store.list({ prefix: '.stowage/meta/', delimiter: '/' }), 'INVALID_PATH');
    expect(await store.isFolder('empty')).toBe(false);
  });

  it('refuses a cursor it did not make', async () => {
    const { store } = context;
    await expectCode(store.list({ cursor: 'not a cursor!' }), 'INVALID_ARGUMENT');
  });

  it('lists with a rooted store', async () => {
    const { store } = context;
    for (const key of ['t/1', 't/2/3', 'u']) await store.write(key, 'x');
    const rooted = store.at('t');
    expect(await listAll(rooted)).toEqual(['1', '2/3']);
    expect(await listAll(rooted, { delimiter: '/' })).toEqual(['1', '2/']);
  });
});

describe('copy, move and delete', () => {
  it('copies content, content type, metadata and digest to a new version', async () => {
    const { store } = context;
    const source = await store.write('src/a.txt', 'copy me', { contentType: 'text/x-custom', metadata: { k: 'v' } });
    const copied = await store.copy('src/a.txt', 'dst/deep/b.bin');
    expect(copied).toMatchObject({ key: 'dst/deep/b.bin', size: 7, contentType: 'text/x-custom', metadata: { k: 'v' }, sha256: source.sha256 });
    expect(copied.etag).not.toBe(source.etag);
    expect(await store.stat('dst/deep/b.bin')).toEqual(copied);
    expect(await store.readText('dst/deep/b.bin')).toBe('copy me');
    expect(await store.stat('src/a.txt')).toEqual(source);
  });

  it('copies a file without metadata with the content type its source had', async () => {
    const { store, root } = context;
    await writeFile(join(root, 'plain.csv'), 'a,b');
    const copied = await store.copy('plain.csv', 'copy.bin');
    expect(copied.contentType).toBe('text/csv');
  });

  it('moves with one rename: same file, same etag, metadata along, empty source folders pruned', async () => {
    const { store, root } = context;
    const source = await store.write('from/deep/x.txt', 'move me', { metadata: { k: 'v' } });
    const inode = (await stat(join(root, 'from', 'deep', 'x.txt'))).ino;
    const moved = await store.move('from/deep/x.txt', 'to/y.txt');
    expect(moved).toEqual({ ...source, key: 'to/y.txt' });
    expect(await store.stat('to/y.txt')).toEqual(moved);
    expect((await stat(join(root, 'to', 'y.txt'))).ino).toBe(inode);
    await expectCode(store.stat('from/deep/x.txt'), 'NOT_FOUND');
    expect(await treeOf(root)).toEqual(['to', 'to/y.txt']);
  });

  it('copy and move honour ifNoneMatch and report a missing source', async () => {
    const { store } = context;
    await store.write('one', '1');
    await store.write('two', '2');
    await expectCode(store.copy('one', 'two', { ifNoneMatch: '*' }), 'ALREADY_EXISTS');
    await expectCode(store.move('one', 'two', { ifNoneMatch: '*' }), 'ALREADY_EXISTS');
    expect(await store.readText('two')).toBe('2');
    expect(await store.readText('one')).toBe('1');
    await expectCode(store.copy('nope', 'three'), 'NOT_FOUND');
    await expectCode(store.move('nope', 'three'), 'NOT_FOUND');
    expect(await store.exists('three')).toBe(false);
    await store.move('one', 'two');
    expect(await store.readText('two')).toBe('1');
  });

  it('deletes idempotently, many at once, pruning empty folders', async () => {
    const { store, root } = context;
    const keys = Array.from({ length: 30 }, (_, i) => `many/${i % 3}/${i}`);
    for (const key of keys) await store.write(key, 'x');
    await store.write('keep', 'x');
    await store.deleteMany([...keys, 'never/existed']);
    await store.delete('keep/not/there');
    await store.delete('missing');
    expect(await treeOf(root)).toEqual(['keep']);
  });
});

describe('the reserved directory', () => {
  it('refuses every key under .stowage, with INVALID_PATH and a clear message', async () => {
    const { store } = context;
    await store.write('x', 'x');
    for (const key of ['.stowage', '.stowage/meta', '.stowage/tmp/anything', 'sub/.stowage', 'nested/.stowage/locks/planted.lock', 'a/.STOWAGE/meta']) {
      const error = await expectCode(store.write(key, 'x'), 'INVALID_PATH');
      expect(error.message).toMatch(/reserves for its own files/);
      await expectCode(store.read(key), 'INVALID_PATH');
      await expectCode(store.stat(key), 'INVALID_PATH');
      await expectCode(store.delete(key), 'INVALID_PATH');
      await expectCode(store.deleteMany(['x', key]), 'INVALID_PATH');
      await expectCode(store.copy('x', key), 'INVALID_PATH');
      await expectCode(store.move('x', key), 'INVALID_PATH');
      await expectCode(store.copy(key, 'y'), 'INVALID_PATH');
    }
    expect(await store.readText('x')).toBe('x');
  });

  it('reserves .stowage at any depth and on a rooted store: a store nested in the folder never shows or lets anyone touch its internals', async () => {
    const { store, root } = context;
    const inner = new Store(new LocalBackend({ root: join(root, 'nested') }));
    await inner.write('secret.txt', 'inner object', { metadata: { owner: 'inner' } });
    const everything = async (): Promise<string[]> => (await readdir(join(root, 'nested'), { recursive: true })).sort();
    const innerBefore = await everything();
    expect(innerBefore.some((path) => path.startsWith('.stowage/meta/'))).toBe(true);
    // Through the outer store: the inner object is an ordinary file, its internals do not exist.
    expect(await listAll(store)).toEqual(['nested/secret.txt']);
    expect(await listAll(store, { prefix: 'nested/', delimiter: '/' })).toEqual(['nested/secret.txt']);
    const meta = innerBefore.find((path) => path.startsWith('.stowage/meta/'))!;
    await expectCode(store.read(`nested/${meta}`), 'INVALID_PATH');
    await expectCode(store.write('nested/.stowage/locks/planted.lock', 'x'), 'INVALID_PATH');
    await expectCode(store.deleteFolder('nested/.stowage'), 'INVALID_PATH');
    await expectCode(store.move('nested/secret.txt', 'nested/.stowage/tmp/x'), 'INVALID_PATH');
    expect(() => store.at('nested/.stowage')).toThrow(/reserves for its own files/);
    await expectCode(store.at('tenant').write('.stowage/x', 'rooted'), 'INVALID_PATH');
    expect(await everything()).toEqual(innerBefore);
    expect(await inner.readText('secret.txt')).toBe('inner object');
    await inner.close();
  });

  it('leaves no temporary file after successful writes', async () => {
    const { store, root } = context;
    for (let i = 0; i < 5; i++) await store.write(`t${i}`, 'x');
    await store.copy('t0', 't9');
    expect(await temporaryFiles(root)).toEqual([]);
  });
});

describe('with fsync', () => {
  it('writes, copies, moves and deletes the same way', async () => {
    const base = await temporaryDirectory();
    try {
      const store = new Store(new LocalBackend({ root: base, fsync: true }));
      const written = await store.write('durable/a.txt', 'flushed', { metadata: { d: '1' } });
      expect(await store.stat('durable/a.txt')).toEqual(written);
      await store.copy('durable/a.txt', 'durable/b.txt');
      await store.move('durable/b.txt', 'c.txt');
      await store.delete('durable/a.txt');
      expect(await treeOf(base)).toEqual(['c.txt']);
      expect(await store.readText('c.txt')).toBe('flushed');
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});

describe('health and the registry', () => {
  it('is healthy on a usable root and unavailable when the root is gone', async () => {
    const { store, root } = context;
    await store.health();
    await rm(root, { recursive: true, force: true });
    await expectCode(store.health(), 'UNAVAILABLE');
    await expectCode(store.write('x', 'y'), 'UNAVAILABLE');
  });

  it('turns file: URLs into options', () => {
    expect(adapter.name).toBe('local');
    expect(adapter.schemes).toEqual(['file']);
    expect(adapter.optionsFromUrl!(new URL('file:///srv/data'))).toEqual({ root: '/srv/data' });
    expect(adapter.optionsFromUrl!(new URL('file:///srv/my%20data?fsync=true&lockTimeoutMs=5000'))).toEqual({
      root: '/srv/my data',
      fsync: true,
      lockTimeoutMs: 5000,
    });
    expect(() => adapter.optionsFromUrl!(new URL('file:///x?fsync=maybe'))).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('opens through openStore with a file:// URL', async () => {
    const { root } = context;
    const store = await openStore(pathToFileURL(root).href);
    expect(store.backendName).toBe('local');
    await store.write('via-url.txt', 'ok');
    expect(await readFile(join(root, 'via-url.txt'), 'utf8')).toBe('ok');
    await store.close();
  });

  it('opens a relative file: URL against the working directory', async () => {
    const { root } = context;
    const relativeRoot = relative(process.cwd(), join(root, 'relative'));
    expect(relativeRoot.startsWith('/')).toBe(false);
    const store = await openStore(`file:${relativeRoot}?fsync=true`);
    expect(store.unwrap()).toBe(join(root, 'relative'));
    await store.write('x.txt', 'relative');
    expect(await readFile(join(root, 'relative', 'x.txt'), 'utf8')).toBe('relative');
  });
});

describe('keys that start with U+FEFF', () => {
  it('list as they are (the name is not taken for a byte-order mark)', async () => {
    const directory = await temporaryDirectory('stowage-local-bom-');
    try {
      const store = new Store(new LocalBackend({ root: directory }));
      const keys = ['a/\ufeff', 'a/\ufeffb', 'a/x/\ufeffc'];
      for (const key of keys) await store.write(key, key);
      const listed: string[] = [];
      for await (const entry of store.listAll({ prefix: 'a/' })) listed.push(entry.key);
      expect(listed).toEqual(['a/x/\ufeffc', 'a/\ufeff', 'a/\ufeffb'].sort(compareUtf8));
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
