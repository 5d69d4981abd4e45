/**
 * The stores the handler's guarantees are checked on: memory, a local folder, and the SQL blob
 * backend on SQLite, PostgreSQL and MySQL/MariaDB (`STOWAGE_TEST_POSTGRES_URL` /
 * `STOWAGE_TEST_MYSQL_URL`, else the machine's servers; an unreachable one is skipped with its
 * reason, and fails the run under `STOWAGE_TEST_REQUIRE_SERVERS`).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '@stowage/core';
import { serverRequired, tcpAnswers } from '@stowage/conformance/servers';
import { LocalBackend } from '@stowage/local';
import { MemoryBackend } from '@stowage/memory';
import { SqlBlobBackend } from '@stowage/sql-blob';

/** A fresh, empty store and how to remove it. */
export interface OpenedStore {
  store: Store;
  /** The local folder of a `local` store. */
  directory?: string | undefined;
  close(): Promise<void>;
}

/** One backend to serve. */
export interface StoreFactory {
  name: string;
  /** Why this backend's tests are skipped, if they are. */
  skip?: string | undefined;
  open(): Promise<OpenedStore>;
}

async function reachable(name: 'postgres' | 'mysql'): Promise<{ url: string; skip?: undefined } | { url?: undefined; skip: string }> {
  const variable = name === 'postgres' ? 'STOWAGE_TEST_POSTGRES_URL' : 'STOWAGE_TEST_MYSQL_URL';
  const url = process.env[variable] || (name === 'postgres' ? 'postgres://postgres@127.0.0.1:5432/test' : 'mysql://root@127.0.0.1:3306/test');
  const parsed = new URL(url);
  if (await tcpAnswers(parsed.hostname || '127.0.0.1', Number(parsed.port || (name === 'postgres' ? 5432 : 3306)))) return { url };
  const reason = `${name} is not reachable at ${parsed.host} (set ${variable})`;
  if (serverRequired(name)) throw new Error(`${reason}; STOWAGE_TEST_REQUIRE_SERVERS requires it`);
  return { skip: reason };
}

function sqlServer(name: 'postgres' | 'mysql', server: Awaited<ReturnType<typeof reachable>>): StoreFactory {
  return {
    name: `sql-blob ${name}`,
    skip: server.skip,
    async open() {
      const tableName = `stowage_http_${randomBytes(5).toString('hex')}`;
      const backend = await SqlBlobBackend.open({ url: server.url!, tableName });
      return {
        store: new Store(backend),
        async close() {
          const client = backend.unwrap() as { query(sql: string): Promise<unknown> };
          const quote = name === 'mysql' ? '`' : '"';
          for (const table of [tableName, `${tableName}_chunks`]) await client.query(`DROP TABLE IF EXISTS ${quote}${table}${quote}`);
          await backend.close();
        },
      };
    },
  };
}

/** Every store the handler is checked on. */
export const STORES: readonly StoreFactory[] = [
  { name: 'memory', open: async () => ({ store: new Store(new MemoryBackend()), close: async () => {} }) },
  {
    name: 'local',
    async open() {
      const directory = await mkdtemp(join(tmpdir(), 'stowage-http-local-'));
      const store = new Store(new LocalBackend({ root: directory }));
      return { store, directory, close: () => rm(directory, { recursive: true, force: true }) };
    },
  },
  {
    name: 'sql-blob sqlite',
    async open() {
      const directory = await mkdtemp(join(tmpdir(), 'stowage-http-sqlite-'));
      const backend = await SqlBlobBackend.open({ url: `sqlite:${join(directory, 'store.db')}` });
      return {
        store: new Store(backend),
        async close() {
          await backend.close();
          await rm(directory, { recursive: true, force: true });
        },
      };
    },
  },
  sqlServer('postgres', await reachable('postgres')),
  sqlServer('mysql', await reachable('mysql')),
];
