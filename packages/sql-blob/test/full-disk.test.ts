/**
 * SQLite when it cannot grow: a database capped by `max_page_count` (SQLite's own SQLITE_FULL, no
 * mount needed) fails a write with STORAGE_FULL saying what is full, and keeps the old object.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { Store, isStowageError } from '@stowage/core';
import { SqlBlobBackend } from '@stowage/sql-blob';

const directories: string[] = [];
afterAll(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<Error & { code?: string; retryable?: boolean }> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof Error)) throw new Error('expected the operation to fail');
  return error;
}

describe('sql-blob:sqlite on a database that cannot grow', () => {
  it('fails with STORAGE_FULL (not TOO_LARGE), not retryable, and keeps the old object', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'stowage-sqlite-full-'));
    directories.push(directory);
    const database = new Database(join(directory, 'store.db'));
    database.pragma('journal_mode = wal');
    const backend = await SqlBlobBackend.open({ client: database, chunkSize: 64 * 1024 });
    const store = new Store(backend);
    await store.write('kept.txt', 'old');
    const pages = Number(database.pragma('page_count', { simple: true }));
    database.pragma(`max_page_count = ${pages + 8}`);

    const error = await failure(store.write('kept.txt', new Uint8Array(1024 * 1024).fill(7)));
    expect(isStowageError(error, 'STORAGE_FULL'), error.message).toBe(true);
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/SQLite database is full/);
    expect(await store.readText('kept.txt')).toBe('old');
    database.close();
  });
});
