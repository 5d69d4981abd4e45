/**
 * `store.sweep()` on local: what crashed writers left under `.stowage` is found, reported and
 * removed (temporary files, locks and lock files being created whose owner is gone, another host's
 * once old enough, metadata records of versions no longer at their key); what a live writer holds
 * stays; a dry run removes nothing; objects are never touched.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store } from '@stowage/core';
import { LocalBackend } from '@stowage/local';
import { deadPid, lockPath, temporaryFiles, useTestRoot } from './helpers.ts';

const context = useTestRoot();
const TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
const HOUR = 3_600_000;

async function age(path: string, ms: number): Promise<void> {
  const past = new Date(Date.now() - ms);
  await utimes(path, past, past);
}

/** Plants one leftover of every kind a crash can leave, and what a live writer holds. */
async function plant(root: string): Promise<{ dead: number }> {
  const dead = deadPid();
  const tmp = join(root, '.stowage', 'tmp');
  const locks = join(root, '.stowage', 'locks');
  await mkdir(tmp, { recursive: true });
  await writeFile(join(tmp, `${TAG}.${dead}.00112233aabbccdd`), 'a dead writer’s body');
  await writeFile(join(tmp, `${TAG}.${process.pid}.live00000000live`), 'a live writer’s body');
  await writeFile(join(tmp, `0badc0de.4242.00112233aabbccdd`), 'another host’s, old');
  await age(join(tmp, `0badc0de.4242.00112233aabbccdd`), 2 * HOUR);
  await writeFile(join(tmp, `0badc0de.4243.00112233aabbccdd`), 'another host’s, young');
  await writeFile(lockPath(root, 'dead-owner'), JSON.stringify({ pid: dead, host: hostname(), token: 't1' }));
  await writeFile(lockPath(root, 'live-owner'), JSON.stringify({ pid: process.pid, host: hostname(), token: 't2' }));
  await writeFile(lockPath(root, 'other-host'), JSON.stringify({ pid: 1, host: 'elsewhere', token: 't3' }));
  await age(lockPath(root, 'other-host'), 2 * HOUR);
  // A lock being created by a writer that was killed before it linked it into place.
  await writeFile(`${lockPath(root, 'pending')}.${TAG}.${dead}.0a0b0c0d0e0f.new`, JSON.stringify({ pid: dead, host: hostname(), token: 't4' }));
  return { dead };
}

describe('sweep', () => {
  it('reports every leftover whose owner is gone or that is old enough, and a dry run removes nothing', async () => {
    const { root, store } = context;
    await store.write('object.txt', 'kept');
    await plant(root);
    const before = (await readdir(join(root, '.stowage', 'locks'))).sort();
    const report = await store.sweep({ olderThanMs: HOUR, dryRun: true });
    expect(report).toMatchObject({ backend: 'local', dryRun: true, olderThanMs: HOUR, removed: 0 });
    const found = report.items.map((item) => [item.kind, item.reason]).sort();
    expect(found).toEqual([
      ['lock', 'age'],
      ['lock', 'owner-gone'],
      ['lock', 'owner-gone'],
      ['temporary-file', 'age'],
      ['temporary-file', 'owner-gone'],
    ]);
    expect(report.kinds.map((kind) => [kind.kind, kind.found])).toEqual([
      ['temporary-file', 2],
      ['lock', 3],
      ['metadata-record', 0],
    ]);
    expect((await readdir(join(root, '.stowage', 'locks'))).sort()).toEqual(before);
    expect(await temporaryFiles(root)).toHaveLength(4);
  });

  it('removes them, keeps what live writers hold and what is too young, and never touches an object', async () => {
    const { root, store } = context;
    const written = await store.write('object.txt', 'kept');
    await plant(root);
    const report = await store.sweep({ olderThanMs: HOUR });
    expect(report).toMatchObject({ found: 5, removed: 5 });
    expect((await temporaryFiles(root)).sort()).toEqual([`0badc0de.4243.00112233aabbccdd`, `${TAG}.${process.pid}.live00000000live`]);
    expect(await readdir(join(root, '.stowage', 'locks'))).toEqual([`${createHash('sha256').update('live-owner').digest('hex')}.lock`]);
    expect(await store.stat('object.txt')).toEqual(written);
    // olderThanMs 0 takes the other host's young file too, but never what a live writer of this machine holds.
    const all = await store.sweep({ olderThanMs: 0 });
    expect(all.items.map((item) => item.id)).toEqual([`0badc0de.4243.00112233aabbccdd`]);
    expect(await readFile(lockPath(root, 'live-owner'), 'utf8')).toContain('"t2"');
  });

  it('the first write of a backend removes what dead writers of this machine left, and nothing else', async () => {
    const { root } = context;
    await plant(root);
    const store = new Store(new LocalBackend({ root }));
    await store.write('trigger', 'x');
    expect((await temporaryFiles(root)).sort()).toEqual([`0badc0de.4242.00112233aabbccdd`, `0badc0de.4243.00112233aabbccdd`, `${TAG}.${process.pid}.live00000000live`]);
    expect((await readdir(join(root, '.stowage', 'locks'))).sort()).toEqual(
      [`${createHash('sha256').update('live-owner').digest('hex')}.lock`, `${createHash('sha256').update('other-host').digest('hex')}.lock`].sort(),
    );
  });

  it('removes metadata records of versions no longer at their key, under the key’s lock, only under the store’s root', async () => {
    const { root, store } = context;
    await store.write('a/one.txt', 'one', { metadata: { v: '1' } });
    await store.write('b/two.txt', 'two', { metadata: { v: '2' } });
    // What a writer killed between writing the record and renaming its file leaves: a record for an inode that never arrived.
    const planted: string[] = [];
    for (const key of ['a/one.txt', 'b/two.txt']) {
      const hash = createHash('sha256').update(key).digest('hex');
      const dir = join(root, '.stowage', 'meta', hash.slice(0, 2), hash);
      const [current] = await readdir(dir);
      const record = JSON.parse(await readFile(join(dir, current!), 'utf8')) as Record<string, unknown>;
      await writeFile(join(dir, '999999999.json'), JSON.stringify({ ...record, ino: '999999999' }));
      planted.push(join(dir, '999999999.json'));
    }
    const rooted = await store.at('a/').sweep();
    expect(rooted.items.map((item) => [item.kind, item.key, item.reason])).toEqual([['metadata-record', 'one.txt', 'orphan']]);
    await expect(readFile(planted[0]!)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readFile(planted[1]!, 'utf8')).toContain('999999999');
    expect(await store.stat('a/one.txt')).toMatchObject({ metadata: { v: '1' } });
    expect(await store.stat('b/two.txt')).toMatchObject({ metadata: { v: '2' } });
  });

  it('an empty lock (left by a writer on a filesystem without hard links) is broken once older than staleLockMs', async () => {
    const { root } = context;
    const store = new Store(new LocalBackend({ root, staleLockMs: 1000, lockTimeoutMs: 10_000 }));
    await mkdir(join(root, '.stowage', 'locks'), { recursive: true });
    await writeFile(lockPath(root, 'empty.txt'), '');
    expect((await store.sweep({ olderThanMs: HOUR, dryRun: true })).items).toEqual([]);
    await age(lockPath(root, 'empty.txt'), 5000);
    expect((await store.sweep({ olderThanMs: HOUR })).items).toMatchObject([{ kind: 'lock', reason: 'age', removed: true }]);
    await store.write('empty.txt', 'x', { ifNoneMatch: '*' });
  });
});
