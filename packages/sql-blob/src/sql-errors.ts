/**
 * Database errors mapped onto stowage's codes, for all three drivers.
 *
 * @module
 */
import { AbortedError, ErrorCode, createError, isStowageError, type StowageError } from '@stowage/core';

const UNAVAILABLE_NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'PROTOCOL_CONNECTION_LOST', 'POOL_CLOSED']);
// MySQL/MariaDB errno: deadlock, lock wait timeout, too many connections, server shutdown, lost connection.
const MYSQL_UNAVAILABLE = new Set([1205, 1213, 1040, 1053, 1077, 1927, 2002, 2003, 2006, 2013]);
const MYSQL_PERMISSION = new Set([1044, 1045, 1142, 1143, 1227, 1370, 1698]);

/**
 * A configuration that names something missing (a database the server does not have, a folder that
 * does not exist): not transient, so never `UNAVAILABLE`, and the message says what to fix.
 */
function misconfiguration(error: unknown): string | undefined {
  const native = error as { code?: unknown; errno?: unknown; message?: unknown } | null;
  const message = typeof native?.message === 'string' ? native.message : '';
  if (native?.code === '3D000' || (native?.errno === 1049 && native?.code === 'ER_BAD_DB_ERROR')) {
    return 'create that database on the server, or name an existing one in the URL (postgres://user@host:5432/DATABASE, mysql://user@host:3306/DATABASE)';
  }
  if (/Cannot open database because the directory does not exist/.test(message)) return 'create the folder the SQLite file goes in, or correct the path in the URL';
  return undefined;
}

/** MySQL/MariaDB: the server's disk is full (1021 ER_DISK_FULL), a table or its tablespace cannot grow (1114 ER_RECORD_FILE_FULL). */
const MYSQL_FULL = new Set([1021, 1114]);
// The operating system's ENOSPC/EDQUOT as the servers quote it: "Got error 28 from storage engine",
// "Errcode: 28 \"No space left on device\"", PostgreSQL's "could not extend file …: No space left on device".
const NO_SPACE_MESSAGE = /No space left on device|Disk quota exceeded|\b(?:errno|Errcode|error):? 28\b|Got error 28\b/i;

/**
 * What is full, in a sentence, when the driver error says the storage is full; undefined otherwise.
 * SQLite's `SQLITE_FULL` (the file's filesystem, or `max_page_count`), PostgreSQL's SQLSTATE 53100
 * `disk_full`, MySQL/MariaDB's 1021 and 1114 and any "errno 28" (ENOSPC) they quote.
 */
export function storageFullReason(error: unknown): string | undefined {
  const native = error as { code?: unknown; errno?: unknown; message?: unknown } | null;
  const code = typeof native?.code === 'string' ? native.code : '';
  const errno = typeof native?.errno === 'number' ? native.errno : undefined;
  const message = typeof native?.message === 'string' ? native.message : '';
  if (code === 'SQLITE_FULL' || code.startsWith('SQLITE_FULL_')) {
    return 'the SQLite database is full: the filesystem that holds the database file (or its -wal journal) has no space left, or the database reached its max_page_count (SQLITE_FULL); free space there, then repeat the write (vacuum() gives the file back its free pages)';
  }
  if (code === '53100') return "the PostgreSQL server's disk is full (SQLSTATE 53100 disk_full): free space on the server's data directory, then repeat the write";
  if (errno !== undefined && code.startsWith('ER_') && MYSQL_FULL.has(errno)) {
    const what = errno === 1021 ? "the MySQL/MariaDB server's disk is full" : "the table is full (its tablespace or the MySQL/MariaDB server's disk cannot grow)";
    return `${what} (error ${errno} ${code}): free space on the server, or raise the tablespace's limit, then repeat the write`;
  }
  if (NO_SPACE_MESSAGE.test(message) && (code.startsWith('ER_') || /^[0-9A-Z]{5}$/.test(code) || code.startsWith('SQLITE_'))) {
    return "the database server's disk is full (it reports no space left on the device): free space on the server, then repeat the write";
  }
  return undefined;
}

