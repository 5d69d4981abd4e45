/**
 * The reliability checks on SQLite, PostgreSQL and MySQL/MariaDB. The servers are reached through
 * a fault proxy for the connection checks: uploads cut partway (no orphan chunk row may survive,
 * the old object stays), downloads cut midway (resumed by range with retries), aborts while the
 * server does not answer. PostgreSQL runs with a password in its URL (its trust authentication
 * ignores it) and MySQL is also asked with a wrong one, so that the secret scan has a secret to
 * look for.
 */
import { describe, it } from 'vitest';
import { Store } from '@stowage/core';
import type { FaultProxy } from '@stowage/conformance/faults';
import { describeReliability } from '@stowage/conformance/reliability';
import { SqlBlobBackend } from '@stowage/sql-blob';
import { dropTables, openTestBackend, randomTable, serverUrl } from './servers.ts';

const PASSWORD = 'reliability-Secret-9f3c';
/** Small chunks: a 1 MiB upload is 16 chunk rows, so that every cut lands between chunk inserts. */
const CHUNK_SIZE = 64 * 1024;

describeReliability({
  name: 'sql-blob sqlite',
  factory: () => openTestBackend('sqlite', undefined, { chunkSize: 4096 }),
  races: { bodySize: 3 * 4096 + 1 },
  keys: { timeLimitMs: 15_000 },
});

/** Opens the proxied and the direct backend on one fresh table; the leftovers are chunk rows no object points at. */
function faultStores(url: string) {
  return async (proxy: FaultProxy) => {
    const table = randomTable();
    const direct = await SqlBlobBackend.open({ url, tableName: table, chunkSize: CHUNK_SIZE });
    const proxied = await SqlBlobBackend.open({ url: proxy.url(url), tableName: table, chunkSize: CHUNK_SIZE });
    return {
      proxied: new Store(proxied),
      direct: new Store(direct),
      leftovers: async () => {
        const swept = await direct.sweepOrphanChunks({ olderThan: 0 });
        return swept.versions === 0 ? [] : [`${swept.versions} chunk versions (${swept.bytes} bytes) that no object points at`];
      },
      teardown: async () => {
        await proxied.close();
        try {
          await dropTables(direct, table);
        } finally {
          await direct.close();
        }
      },
    };
  };
}

for (const database of ['postgres', 'mysql'] as const) {
  const server = await serverUrl(database);
  if (server.url === undefined) {
    describe(`stowage reliability: sql-blob ${database}`, () => {
      it.skip(`reliability: ${server.skip}`, () => {});
    });
    continue;
  }
  const base = new URL(server.url);
  // PostgreSQL's trust authentication ignores the password, so it can ride along as a secret to keep.
  const url = database === 'postgres' && !base.password ? Object.assign(new URL(base.href), { password: PASSWORD }).href : base.href;
  const secrets = [PASSWORD, decodeURIComponent(base.password)].filter((secret) => secret.length > 0);
  const wrongPassword = Object.assign(new URL(base.href), { password: PASSWORD, username: base.username || 'root' }).href;
  describeReliability({
    name: `sql-blob ${database}`,
    factory: () => openTestBackend(database, url, { chunkSize: 4096 }),
    races: { bodySize: 3 * 4096 + 1 },
    keys: { timeLimitMs: 15_000 },
    faults: { target: url, open: faultStores(url), uploadSize: 1024 * 1024, downloadSize: 1024 * 1024, trials: 4 },
    secrets,
    failures: database === 'mysql' ? [() => SqlBlobBackend.open({ url: wrongPassword, tableName: randomTable() })] : [],
  });
}
