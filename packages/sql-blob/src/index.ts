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
import type { AdapterDefinition } from '@stowage/core';
import { SqlBlobBackend, type SqlBlobOptions } from './backend.ts';
import { optionsFromSqlUrl } from './url.ts';

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
export { DRIVER_URL_PARAMETERS, optionsFromSqlUrl } from './url.ts';

/** The registry's entry for `sqlite:`, `postgres:`, `postgresql:`, `mysql:` and `mariadb:` URLs and `type: 'sql-blob'`. */
export const adapter: AdapterDefinition<SqlBlobOptions> = {
  name: 'sql-blob',
  schemes: ['sqlite', 'postgres', 'postgresql', 'mysql', 'mariadb'],
  create: (options, context) => SqlBlobBackend.open(options, context),
  optionsFromUrl: optionsFromSqlUrl,
  secretOptions: ['url', 'password'],
};
