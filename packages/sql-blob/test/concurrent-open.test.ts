/**
 * Many processes starting at once on a table that does not exist yet (a deployment's first start):
 * each opens it, whichever creates it. On PostgreSQL `CREATE TABLE IF NOT EXISTS` is not safe
 * against a concurrent creation of the same name (it fails with a unique violation on the catalog);
 * the loser must see the table the winner made.
 */
import { describe, expect, it } from 'vitest';
import { SqlBlobBackend } from '@stowage/sql-blob';
import { dropTables, randomTable, serverUrl } from './servers.ts';

for (const database of ['postgres', 'mysql'] as const) {
  const server = await serverUrl(database);
  describe.skipIf(server.url === undefined)(`sql-blob ${database}: opened at once by many${server.skip ? ` (${server.skip})` : ''}`, () => {
    it('20 backends opening one new table at once all open it', async () => {
      for (let round = 0; round < 3; round++) {
        const table = randomTable();
        const results = await Promise.allSettled(Array.from({ length: 20 }, () => SqlBlobBackend.open({ url: server.url!, tableName: table })));
        const opened = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
        try {
          expect(results.flatMap((result) => (result.status === 'rejected' ? [String(result.reason)] : []))).toEqual([]);
        } finally {
          if (opened[0]) await dropTables(opened[0], table);
          await Promise.all(opened.map((backend) => backend.close()));
        }
      }
    }, 60_000);
  });
}
