/**
 * `@stowage/sql-blob`: a stowage backend on a SQL table, for SQLite (better-sqlite3), PostgreSQL
 * (pg) and MySQL/MariaDB (mysql2). Install only the driver you use.
 *
 * The table keeps the columns of the Python `remote_store` SQL blob backend (`key`, `data`, `size`,
 * `modified_at`, `content_type`, `digest`, `extra`, `user_metadata`), so its tables open as they
 * are; objects larger than one chunk stream through `<table>_chunks` rows.
 *
 * @example
 * ```ts
 * import { Store } from '@stowage/core'
 * import { SqlBlobBackend } from '@stowage/sql-blob'
 *
 * const store = new Store(await SqlBlobBackend.open({ url: 'sqlite:./store.db' }))
 * await store.write('notes/hello.txt', 'Hello!', { metadata: { author: 'ada' } })
 * ```
 *
 * @module
 */
import { InvalidArgumentError, type AdapterDefinition } from '@stowage/core';
import { SqlBlobBackend, type SqlBlobOptions } from './backend.ts';
import type { JournalMode } from './sqlite.ts';

export {
  DEFAULT_CHUNK_SIZE,
  DEFAULT_TABLE_NAME,
  SQL_BLOB_CAPABILITIES,
  SqlBlobBackend,
  sqlitePath,
  type SqlBlobCapabilities,
  type SqlBlobOptions,
} from './backend.ts';
export type { DialectKind } from './dialect.ts';
export type { JournalMode } from './sqlite.ts';

const OWN_PARAMETERS = ['tableName', 'createTable', 'maxBlobSize', 'chunkSize', 'journalMode'] as const;
const JOURNAL_MODES: readonly JournalMode[] = ['wal', 'delete', 'truncate', 'persist', 'memory', 'off'];

function positive(url: URL, name: string): number | undefined {
  const value = url.searchParams.get(name);
  if (value === null) return undefined;
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number <= 0) throw new InvalidArgumentError(`the ${name} parameter must be a positive integer, got ${JSON.stringify(value)}`, { backend: 'sql-blob' });
  return number;
}

/**
 * Options from a store URL: `sqlite:./store.db`, `sqlite:///abs/store.db`, `sqlite::memory:`,
 * `postgres://user:pass@host:5432/db`, `mysql://user@host/db`, `mariadb://…`. The query parameters
 * `tableName`, `createTable`, `maxBlobSize`, `chunkSize` and `journalMode` set those options and
 * are removed; the others go to the driver with the URL.
 */
export function optionsFromSqlUrl(url: URL): SqlBlobOptions {
  const options: SqlBlobOptions = {};
  const tableName = url.searchParams.get('tableName');
  if (tableName !== null) options.tableName = tableName;
  const createTable = url.searchParams.get('createTable');
  if (createTable !== null) {
    if (!['true', 'false', '1', '0'].includes(createTable)) throw new InvalidArgumentError(`the createTable parameter must be true or false, got ${JSON.stringify(createTable)}`, { backend: 'sql-blob' });
    options.createTable = createTable === 'true' || createTable === '1';
  }
  const maxBlobSize = positive(url, 'maxBlobSize');
  if (maxBlobSize !== undefined) options.maxBlobSize = maxBlobSize;
  const chunkSize = positive(url, 'chunkSize');
  if (chunkSize !== undefined) options.chunkSize = chunkSize;
  const journalMode = url.searchParams.get('journalMode');
  if (journalMode !== null) {
    const mode = journalMode.toLowerCase() as JournalMode;
    if (!JOURNAL_MODES.includes(mode)) throw new InvalidArgumentError(`the journalMode parameter must be one of ${JOURNAL_MODES.join(', ')}, got ${JSON.stringify(journalMode)}`, { backend: 'sql-blob' });
    options.journalMode = mode;
  }
  const rest = new URL(url.href);
  for (const name of OWN_PARAMETERS) rest.searchParams.delete(name);
  options.url = rest.href;
  return options;
}

/** The registry's entry for `sqlite:`, `postgres:`, `postgresql:`, `mysql:` and `mariadb:` URLs and `type: 'sql-blob'`. */
export const adapter: AdapterDefinition<SqlBlobOptions> = {
  name: 'sql-blob',
  schemes: ['sqlite', 'postgres', 'postgresql', 'mysql', 'mariadb'],
  create: (options) => SqlBlobBackend.open(options),
  optionsFromUrl: optionsFromSqlUrl,
  secretOptions: ['url', 'password'],
};
