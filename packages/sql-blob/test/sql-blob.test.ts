/**
 * The SQL blob adapter beyond the conformance suite, on every reachable database: legacy
 * `remote_store` tables, chunk rows, concurrency of conditional writes, reads during overwrites,
 * failed writes, and the registry's URLs.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Store, isStowageError, openStore } from '@stowage/core';
import { SqlBlobBackend, adapter, optionsFromSqlUrl } from '@stowage/sql-blob';
import { codeOf, dropTables, openTestBackend, randomTable, testDatabases } from './servers.ts';

const databases = await testDatabases();

async function* slowBody(parts: number, size: number, failAt?: number): AsyncGenerator<Uint8Array> {
  for (let index = 0; index < parts; index++) {
    if (index === failAt) throw new Error('source failed');
    yield new Uint8Array(size).fill(index % 251);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

for (const { database, url, skip } of databases) {
  describe.skipIf(skip !== undefined)(`sql-blob ${database}${skip ? ` (${skip})` : ''}`, () => {
    const teardowns: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const teardown of teardowns.splice(0).reverse()) await teardown();
    });
    async function open(options: Parameters<typeof openTestBackend>[2] = {}) {
      const opened = await openTestBackend(database, url, options);
      teardowns.push(opened.teardown);
      return opened;
    }

    it('declares every capability on a full table and reports its dialect', async () => {
      const { store, backend } = await open();
      expect(backend.name).toBe(`sql-blob:${database}`);
      expect(store.capabilities).toMatchObject({ userMetadata: true, conditionalWrite: true, multipart: true, move: 'atomic', copy: 'native', maxObjectSize: null });
      await store.health();
    });

    it('stores small objects inline and large ones in chunk rows, and reads ranges across chunks', async () => {
      const { store } = await open({ chunkSize: 1024 });
      const bytes = randomBytes(10_000);
      const info = await store.write('big.bin', bytes);
      expect(info.size).toBe(10_000);
      expect(Buffer.from(await store.readBytes('big.bin'))).toEqual(bytes);
      expect(Buffer.from(await store.readBytes('big.bin', { range: { offset: 1000, length: 3000 } }))).toEqual(bytes.subarray(1000, 4000));
      expect(Buffer.from(await store.readBytes('big.bin', { range: { suffix: 10 } }))).toEqual(bytes.subarray(9990));
      await store.write('small.txt', 'hello');
      expect(await store.readText('small.txt')).toBe('hello');
      // Overwriting a chunked object with a small one leaves no chunk rows behind.
      await store.write('big.bin', 'now small');
      expect(await store.readText('big.bin')).toBe('now small');
    });

    it('gives exactly one of 20 concurrent create-only writers the key, chunked or not', async () => {
      const { store } = await open({ chunkSize: 1024 });
      for (const size of [10, 5000]) {
        const key = `race-${size}.bin`;
        const results = await Promise.all(Array.from({ length: 20 }, (_, index) => codeOf(store.write(key, new Uint8Array(size).fill(index), { ifNoneMatch: '*' }))));
        expect(results.filter((code) => code === 'OK')).toHaveLength(1);
        expect(results.filter((code) => code === 'ALREADY_EXISTS')).toHaveLength(19);
        const stored = await store.readBytes(key);
        expect(stored.byteLength).toBe(size);
        expect(new Set(stored).size).toBe(1);
      }
    });

    it('gives exactly one of 20 concurrent compare-and-swap writers the key', async () => {
      const { store } = await open({ chunkSize: 1024 });
      const { etag } = await store.write('cas.bin', 'start');
      const results = await Promise.all(Array.from({ length: 20 }, (_, index) => codeOf(store.write('cas.bin', new Uint8Array(3000).fill(index), { ifMatch: etag }))));
      expect(results.filter((code) => code === 'OK')).toHaveLength(1);
      expect(results.filter((code) => code === 'PRECONDITION_FAILED')).toHaveLength(19);
    });

    it('leaves one writer’s whole content when 10 unconditional writers overwrite a chunked object', async () => {
      const { store } = await open({ chunkSize: 1024 });
      await Promise.all(Array.from({ length: 10 }, (_, index) => store.write('many.bin', new Uint8Array(4096 + index).fill(index + 1))));
      const stored = await store.readBytes('many.bin');
      expect(new Set(stored).size).toBe(1);
      expect(stored.byteLength).toBe(4096 + stored[0]! - 1);
    });

    it('keeps the old object when the body fails mid-write', async () => {
      const { store } = await open({ chunkSize: 1024 });
      await store.write('keep.bin', 'previous');
      await expect(store.write('keep.bin', slowBody(10, 1000, 5))).rejects.toThrow();
      expect(await store.readText('keep.bin')).toBe('previous');
      await expect(store.stat('never.bin')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(store.write('never.bin', slowBody(10, 1000, 5))).rejects.toThrow();
      await expect(store.stat('never.bin')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it('keeps the old object when the write is aborted mid-body', async () => {
      const { store } = await open({ chunkSize: 1024 });
      await store.write('aborted.bin', 'previous');
      const controller = new AbortController();
      async function* body(): AsyncGenerator<Uint8Array> {
        for (let index = 0; index < 50; index++) {
          if (index === 5) controller.abort();
          yield new Uint8Array(1024).fill(3);
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      }
      await expect(store.write('aborted.bin', body(), { signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
      expect(await store.readText('aborted.bin')).toBe('previous');
    });

    it.skipIf(database === 'sqlite')('keeps the previous version when the connection dies mid-write', async () => {
      const { store, backend } = await open({ chunkSize: 1024 });
      await store.write('killed.bin', 'previous');
      const pool = backend.unwrap() as { query(sql: string): Promise<unknown> };
      let killed = false;
      async function* body(): AsyncGenerator<Uint8Array> {
        for (let index = 0; index < 20; index++) {
          yield new Uint8Array(1024).fill(7);
          if (index === 5 && !killed) {
            killed = true;
            // Kill the other sessions of this backend's own pool (the write's transaction is one of
            // them), never another test's: other files run on the same server at the same time.
            const sessions = poolSessions(pool);
            if (database === 'postgres') {
              await pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND pid IN (${sessions.join(', ')})`);
            } else {
              const [rows] = (await pool.query(`SELECT id FROM information_schema.processlist WHERE id <> CONNECTION_ID() AND id IN (${sessions.join(', ')})`)) as unknown as [{ id: number }[]];
              for (const row of rows) await pool.query(`KILL ${Number(row.id)}`).catch(() => undefined);
            }
          }
        }
      }
      const code = await codeOf(store.write('killed.bin', body()));
      expect(code).toBe('UNAVAILABLE');
      expect(await store.readText('killed.bin')).toBe('previous');
    });

    it('reads a chunked object whole while it is overwritten', async () => {
      const { store } = await open({ chunkSize: 1024 });
      await store.write('moving.bin', new Uint8Array(20 * 1024).fill(1));
      const stream = await store.read('moving.bin');
      const reader = stream.getReader();
      const first = await reader.read();
      await store.write('moving.bin', new Uint8Array(30 * 1024).fill(2));
      let total = first.value!.byteLength;
      const seen = new Set(first.value);
      for (let next = await reader.read(); !next.done; next = await reader.read()) {
        total += next.value.byteLength;
        for (const byte of new Set(next.value)) seen.add(byte);
      }
      expect(total).toBe(20 * 1024);
      expect([...seen]).toEqual([1]);
    });

    it('holds no connection for range reads within one chunk, even when the streams are left unread', async () => {
      const { store } = await open({ chunkSize: 1024 });
      const bytes = randomBytes(8 * 1024);
      await store.write('ranged.bin', bytes);
      // More unread streams than the pool has connections (8): none may keep one.
      const streams = await Promise.all(Array.from({ length: 20 }, (_, index) => store.read('ranged.bin', { range: { offset: index * 300, length: 100 } })));
      await store.write('other.bin', 'still writable');
      for (const [index, stream] of streams.entries()) {
        expect(Buffer.from(await new Response(stream).arrayBuffer())).toEqual(bytes.subarray(index * 300, index * 300 + 100));
      }
    });

    it('copies and moves chunked objects inside the database', async () => {
      const { store } = await open({ chunkSize: 1024 });
      const bytes = randomBytes(5000);
      await store.write('a/one.bin', bytes, { metadata: { tag: 'x' } });
      await store.copy('a/one.bin', 'b/two.bin');
      await store.move('a/one.bin', 'c/three.bin');
      await expect(store.stat('a/one.bin')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(Buffer.from(await store.readBytes('b/two.bin'))).toEqual(bytes);
      expect(Buffer.from(await store.readBytes('c/three.bin'))).toEqual(bytes);
      expect((await store.stat('c/three.bin')).metadata).toEqual({ tag: 'x' });
      await store.deleteMany(['b/two.bin', 'c/three.bin', 'missing']);
      const page = await store.list({});
      expect(page.items).toEqual([]);
    });

    it('lists keys holding SQL wildcards and escapes in UTF-8 byte order', async () => {
      const { store } = await open();
      const keys = ['a%b', 'a_b', 'a*b', 'a?b', 'a[b', "a'b", 'ab', 'aé', 'aＡ', 'a😀'];
      for (const key of keys) await store.write(key, key);
      const listed: string[] = [];
      for await (const entry of store.listAll({ prefix: 'a' })) listed.push(entry.key);
      expect(listed).toEqual([...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
      const underscore: string[] = [];
      for await (const entry of store.listAll({ prefix: 'a_' })) underscore.push(entry.key);
      expect(underscore).toEqual(['a_b']);
    });

    it('opens a legacy remote_store table with createTable: false and reads rows written by plain SQL', async () => {
      const table = randomTable();
      const setup = await openTestBackend(database, url, { tableName: `${table}_setup` });
      teardowns.push(setup.teardown);
      const client = setup.backend.unwrap() as { exec?: (sql: string) => void; prepare?: (sql: string) => { run(...values: unknown[]): unknown }; query?: (sql: string, values?: unknown[]) => Promise<unknown> };
      const keyType = database === 'mysql' ? 'VARBINARY(255)' : 'TEXT';
      const ddl = `CREATE TABLE ${table} (key ${keyType} PRIMARY KEY, data ${database === 'postgres' ? 'BYTEA' : 'BLOB'} NOT NULL, size INTEGER NOT NULL, modified_at ${database === 'postgres' ? 'DOUBLE PRECISION' : 'REAL'} NOT NULL, content_type TEXT, digest TEXT, extra TEXT)`.replace(
        '(key ',
        database === 'mysql' ? '(`key` ' : '(key ',
      );
      const insert = `INSERT INTO ${table} (${database === 'mysql' ? '`key`' : 'key'}, data, size, modified_at, content_type, digest, extra) VALUES (${database === 'postgres' ? '$1, $2, $3, $4, $5, $6, $7' : '?, ?, ?, ?, ?, ?, ?'})`;
      const row = ['docs/readme.txt', Buffer.from('Hello!'), 6, 1_700_000_000.5, 'text/plain', null, null];
      if (client.exec) {
        client.exec(ddl);
        client.prepare!(insert).run(...row);
      } else {
        await client.query!(ddl);
        await client.query!(insert, row);
      }
      const legacy = await SqlBlobBackend.open({ client: setup.backend.unwrap(), tableName: table, createTable: false });
      teardowns.push(async () => {
        await legacy.close();
        await dropTables(setup.backend, table);
      });
      const store = new Store(legacy);
      expect(store.capabilities).toMatchObject({ userMetadata: false, multipart: false, conditionalWrite: true });
      expect(store.capabilities.maxObjectSize).toBeGreaterThan(0);
      expect(await store.readText('docs/readme.txt')).toBe('Hello!');
      const info = await store.stat('docs/readme.txt');
      expect(info).toMatchObject({ size: 6, contentType: 'text/plain', metadata: {} });
      expect(info.lastModified.getTime()).toBe(1_700_000_000_500);
      expect(info.etag).toMatch(/^"r-[0-9a-f]+"$/);
      // A write with metadata is refused before any I/O; one without works and round-trips.
      await expect(store.write('new.txt', 'x', { metadata: { a: 'b' } })).rejects.toMatchObject({ code: 'CAPABILITY_NOT_SUPPORTED' });
      await expect(store.stat('new.txt')).rejects.toMatchObject({ code: 'NOT_FOUND' });
      const written = await store.write('new.txt', 'new', { ifMatch: undefined });
      expect(await store.readText('new.txt')).toBe('new');
      await expect(store.write('new.txt', 'again', { ifMatch: info.etag })).rejects.toMatchObject({ code: 'PRECONDITION_FAILED' });
      await store.write('new.txt', 'again', { ifMatch: written.etag });
      await expect(store.write('docs/readme.txt', 'x', { ifMatch: info.etag })).resolves.toMatchObject({ size: 1 });
      const page = await store.list({ delimiter: '/' });
      expect(page.prefixes).toEqual(['docs/']);
      expect(page.items.map((item) => item.key)).toEqual(['new.txt']);
    });

    it.skipIf(database === 'mysql')('opens the exact remote_store table: as is with createTable: false, with chunk rows added otherwise', async () => {
      // The seed's DDL verbatim (MySQL cannot index a TEXT key, so this one runs on SQLite and PostgreSQL).
      const table = randomTable();
      const setup = await openTestBackend(database, url, { tableName: `${table}_setup` });
      teardowns.push(setup.teardown);
      const client = setup.backend.unwrap() as { exec?: (sql: string) => void; prepare?: (sql: string) => { run(...values: unknown[]): unknown }; query?: (sql: string, values?: unknown[]) => Promise<unknown> };
      const ddl = `CREATE TABLE ${table} (key TEXT PRIMARY KEY, data BLOB NOT NULL, size INTEGER NOT NULL, modified_at REAL NOT NULL, content_type TEXT, digest TEXT, extra TEXT, user_metadata TEXT)`;
      const insert = `INSERT INTO ${table} (key, data, size, modified_at, content_type, digest, extra, user_metadata) VALUES (${database === 'postgres' ? '$1, $2, $3, $4, $5, $6, $7, $8' : '?, ?, ?, ?, ?, ?, ?, ?'})`;
      const digest = 'a'.repeat(64);
      const row = ['models/v3.pkl', Buffer.from([1, 2, 3]), 3, 1_700_000_000, null, digest, '{"python":true}', '{"owner":"ml"}'];
      if (client.exec) {
        client.exec(ddl);
        client.prepare!(insert).run(...row);
      } else {
        await client.query!(ddl.replace('data BLOB', 'data BYTEA'));
        await client.query!(insert, row);
      }
      const asIs = await SqlBlobBackend.open({ client: setup.backend.unwrap(), tableName: table, createTable: false });
      const store = new Store(asIs);
      expect(store.capabilities).toMatchObject({ userMetadata: true, multipart: false, conditionalWrite: true });
      expect(Array.from(await store.readBytes('models/v3.pkl'))).toEqual([1, 2, 3]);
      // remote_store leaves `digest` as it was when it overwrites a row, so a digest stowage did not write is not reported.
      const python = await store.stat('models/v3.pkl');
      expect(python).toMatchObject({ size: 3, metadata: { owner: 'ml' }, contentType: 'application/octet-stream' });
      expect(python.sha256).toBeUndefined();
      await store.write('inline.bin', new Uint8Array(3 * 1024 * 1024).fill(9), { metadata: { a: 'b' } });
      expect((await store.readBytes('inline.bin')).byteLength).toBe(3 * 1024 * 1024);
      await asIs.close();
      const upgraded = await SqlBlobBackend.open({ client: setup.backend.unwrap(), tableName: table, chunkSize: 1024 });
      teardowns.push(async () => {
        await upgraded.close();
        await dropTables(setup.backend, table);
      });
      const full = new Store(upgraded);
      expect(full.capabilities).toMatchObject({ userMetadata: true, multipart: true });
      const bytes = randomBytes(5000);
      await full.write('models/v4.pkl', bytes);
      expect(Buffer.from(await full.readBytes('models/v4.pkl'))).toEqual(bytes);
      expect(Array.from(await full.readBytes('models/v3.pkl'))).toEqual([1, 2, 3]);
      expect((await full.readBytes('inline.bin')).byteLength).toBe(3 * 1024 * 1024);
    });

    it('refuses a key column whose collation merges keys, saying how to convert it, and keeps keys byte-exact once converted', async () => {
      const table = randomTable();
      const setup = await openTestBackend(database, url, { tableName: `${table}_setup` });
      teardowns.push(setup.teardown);
      const client = setup.backend.unwrap() as { exec?: (sql: string) => void; query?: (sql: string) => Promise<unknown> };
      const run = async (sql: string): Promise<void> => {
        if (client.exec) client.exec(sql);
        else await client.query!(sql);
      };
      teardowns.push(() => dropTables(setup.backend, table));
      if (database === 'mysql') await run(`CREATE TABLE ${table} (\`key\` VARCHAR(255) NOT NULL PRIMARY KEY, data LONGBLOB NOT NULL)`);
      else if (database === 'sqlite') await run(`CREATE TABLE ${table} (key TEXT COLLATE NOCASE PRIMARY KEY, data BLOB NOT NULL)`);
      else {
        await run(`CREATE COLLATION IF NOT EXISTS stowage_case_insensitive (provider = icu, locale = 'und-u-ks-level2', deterministic = false)`);
        await run(`CREATE TABLE ${table} (key TEXT COLLATE stowage_case_insensitive PRIMARY KEY, data BYTEA NOT NULL)`);
      }
      const refused = await SqlBlobBackend.open({ client: setup.backend.unwrap(), tableName: table, createTable: false }).catch((error: unknown) => error);
      expect(refused).toMatchObject({ code: 'INVALID_ARGUMENT' });
      const message = (refused as Error).message;
      expect(message).toMatch(/cannot keep keys byte-exact/);
      if (database === 'sqlite') {
        expect(message).toMatch(/recreate the table/);
        return;
      }
      // The conversion the message gives works, and then `a`, `A` and `a ` are three objects in byte order.
      const conversion = /(ALTER TABLE .*?)(?: \(|$)/.exec(message)?.[1];
      expect(conversion).toBeDefined();
      await run(conversion!);
      const converted = await SqlBlobBackend.open({ client: setup.backend.unwrap(), tableName: table, createTable: false });
      teardowns.push(() => converted.close());
      const store = new Store(converted);
      expect(store.capabilities.listOrder).toBe('utf8');
      for (const key of ['a', 'A', 'a ', 'é', 'e']) await store.write(key, key);
      for (const key of ['a', 'A', 'a ', 'é', 'e']) expect(await store.readText(key)).toBe(key);
      const listed: string[] = [];
      for await (const entry of store.listAll()) listed.push(entry.key);
      expect(listed).toEqual(['A', 'a', 'a ', 'e', 'é']);
    });

    it.runIf(database === 'postgres')('lists in byte order on a PostgreSQL key column with a language collation', async () => {
      const table = randomTable();
      const setup = await openTestBackend(database, url, { tableName: `${table}_setup` });
      teardowns.push(setup.teardown);
      const client = setup.backend.unwrap() as { query(sql: string): Promise<unknown> };
      await client.query(`CREATE TABLE ${table} (key TEXT COLLATE "und-x-icu" PRIMARY KEY, data BYTEA NOT NULL)`);
      teardowns.push(() => dropTables(setup.backend, table));
      const opened = await SqlBlobBackend.open({ client: setup.backend.unwrap(), tableName: table, createTable: false });
      teardowns.push(() => opened.close());
      const store = new Store(opened);
      for (const key of ['b', 'B', 'a', 'é', 'Z']) await store.write(key, key);
      const listed: string[] = [];
      for await (const entry of store.listAll()) listed.push(entry.key);
      expect(listed).toEqual(['B', 'Z', 'a', 'b', 'é']);
      expect((await store.list({ limit: 2 })).items.map((item) => item.key)).toEqual(['B', 'Z']);
    });

    it('opens a table of only key and data, with fewer capabilities', async () => {
      const table = randomTable();
      const setup = await openTestBackend(database, url, { tableName: `${table}_setup` });
      teardowns.push(setup.teardown);
      const client = setup.backend.unwrap() as { exec?: (sql: string) => void; query?: (sql: string) => Promise<unknown> };
      const ddl =
        database === 'mysql'
          ? `CREATE TABLE ${table} (\`key\` VARBINARY(255) PRIMARY KEY, data LONGBLOB NOT NULL)`
          : `CREATE TABLE ${table} (key TEXT PRIMARY KEY, data ${database === 'postgres' ? 'BYTEA' : 'BLOB'} NOT NULL)`;
      if (client.exec) client.exec(ddl);
      else await client.query!(ddl);
      const minimal = await SqlBlobBackend.open({ client: setup.backend.unwrap(), tableName: table, createTable: false, maxBlobSize: 100_000 });
      teardowns.push(async () => {
        await minimal.close();
        await dropTables(setup.backend, table);
      });
      const store = new Store(minimal);
      expect(store.capabilities).toMatchObject({ userMetadata: false, multipart: false, conditionalWrite: false, maxObjectSize: 100_000 });
      await store.write('x.json', '{"a":1}');
      expect(await store.stat('x.json')).toMatchObject({ size: 7, contentType: 'application/json' });
      expect(await store.readText('x.json')).toBe('{"a":1}');
      await expect(store.write('y', 'z', { ifNoneMatch: '*' })).rejects.toMatchObject({ code: 'CAPABILITY_NOT_SUPPORTED' });
      await expect(store.write('big', new Uint8Array(100_001))).rejects.toMatchObject({ code: 'TOO_LARGE' });
    });

    it('never closes a borrowed client', async () => {
      const { backend } = await open();
      const table = randomTable();
      const borrowed = await SqlBlobBackend.open({ client: backend.unwrap(), tableName: table });
      await borrowed.close();
      await backend.health();
      await dropTables(backend, table);
    });
  });
}


/** The server-side ids of a driver pool's connections (pg: backend pids; mysql2: thread ids). */
function poolSessions(pool: unknown): number[] {
  const pg = pool as { _clients?: { processID?: number }[] };
  const mysql = pool as { pool?: { _allConnections?: { toArray(): { threadId?: number }[] } } };
  const ids = pg._clients ? pg._clients.map((client) => client.processID) : (mysql.pool?._allConnections?.toArray().map((connection) => connection.threadId) ?? []);
  const known = ids.filter((id): id is number => Number.isSafeInteger(id));
  if (known.length === 0) throw new Error('found no connection of the pool to kill');
  return known;
}

