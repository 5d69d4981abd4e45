/**
 * SQLite through better-sqlite3, loaded on first use.
 *
 * @module
 */
import type BetterSqlite3 from 'better-sqlite3';
import { InvalidArgumentError, type ModuleLoader } from '@stowage/core';
import { SerialQueue, importDriver, type Connection, type Dialect, type QueryResult, type Snapshot } from './dialect.ts';

/** The SQLite journal modes stowage accepts. */
export type JournalMode = 'wal' | 'delete' | 'truncate' | 'persist' | 'memory' | 'off';

type Database = BetterSqlite3.Database;

async function loadDriver(load?: ModuleLoader): Promise<typeof BetterSqlite3> {
  try {
    const module = await importDriver(() => import('better-sqlite3'), 'better-sqlite3', load);
    return module.default;
  } catch (cause) {
    throw new InvalidArgumentError('the sql-blob adapter needs the better-sqlite3 package for SQLite: install it (npm install better-sqlite3)', {
      backend: 'sql-blob:sqlite',
      cause,
    });
  }
}

function runOn(database: Database, statements: Map<string, BetterSqlite3.Statement>, sql: string, params: readonly unknown[]): QueryResult {
  let statement = statements.get(sql);
  if (!statement) {
    statement = database.prepare(sql);
    statements.set(sql, statement);
  }
  const values = params.map((value) => (value instanceof Uint8Array && !Buffer.isBuffer(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value));
  if (statement.reader) return { rows: statement.all(...values) as Record<string, unknown>[], affected: 0 };
  return { rows: [], affected: statement.run(...values).changes };
}

/** A SQLite dialect over one connection (file path, `:memory:` or a borrowed database). */
export class SqliteDialect implements Dialect {
  readonly kind = 'sqlite';
  readonly pointChunkAccess = false;
  readonly stagesChunks = true;
  readonly lockClause = '';
  readonly inlineLimit = 1_000_000_000;
  readonly #database: Database;
  readonly #owned: boolean;
  readonly #statements = new Map<string, BetterSqlite3.Statement>();
  readonly #queue = new SerialQueue();
  readonly #Driver: typeof BetterSqlite3 | undefined;
  readonly #snapshots: boolean;

  private constructor(database: Database, owned: boolean, Driver: typeof BetterSqlite3 | undefined) {
    this.#database = database;
    this.#owned = owned;
    this.#Driver = Driver;
    const mode = String(database.pragma('journal_mode', { simple: true })).toLowerCase();
    // A second connection's read transaction only stays out of the writer's way in WAL mode.
    this.#snapshots = Driver !== undefined && !database.memory && mode === 'wal';
  }

  /** Opens a database file (or `:memory:`) with the given journal mode and `synchronous=NORMAL`. */
  static async open(path: string, journalMode: JournalMode, load?: ModuleLoader): Promise<SqliteDialect> {
    const Driver = await loadDriver(load);
    const database = new Driver(path);
    if (path !== ':memory:' && path !== '') database.pragma(`journal_mode = ${journalMode}`);
    database.pragma('synchronous = NORMAL');
    return new SqliteDialect(database, true, Driver);
  }

  /** Uses a database the caller opened and keeps open. */
  static async borrow(database: Database, load?: ModuleLoader): Promise<SqliteDialect> {
    const Driver = await loadDriver(load).catch(() => undefined);
    return new SqliteDialect(database, false, Driver);
  }

  // The driver is synchronous: a statement cannot be stopped once it runs, so an abort is checked
  // before each one (a streamed write or read is many short statements).
  query(sql: string, params: readonly unknown[] = [], signal?: AbortSignal): Promise<QueryResult> {
    return this.#queue.run(() => {
      signal?.throwIfAborted();
      return runOn(this.#database, this.#statements, sql, params);
    });
  }

  transaction<T>(work: (connection: Connection) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.#queue.run(async () => {
      signal?.throwIfAborted();
      // IMMEDIATE: take the write lock now, so the checks made inside hold until COMMIT.
      runOn(this.#database, this.#statements, 'BEGIN IMMEDIATE', []);
      const connection: Connection = {
        query: async (sql, params = []) => {
          signal?.throwIfAborted();
          return runOn(this.#database, this.#statements, sql, params);
        },
      };
      try {
        const result = await work(connection);
        runOn(this.#database, this.#statements, 'COMMIT', []);
        return result;
      } catch (error) {
        if (this.#database.inTransaction) runOn(this.#database, this.#statements, 'ROLLBACK', []);
        throw error;
      }
    });
  }

  async snapshot(signal?: AbortSignal): Promise<Snapshot | undefined> {
    if (!this.#snapshots || !this.#Driver) return undefined;
    signal?.throwIfAborted();
    const reader = new this.#Driver(this.#database.name, { readonly: true, fileMustExist: true });
    reader.exec('BEGIN');
    const statements = new Map<string, BetterSqlite3.Statement>();
    let open = true;
    return {
      query: async (sql, params = []) => {
        signal?.throwIfAborted();
        return runOn(reader, statements, sql, params);
      },
      release: async () => {
        if (!open) return;
        open = false;
        if (reader.inTransaction) reader.exec('COMMIT');
        reader.close();
      },
    };
  }

  quote(identifier: string): string {
    return `"${identifier}"`;
  }

  async columns(table: string): Promise<Set<string> | undefined> {
    const { rows } = await this.query(`PRAGMA table_info(${this.quote(table)})`);
    if (rows.length === 0) return undefined;
    return new Set(rows.map((row) => String(row.name).toLowerCase()));
  }

  async keyColumnProblem(table: string): Promise<string | undefined> {
    // The collation of a column shows in the index over it (the primary key's).
    const { rows: indexes } = await this.query(`PRAGMA index_list(${this.quote(table)})`);
    for (const index of indexes) {
      const { rows } = await this.query(`PRAGMA index_xinfo(${this.quote(String(index.name))})`);
      const key = rows.find((row) => String(row.name).toLowerCase() === 'key' && Number(row.key) === 1);
      if (key && typeof key.coll === 'string' && key.coll.toUpperCase() !== 'BINARY') {
        return `its key column has the collation ${key.coll}, which treats different keys as one and orders by it; recreate the table with the key declared TEXT (collation BINARY) and copy the rows over`;
      }
    }
    return undefined;
  }

  createStatements(table: string, chunkTable: string): string[] {
    return [
      `CREATE TABLE IF NOT EXISTS ${this.quote(table)} (key TEXT PRIMARY KEY, data BLOB NOT NULL, size INTEGER NOT NULL, modified_at REAL NOT NULL, content_type TEXT, digest TEXT, extra TEXT, user_metadata TEXT)`,
      `CREATE TABLE IF NOT EXISTS ${this.quote(chunkTable)} (key TEXT NOT NULL, version TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (key, version, seq))`,
    ];
  }

  insertIgnoringConflict(table: string, columns: readonly string[]): string {
    // A plain INSERT: inside the IMMEDIATE transaction nobody else can insert the key, and a conflict throws.
    return `INSERT INTO ${this.quote(table)} (${columns.map((c) => this.quote(c)).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
  }

  keyParameter(key: string): unknown {
    return key;
  }

  keyFromRow(value: unknown): string {
    return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }

  lengthOf(column: string): string {
    return `length(CAST(${this.quote(column)} AS BLOB))`;
  }

  async close(): Promise<void> {
    if (this.#owned && this.#database.open) await this.#queue.run(() => this.#database.close());
  }

  unwrap(): Database {
    return this.#database;
  }
}
