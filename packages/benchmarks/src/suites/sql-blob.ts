/**
 * The SQL blob adapter on SQLite (WAL and rollback journal), PostgreSQL and MySQL/MariaDB, against
 * the raw drivers:
 *
 * - streamed write and read of 256 MiB against one statement holding the whole object and against a
 *   bare loop of 1 MiB chunk rows in one transaction, with each side's peak RSS (a child process each);
 * - a 1 GiB object written and read back (peak RSS), then a range read of its last 1 MiB against its first;
 * - put and get of 1 KiB and 64 MiB against the plainest one-statement upsert and select;
 * - listing 100,000 keys page by page against a bare keyset loop on the same table.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '@stowage/core';
import { tcpAnswers } from '@stowage/conformance/servers';
import { SqlBlobBackend } from '@stowage/sql-blob';
import { bytes, drain, mibPerSecond, pieces, timed } from '../bodies.ts';
import {
  MiB,
  KiB,
  addComparisonRows,
  compare,
  compareInChildren,
  formatNumber,
  formatRatio,
  formatSize,
  median,
  type BenchSuite,
  type ChildSide,
  type SuiteContext,
} from '../harness.ts';
import { bytesOf, openRaw, rawKey, type DatabaseKind, type RawDatabase } from './raw-sql.ts';

/** One database setting the suite runs on. */
interface Target {
  readonly id: string;
  readonly label: string;
  readonly kind: DatabaseKind;
  readonly journal?: 'wal' | 'delete' | undefined;
}

const TARGETS: readonly Target[] = [
  { id: 'sqlite-wal', label: 'SQLite, WAL', kind: 'sqlite', journal: 'wal' },
  { id: 'sqlite-delete', label: 'SQLite, rollback journal', kind: 'sqlite', journal: 'delete' },
  { id: 'postgres', label: 'PostgreSQL', kind: 'postgres' },
  { id: 'mysql', label: 'MySQL/MariaDB', kind: 'mysql' },
];

const SERVER_URLS = {
  postgres: () => process.env.STOWAGE_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test',
  mysql: () => process.env.STOWAGE_TEST_MYSQL_URL || 'mysql://root@127.0.0.1:3306/test',
} as const;

/** Parameters every child case gets. */
interface CaseParams {
  url: string;
  journal?: 'wal' | 'delete' | undefined;
  table: string;
  key: string;
  size: number;
}

function params(raw: Record<string, unknown>): CaseParams {
  return raw as unknown as CaseParams;
}

async function openStore(p: CaseParams): Promise<Store> {
  return new Store(await SqlBlobBackend.open({ url: p.url, tableName: p.table, journalMode: p.journal }));
}

/** MySQL reserves `key`: the raw tables call their key column `k` everywhere. */
async function createRawTable(database: RawDatabase, table: string, chunked: boolean): Promise<void> {
  const columns = chunked ? `k ${database.keyType} NOT NULL, seq INTEGER NOT NULL, data ${database.blobType} NOT NULL, PRIMARY KEY (k, seq)` : `k ${database.keyType} PRIMARY KEY, data ${database.blobType} NOT NULL`;
  await database.query(`CREATE TABLE IF NOT EXISTS ${table} (${columns})`);
}

