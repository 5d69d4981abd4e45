/**
 * MySQL and MariaDB through mysql2, loaded on first use.
 *
 * @module
 */
import type * as MySql from 'mysql2/promise';
import { InvalidArgumentError, type ModuleLoader } from '@stowage/core';
import { importDriver, onAbort, untilAborted, type Connection, type Dialect, type QueryResult, type Snapshot } from './dialect.ts';

type Queryable = MySql.Pool | MySql.PoolConnection;

async function run(client: Queryable, sql: string, params: readonly unknown[]): Promise<QueryResult> {
  // Prepared statements: blobs travel as binary, not as hex text.
  const [result] = await client.execute(sql, params as never[]);
  if (Array.isArray(result)) return { rows: result as Record<string, unknown>[], affected: 0 };
  const header = result as MySql.ResultSetHeader;
  return { rows: [], affected: header.affectedRows, insertId: header.insertId };
}

/**
 * The id {@link MysqlDialect.upsertUnless} sets when it leaves a row alone: no AUTO_INCREMENT column
 * reaches it, and it is exact as a JavaScript number.
 */
const LEFT_ALONE = Number.MAX_SAFE_INTEGER;

/** MySQL/MariaDB collations that compare keys byte for byte, without padding. */
const BYTE_EXACT_COLLATIONS = new Set(['binary', 'utf8mb4_nopad_bin', 'utf8mb4_0900_bin']);

/** A MySQL/MariaDB dialect over a pool (owned when opened from a URL). */
export class MysqlDialect implements Dialect {
  readonly kind = 'mysql';
  readonly pointChunkAccess = true;
  readonly stagesChunks = false;
  readonly lockClause = ' FOR UPDATE';
  readonly inlineLimit: number;
  readonly #pool: MySql.Pool;
  readonly #owned: boolean;

  private constructor(pool: MySql.Pool, owned: boolean, inlineLimit: number) {
    this.#pool = pool;
    this.#owned = owned;
    this.inlineLimit = inlineLimit;
  }

  /** Opens a pool on a `mysql://` URL. */
  static async open(url: string, load?: ModuleLoader): Promise<MysqlDialect> {
    let mysql: typeof MySql;
    try {
      mysql = (await importDriver(() => import('mysql2/promise'), 'mysql2/promise', load)).default as unknown as typeof MySql;
    } catch (cause) {
      throw new InvalidArgumentError('the sql-blob adapter needs the mysql2 package for MySQL and MariaDB: install it (npm install mysql2)', {
        backend: 'sql-blob:mysql',
        cause,
      });
    }
    const pool = mysql.createPool({ uri: url, connectionLimit: 8, supportBigNumbers: true, charset: 'utf8mb4' });
    // A pooled connection whose server goes away emits 'error'; the pending query (if any) reports it.
    pool.on('connection', (connection) => {
      (connection as unknown as { on(event: string, listener: () => void): void }).on('error', () => {});
    });
    return MysqlDialect.#withLimit(pool, true);
  }

  /** Uses a pool (from `mysql2/promise`) the caller made and keeps open. */
  static borrow(pool: MySql.Pool): Promise<MysqlDialect> {
    return MysqlDialect.#withLimit(pool, false);
  }

