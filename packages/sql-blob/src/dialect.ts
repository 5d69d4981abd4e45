/**
 * The small surface each database driver implements, so that the backend writes its SQL once.
 *
 * SQL handed to a dialect uses `?` placeholders and identifiers already quoted with
 * {@link Dialect.quote}; keys are always bound parameters, never SQL text.
 *
 * @module
 */
import { raceSignal, type ModuleLoader } from '@stowage/core';

/**
 * Imports a driver: sql-blob's own `import()` (`own`) first, then `load` (the registry's loader,
 * which resolves from its caller: an installed `stowage` command, the user's project) when that
 * fails; the first failure when both do.
 */
export async function importDriver<T>(own: () => Promise<T>, specifier: string, load: ModuleLoader | undefined): Promise<T> {
  try {
    return await own();
  } catch (cause) {
    if (load === undefined) throw cause;
    try {
      return (await load(specifier)) as T;
    } catch {
      throw cause;
    }
  }
}

/** Which database family a dialect speaks. */
export type DialectKind = 'sqlite' | 'postgres' | 'mysql';

/** What a statement returned: rows for a query, the affected-row count for a change. */
export interface QueryResult {
  rows: Record<string, unknown>[];
  affected: number;
  /** MySQL: the id the statement reports (`LAST_INSERT_ID`). */
  insertId?: number;
}

/** A connection (or the pool) that runs statements. */
export interface Connection {
  /**
   * Runs one statement. On the pool, `signal` cuts the connection the statement runs on when it
   * fires (the statement then fails at once); inside a transaction or a snapshot the signal given to
   * that applies instead.
   */
  query(sql: string, params?: readonly unknown[], signal?: AbortSignal): Promise<QueryResult>;
}

/** A connection reading one consistent snapshot, held until `release`. */
export interface Snapshot extends Connection {
  release(): Promise<void>;
}

/** One database driver behind the backend. */
export interface Dialect {
  readonly kind: DialectKind;
  /** Runs a statement outside any explicit transaction; `signal` cuts its connection when it fires. */
  query(sql: string, params?: readonly unknown[], signal?: AbortSignal): Promise<QueryResult>;
  /**
   * Runs `work` in one transaction on one connection; commits when it resolves, rolls back when it
   * throws. `signal` cuts the connection when it fires, so that the server rolls back.
   */
  transaction<T>(work: (connection: Connection) => Promise<T>, signal?: AbortSignal): Promise<T>;
  /**
   * A connection that sees one snapshot until released, so that a long read is not broken by a
   * concurrent overwrite; `undefined` when the database cannot give one (SQLite `:memory:` or a
   * rollback journal, where a reader would block the writer). `signal` cuts it when it fires.
   */
  snapshot(signal?: AbortSignal): Promise<Snapshot | undefined>;
  /** Whether chunks must be staged in their own short transactions (SQLite: one writer per database, so no transaction may stay open while the body streams). */
  readonly stagesChunks: boolean;
  /**
   * Whether chunk rows must be addressed by their full primary key, one row per statement, rather than by a
   * `(key, version)` range: InnoDB's locking scan of a range also waits on the next record, which may
   * be another writer's uncommitted chunk, and that writer may be waiting for our main-row lock.
   */
  readonly pointChunkAccess: boolean;
  /** Quotes an identifier. */
  quote(identifier: string): string;
  /** The lowercase column names of a table, or `undefined` when it does not exist. */
  columns(table: string): Promise<Set<string> | undefined>;
  /**
   * Why the `key` column of `table` cannot keep keys byte-exact (a case- or accent-insensitive,
   * padding or nondeterministic collation makes distinct keys one row), with how to convert it; or
   * `undefined` when it can.
   */
  keyColumnProblem(table: string): Promise<string | undefined>;
  /** The statements that create the main table and the chunk table when missing. */
  createStatements(table: string, chunkTable: string): string[];
  /** `' FOR UPDATE'` where row locks exist, else `''`. */
  readonly lockClause: string;
  /** The insert that does nothing (0 affected rows) or throws a unique violation when the key exists. */
  insertIgnoringConflict(table: string, columns: readonly string[]): string;
  /**
   * One statement that inserts a row of `columns` (`key` first, `extra` among them), or replaces the
   * row of the same key unless the text of its `extra` contains `mark`; true when it wrote. Absent
   * where the database has no such statement.
   */
  upsertUnless?(table: string, columns: readonly string[], values: readonly unknown[], mark: string, signal?: AbortSignal): Promise<boolean>;
  /** Turns a key into the bound value its column compares in UTF-8 byte order. */
  keyParameter(key: string): unknown;
  /** Turns a stored key back into a string. */
  keyFromRow(value: unknown): string;
  /** The SQL expression of a blob column's length in bytes. */
  lengthOf(column: string): string;
  /** The largest blob one statement can carry. */
  readonly inlineLimit: number;
  /** Ends what the dialect opened itself; never a borrowed client. */
  close(): Promise<void>;
  /** The driver's database, pool or client. */
  unwrap(): unknown;
}

/** Runs promises one after another: SQLite has one connection, and a transaction on it must not interleave with other statements. */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T> | T): Promise<T> {
    const result = this.#tail.then(() => work());
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

/**
 * Calls `cut` when `signal` fires (at once when it has); returns how to stop listening. The drivers
 * cannot cancel a statement in flight, but a statement whose connection is gone fails at once, and
 * the server rolls back what that connection had begun.
 */
export function onAbort(signal: AbortSignal | undefined, cut: () => void): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    cut();
    return () => {};
  }
  signal.addEventListener('abort', cut, { once: true });
  return () => signal.removeEventListener('abort', cut);
}

/**
 * Waits for `pending` (a connection being checked out), or rejects as soon as `signal` fires; a
 * connection that arrives after the abort goes to `discard`.
 */
export async function untilAborted<T>(pending: Promise<T>, signal: AbortSignal | undefined, discard: (value: T) => void): Promise<T> {
  if (!signal) return pending;
  signal.throwIfAborted();
  return raceSignal(pending, signal, () => {
    pending.then(discard, () => undefined);
    return signal.reason instanceof Error ? signal.reason : new Error('aborted');
  });
}

/** Turns a value a driver returned into a Buffer. */
export function toBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value === null || value === undefined) return Buffer.alloc(0);
  throw new TypeError(`expected binary data from the database, got ${typeof value}`);
}