/** Cases that run in a child process of their own, so that each peak RSS is its own. */
export const childCases = {
  async 'stowage-write'(raw: Record<string, unknown>): Promise<Record<string, number>> {
    const p = params(raw);
    const store = await openStore(p);
    try {
      const { seconds } = await timed(() => store.write(p.key, pieces(p.size)));
      return { 'MiB/s': mibPerSecond(p.size, seconds) };
    } finally {
      await store.close();
    }
  },
  async 'stowage-read'(raw: Record<string, unknown>): Promise<Record<string, number>> {
    const p = params(raw);
    const store = await openStore(p);
    try {
      const { result, seconds } = await timed(async () => drain(await store.read(p.key)));
      if (result !== p.size) throw new Error(`read ${result} bytes of ${p.size}`);
      return { 'MiB/s': mibPerSecond(p.size, seconds) };
    } finally {
      await store.close();
    }
  },
  async 'stowage-roundtrip'(raw: Record<string, unknown>): Promise<Record<string, number>> {
    const p = params(raw);
    const store = await openStore(p);
    try {
      const write = await timed(() => store.write(p.key, pieces(p.size)));
      const read = await timed(async () => drain(await store.read(p.key)));
      if (read.result !== p.size) throw new Error(`read ${read.result} bytes of ${p.size}`);
      return { 'write MiB/s': mibPerSecond(p.size, write.seconds), 'read MiB/s': mibPerSecond(p.size, read.seconds) };
    } finally {
      await store.close();
    }
  },
  async 'raw-write'(raw: Record<string, unknown>): Promise<Record<string, number>> {
    const p = params(raw);
    const database = await openRaw(p.url, p.journal);
    try {
      await createRawTable(database, p.table, false);
      const body = bytes(p.size);
      const { seconds } = await timed(() => database.query(`INSERT INTO ${p.table} (k, data) VALUES (?, ?)`, [rawKey(database, p.key), body]));
      return { 'MiB/s': mibPerSecond(p.size, seconds) };
    } finally {
      await database.close();
    }
  },
  async 'raw-read'(raw: Record<string, unknown>): Promise<Record<string, number>> {
    const p = params(raw);
    const database = await openRaw(p.url, p.journal);
    try {
      const { result, seconds } = await timed(() => database.query(`SELECT data FROM ${p.table} WHERE k = ?`, [rawKey(database, p.key)]));
      const size = bytesOf(result[0]?.data).byteLength;
      if (size !== p.size) throw new Error(`read ${size} bytes of ${p.size}`);
      return { 'MiB/s': mibPerSecond(p.size, seconds) };
    } finally {
      await database.close();
    }
  },
  async 'chunks-write'(raw: Record<string, unknown>): Promise<Record<string, number>> {
    const p = params(raw);
    const database = await openRaw(p.url, p.journal);
    try {
      await createRawTable(database, p.table, true);
      const key = rawKey(database, p.key);
      const { seconds } = await timed(() =>
        database.transaction(async (connection) => {
          let seq = 0;
          for await (const piece of pieces(p.size)) await connection.query(`INSERT INTO ${p.table} (k, seq, data) VALUES (?, ?, ?)`, [key, seq++, piece]);
        }),
      );
      return { 'MiB/s': mibPerSecond(p.size, seconds) };
    } finally {
      await database.close();
    }
  },
  async 'chunks-read'(raw: Record<string, unknown>): Promise<Record<string, number>> {
    const p = params(raw);
    const database = await openRaw(p.url, p.journal);
    try {
      const key = rawKey(database, p.key);
      const { result, seconds } = await timed(async () => {
        let total = 0;
        for (let seq = 0; seq * MiB < p.size; seq++) {
          const rows = await database.query(`SELECT data FROM ${p.table} WHERE k = ? AND seq = ?`, [key, seq]);
          total += bytesOf(rows[0]?.data).byteLength;
        }
        return total;
      });
      if (result !== p.size) throw new Error(`read ${result} bytes of ${p.size}`);
      return { 'MiB/s': mibPerSecond(p.size, seconds) };
    } finally {
      await database.close();
    }
  },
};

/** Where one target's data lives during the suite, and how to remove it. */
interface Place {
  readonly target: Target;
  readonly url: string;
  /** A fresh database URL for one side (SQLite: its own file), and how to remove what it holds. */
  fresh(name: string): { url: string; table: string; drop(): Promise<void> };
}

function tableName(name: string): string {
  return `bench_${name.replace(/[^a-z0-9]/gi, '_')}_${randomBytes(4).toString('hex')}`;
}

