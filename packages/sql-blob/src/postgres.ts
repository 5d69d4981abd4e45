/**
 * PostgreSQL through pg, loaded on first use.
 *
 * @module
 */
import type * as Pg from 'pg';
import { InvalidArgumentError, type ModuleLoader } from '@stowage/core';
import { importDriver, onAbort, untilAborted, type Connection, type Dialect, type QueryResult, type Snapshot } from './dialect.ts';

function ignore(): void {}

function numbered(sql: string): string {
  let index = 0;
  return sql.replace(/\?/g, () => `$${++index}`);
}

async function run(client: Pg.Pool | Pg.PoolClient, sql: string, params: readonly unknown[]): Promise<QueryResult> {
  const result = await client.query(numbered(sql), params as unknown[]);
  return { rows: result.rows as Record<string, unknown>[], affected: result.rowCount ?? 0 };
}

/** Closes the client's socket: its statement in flight fails at once and the server rolls back. */
function cut(client: Pg.PoolClient): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

/** A PostgreSQL dialect over a pool (owned when opened from a URL). */
export class PostgresDialect implements Dialect {
  readonly kind = 'postgres';
  readonly pointChunkAccess = false;
  readonly stagesChunks = false;
  readonly lockClause = ' FOR UPDATE';
  readonly inlineLimit = 256 * 1024 * 1024;
  readonly #pool: Pg.Pool;
  readonly #owned: boolean;

  private constructor(pool: Pg.Pool, owned: boolean) {
    this.#pool = pool;
    this.#owned = owned;
  }

  /** Opens a pool on a connection string. */
  static async open(url: string, load?: ModuleLoader): Promise<PostgresDialect> {
    let pg: typeof Pg;
    try {
      pg = (await importDriver(() => import('pg'), 'pg', load)).default as unknown as typeof Pg;
    } catch (cause) {
      throw new InvalidArgumentError('the sql-blob adapter needs the pg package for PostgreSQL: install it (npm install pg)', { backend: 'sql-blob:postgres', cause });
    }
    const pool = new pg.Pool({ connectionString: url, max: 8 });
    // An idle client that loses its server must not crash the process; the next query reports it.
    pool.on('error', () => {});
    return new PostgresDialect(pool, true);
  }

  /** Uses a pool the caller made and keeps open. */
  static borrow(pool: Pg.Pool): PostgresDialect {
    return new PostgresDialect(pool, false);
  }

  async query(sql: string, params: readonly unknown[] = [], signal?: AbortSignal): Promise<QueryResult> {
    if (!signal) return run(this.#pool, sql, params);
    const client = await this.#checkout(signal);
    client.on('error', ignore);
    const stop = onAbort(signal, () => cut(client));
    let broken: unknown;
    try {
      return await run(client, sql, params);
    } catch (error) {
      broken = error;
      throw error;
    } finally {
      stop();
      client.off('error', ignore);
      client.release(signal.aborted && broken instanceof Error ? broken : undefined);
    }
  }

  /** A client of the pool, or an abort while waiting for one (a client that comes later is closed). */
  #checkout(signal: AbortSignal | undefined): Promise<Pg.PoolClient> {
    return untilAborted(this.#pool.connect(), signal, (client) => client.release(new Error('aborted while connecting')));
  }

  async transaction<T>(work: (connection: Connection) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const client = await this.#checkout(signal);
    // A checked-out client whose server goes away emits 'error'; the pending query reports it.
    client.on('error', ignore);
    const stop = onAbort(signal, () => cut(client));
    let broken: unknown;
    try {
      // Explicit, whatever the server's default: the statements below are written for READ COMMITTED.
      await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
      const result = await work({ query: (sql, params = []) => run(client, sql, params) });
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError;
      }
      throw error;
    } finally {
      stop();
      client.off('error', ignore);
      client.release(broken instanceof Error ? broken : signal?.aborted ? new Error('aborted') : undefined);
    }
  }

