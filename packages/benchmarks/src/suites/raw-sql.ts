/**
 * The raw drivers the SQL blob benchmarks compare against: better-sqlite3, pg and mysql2 used
 * directly, with `?` placeholders rewritten for pg, so that each baseline is the plainest code a
 * user would write without stowage.
 *
 * @module
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { Pool as PgPool, PoolClient } from 'pg';
import type { Pool as MysqlPool, PoolConnection } from 'mysql2/promise';

/** Which database a target is. */
export type DatabaseKind = 'sqlite' | 'postgres' | 'mysql';

/** One connection's statements. */
export interface RawConnection {
  /** Runs a statement with `?` placeholders; returns its rows. */
  query(sql: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>;
}

/** A raw driver: statements, one transaction on one connection, and close. */
export interface RawDatabase extends RawConnection {
  readonly kind: DatabaseKind;
  transaction<T>(work: (connection: RawConnection) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** The column type of a binary value: BLOB, BYTEA or LONGBLOB. */
  readonly blobType: string;
  /** The column type of a key: TEXT, or VARBINARY for MySQL (whose TEXT cannot be a primary key). */
  readonly keyType: string;
}

function toPgPlaceholders(sql: string): string {
  let index = 0;
  return sql.replace(/\?/g, () => `$${++index}`);
}

/** Opens a raw driver for a `sqlite:<path>`, `postgres://` or `mysql://` URL. */
export async function openRaw(url: string, journalMode = 'wal'): Promise<RawDatabase> {
  if (url.startsWith('sqlite:')) {
    const { default: Database } = await import('better-sqlite3');
    const database: BetterSqlite3.Database = new Database(url.slice('sqlite:'.length));
    database.pragma(`journal_mode = ${journalMode}`);
    database.pragma('synchronous = NORMAL');
    const run = (sql: string, params: readonly unknown[] = []): Record<string, unknown>[] => {
      const statement = database.prepare(sql);
      return statement.reader ? (statement.all(...params) as Record<string, unknown>[]) : (statement.run(...params), []);
    };
    const connection: RawConnection = { query: async (sql, params) => run(sql, params) };
    return {
      kind: 'sqlite',
      blobType: 'BLOB',
      keyType: 'TEXT',
      query: connection.query,
      async transaction(work) {
        run('BEGIN IMMEDIATE');
        try {
          const result = await work(connection);
          run('COMMIT');
          return result;
        } catch (error) {
          run('ROLLBACK');
          throw error;
        }
      },
      close: async () => void database.close(),
    };
  }
  if (url.startsWith('postgres')) {
    const { default: pg } = await import('pg');
    const pool: PgPool = new pg.Pool({ connectionString: url, max: 4 });
    const on = (client: PgPool | PoolClient): RawConnection => ({
      query: async (sql, params = []) => (await client.query(toPgPlaceholders(sql), params as unknown[])).rows as Record<string, unknown>[],
    });
    return {
      kind: 'postgres',
      blobType: 'BYTEA',
      keyType: 'TEXT COLLATE "C"',
      query: on(pool).query,
      async transaction(work) {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const result = await work(on(client));
          await client.query('COMMIT');
          return result;
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        } finally {
          client.release();
        }
      },
      close: () => pool.end(),
    };
  }
  const mysql = await import('mysql2/promise');
  const pool: MysqlPool = mysql.createPool({ uri: url.replace(/^mariadb:/, 'mysql:'), connectionLimit: 4 });
  const on = (client: MysqlPool | PoolConnection): RawConnection => ({
    query: async (sql, params = []) => {
      const [rows] = await client.query(sql, params as unknown[]);
      return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
    },
  });
  return {
    kind: 'mysql',
    blobType: 'LONGBLOB',
    keyType: 'VARBINARY(255)',
    query: on(pool).query,
    async transaction(work) {
      const connection = await pool.getConnection();
      try {
        await connection.beginTransaction();
        const result = await work(on(connection));
        await connection.commit();
        return result;
      } catch (error) {
        await connection.rollback().catch(() => undefined);
        throw error;
      } finally {
        connection.release();
      }
    },
    close: () => pool.end(),
  };
}

/** A key as the raw tables bind it: a string, or bytes for MySQL's VARBINARY column. */
export function rawKey(database: RawDatabase, key: string): unknown {
  return database.kind === 'mysql' ? Buffer.from(key, 'utf8') : key;
}

/** The bytes of a driver's binary value. */
export function bytesOf(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw new TypeError(`expected bytes from the driver, got ${typeof value}`);
}