describe('sql-blob options and URLs', () => {
  it('parses sqlite URLs and strips its own parameters', () => {
    expect(optionsFromSqlUrl(new URL('sqlite:./store.db?tableName=files&chunkSize=4096&journalMode=DELETE'))).toEqual({
      url: 'sqlite:./store.db',
      tableName: 'files',
      chunkSize: 4096,
      journalMode: 'delete',
    });
    expect(optionsFromSqlUrl(new URL('postgres://u:p@h/db?createTable=false&sslmode=disable'))).toEqual({ url: 'postgres://u:p@h/db?sslmode=disable', createTable: false });
    expect(() => optionsFromSqlUrl(new URL('sqlite:x.db?chunkSize=-1'))).toThrow(/chunkSize/);
    expect(adapter.schemes).toEqual(['sqlite', 'postgres', 'postgresql', 'mysql', 'mariadb']);
  });

  it('opens sqlite::memory: through the registry', async () => {
    const store = await openStore('sqlite::memory:');
    try {
      await store.write('a/b.txt', 'in memory');
      expect(await store.readText('a/b.txt')).toBe('in memory');
    } finally {
      await store.close();
    }
  });

  it('refuses both or neither of url and client, and bad table names', async () => {
    await expect(SqlBlobBackend.open({})).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(SqlBlobBackend.open({ url: 'sqlite::memory:', tableName: 'x; DROP' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(SqlBlobBackend.open({ url: 'oracle://x' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(SqlBlobBackend.open({ url: 'sqlite::memory:', tableName: 'missing', createTable: false })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('refuses a URL parameter it does not know, also when the url is given to open() itself, and honours its own', async () => {
    await expect(openStore('sqlite::memory:?bogus=1')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('unknown parameter "bogus" in a sqlite: URL') });
    await expect(SqlBlobBackend.open({ url: 'sqlite::memory:?tablename=files' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('did you mean "tableName"?') });
    await expect(SqlBlobBackend.open({ url: 'postgres://127.0.0.1:1/db?sslmod=disable' })).rejects.toMatchObject({ message: expect.stringMatching(/did you mean "sslmode"\?.*the pg driver reads/) });
    const backend = await SqlBlobBackend.open({ url: 'sqlite::memory:?tableName=files_from_url' });
    try {
      await new Store(backend).write('a.txt', 'x');
      const rows = (backend.unwrap() as { prepare(sql: string): { all(): { name: string }[] } }).prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
      expect(rows.map((row) => row.name)).toContain('files_from_url');
    } finally {
      await backend.close();
    }
  });

  it('refuses arguments of the wrong kind with a typed error', async () => {
    await expect(SqlBlobBackend.open(undefined as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'give exactly one of url and client to the sql-blob adapter' });
    for (const bad of [null, 42, 'sqlite::memory:']) {
      await expect(SqlBlobBackend.open(bad as never), String(bad)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^SqlBlobBackend\.open takes an options object/) });
    }
    await expect(SqlBlobBackend.open({ url: 42 } as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('says what to fix when the database or the folder named in the URL does not exist, and never calls that retryable', async () => {
    const missing = `missing_${randomBytes(4).toString('hex')}`;
    const cases: [string, RegExp][] = [['sqlite:/nonexistent-folder-of-stowage/store.db', /create the folder the SQLite file goes in, or correct the path in the URL/]];
    for (const server of databases.map((entry) => entry.url)) {
      if (server === undefined) continue;
      const url = new URL(server);
      url.pathname = `/${missing}`;
      cases.push([url.href, new RegExp(`${missing}.*create that database on the server, or name an existing one in the URL`)]);
    }
    for (const [url, message] of cases) {
      const error = await openStore(url).catch((e: unknown) => e);
      expect(isStowageError(error, 'INVALID_ARGUMENT'), `${url}: ${String(error)}`).toBe(true);
      expect((error as { retryable: boolean }).retryable).toBe(false);
      expect((error as Error).message).toMatch(message);
    }
  });
});
