/**
 * Where the tests find their databases: `STOWAGE_TEST_POSTGRES_URL` / `STOWAGE_TEST_MYSQL_URL`,
 * else the machine's local servers. An unreachable server skips its tests with a reason, except
 * with `STOWAGE_TEST_REQUIRE_SERVERS=1` (CI; or a list such as `postgres`), where it fails the run.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, isStowageError } from '@stowage/core';
import { tcpAnswers } from '@stowage/conformance/servers';
import { SqlBlobBackend, type SqlBlobCapabilities, type SqlBlobOptions } from '@stowage/sql-blob';
import { parseExtra } from '../src/rows.ts';

/** The databases the tests run on. */
export type TestDatabase = 'sqlite' | 'postgres' | 'mysql';

const DEFAULT_URLS = {
  postgres: 'postgres://postgres@127.0.0.1:5432/test',
  mysql: 'mysql://root@127.0.0.1:3306/test',
} as const;

/** The server's URL, or the reason to skip its tests (a failure when servers are required). */
export async function serverUrl(database: 'postgres' | 'mysql'): Promise<{ url: string; skip?: undefined } | { url?: undefined; skip: string }> {
  const variable = database === 'postgres' ? 'STOWAGE_TEST_POSTGRES_URL' : 'STOWAGE_TEST_MYSQL_URL';
  const url = process.env[variable] || DEFAULT_URLS[database];
  const parsed = new URL(url);
  if (await tcpAnswers(parsed.hostname || '127.0.0.1', Number(parsed.port || (database === 'postgres' ? 5432 : 3306)))) return { url };
  const reason = `${database === 'postgres' ? 'PostgreSQL' : 'MySQL/MariaDB'} is not reachable at ${new URL(url).host} (set ${variable})`;
  // `1` requires every server; a comma-separated list (`postgres,mysql`) only those named.
  const required = (process.env.STOWAGE_TEST_REQUIRE_SERVERS ?? '').split(',').map((name) => name.trim());
  if (required.includes('1') || required.includes(database)) throw new Error(`${reason}; STOWAGE_TEST_REQUIRE_SERVERS=1 requires it`);
  return { skip: reason };
}

/** A random table name, so that runs never collide. */
export function randomTable(): string {
  return `stowage_test_${randomBytes(6).toString('hex')}`;
}

/** Drops a test table and its chunk table through the backend's own driver. */
export async function dropTables(backend: SqlBlobBackend, table: string): Promise<void> {
  const client = backend.unwrap() as { exec?: (sql: string) => void; query?: (sql: string) => Promise<unknown> };
  const quote = backend.name === 'sql-blob:mysql' ? (name: string) => `\`${name}\`` : (name: string) => `"${name}"`;
  for (const name of [table, `${table}_chunks`]) {
    const sql = `DROP TABLE IF EXISTS ${quote(name)}`;
    if (typeof client.exec === 'function') client.exec(sql);
    else await client.query!(sql);
  }
}

/** The rows a query selects, through the backend's own driver. */
async function selectRows(backend: Pick<SqlBlobBackend, 'unwrap'>, sql: string): Promise<Record<string, unknown>[]> {
  const client = backend.unwrap() as { prepare?: (sql: string) => { all(): Record<string, unknown>[] }; query?: (sql: string) => Promise<unknown> };
  if (client.prepare) return client.prepare(sql).all();
  const result = await client.query!(sql);
  return Array.isArray(result) ? (result[0] as Record<string, unknown>[]) : (result as { rows: Record<string, unknown>[] }).rows;
}

/** The rows of a test table's chunk table, counted through the backend's own driver. */
export async function chunkRows(backend: Pick<SqlBlobBackend, 'name' | 'unwrap'>, table: string): Promise<number> {
  const quoted = backend.name === 'sql-blob:mysql' ? `\`${table}_chunks\`` : `"${table}_chunks"`;
  const [row] = await selectRows(backend, `SELECT COUNT(*) AS n FROM ${quoted}`);
  return Number(row!.n);
}

/**
 * The chunk versions of a test table that no row points at (each as `key version: rows`), read
 * with plain SQL beside the backend: what a failed or killed write left.
 */
export async function unreferencedChunks(backend: Pick<SqlBlobBackend, 'name' | 'unwrap'>, table: string): Promise<string[]> {
  const quote = backend.name === 'sql-blob:mysql' ? (name: string) => `\`${name}\`` : (name: string) => `"${name}"`;
  const text = (value: unknown): string => (value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : String(value));
  const referenced = new Set<string>();
  for (const row of await selectRows(backend, `SELECT ${quote('key')} AS k, extra AS x FROM ${quote(table)}`)) {
    const version = parseExtra(row.x)?.version;
    if (version !== undefined) referenced.add(`${text(row.k)}\0${version}`);
  }
  const chunks = await selectRows(backend, `SELECT ${quote('key')} AS k, version AS v, COUNT(*) AS n FROM ${quote(`${table}_chunks`)} GROUP BY ${quote('key')}, version`);
  return chunks.filter((row) => !referenced.has(`${text(row.k)}\0${text(row.v)}`)).map((row) => `${text(row.k)} ${text(row.v)}: ${Number(row.n)} rows`);
}

/** A fresh backend on its own table (SQLite: its own file), and how to remove it all. */
export async function openTestBackend(
  database: TestDatabase,
  url: string | undefined,
  options: Omit<SqlBlobOptions, 'url' | 'client'> = {},
): Promise<{ backend: SqlBlobBackend; store: Store<SqlBlobCapabilities>; table: string; teardown: () => Promise<void> }> {
  const table = options.tableName ?? randomTable();
  let directory: string | undefined;
  let target = url;
  if (database === 'sqlite') {
    directory = await mkdtemp(join(tmpdir(), 'stowage-sql-blob-'));
    target = `sqlite:${join(directory, 'store.db')}`;
  }
  const backend = await SqlBlobBackend.open({ ...options, url: target!, tableName: table });
  return {
    backend,
    store: new Store(backend),
    table,
    teardown: async () => {
      try {
        if (!directory) await dropTables(backend, table);
      } finally {
        await backend.close();
        if (directory) await rm(directory, { recursive: true, force: true });
      }
    },
  };
}

/** Every database the tests run on, with its URL or the reason to skip it. */
export async function testDatabases(): Promise<{ database: TestDatabase; url: string | undefined; skip: string | undefined }[]> {
  const postgres = await serverUrl('postgres');
  const mysql = await serverUrl('mysql');
  return [
    { database: 'sqlite', url: undefined, skip: undefined },
    { database: 'postgres', url: postgres.url, skip: postgres.skip },
    { database: 'mysql', url: mysql.url, skip: mysql.skip },
  ];
}

/** The stowage error code a promise fails with, or `OK`; other errors are thrown. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'OK';
  } catch (error) {
    if (isStowageError(error)) return error.code;
    throw error;
  }
}
