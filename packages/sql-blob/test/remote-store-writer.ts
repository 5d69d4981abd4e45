/**
 * Another program on the same table: the SQL the Python `remote_store` backend issues. Its `write()`
 * updates `data`, `size`, `modified_at` and `user_metadata` of an existing row (leaving
 * `content_type`, `digest` and `extra` as they were) and inserts a new row otherwise; `delete()` and
 * plain copies are single statements. It runs on its own connection (SQLite: its own handle on the
 * file), as another process would.
 */
import Database from 'better-sqlite3';
import type { Store } from '@stowage/core';
import type { OtherWriter } from '@stowage/conformance';
import type { SqlBlobBackend, SqlBlobOptions } from '@stowage/sql-blob';
import { openTestBackend, type TestDatabase } from './servers.ts';

/** A writer that shares the table with stowage without going through it. */
export interface RemoteStoreWriter {
  /** remote_store's `write()`: UPDATE of an existing row, else INSERT. */
  write(key: string, data: Uint8Array, metadata?: Record<string, string>): Promise<void>;
  /** remote_store's `delete()`. */
  delete(key: string): Promise<void>;
  /** A plain SQL copy of the main row (what a migration script does), `extra` included. */
  copyRow(from: string, to: string): Promise<void>;
  /** remote_store's `read()`: the `data` column, all it knows of an object. */
  readData(key: string): Promise<Buffer>;
  /** Runs any statement (`?` placeholders). */
  execute(sql: string, parameters?: readonly unknown[]): Promise<void>;
  close(): Promise<void>;
}

/** Opens a remote_store-like writer on the table of `backend`, on a connection of its own. */
export async function openRemoteStoreWriter(backend: SqlBlobBackend, table: string): Promise<RemoteStoreWriter> {
  const kind = backend.name.slice('sql-blob:'.length);
  const quote = kind === 'mysql' ? (name: string) => `\`${name}\`` : (name: string) => `"${name}"`;
  let run: (sql: string, parameters: readonly unknown[]) => Promise<number>;
  let select: (sql: string, parameters: readonly unknown[]) => Promise<Record<string, unknown>[]>;
  let close: () => Promise<void>;
  if (kind === 'sqlite') {
    const database = new Database((backend.unwrap() as { name: string }).name, { timeout: 0 });
    run = async (sql, parameters) => {
      // No busy wait inside the synchronous driver (it would block stowage on the same event loop): retry instead.
      for (;;) {
        try {
          return database.prepare(sql).run(...parameters).changes;
        } catch (error) {
          if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      }
    };
    select = async (sql, parameters) => database.prepare(sql).all(...parameters) as Record<string, unknown>[];
    close = async () => {
      database.close();
    };
  } else if (kind === 'postgres') {
    const pg = (await import('pg')).default;
    const pool = backend.unwrap() as { options: Record<string, unknown> };
    const own = new pg.Pool({ ...pool.options, max: 2 });
    run = async (sql, parameters) => {
      let index = 0;
      const result = await own.query(sql.replace(/\?/g, () => `$${++index}`), [...parameters]);
      return result.rowCount ?? 0;
    };
    select = async (sql, parameters) => {
      let index = 0;
      return (await own.query(sql.replace(/\?/g, () => `$${++index}`), [...parameters])).rows as Record<string, unknown>[];
    };
    close = () => own.end();
  } else {
    const mysql = await import('mysql2/promise');
    const pool = backend.unwrap() as { pool: { config: { connectionConfig: Record<string, unknown> } } };
    const own = mysql.createPool({ ...(pool.pool.config.connectionConfig as object), connectionLimit: 2 } as never);
    run = async (sql, parameters) => {
      const [result] = (await own.query(sql, [...parameters])) as unknown as [{ affectedRows: number }];
      return result.affectedRows;
    };
    select = async (sql, parameters) => ((await own.query(sql, [...parameters])) as unknown as [Record<string, unknown>[]])[0];
    close = () => own.end();
  }
  const t = quote(table);
  const k = quote('key');
  return {
    async write(key, data, metadata = {}) {
      const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      // Python's time.time(): seconds with microseconds.
      const now = (performance.timeOrigin + performance.now()) / 1000;
      const updated = await run(`UPDATE ${t} SET data = ?, size = ?, modified_at = ?, user_metadata = ? WHERE ${k} = ?`, [bytes, bytes.byteLength, now, JSON.stringify(metadata), key]);
      if (updated === 0) {
        await run(`INSERT INTO ${t} (${k}, data, size, modified_at, content_type, digest, extra, user_metadata) VALUES (?, ?, ?, ?, NULL, NULL, NULL, ?)`, [
          key,
          bytes,
          bytes.byteLength,
          now,
          JSON.stringify(metadata),
        ]);
      }
    },
    async delete(key) {
      await run(`DELETE FROM ${t} WHERE ${k} = ?`, [key]);
    },
    async copyRow(from, to) {
      await run(`DELETE FROM ${t} WHERE ${k} = ?`, [to]);
      await run(
        `INSERT INTO ${t} (${k}, data, size, modified_at, content_type, digest, extra, user_metadata) SELECT ?, data, size, modified_at, content_type, digest, extra, user_metadata FROM ${t} WHERE ${k} = ?`,
        [to, from],
      );
    },
    async readData(key) {
      const rows = await select(`SELECT data FROM ${t} WHERE ${k} = ?`, [key]);
      if (!rows[0]) throw new Error(`remote_store: no row ${key}`);
      return Buffer.from(rows[0].data as Uint8Array);
    },
    async execute(sql, parameters = []) {
      await run(sql, parameters);
    },
    close,
  };
}

/** The remote_store writer as the conformance kit's other writer (`remote_store` keeps user metadata as JSON). */
export function asOtherWriter(writer: RemoteStoreWriter): OtherWriter {
  return {
    name: 'plain SQL (remote_store)',
    metadata: true,
    write: (key, body, options) => writer.write(key, body, options?.metadata),
    delete: (key) => writer.delete(key),
    copy: (from, to) => writer.copyRow(from, to),
    close: () => writer.close(),
  };
}

/** A conformance factory: a fresh backend on its own table, with a remote_store writer beside it. */
export async function openWithOtherWriter(
  database: TestDatabase,
  url: string | undefined,
  options: Omit<SqlBlobOptions, 'url' | 'client'> = {},
): Promise<{ store: Store; teardown: () => Promise<void>; otherWriter: OtherWriter }> {
  const opened = await openTestBackend(database, url, options);
  const writer = await openRemoteStoreWriter(opened.backend, opened.table);
  return { store: opened.store, teardown: opened.teardown, otherWriter: asOtherWriter(writer) };
}
