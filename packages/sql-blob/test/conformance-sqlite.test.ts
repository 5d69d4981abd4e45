/**
 * SQLite against the whole conformance suite: a database file in WAL mode with the default 1 MiB
 * chunks (bare and rooted) and with 4 KiB chunks, so that chunked objects, range reads across
 * chunks and chunk copies are exercised by every case; then the modes without read snapshots (a
 * rollback journal, and `:memory:`), with 4 KiB chunks.
 */
import { Store } from '@stowage/core';
import { describeConformance } from '@stowage/conformance/vitest';
import { SqlBlobBackend } from '@stowage/sql-blob';
import { openTestBackend } from './servers.ts';

describeConformance({ name: 'sql-blob sqlite', factory: () => openTestBackend('sqlite', undefined) });
describeConformance({ name: 'sql-blob sqlite (4 KiB chunks)', rooted: false, factory: () => openTestBackend('sqlite', undefined, { chunkSize: 4096 }) });
describeConformance({
  name: 'sql-blob sqlite (journal_mode=delete, 4 KiB chunks)',
  rooted: false,
  factory: () => openTestBackend('sqlite', undefined, { chunkSize: 4096, journalMode: 'delete' }),
});
describeConformance({
  name: 'sql-blob sqlite (:memory:, 4 KiB chunks)',
  rooted: false,
  factory: async () => {
    const backend = await SqlBlobBackend.open({ url: 'sqlite::memory:', chunkSize: 4096 });
    return { store: new Store(backend), teardown: () => backend.close() };
  },
});