  static async #withLimit(pool: MySql.Pool, owned: boolean): Promise<MysqlDialect> {
    const dialect = new MysqlDialect(pool, owned, 0);
    try {
      const { rows } = await dialect.query('SELECT @@max_allowed_packet AS packet');
      // Leave room for the statement around the blob.
      (dialect as { inlineLimit: number }).inlineLimit = Math.max(1024, Number(rows[0]?.packet ?? 4 * 1024 * 1024) - 64 * 1024);
    } catch (error) {
      if (owned) await pool.end().catch(() => undefined);
      throw error;
    }
    return dialect;
  }

  async query(sql: string, params: readonly unknown[] = [], signal?: AbortSignal): Promise<QueryResult> {
    if (!signal) return run(this.#pool, sql, params);
    const connection = await this.#checkout(signal);
    const stop = onAbort(signal, () => connection.destroy());
    try {
      return await run(connection, sql, params);
    } finally {
      stop();
      if (signal.aborted) connection.destroy();
      else connection.release();
    }
  }

  /** A connection of the pool, or an abort while waiting for one (a connection that comes later is closed). */
  #checkout(signal: AbortSignal | undefined): Promise<MySql.PoolConnection> {
    return untilAborted(this.#pool.getConnection(), signal, (connection) => connection.destroy());
  }

  async transaction<T>(work: (connection: Connection) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const connection = await this.#checkout(signal);
    const stop = onAbort(signal, () => connection.destroy());
    let broken = false;
    try {
      // READ COMMITTED: no gap locks, so concurrent writers of new keys do not deadlock on each other.
      await connection.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
      await connection.query('START TRANSACTION');
      const result = await work({ query: (sql, params = []) => run(connection, sql, params) });
      await connection.query('COMMIT');
      return result;
    } catch (error) {
      try {
        if (signal?.aborted) throw new Error('aborted');
        await connection.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw error;
    } finally {
      stop();
      if (broken) connection.destroy();
      else connection.release();
    }
  }

  async snapshot(signal?: AbortSignal): Promise<Snapshot> {
    const connection = await this.#checkout(signal);
    const stop = onAbort(signal, () => connection.destroy());
    try {
      await connection.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      await connection.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    } catch (error) {
      stop();
      connection.destroy();
      throw error;
    }
    let open = true;
    return {
      query: (sql, params = []) => run(connection, sql, params),
      release: async () => {
        if (!open) return;
        open = false;
        stop();
        try {
          if (signal?.aborted) throw new Error('aborted');
          await connection.query('COMMIT');
          connection.release();
        } catch {
          connection.destroy();
        }
      },
    };
  }

  quote(identifier: string): string {
    return `\`${identifier}\``;
  }

  async columns(table: string): Promise<Set<string> | undefined> {
    const { rows } = await this.query('SELECT column_name AS name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?', [table]);
    if (rows.length === 0) return undefined;
    return new Set(rows.map((row) => String(row.name ?? row.NAME ?? row.COLUMN_NAME).toLowerCase()));
  }

  async keyColumnProblem(table: string): Promise<string | undefined> {
    const { rows } = await this.query(
      "SELECT collation_name AS c, column_type AS t FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = 'key'",
      [table],
    );
    const collation = rows[0]?.c === null || rows[0]?.c === undefined ? undefined : String(rows[0].c);
    // Binary types (VARBINARY, BLOB) and NO PAD binary collations compare bytes; `utf8mb4_bin` pads
    // with spaces (`a` = `a `), `_ci`/`_ai` collations fold case and accents.
    if (collation === undefined || BYTE_EXACT_COLLATIONS.has(collation.toLowerCase())) return undefined;
    const type = String(rows[0]?.t ?? '').toLowerCase();
    return `its key column (${type} COLLATE ${collation}) treats different keys as one (case, accents or trailing spaces) and orders by that collation; convert it with ALTER TABLE ${this.quote(table)} MODIFY ${this.quote('key')} VARBINARY(1024) NOT NULL (stowage's own key type; it keeps the stored UTF-8 bytes)`;
  }

  createStatements(table: string, chunkTable: string): string[] {
    // VARBINARY keys: byte order and byte-exact uniqueness, and 1024 bytes fit InnoDB's 3072-byte index limit.
    return [
      `CREATE TABLE IF NOT EXISTS ${this.quote(table)} (\`key\` VARBINARY(1024) NOT NULL PRIMARY KEY, data LONGBLOB NOT NULL, size BIGINT NOT NULL, modified_at DOUBLE NOT NULL, content_type TEXT, digest VARCHAR(100), extra TEXT, user_metadata TEXT) ENGINE=InnoDB ROW_FORMAT=DYNAMIC DEFAULT CHARSET=utf8mb4`,
      `CREATE TABLE IF NOT EXISTS ${this.quote(chunkTable)} (\`key\` VARBINARY(1024) NOT NULL, version VARCHAR(64) CHARACTER SET ascii NOT NULL, seq INT NOT NULL, data LONGBLOB NOT NULL, PRIMARY KEY (\`key\`, version, seq)) ENGINE=InnoDB ROW_FORMAT=DYNAMIC`,
    ];
  }

  insertIgnoringConflict(table: string, columns: readonly string[]): string {
    // Not a plain INSERT: a duplicate-key error leaves a shared lock on the row, and two writers that
    // both hold one and then ask for the exclusive lock deadlock. ON DUPLICATE KEY UPDATE takes the
    // exclusive lock at once. The update changes the row (2 affected rows, whatever the FOUND_ROWS
    // flag) so that a conflict is told apart from an insert (1); the caller then either rewrites every
    // column or rolls back.
    return `INSERT INTO ${this.quote(table)} (${columns.map((c) => this.quote(c)).join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON DUPLICATE KEY UPDATE \`data\` = CONCAT(\`data\`, X'00')`;
  }

  async upsertUnless(table: string, columns: readonly string[], values: readonly unknown[], mark: string, signal?: AbortSignal): Promise<boolean> {
    const extra = this.quote('extra');
    const keep = `${extra} IS NULL OR LOCATE('${mark}', ${extra}) = 0`;
    // Each assignment sees the columns assigned before it, so `extra`, which `keep` reads, goes last.
    // When the row is left alone, LAST_INSERT_ID marks it: the affected-row count alone cannot tell,
    // since with the FOUND_ROWS flag (mysql2's default) an untouched row counts 1, as an insert does.
    const updates = columns
      .slice(1)
      .filter((column) => column !== 'extra')
      .map((column) => `${this.quote(column)} = IF(${keep}, VALUES(${this.quote(column)}), ${this.quote(column)})`);
    updates.push(`${extra} = IF(${keep}, VALUES(${extra}), IF(LAST_INSERT_ID(${LEFT_ALONE}), ${extra}, ${extra}))`);
    const sql = `INSERT INTO ${this.quote(table)} (${columns.map((c) => this.quote(c)).join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON DUPLICATE KEY UPDATE ${updates.join(', ')}`;
    const result = await this.query(sql, values, signal);
    return result.affected > 0 && result.insertId !== LEFT_ALONE;
  }

  keyParameter(key: string): unknown {
    return Buffer.from(key, 'utf8');
  }

  keyFromRow(value: unknown): string {
    return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }

  lengthOf(column: string): string {
    return `LENGTH(${this.quote(column)})`;
  }

  async close(): Promise<void> {
    if (this.#owned) await this.#pool.end();
  }

  unwrap(): MySql.Pool {
    return this.#pool;
  }
}
