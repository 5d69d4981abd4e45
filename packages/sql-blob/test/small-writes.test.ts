/**
 * Small unconditional writes: on PostgreSQL and MySQL/MariaDB one statement (an upsert that leaves
 * a row naming chunk rows to the transaction that deletes them); on every database, replacing a chunked object by an
 * inline one, or racing both kinds on one key, leaves exactly the chunks of what the row names.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { chunkRows, openTestBackend, testDatabases, unreferencedChunks } from './servers.ts';

const databases = await testDatabases();
const teardowns: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const teardown of teardowns) await teardown();
});

async function open(database: (typeof databases)[number]) {
  const opened = await openTestBackend(database.database, database.url, { chunkSize: 1024 });
  teardowns.push(opened.teardown);
  return opened;
}

describe.each(databases)('sql-blob:$database small writes', (database) => {
  it.skipIf(database.skip !== undefined)('replacing a chunked object by an inline one leaves no chunk rows', async () => {
    const { store, backend, table } = await open(database);
    await store.write('a.bin', randomBytes(5000));
    expect(await chunkRows(backend, table)).toBe(5);
    await store.write('a.bin', 'now small');
    expect(await store.readText('a.bin')).toBe('now small');
    expect(await chunkRows(backend, table)).toBe(0);
    // And again, once the store has written enough to take its shortest path.
    await store.write('a.bin', randomBytes(3000));
    await store.write('a.bin', 'small again');
    expect(await store.readText('a.bin')).toBe('small again');
    expect(await chunkRows(backend, table)).toBe(0);
  });

  it.skipIf(database.skip !== undefined)('50 concurrent overwriters, inline and chunked, leave one of their objects and only its chunks', async () => {
    const { store, backend, table } = await open(database);
    await store.write('k.bin', 'first');
    const bodies = Array.from({ length: 50 }, (_, index) => (index % 2 === 0 ? Buffer.alloc(100, index) : Buffer.alloc(2500, index)));
    const results = await Promise.allSettled(bodies.map((body) => store.write('k.bin', body)));
    for (const result of results) if (result.status === 'rejected') expect(String(result.reason)).toMatch(/UNAVAILABLE|conflict/i);
    expect(results.filter((result) => result.status === 'fulfilled').length).toBeGreaterThan(0);
    const stored = Buffer.from(await store.readBytes('k.bin'));
    const winner = bodies.findIndex((body) => body.equals(stored));
    expect(winner, 'the stored bytes are one writer’s').toBeGreaterThanOrEqual(0);
    expect(results[winner]!.status).toBe('fulfilled');
    // Only the stored object's chunks: none for an inline one, its three for a chunked one.
    expect(await unreferencedChunks(backend, table)).toEqual([]);
    expect(await chunkRows(backend, table)).toBe(stored.byteLength <= 1024 ? 0 : 3);
    const info = await store.stat('k.bin');
    expect(info.size).toBe(stored.byteLength);
  });
});

/** Every statement any client of the driver sends, counted where the driver sends it; the function undoes it. */
function countStatements(database: 'postgres' | 'mysql', statements: string[]): () => void {
  const textOf = (argument: unknown): string | undefined =>
    typeof argument === 'string' ? argument : ((argument as { text?: string; sql?: string } | undefined)?.text ?? (argument as { sql?: string } | undefined)?.sql);
  const targets: [object, string][] =
    database === 'postgres' ? [[pg.Client.prototype, 'query']] : [[Object.getPrototypeOf(mysql.Connection.prototype) as object, 'query'], [Object.getPrototypeOf(mysql.Connection.prototype) as object, 'execute']];
  const originals = targets.map(([target, name]) => (target as Record<string, (...a: unknown[]) => unknown>)[name]!);
  targets.forEach(([target, name], index) => {
    const original = originals[index]!;
    (target as Record<string, unknown>)[name] = function (this: unknown, ...args: unknown[]) {
      const text = textOf(args[0]);
      if (text !== undefined) statements.push(text);
      return original.apply(this, args);
    };
  });
  return () => targets.forEach(([target, name], index) => ((target as Record<string, unknown>)[name] = originals[index]));
}

describe.each(databases.filter((entry) => entry.database !== 'sqlite'))('sql-blob:$database statements per small write', (database) => {
  it.skipIf(database.skip !== undefined)('an unconditional inline overwrite is one statement; a conditional one or a chunked predecessor takes the transaction', async () => {
    const statements: string[] = [];
    const undo = countStatements(database.database as 'postgres' | 'mysql', statements);
    try {
      const { store } = await open(database);
      await store.write('a.txt', 'one');
      statements.length = 0;
      await store.write('a.txt', 'two');
      expect(statements, statements.join('\n')).toHaveLength(1);
      await store.write('b.txt', 'new key');
      expect(statements, statements.join('\n')).toHaveLength(2);
      expect(await store.readText('a.txt')).toBe('two');
      expect(await store.readText('b.txt')).toBe('new key');
      expect((await store.stat('a.txt')).size).toBe(3);

      const before = await store.stat('a.txt');
      statements.length = 0;
      await store.write('a.txt', 'three', { ifMatch: before.etag });
      expect(statements.length, 'a conditional write checks under a row lock').toBeGreaterThan(1);

      await store.write('c.bin', randomBytes(4000));
      statements.length = 0;
      await store.write('c.bin', 'small');
      expect(statements.some((text) => /DELETE/i.test(text)), 'the chunked predecessor is deleted in the transaction').toBe(true);
      expect(await store.readText('c.bin')).toBe('small');
      // The row it left alone came back as one the store reports written once, by the transaction.
      const after = await store.stat('c.bin');
      expect(after.size).toBe(5);
      statements.length = 0;
      await store.write('c.bin', 'smaller');
      expect(statements, 'an inline predecessor again: one statement').toHaveLength(1);
      expect(await store.readText('c.bin')).toBe('smaller');
      expect((await store.stat('c.bin')).etag).not.toBe(after.etag);
    } finally {
      undo();
    }
  });
});
