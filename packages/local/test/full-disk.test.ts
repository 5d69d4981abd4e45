/**
 * A local store on a real, small filesystem (a 4 MiB tmpfs; mounting one needs root or
 * passwordless sudo, else the tests are skipped with the reason, and fail where servers are
 * required): a write that meets a full disk fails with STORAGE_FULL naming what is full, leaves the
 * old object and nothing else, deletes still work (they are how space is freed), and writes work
 * again once space is freed.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '@stowage/core';
import { mountSmallFilesystem, type SmallFilesystem } from '@stowage/conformance/servers';
import { LocalBackend } from '@stowage/local';
import { expectCode, temporaryFiles } from './helpers.ts';

const mounted = await mountSmallFilesystem(4 * 1024 * 1024);
let filesystem: SmallFilesystem;

beforeAll(() => {
  if (mounted.filesystem) filesystem = mounted.filesystem;
});
afterAll(async () => {
  await mounted.filesystem?.unmount();
});

describe.skipIf(mounted.skip !== undefined)(`local on a full disk${mounted.skip ? ` (skipped: ${mounted.skip})` : ''}`, () => {
  it('fails with STORAGE_FULL, keeps the old object, leaves nothing, deletes still work, and recovers once space is freed', async () => {
    const root = join(filesystem.path, 'store');
    const store = new Store(new LocalBackend({ root }));
    await store.write('kept.txt', 'old');
    await store.write('victim.bin', new Uint8Array(512 * 1024).fill(1));
    const ballast = await filesystem.fill();
    expect(await filesystem.free()).toBe(0);

    const error = await expectCode(store.write('kept.txt', new Uint8Array(1024 * 1024).fill(2)), 'STORAGE_FULL');
    expect(error.message).toMatch(/no space left on the filesystem that holds ".*store" \(ENOSPC\)/);
    expect((error as unknown as { retryable: boolean }).retryable).toBe(false);
    expect(await store.readText('kept.txt')).toBe('old');
    expect(await temporaryFiles(root)).toEqual([]);
    // Even a small create-only write: the lock and the metadata need room too.
    await expectCode(store.write('new.txt', 'x'.repeat(8192), { ifNoneMatch: '*' }), 'STORAGE_FULL');
    expect(await store.exists('new.txt')).toBe(false);

    // Deleting on a full disk works (its lock is made without room to spare) and frees the space.
    await store.delete('victim.bin');
    expect(await store.exists('victim.bin')).toBe(false);
    expect(await readdir(join(root, '.stowage', 'locks'))).toEqual([]);
    await store.write('kept.txt', 'after the delete');
    expect(await store.readText('kept.txt')).toBe('after the delete');

    await ballast.release();
    await store.write('big.bin', new Uint8Array(1024 * 1024).fill(3));
    expect((await store.stat('big.bin')).size).toBe(1024 * 1024);
    const report = await store.sweep({ olderThanMs: 0, dryRun: true });
    expect(report.items).toEqual([]);
    expect(await temporaryFiles(root)).toEqual([]);
  });
});