async function dropTables(url: string, journal: string | undefined, tables: readonly string[]): Promise<void> {
  const database = await openRaw(url, journal);
  try {
    for (const table of tables) await database.query(`DROP TABLE IF EXISTS ${table}`);
  } finally {
    await database.close();
  }
}

function placeFor(target: Target, url: string, directory: string): Place {
  return {
    target,
    url,
    fresh(name) {
      const table = tableName(name);
      if (target.kind === 'sqlite') {
        const file = join(directory, `${target.id}-${table}.db`);
        return {
          url: `sqlite:${file}`,
          table,
          drop: async () => {
            for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${file}${suffix}`, { force: true });
          },
        };
      }
      return { url, table, drop: () => dropTables(url, undefined, [table, `${table}_chunks`]) };
    },
  };
}

async function serverVersion(url: string): Promise<string> {
  const database = await openRaw(url);
  try {
    const rows = await database.query('SELECT version() AS v');
    return String(rows[0]?.v ?? 'unknown').split(' on ')[0]!;
  } finally {
    await database.close();
  }
}

/** Streamed 256 MiB through stowage, one statement, and a bare chunk loop: throughput and peak RSS. */
async function streamed(context: SuiteContext, places: readonly Place[]): Promise<void> {
  const size = context.profile.size(256 * MiB, 8 * MiB);
  const table = context.table(`Streamed write and read of ${formatSize(size)}`, [
    'database',
    'implementation',
    'write MiB/s',
    'read MiB/s',
    'peak RSS write',
    'peak RSS read',
    'stowage ÷ this (write / read)',
  ]);
  for (const place of places) {
    const { target } = place;
    context.log(`streamed ${formatSize(size)} on ${target.label}`);
    const side = (label: string, prefix: 'stowage' | 'raw' | 'chunks', mayFail = false): ChildSide => {
      const fresh = place.fresh(prefix);
      const p = { url: fresh.url, journal: target.journal, table: fresh.table, key: 'bench/object.bin', size };
      return { label, mayFail, steps: [{ name: `${prefix}-write`, params: p }, { name: `${prefix}-read`, params: p }], cleanup: fresh.drop };
    };
    const result = await compareInChildren(
      'sql-blob',
      [side('stowage (1 MiB chunk rows, streamed)', 'stowage'), side('raw driver, one statement', 'raw', true), side('raw driver, 1 MiB chunk loop in one transaction', 'chunks')],
      context.profile,
      context.log,
    );
    const figure = (steps: (typeof result.sides)[number]['steps'], index: number) => {
      const step = steps[index]!;
      return { value: step.error ? undefined : median(step.metrics['MiB/s'] ?? []), rss: step.error ? undefined : Math.max(...step.peakRssMiB), error: step.error };
    };
    const stowage = result.sides[0]!;
    for (const side of result.sides) {
      const write = figure(side.steps, 0);
      const read = figure(side.steps, 1);
      for (const [metric, value] of [['write', write], ['read', read]] as const) {
        context.record({ case: `streamed ${formatSize(size)} ${target.id}`, side: side.label, metric: `${metric} MiB/s`, unit: 'MiB/s', median: value.value, samples: side.steps[metric === 'write' ? 0 : 1]!.metrics['MiB/s'] ?? [], error: value.error });
      }
      const show = (value: { value: number | undefined; error?: string | undefined }): string => (value.error ? `fails: ${value.error}` : formatNumber(value.value));
      const rss = (value: { rss: number | undefined; error?: string | undefined }): string => (value.error || value.rss === undefined ? '—' : `${Math.round(value.rss)} MiB`);
      const ratio = side === stowage ? '—' : `${formatRatio(figure(stowage.steps, 0).value, write.value)} / ${formatRatio(figure(stowage.steps, 1).value, read.value)}`;
      table.rows.push([target.label, side.label, show(write), read.error && write.error ? 'not run' : show(read), rss(write), write.error ? '—' : rss(read), ratio]);
    }
  }
  table.notes.push(
    'Each side runs in a child process of its own (peak RSS is the child\'s, Node\'s own 50–70 MiB included); the sides alternate across repetitions. stowage also computes the SHA-256 of everything it writes. "fails" is the driver\'s or server\'s own error: a statement that carries the whole object cannot work there.',
  );
}

/** A 1 GiB object written and read back (peak RSS), then its last 1 MiB against its first. */
async function largeObject(context: SuiteContext, places: readonly Place[]): Promise<void> {
  const size = context.profile.size(1024 * MiB, 16 * MiB);
  const table = context.table(`A ${formatSize(size)} object: streamed through stowage, then range reads`, [
    'database',
    'write MiB/s',
    'read MiB/s',
    'peak RSS (write + read)',
    'last 1 MiB (ms)',
    'first 1 MiB (ms)',
    'last ÷ first',
  ]);
  for (const place of places) {
    const { target } = place;
    context.log(`${formatSize(size)} round trip and range reads on ${target.label}`);
    const fresh = place.fresh('large');
    const p = { url: fresh.url, journal: target.journal, table: fresh.table, key: 'bench/large.bin', size };
    try {
      const result = await compareInChildren('sql-blob', [{ label: 'stowage', steps: [{ name: 'stowage-roundtrip', params: p }] }], { ...context.profile, repetitions: 1 }, context.log);
      const step = result.sides[0]!.steps[0]!;
      const store = await openStore(p);
      try {
        const range = await compare(
          {
            name: `range ${target.id}`,
            unit: 'ms',
            sides: [
              { label: 'last 1 MiB', run: () => store.readBytes(p.key, { range: { offset: size - MiB, length: MiB } }) },
              { label: 'first 1 MiB', run: () => store.readBytes(p.key, { range: { offset: 0, length: MiB } }) },
            ],
          },
          context.profile,
        );
        const [last, first] = range.sides;
        for (const side of range.sides) context.record({ case: `range read of ${formatSize(size)} ${target.id}`, side: side.label, metric: 'ms', unit: 'ms', median: side.median, samples: side.samples });
        const peak = Math.max(...step.peakRssMiB);
        context.record({ case: `round trip ${formatSize(size)} ${target.id}`, side: 'stowage', metric: 'peak RSS MiB', unit: 'MiB', median: peak, samples: step.peakRssMiB });
        table.rows.push([
          target.label,
          formatNumber(step.metrics['write MiB/s']?.[0]),
          formatNumber(step.metrics['read MiB/s']?.[0]),
          `${Math.round(peak)} MiB`,
          formatNumber(last!.median),
          formatNumber(first!.median),
          last!.median !== undefined && first!.median !== undefined ? `${(last!.median / first!.median).toFixed(2)}×` : 'n/a',
        ]);
      } finally {
        await store.close();
      }
    } finally {
      await fresh.drop();
    }
  }
  table.notes.push('The round trip runs in a child process of its own; its peak RSS includes Node\'s own 50–70 MiB. A range read fetches only the chunk rows it needs, so the last 1 MiB costs what the first does.');
}

/** Put and get of 1 KiB and 64 MiB through stowage against the plainest one-statement upsert and select. */
async function overhead(context: SuiteContext, places: readonly Place[]): Promise<void> {
  const large = context.profile.size(64 * MiB, 2 * MiB);
  const table = context.table(`Put and get of 1 KiB and ${formatSize(large)}: stowage against the raw driver`, ['case', 'unit', 'stowage', 'raw driver, one statement', 'stowage ÷ raw']);
  for (const place of places) {
    const { target } = place;
    context.log(`put/get overhead on ${target.label}`);
    const fresh = place.fresh('overhead');
    const store = await openStore({ url: fresh.url, journal: target.journal, table: fresh.table, key: '', size: 0 });
    const database = await openRaw(fresh.url, target.journal);
    const rawTable = `${fresh.table}_raw`;
    try {
      await createRawTable(database, rawTable, false);
      const upsert =
        database.kind === 'mysql'
          ? `INSERT INTO ${rawTable} (k, data) VALUES (?, ?) ON DUPLICATE KEY UPDATE data = VALUES(data)`
          : `INSERT INTO ${rawTable} (k, data) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET data = excluded.data`;
      for (const size of [KiB, large]) {
        const body = bytes(size);
        const key = `bench/${size}.bin`;
        const bound = rawKey(database, key);
        // A first write of each, so that every timed put is an overwrite and every get finds its row.
        await store.write(key, body);
        await database.query(upsert, [bound, body]).catch(() => undefined);
        const unit = size === KiB ? ('ops/s' as const) : ('MiB/s' as const);
        // Every put changes the bytes: SQLite and InnoDB skip writing a row whose values did not change.
        let version = 0;
        const changed = (): Buffer => (body.writeUInt32LE(++version, 0), body);
        const put = await compare(
          {
            name: `${target.label}: put ${formatSize(size)}`,
            unit,
            bytes: size,
            sides: [
              { label: 'stowage', run: () => store.write(key, changed()) },
              { label: 'raw', run: () => database.query(upsert, [bound, changed()]), mayFail: true },
            ],
          },
          context.profile,
        );
        addComparisonRows(table, context, put);
        const get = await compare(
          {
            name: `${target.label}: get ${formatSize(size)}`,
            unit,
            bytes: size,
            sides: [
              { label: 'stowage', run: () => store.readBytes(key) },
              {
                label: 'raw',
                mayFail: true,
                run: async () => {
                  const rows = await database.query(`SELECT data FROM ${rawTable} WHERE k = ?`, [bound]);
                  if (bytesOf(rows[0]?.data).byteLength !== size) throw new Error('the raw row is missing');
                },
              },
            ],
          },
          context.profile,
        );
        addComparisonRows(table, context, get);
      }
    } finally {
      await store.close();
      await database.query(`DROP TABLE IF EXISTS ${rawTable}`).catch(() => undefined);
      await database.close();
      await fresh.drop();
    }
  }
  table.notes.push(
    'A stowage put hashes the body and writes seven columns (size, time, type, digest, etag record, metadata); the raw side is one upsert of key and bytes. On PostgreSQL and MySQL/MariaDB a 1 KiB put is one upsert statement too; on SQLite it is a transaction (lock the row, check, update, switch chunk versions). Objects above 1 MiB are chunk rows for stowage and one value for the raw side.',
  );
}

/** Listing many keys page by page through stowage, against a bare keyset loop on the same table. */
async function listing(context: SuiteContext, places: readonly Place[]): Promise<void> {
  const count = context.profile.size(100_000, 2_000);
  const page = 1000;
  const table = context.table(`Listing ${count.toLocaleString('en-US')} keys in pages of ${page}`, ['case', 'unit', 'stowage', 'raw keyset loop', 'stowage ÷ raw']);
  for (const place of places.filter((candidate) => candidate.target.id !== 'sqlite-delete')) {
    const { target } = place;
    context.log(`listing ${count} keys on ${target.label}`);
    const fresh = place.fresh('listing');
    const store = await openStore({ url: fresh.url, journal: target.journal, table: fresh.table, key: '', size: 0 });
    const database = await openRaw(fresh.url, target.journal);
    const keyColumn = database.kind === 'mysql' ? '`key`' : 'key';
    try {
      // Rows inserted in bulk with SQL in the adapter's own layout: writing 100,000 objects one by one would measure writes.
      const now = Date.now() / 1000;
      for (let start = 0; start < count; start += 1000) {
        const batch = Array.from({ length: Math.min(1000, count - start) }, (_, index) => `files/${String(start + index).padStart(7, '0')}.txt`);
        // The columns stowage itself writes (etag in extra, digest, type, metadata), so that parsing costs what it does in use.
        await database.query(
          `INSERT INTO ${fresh.table} (${keyColumn}, data, size, modified_at, content_type, digest, extra, user_metadata) VALUES ${batch.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
          batch.flatMap((key) => [
            rawKey(database, key),
            Buffer.alloc(0),
            0,
            now,
            'text/plain',
            `sha256:${'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'}`,
            JSON.stringify({ stowage: { etag: randomBytes(16).toString('hex') } }),
            '{}',
          ]),
        );
      }
      const order = database.kind === 'postgres' ? `${keyColumn} COLLATE "C"` : keyColumn;
      const result = await compare(
        {
          name: `${target.label}: list ${count.toLocaleString('en-US')} keys`,
          unit: 'ms',
          minIterations: 2,
          sides: [
            {
              label: 'stowage',
              run: async () => {
                let seen = 0;
                let cursor: string | undefined;
                do {
                  const listed = await store.list({ limit: page, cursor });
                  seen += listed.items.length;
                  cursor = listed.cursor;
                } while (cursor !== undefined);
                if (seen !== count) throw new Error(`listed ${seen} of ${count} keys`);
              },
            },
            {
              label: 'raw',
              run: async () => {
                let seen = 0;
                let last: unknown = rawKey(database, '');
                for (;;) {
                  const rows = await database.query(`SELECT ${keyColumn} AS k, size, modified_at FROM ${fresh.table} WHERE ${order} > ? ORDER BY ${order} LIMIT ${page}`, [last]);
                  seen += rows.length;
                  if (rows.length < page) break;
                  last = rows[rows.length - 1]!.k;
                }
                if (seen !== count) throw new Error(`listed ${seen} of ${count} keys`);
              },
            },
          ],
        },
        context.profile,
      );
      addComparisonRows(table, context, result);
    } finally {
      await store.close();
      await database.close();
      await fresh.drop();
    }
  }
  table.notes.push('Both sides read the same table with keyset pagination (`key > cursor ORDER BY key LIMIT n`); stowage also parses each row into an entry (size, time, etag) and encodes a cursor.');
}

export const suite: BenchSuite = {
  name: 'sql-blob',
  description: 'The SQL blob adapter against the raw better-sqlite3, pg and mysql2 drivers on the same databases.',
  async run(context) {
    const directory = mkdtempSync(join(tmpdir(), 'stowage-bench-sql-'));
    const places: Place[] = [];
    const required = (process.env.STOWAGE_TEST_REQUIRE_SERVERS ?? '') !== '';
    try {
      for (const target of TARGETS) {
        if (target.kind === 'sqlite') {
          places.push(placeFor(target, '', directory));
          continue;
        }
        const url = SERVER_URLS[target.kind]();
        const parsed = new URL(url);
        if (!(await tcpAnswers(parsed.hostname || '127.0.0.1', Number(parsed.port || (target.kind === 'postgres' ? 5432 : 3306))))) {
          const reason = `${target.label} is not reachable at ${new URL(url).host}`;
          if (required) throw new Error(`${reason} (STOWAGE_TEST_REQUIRE_SERVERS is set)`);
          context.note(`${target.label}: not run (${reason}).`);
          continue;
        }
        context.note(`${target.label}: ${await serverVersion(url)}.`);
        places.push(placeFor(target, url, directory));
      }
      const { default: Database } = await import('better-sqlite3');
      const probe = new Database(':memory:');
      const { v: sqliteVersion } = probe.prepare('SELECT sqlite_version() AS v').get() as { v: string };
      context.note(`SQLite ${sqliteVersion} (better-sqlite3), synchronous=NORMAL in both journal modes; database files in ${tmpdir()}.`);
      probe.close();
      await streamed(context, places);
      await largeObject(context, places);
      await overhead(context, places);
      await listing(context, places);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  },
};