  async snapshot(signal?: AbortSignal): Promise<Snapshot> {
    const client = await this.#checkout(signal);
    client.on('error', ignore);
    const stop = onAbort(signal, () => cut(client));
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    } catch (error) {
      stop();
      client.off('error', ignore);
      client.release(error instanceof Error ? error : undefined);
      throw error;
    }
    let open = true;
    return {
      query: (sql, params = []) => run(client, sql, params),
      release: async () => {
        if (!open) return;
        open = false;
        stop();
        client.off('error', ignore);
        try {
          if (signal?.aborted) throw new Error('aborted');
          await client.query('COMMIT');
          client.release();
        } catch (error) {
          client.release(error instanceof Error ? error : undefined);
        }
      },
    };
  }

  quote(identifier: string): string {
    return `"${identifier}"`;
  }

  async columns(table: string): Promise<Set<string> | undefined> {
    const { rows } = await this.query('SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?', [table]);
    if (rows.length === 0) return undefined;
    return new Set(rows.map((row) => String(row.name).toLowerCase()));
  }

  async keyColumnProblem(table: string): Promise<string | undefined> {
    // Deterministic collations break ties by bytes, so keys stay distinct (order comes from COLLATE "C"
    // in every comparison); a nondeterministic one (ICU case-insensitive) makes `a` and `A` one row.
    const { rows } = await this.query(
      `SELECT c.collname AS name, c.collisdeterministic AS deterministic FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid JOIN pg_collation c ON c.oid = a.attcollation
       WHERE t.relname = ? AND t.relnamespace = current_schema()::regnamespace AND a.attname = 'key'`,
      [table],
    );
    const row = rows[0];
    if (!row || row.deterministic !== false) return undefined;
    return `its key column has the nondeterministic collation ${String(row.name)}, which treats different keys as one; convert it with ALTER TABLE ${this.quote(table)} ALTER COLUMN ${this.quote('key')} TYPE TEXT COLLATE "C"`;
  }

  createStatements(table: string, chunkTable: string): string[] {
    return [
      `CREATE TABLE IF NOT EXISTS ${this.quote(table)} (key TEXT COLLATE "C" PRIMARY KEY, data BYTEA NOT NULL, size BIGINT NOT NULL, modified_at DOUBLE PRECISION NOT NULL, content_type TEXT, digest TEXT, extra TEXT, user_metadata TEXT)`,
      `CREATE TABLE IF NOT EXISTS ${this.quote(chunkTable)} (key TEXT COLLATE "C" NOT NULL, version TEXT NOT NULL, seq INTEGER NOT NULL, data BYTEA NOT NULL, PRIMARY KEY (key, version, seq))`,
    ];
  }

  insertIgnoringConflict(table: string, columns: readonly string[]): string {
    return `INSERT INTO ${this.quote(table)} (${columns.map((c) => this.quote(c)).join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON CONFLICT (${this.quote('key')}) DO NOTHING`;
  }

  async upsertUnless(table: string, columns: readonly string[], values: readonly unknown[], mark: string, signal?: AbortSignal): Promise<boolean> {
    const quoted = columns.map((c) => this.quote(c));
    const updates = quoted.slice(1).map((c) => `${c} = EXCLUDED.${c}`);
    const extra = `target.${this.quote('extra')}`;
    // The mark is a constant of the code, not user input; CAST, so that a JSON column compares too.
    const sql = `INSERT INTO ${this.quote(table)} AS target (${quoted.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON CONFLICT (${this.quote('key')}) DO UPDATE SET ${updates.join(', ')} WHERE ${extra} IS NULL OR strpos(CAST(${extra} AS TEXT), '${mark}') = 0`;
    return (await this.query(sql, values, signal)).affected === 1;
  }

  keyParameter(key: string): unknown {
    return key;
  }

  keyFromRow(value: unknown): string {
    return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }

  lengthOf(column: string): string {
    return `octet_length(${this.quote(column)})`;
  }

  async close(): Promise<void> {
    if (this.#owned) await this.#pool.end();
  }

  unwrap(): Pg.Pool {
    return this.#pool;
  }
}
