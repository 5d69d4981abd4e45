/**
 * The contract across processes on SQLite, PostgreSQL and MySQL/MariaDB, through the kit's
 * cross-process checks: 20 Node processes, each with its own backend on one table, race
 * create-only and compare-and-swap writes on one key (exactly one wins) and increment one counter
 * (no update lost); writers SIGKILLed during a 20 MiB overwrite (20 chunk rows of 1 MiB) leave the
 * old or the new object, and after the next open and write no chunk version that no row points at
 * is left (read with plain SQL) and a sweep finds nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import type { Store } from '@stowage/core';
import { describeProcesses } from '@stowage/conformance/processes';
import { SqlBlobBackend } from '@stowage/sql-blob';
import { dropTables, randomTable, testDatabases, unreferencedChunks } from './servers.ts';

/** Chunk versions no row points at, as leftovers. */
function leftoverChunks(table: string) {
  return async (store: Store): Promise<string[]> => (await unreferencedChunks(store.backend as unknown as SqlBlobBackend, table)).map((chunks) => `chunks: ${chunks}`);
}

for (const { database, url, skip } of await testDatabases()) {
  if (skip !== undefined) {
    describe(`stowage across processes: sql-blob ${database}`, () => {
      it.skip(`across processes: ${skip}`, () => {});
    });
    continue;
  }
  describeProcesses({
    name: `sql-blob ${database}`,
    // A server's write is a round trip per chunk: fewer trials keep the run near a minute on two cores.
    kills: { trials: database === 'sqlite' ? 30 : 24 },
    fixture: async () => {
      const table = randomTable();
      if (database === 'sqlite') {
        const directory = await mkdtemp(join(tmpdir(), 'stowage-sql-blob-processes-'));
        return {
          child: { url: `sqlite:${join(directory, 'store.db')}?tableName=${table}` },
          leftovers: leftoverChunks(table),
          teardown: () => rm(directory, { recursive: true, force: true }),
        };
      }
      const target = new URL(url!);
      target.searchParams.set('tableName', table);
      return {
        child: { url: target.href },
        leftovers: leftoverChunks(table),
        teardown: async () => {
          const backend = await SqlBlobBackend.open({ url: url!, tableName: table });
          try {
            await dropTables(backend, table);
          } finally {
            await backend.close();
          }
        },
      };
    },
  });
}
