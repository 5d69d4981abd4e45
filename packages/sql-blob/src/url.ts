/**
 * The query parameters of SQL store URLs: stowage's own, and those that go on to the driver.
 *
 * @module
 */
import { readUrlParameters, type DriverParameters } from '@stowage/core';
import type { SqlBlobOptions } from './backend.ts';

/** The query parameters stowage reads from a SQL store URL (and removes before the driver sees it). */
const URL_PARAMETERS = {
  tableName: 'string',
  createTable: 'boolean',
  maxBlobSize: 'positiveInteger',
  chunkSize: 'positiveInteger',
  inlineOnly: 'boolean',
  journalMode: ['wal', 'delete', 'truncate', 'persist', 'memory', 'off'],
  autoSweep: 'boolean',
} as const satisfies Record<string, unknown>;

/**
 * The query parameters each driver reads from a connection URL, passed on to it unchanged; any other
 * name is refused. better-sqlite3 reads none.
 */
export const DRIVER_URL_PARAMETERS: Readonly<Record<'postgres' | 'mysql', DriverParameters>> = {
  postgres: {
    driver: 'the pg driver',
    names: [
      'ssl', 'sslmode', 'sslcert', 'sslkey', 'sslrootcert', 'sslnegotiation', 'uselibpqcompat', 'application_name', 'fallback_application_name',
      'options', 'client_encoding', 'encoding', 'statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout', 'query_timeout',
      'keepalives', 'keepalives_idle', 'host', 'port', 'user', 'password', 'db', 'replication', 'binary',
    ],
  },
  mysql: {
    driver: 'the mysql2 driver',
    names: [
      'ssl', 'charset', 'timezone', 'connectTimeout', 'compress', 'socketPath', 'localAddress', 'enableKeepAlive', 'keepAliveInitialDelay',
      'connectionLimit', 'maxIdle', 'idleTimeout', 'queueLimit', 'waitForConnections', 'dateStrings', 'decimalNumbers', 'bigNumberStrings',
      'supportBigNumbers', 'jsonStrings', 'multipleStatements', 'namedPlaceholders', 'insecureAuth', 'enableCleartextPlugin', 'flags',
      'maxPreparedStatements', 'connectAttributes', 'password1', 'password2', 'password3', 'debug', 'trace',
    ],
  },
};

/**
 * Options from a store URL: `sqlite:./store.db`, `sqlite:///abs/store.db`, `sqlite::memory:`,
 * `postgres://user:pass@host:5432/db`, `mysql://user@host/db`, `mariadb://…`. The query parameters
 * `tableName`, `createTable`, `maxBlobSize`, `chunkSize`, `inlineOnly`, `journalMode` and `autoSweep` set those options and
 * are removed; those of {@link DRIVER_URL_PARAMETERS} go on to pg or mysql2 with the URL; any other
 * is refused, with the closest known name.
 */
export function optionsFromSqlUrl(url: URL): SqlBlobOptions {
  const scheme = url.protocol.replace(/:$/, '').toLowerCase();
  const driver = scheme === 'postgres' || scheme === 'postgresql' ? DRIVER_URL_PARAMETERS.postgres : scheme === 'mysql' || scheme === 'mariadb' ? DRIVER_URL_PARAMETERS.mysql : undefined;
  const { values, rest } = readUrlParameters(url, URL_PARAMETERS, { backend: 'sql-blob', driver });
  return { ...values, url: rest.href };
}
