/**
 * Writes are atomic: a write that fails, is aborted or loses a race leaves the old object exactly as
 * it was, creates nothing, and leaves no temporary file. Locks left by dead processes are recovered.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store } from '@stowage/core';
import { LocalBackend } from '@stowage/local';
import { deadPid, expectCode, lockPath, slowBody, temporaryFiles, treeOf, useTestRoot } from './helpers.ts';

const context = useTestRoot();

async function* failingBody(after: number): AsyncGenerator<Uint8Array> {
  yield new Uint8Array(after).fill(0x61);
  await new Promise((resolve) => setImmediate(resolve));
  throw new Error('the source broke');
}

describe('failed and aborted writes', () => {
  it('a body that throws midway: the error comes back, the old object stays, no temporary file remains', async () => {
    const { store, root } = context;
    const before = await store.write('k.txt', 'old content', { metadata: { v: '1' } });
    await expect(store.write('k.txt', failingBody(200_000), { metadata: { v: '2' } })).rejects.toThrow('the source broke');
    expect(await store.stat('k.txt')).toEqual(before);
    expect(await store.readText('k.txt')).toBe('old content');
    expect(await temporaryFiles(root)).toEqual([]);
  });

  it('a new key whose body throws is not created, nor are its folders', async () => {
    const { store, root } = context;
    await expect(store.write('new/deep/k.txt', failingBody(10))).rejects.toThrow('the source broke');
    await expectCode(store.stat('new/deep/k.txt'), 'NOT_FOUND');
    expect(await treeOf(root)).toEqual([]);
    expect(await temporaryFiles(root)).toEqual([]);
  });

  it('an abort mid-stream: ABORTED, the old object stays, no temporary file remains', async () => {
    const { store, root } = context;
    const before = await store.write('k.txt', 'old content');
    const controller = new AbortController();
    async function* body(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(100_000);
      controller.abort(new Error('user gave up'));
      yield new Uint8Array(100_000);
    }
    await expectCode(store.write('k.txt', body(), { signal: controller.signal }), 'ABORTED');
    expect(await store.stat('k.txt')).toEqual(before);
    expect(await store.readText('k.txt')).toBe('old content');
    expect(await temporaryFiles(root)).toEqual([]);
  });

  it('an abort while the body stalls ends the write at once', async () => {
    const { store, root } = context;
    await store.write('k.txt', 'old');
    const controller = new AbortController();
    async function* stalled(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(10);
      await new Promise(() => {}); // never yields again
    }
    const write = store.write('k.txt', stalled(), { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expectCode(write, 'ABORTED');
    expect(await store.readText('k.txt')).toBe('old');
    expect(await temporaryFiles(root)).toEqual([]);
  });

  it('a body that crosses maxSize: TOO_LARGE, nothing stored', async () => {
    const { store, root } = context;
    await store.write('k.txt', 'old');
    await expectCode(store.write('k.txt', slowBody('x'.repeat(100), 10), { maxSize: 50 }), 'TOO_LARGE');
    expect(await store.readText('k.txt')).toBe('old');
    expect(await temporaryFiles(root)).toEqual([]);
  });

  it('a create-only write that loses the race while streaming removes its temporary file', async () => {
    const { store, root } = context;
    // The slow body finishes only after the other write has committed: the outcome does not depend on timing.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    async function* gatedBody(): AsyncGenerator<Uint8Array> {
      yield* slowBody('slow writer ', 2);
      await released;
      yield new TextEncoder().encode('content');
    }
    const slow = store.write('race.txt', gatedBody(), { ifNoneMatch: '*' });
    const fast = await store.write('race.txt', 'fast');
    release();
    await expectCode(slow, 'ALREADY_EXISTS');
    expect(await store.stat('race.txt')).toEqual(fast);
    expect(await temporaryFiles(root)).toEqual([]);
  });

  // Bounded by its own work, not by the default 5 s, which a loaded 2-core runner exceeded.
  it('readers during overwrites see one whole version, with its own metadata', async () => {
    const { store } = context;
    const versions = ['a'.repeat(300_000), 'b'.repeat(200_000), 'c'.repeat(400_000)];
    await store.write('hot', versions[0]!, { metadata: { first: versions[0]![0]! } });
    let writing = true;
    const writer = (async () => {
      for (let i = 1; i < 30; i++) {
        const text = versions[i % 3]!;
        await store.write('hot', text, { metadata: { first: text[0]! } });
      }
      writing = false;
    })();
    let reads = 0;
    while (writing || reads < 5) {
      const { info, body } = await store.get('hot');
      const text = new TextDecoder().decode(await new Response(body).arrayBuffer());
      expect(versions).toContain(text);
      expect(info.metadata.first).toBe(text[0]);
      expect(info.size).toBe(text.length);
      reads++;
    }
    await writer;
  }, 30_000);
});

describe('copies during overwrites', () => {
  it('a copy racing with overwrites of its source copies one whole version, with that version’s metadata', async () => {
    const { store } = context;
    const contentOf = (i: number): string => String(i).repeat(50_000 + i * 1000);
    await store.write('src', contentOf(0), { metadata: { v: '0' } });
    for (let i = 1; i <= 20; i++) {
      const [copied] = await Promise.all([store.copy('src', `dst-${i}`), store.write('src', contentOf(i), { metadata: { v: String(i) } })]);
      const v = Number(copied.metadata.v);
      expect([i - 1, i]).toContain(v);
      expect(await store.readText(`dst-${i}`)).toBe(contentOf(v));
      expect(copied.size).toBe(contentOf(v).length);
    }
  });
});

describe('locks', () => {
  it('breaks a lock left by a process that no longer runs', async () => {
    const { store, root } = context;
    await store.write('locked.txt', 'old');
    await writeFile(lockPath(root, 'locked.txt'), JSON.stringify({ pid: deadPid(), host: hostname(), token: 'crashed' }));
    await store.write('locked.txt', 'new');
    expect(await store.readText('locked.txt')).toBe('new');
    await expect(stat(lockPath(root, 'locked.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('breaks a lock older than staleLockMs even when its owner seems alive', async () => {
    const { root } = context;
    const store = new Store(new LocalBackend({ root, staleLockMs: 1000 }));
    await writeFile(lockPath(root, 'old-lock.txt'), JSON.stringify({ pid: process.pid, host: 'another-host', token: 'old' }));
    const past = new Date(Date.now() - 60_000);
    await utimes(lockPath(root, 'old-lock.txt'), past, past);
    await store.write('old-lock.txt', 'written');
    expect(await store.readText('old-lock.txt')).toBe('written');
  });

  it('gives up with UNAVAILABLE after lockTimeoutMs while a live owner holds the lock, changing nothing', async () => {
    const { root } = context;
    const store = new Store(new LocalBackend({ root, lockTimeoutMs: 150 }));
    await store.write('busy.txt', 'old');
    await writeFile(lockPath(root, 'busy.txt'), JSON.stringify({ pid: process.pid, host: hostname(), token: 'held' }));
    await expectCode(store.write('busy.txt', 'new'), 'UNAVAILABLE');
    await expectCode(store.delete('busy.txt'), 'UNAVAILABLE');
    expect(await readFile(join(root, 'busy.txt'), 'utf8')).toBe('old');
    expect(await temporaryFiles(root)).toEqual([]);
  });

  it('an abort while waiting for a lock gives ABORTED', async () => {
    const { store, root } = context;
    await writeFile(lockPath(root, 'wait.txt'), JSON.stringify({ pid: process.pid, host: hostname(), token: 'held' }));
    const controller = new AbortController();
    const write = store.write('wait.txt', 'x', { signal: controller.signal });
    setTimeout(() => controller.abort(), 30);
    await expectCode(write, 'ABORTED');
    expect(await temporaryFiles(root)).toEqual([]);
  });

  it('sweeps temporary files of writers that no longer run', async () => {
    const { root } = context;
    const tag = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
    const orphan = join(root, '.stowage', 'tmp', `${tag}.${deadPid()}.0123456789abcdef`);
    await mkdir(join(root, '.stowage', 'tmp'), { recursive: true });
    await writeFile(orphan, 'left behind');
    const store = new Store(new LocalBackend({ root }));
    await store.write('trigger', 'x');
    expect(await temporaryFiles(root)).toEqual([]);
  });
});
