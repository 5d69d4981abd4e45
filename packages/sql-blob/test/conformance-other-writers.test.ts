/**
 * The conformance kit's `other-writers` group on every reachable database: the SQL the Python
 * `remote_store` backend issues (and plain copies and deletes) beside stowage, on 4 KiB chunks so
 * that chunked objects are among those overwritten. On MySQL/MariaDB also on a table created with
 * a `VARCHAR` key column and its default collation: stowage refuses it at open (it would merge
 * `a` and `A`), and once converted as the refusal says, the group passes on it.
 */
import { describe, expect, it } from 'vitest';
import { Store } from '@stowage/core';
import { describeOtherWriters } from '@stowage/conformance/vitest';
import { SqlBlobBackend } from '@stowage/sql-blob';
import { asOtherWriter, openRemoteStoreWriter, openWithOtherWriter } from './remote-store-writer.ts';
import { dropTables, openTestBackend, randomTable, testDatabases } from './servers.ts';

const chunkSize = 4096;

/** What a plain-SQL copy cannot carry, whoever reads the copy (remote_store sees the same). */
const overrides = {
  'other-writers/copy/chunked':
    "a plain-SQL copy of an object's row (INSERT … SELECT on the main table, as a migration script or remote_store does) carries no chunks: they stay in the chunk table under the source key, so the copy holds the row's data column (empty) and is served as such, with a size to match and no digest, never the source's chunks",
};

for (const { database, url, skip } of await testDatabases()) {
  if (skip !== undefined) {
    describe(`sql-blob ${database}`, () => {
      it.skip(`other writers: ${skip}`, () => {});
    });
    continue;
  }
  describeOtherWriters({ name: `sql-blob ${database}`, chunkSize, overrides, factory: () => openWithOtherWriter(database, url, { chunkSize }) });
  if (database !== 'mysql') continue;
  describeOtherWriters({
    name: 'sql-blob mysql (a VARCHAR key column with its default collation, converted as the refusal says)',
    chunkSize,
    overrides,
    rooted: false,
    factory: async () => {
      const setup = await openTestBackend('mysql', url, { chunkSize });
      const client = setup.backend.unwrap() as { query: (sql: string) => Promise<unknown> };
      const table = randomTable();
      await client.query(`CREATE TABLE ${table} (\`key\` VARCHAR(255) NOT NULL PRIMARY KEY, data LONGBLOB NOT NULL, size BIGINT, modified_at DOUBLE, content_type VARCHAR(255), digest VARCHAR(255), extra TEXT, user_metadata TEXT)`);
      const refused = await SqlBlobBackend.open({ client, tableName: table, createTable: false, chunkSize }).catch((error: unknown) => error);
      expect(refused).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/cannot keep keys byte-exact/) });
      const conversion = /(ALTER TABLE .*?)(?: \(|$)/.exec((refused as Error).message)?.[1];
      expect(conversion).toBeDefined();
      await client.query(conversion!);
      const backend = await SqlBlobBackend.open({ client, tableName: table, chunkSize });
      const writer = await openRemoteStoreWriter(backend, table);
      return {
        store: new Store(backend),
        otherWriter: asOtherWriter(writer),
        teardown: async () => {
          await backend.close();
          await dropTables(setup.backend, table);
          await setup.teardown();
        },
      };
    },
  });
}
