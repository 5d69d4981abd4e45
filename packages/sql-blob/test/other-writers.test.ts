/**
 * The SQL blob adapter beside another writer on the same table (the SQL the Python `remote_store`
 * backend issues, plain copies and deletes), on every reachable database.
 */
import { randomBytes } from 'node:crypto';
import { Store } from '@stowage/core';
import { SqlBlobBackend } from '@stowage/sql-blob';
import { afterEach, describe, expect, it } from 'vitest';
import { codeOf, openTestBackend, testDatabases } from './servers.ts';
import { openRemoteStoreWriter } from './remote-store-writer.ts';

const databases = await testDatabases();

for (const { database, url, skip } of databases) {
  describe.skipIf(skip !== undefined)(`sql-blob ${database} beside another writer${skip ? ` (${skip})` : ''}`, () => {
    const teardowns: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const teardown of teardowns.splice(0).reverse()) await teardown();
    });
    async function open() {
      const opened = await openTestBackend(database, url, { chunkSize: 1024 });
      teardowns.push(opened.teardown);
      const other = await openRemoteStoreWriter(opened.backend, opened.table);
      teardowns.push(() => other.close());
      return { ...opened, other };
    }

    it('serves, stats and lists an inline object as another writer left it, and refuses a compare-and-swap on the old etag', async () => {
      const { store, other } = await open();
      const before = await store.write('doc.txt', 'stowage wrote this', { metadata: { by: 'stowage' } });
      expect(before.sha256).toBeDefined();
      await other.write('doc.txt', Buffer.from('remote_store wrote this one'), { by: 'python' });
      expect(await store.readText('doc.txt')).toBe('remote_store wrote this one');
      const after = await store.stat('doc.txt');
      expect(after.etag).not.toBe(before.etag);
      expect(after).toMatchObject({ size: 27, metadata: { by: 'python' } });
      expect(after.sha256).toBeUndefined();
      const page = await store.list({});
      expect(page.items).toMatchObject([{ key: 'doc.txt', size: 27, etag: after.etag }]);
      expect(await codeOf(store.write('doc.txt', 'lost update', { ifMatch: before.etag }))).toBe('PRECONDITION_FAILED');
      expect(await store.readText('doc.txt')).toBe('remote_store wrote this one');
      await store.write('doc.txt', 'on top of it', { ifMatch: after.etag });
      expect(await store.readText('doc.txt')).toBe('on top of it');
      expect((await store.stat('doc.txt')).sha256).toBeDefined();
    });

    it('reads the new inline bytes of a chunked object another writer overwrote, and sweeps the chunks nobody owns', async () => {
      const { store, backend, other } = await open();
      const big = randomBytes(5000);
      const before = await store.write('big.bin', big);
      await other.write('big.bin', Buffer.from('small now'));
      expect(await store.readText('big.bin')).toBe('small now');
      expect(Buffer.from(await store.readBytes('big.bin', { range: { offset: 6, length: 3 } })).toString()).toBe('now');
      const info = await store.stat('big.bin');
      expect(info).toMatchObject({ size: 9 });
      expect(info.etag).not.toBe(before.etag);
      expect(info.sha256).toBeUndefined();
      expect(await codeOf(store.write('big.bin', 'x', { ifMatch: before.etag }))).toBe('PRECONDITION_FAILED');
      const dry = await store.sweep({ olderThanMs: 0, dryRun: true });
      expect(dry.kinds).toMatchObject([{ kind: 'chunks', found: 1, removed: 0, bytes: 5000 }]);
      expect(dry.items).toMatchObject([{ kind: 'chunks', key: 'big.bin', reason: 'orphan', removed: false }]);
      expect(await backend.sweepOrphanChunks({ olderThan: 0 })).toEqual({ versions: 1, bytes: 5000 });
      expect((await store.sweep({ olderThanMs: 0 })).found).toBe(0);
      expect(await store.readText('big.bin')).toBe('small now');
      // A chunked object written again over the foreign row reads whole.
      await store.write('big.bin', big);
      expect(Buffer.from(await store.readBytes('big.bin'))).toEqual(big);
      expect(await backend.sweepOrphanChunks({ olderThan: 0 })).toEqual({ versions: 0, bytes: 0 });
    });

    it('detects deletes, re-creates and plain copies by another writer', async () => {
      const { store, other } = await open();
      const first = await store.write('a.txt', 'first');
      await other.delete('a.txt');
      await expect(store.stat('a.txt')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await other.write('a.txt', Buffer.from('again'));
      expect(await store.readText('a.txt')).toBe('again');
      expect(await codeOf(store.write('a.txt', 'x', { ifMatch: first.etag }))).toBe('PRECONDITION_FAILED');
      const big = randomBytes(3000);
      const written = await store.write('c.bin', big);
      await other.copyRow('c.bin', 'copy.bin');
      // The copy's row says nothing stowage can vouch for: its chunk pointer names another key's chunks.
      const copied = await store.stat('copy.bin');
      expect(copied.etag).not.toBe(written.etag);
      expect(copied.sha256).toBeUndefined();
      expect((await store.readBytes('copy.bin')).byteLength).toBe(copied.size);
      await store.delete('copy.bin');
      expect(Buffer.from(await store.readBytes('c.bin'))).toEqual(big);
      // stowage's own copy of a foreign row carries its bytes.
      await store.copy('a.txt', 'b.txt');
      expect(await store.readText('b.txt')).toBe('again');
    });

    it('never serves bytes neither writer wrote while both overwrite the same keys', async () => {
      const { store, other } = await open();
      const keys = ['mixed/0', 'mixed/1'];
      // Each body is one repeated byte; its size tells who wrote it and which byte it holds.
      const sizeOf = (writer: 'stowage' | 'other', fill: number): number => (writer === 'stowage' ? 4000 + fill : 100 + fill);
      for (const key of keys) await store.write(key, new Uint8Array(sizeOf('stowage', 1)).fill(1));
      let stop = false;
      const problems: string[] = [];
      const casCodes = new Set<string>();
      const stowageWriter = async (): Promise<void> => {
        for (let round = 0; !stop; round++) {
          const fill = 1 + (round % 50);
          await store.write(keys[round % 2]!, new Uint8Array(sizeOf('stowage', fill)).fill(fill));
        }
      };
      const casWriter = async (): Promise<void> => {
        for (let round = 0; !stop; round++) {
          const key = keys[round % 2]!;
          const info = await store.stat(key).catch(() => undefined);
          if (!info) continue;
          casCodes.add(await codeOf(store.write(key, new Uint8Array(sizeOf('other', 100)).fill(100), { ifMatch: info.etag })));
        }
      };
      const otherWriter = async (): Promise<void> => {
        for (let round = 0; !stop; round++) {
          const fill = 51 + (round % 40);
          await other.write(keys[round % 2]!, new Uint8Array(sizeOf('other', fill)).fill(fill));
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      };
      const reader = async (): Promise<void> => {
        for (let round = 0; round < 60; round++) {
          const key = keys[round % 2]!;
          const code = await codeOf(
            store.readBytes(key).then((bytes) => {
              const fills = new Set(bytes);
              const fill = bytes[0]!;
              const known = fills.size === 1 && (bytes.byteLength === sizeOf('stowage', fill) || bytes.byteLength === sizeOf('other', fill));
              if (!known) problems.push(`${key}: ${bytes.byteLength} bytes of ${[...fills].slice(0, 5).join(',')}`);
            }),
          );
          // A read cut by an overwrite says so; it never returns a mixture.
          if (code !== 'OK' && code !== 'PRECONDITION_FAILED') problems.push(`${key}: ${code}`);
        }
      };
      const writers = [stowageWriter(), casWriter(), otherWriter()];
      await Promise.all([reader(), reader()]);
      stop = true;
      await Promise.all(writers);
      expect(problems).toEqual([]);
      expect([...casCodes].filter((code) => code !== 'OK' && code !== 'PRECONDITION_FAILED')).toEqual([]);
    }, 60_000);

    it('keeps every object readable through data alone with inlineOnly, and refuses one that cannot fit before storing anything', async () => {
      const { store: chunkedStore, backend: chunkedBackend, table } = await open();
      const old = randomBytes(5000);
      await chunkedStore.write('old.bin', old);
      const inline = await SqlBlobBackend.open({ client: chunkedBackend.unwrap(), tableName: table, chunkSize: 1024, inlineOnly: true, maxBlobSize: 100_000 });
      teardowns.push(() => inline.close());
      const store = new Store(inline);
      expect(store.capabilities).toMatchObject({ multipart: false, maxObjectSize: 100_000 });
      const bytes = randomBytes(50_000);
      await store.write('new.bin', bytes, { metadata: { by: 'stowage' } });
      // What remote_store reads: SELECT data FROM … WHERE key = ?
      const other = await openRemoteStoreWriter(chunkedBackend, table);
      teardowns.push(() => other.close());
      expect(Buffer.from(await other.readData('new.bin'))).toEqual(bytes);
      expect(await codeOf(store.write('huge.bin', new Uint8Array(100_001)))).toBe('TOO_LARGE');
      await expect(store.stat('huge.bin')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      // Chunked objects written before stay readable; rewriting one moves it inline and frees its chunks.
      expect(Buffer.from(await store.readBytes('old.bin'))).toEqual(old);
      await store.write('old.bin', old);
      expect(Buffer.from(await other.readData('old.bin'))).toEqual(old);
      expect(await inline.sweepOrphanChunks({ olderThan: 0 })).toEqual({ versions: 0, bytes: 0 });
    });

    it('applies a compare-and-swap only to the version it read when another writer wrote in between', async () => {
      const { store, other } = await open();
      for (const size of [10, 5000]) {
        const key = `cas-${size}`;
        const read = await store.write(key, new Uint8Array(size).fill(1));
        await other.write(key, new Uint8Array(size).fill(2));
        expect(await codeOf(store.write(key, new Uint8Array(size).fill(3), { ifMatch: read.etag }))).toBe('PRECONDITION_FAILED');
        expect(new Set(await store.readBytes(key))).toEqual(new Set([2]));
        // A later write of the same size: a new etag (its modified_at differs).
        const current = await store.stat(key);
        await other.write(key, new Uint8Array(size).fill(4));
        expect((await store.stat(key)).etag).not.toBe(current.etag);
      }
    });
  });
}