/** The stowage code for a driver error. */
export function codeOf(error: unknown): ErrorCode {
  const native = error as { code?: unknown; errno?: unknown; message?: unknown } | null;
  const code = typeof native?.code === 'string' ? native.code : '';
  const errno = typeof native?.errno === 'number' ? native.errno : undefined;
  const message = typeof native?.message === 'string' ? native.message : '';
  if (misconfiguration(error) !== undefined) return ErrorCode.InvalidArgument;
  if (storageFullReason(error) !== undefined) return ErrorCode.StorageFull;
  // SQLite (better-sqlite3 codes are SQLITE_*).
  if (code.startsWith('SQLITE_CONSTRAINT_PRIMARYKEY') || code.startsWith('SQLITE_CONSTRAINT_UNIQUE')) return ErrorCode.AlreadyExists;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED') || code === 'SQLITE_PROTOCOL') return ErrorCode.Unavailable;
  if (code.startsWith('SQLITE_READONLY') || code === 'SQLITE_PERM' || code === 'SQLITE_AUTH' || code.startsWith('SQLITE_CANTOPEN')) return ErrorCode.PermissionDenied;
  if (code === 'SQLITE_TOOBIG') return ErrorCode.TooLarge;
  // PostgreSQL SQLSTATE.
  if (/^[0-9A-Z]{5}$/.test(code) && !code.startsWith('E')) {
    if (code === '23505') return ErrorCode.AlreadyExists;
    if (code.startsWith('08') || code.startsWith('57P') || code === '53300' || code === '40001' || code === '40P01' || code === '55P03') return ErrorCode.Unavailable;
    if (code === '42501' || code.startsWith('28')) return ErrorCode.PermissionDenied;
    if (code === '54000') return ErrorCode.TooLarge;
  }
  // MySQL / MariaDB.
  if (errno !== undefined && code.startsWith('ER_')) {
    if (errno === 1062) return ErrorCode.AlreadyExists;
    if (MYSQL_UNAVAILABLE.has(errno)) return ErrorCode.Unavailable;
    if (MYSQL_PERMISSION.has(errno)) return ErrorCode.PermissionDenied;
    if (errno === 1153 || errno === 1301) return ErrorCode.TooLarge;
  }
  if (UNAVAILABLE_NETWORK.has(code) || /connection terminated|connection.*(closed|lost|ended)|server closed the connection|Cannot use a pool after calling end/i.test(message)) {
    return ErrorCode.Unavailable;
  }
  return ErrorCode.Unavailable;
}

/**
 * Wraps a driver error as a `StowageError` (an existing one passes through unchanged). After the
 * caller's `signal` fired, the failure is the abort's doing (its connection was cut): `ABORTED`.
 */
export function mapDatabaseError(error: unknown, backend: string, doing: string, key?: string, signal?: AbortSignal): StowageError {
  if (signal?.aborted && !(isStowageError(error) && error.code !== ErrorCode.Unavailable)) {
    return new AbortedError(`${backend}: ${doing}${key === undefined ? '' : ` ${JSON.stringify(key)}`} aborted`, { key, backend, cause: error });
  }
  if (isStowageError(error)) {
    error.backend ??= backend;
    return error;
  }
  const code = codeOf(error);
  const native = error instanceof Error ? error.message : String(error);
  // Driver messages name tables and values, never the connection string; keep them for debugging.
  const fix = misconfiguration(error);
  const full = storageFullReason(error);
  const where = `${backend}: ${doing}${key === undefined ? '' : ` ${JSON.stringify(key)}`} failed`;
  const message = full === undefined ? `${where}: ${native}${fix === undefined ? '' : `: ${fix}`}` : `${where}: ${full} (${native})`;
  return createError(code, message, { key, backend, cause: error });
}
