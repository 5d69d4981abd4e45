/**
 * A writer SIGKILLed in the middle of a large overwrite, once its first chunk rows are in. On
 * SQLite its chunks are staged outside the switching transaction and survive the kill; their
 * version id names this host and the dead pid, so the next open reclaims them at once, and so does
 * the next write of the key on a store that was already open. On PostgreSQL and MySQL the chunks are
 * written inside the transaction, which the server rolls back when the connection drops: nothing
 * survives (the automatic age-based sweep is what catches other writers' leftovers there). Either
 * way the key reads the old object.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from '@stowage/core';
import { SqlBlobBackend } from '@stowage/sql-blob';
import { chunkRows, openTestBackend, testDatabases } from './servers.ts';

const CHUNK_SIZE = 4096;
const script = fileURLToPath(new URL('./fixtures/killed-writer.ts', import.meta.url));

/** Starts the writer on `key` and SIGKILLs it once it reports its first chunks in. */
async function killWriterMidWrite(url: string, table: string, key: string): Promise<void> {
  const child = spawn(process.execPath, ['--conditions=@stowage/source', script, url, table, key, String(CHUNK_SIZE)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (data: Buffer) => {
      if (data.toString().includes('landed')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the writer exited (${code}) before it was killed: ${stderr}`)));
  });
  child.kill('SIGKILL');
  await exited;
}

/** Runs one statement through the backend's own driver, as another program would. */
async function runRaw(backend: SqlBlobBackend, sql: string): Promise<void> {
  const client = backend.unwrap() as { exec?: (sql: string) => void; query?: (sql: string) => Promise<unknown> };
  if (client.exec) client.exec(sql);
  else await client.query!(sql);
}

function quoted(backend: SqlBlobBackend, name: string): string {
  return backend.name === 'sql-blob:mysql' ? `\`${name}\`` : `"${name}"`;
}

for (const { database, url, skip } of await testDatabases()) {
  describe.skipIf(skip !== undefined)(`sql-blob ${database}: a writer killed mid-write${skip ? ` (${skip})` : ''}`, () => {
    const teardowns: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const teardown of teardowns.splice(0).reverse()) await teardown();
    });
    async function open() {
      const opened = await openTestBackend(database, url, { chunkSize: CHUNK_SIZE });
      teardowns.push(opened.teardown);
      const target = database === 'sqlite' ? `sqlite:${(opened.backend.unwrap() as { name: string }).name}` : url!;
      return { ...opened, target };
    }

    it('leaves no chunk row after the next open, and the key reads the old object', async () => {
      const { store, backend, table, target } = await open();
      await store.write('killed.bin', 'previous');
      await killWriterMidWrite(target, table, 'killed.bin');
      const left = await chunkRows(backend, table);
      if (database === 'sqlite') expect(left, 'the dead writer staged chunks').toBeGreaterThanOrEqual(3);
      else expect(left, 'the server rolled the dead writer back').toBe(0);
      const reopened = await SqlBlobBackend.open({ url: target, tableName: table, chunkSize: CHUNK_SIZE });
      try {
        expect(await chunkRows(reopened, table), 'chunk rows after the next open').toBe(0);
        expect(await new Store(reopened).readText('killed.bin')).toBe('previous');
      } finally {
        await reopened.close();
      }
    }, 60_000);

    it('leaves no chunk row after the next write of the key on a store already open', async () => {
      const { store, backend, table, target } = await open();
      await store.write('killed.bin', 'previous');
      await killWriterMidWrite(target, table, 'killed.bin');
      expect(await store.readText('killed.bin')).toBe('previous');
      await store.write('killed.bin', 'next', { ifMatch: (await store.stat('killed.bin')).etag });
      expect(await chunkRows(backend, table), 'chunk rows after the next write').toBe(0);
      expect(await store.readText('killed.bin')).toBe('next');
    }, 60_000);

    it.runIf(database === 'sqlite')('with autoSweep: false, leaves them to sweep, which reclaims them as a dead writer\'s at any age', async () => {
      const { store, table, target } = await open();
      await store.write('killed.bin', 'previous');
      await killWriterMidWrite(target, table, 'killed.bin');
      const reopened = await SqlBlobBackend.open({ url: target, tableName: table, chunkSize: CHUNK_SIZE, autoSweep: false });
      try {
        const staged = await chunkRows(reopened, table);
        expect(staged).toBeGreaterThanOrEqual(3);
        const report = await new Store(reopened).sweep({ olderThanMs: 3_600_000 });
        expect(report.items.map((item) => item.reason)).toEqual(['owner-gone']);
        expect(await chunkRows(reopened, table)).toBe(0);
      } finally {
        await reopened.close();
      }
    }, 60_000);

    it('sweeps unreferenced chunks by age by itself: at open and once every everyWrites writes', async () => {
      const { store, backend, table, target } = await open();
      const orphan = async (key: string): Promise<void> => {
        await store.write(key, new Uint8Array(3 * CHUNK_SIZE).fill(1));
        // Another program deletes the row: its chunks are nobody's, written by a live process a moment ago.
        await runRaw(backend, `DELETE FROM ${quoted(backend, table)}`);
      };
      await orphan('a.bin');
      const young = await SqlBlobBackend.open({ url: target, tableName: table, chunkSize: CHUNK_SIZE });
      expect(await chunkRows(young, table), 'a young version is kept at open').toBe(3);
      await young.close();
      const aged = await SqlBlobBackend.open({ url: target, tableName: table, chunkSize: CHUNK_SIZE, autoSweep: { olderThanMs: 0, everyWrites: 3 } });
      try {
        // On a server the pass at open runs in the background.
        await expect.poll(() => chunkRows(aged, table), { timeout: 10_000 }).toBe(0);
        await orphan('b.bin');
        expect(await chunkRows(aged, table)).toBe(3);
        const next = new Store(aged);
        for (let index = 0; index < 3; index++) await next.write(`small-${index}.txt`, 'x');
        await expect.poll(() => chunkRows(aged, table), { timeout: 10_000 }).toBe(0);
        expect(aged.autoSweepError).toBeUndefined();
      } finally {
        await aged.close();
      }
    }, 60_000);
  });
}
