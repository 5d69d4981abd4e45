/**
 * The adapter's pure helpers: prefix ranges, digests, `extra`, chunking, and the error mapping.
 */
import { describe, expect, it } from 'vitest';
import { codeOf, mapDatabaseError } from '../src/sql-errors.ts';
import { fixedChunks, formatExtra, keyHash, newVersion, parseDigest, parseExtra, prefixSuccessor, versionTime, versionWriterGone } from '../src/rows.ts';
import { HOST_TAG } from '@stowage/core/node';
import { sqlitePath } from '@stowage/sql-blob';

describe('prefixSuccessor', () => {
  it('is above every key with the prefix and below every other key above the prefix', () => {
    expect(prefixSuccessor('')).toBeUndefined();
    expect(prefixSuccessor('a/')).toBe('a0');
    expect(prefixSuccessor('a\u{10FFFF}')).toBe('b');
    expect(prefixSuccessor('a\uD7FF')).toBe('a\uE000');
    expect(prefixSuccessor('\u{10FFFF}')).toBeUndefined();
    const successor = Buffer.from(prefixSuccessor('a%_')!);
    for (const key of ['a%_', 'a%_\u{10FFFF}z', 'a%_😀']) expect(Buffer.compare(Buffer.from(key), successor)).toBe(-1);
    expect(Buffer.compare(Buffer.from('a%`'), successor)).toBe(0);
  });
});

describe('rows', () => {
  it('reads digests in both formats and keeps stowage’s extra apart from other writers’', () => {
    const hex = 'AB'.repeat(32);
    expect(parseDigest(`sha256:${hex}`)).toBe(hex.toLowerCase());
    expect(parseDigest(hex)).toBe(hex.toLowerCase());
    expect(parseDigest('md5:abc')).toBeUndefined();
    expect(parseExtra(formatExtra('e1', { version: 'v1', chunkSize: 1024 }, { size: 5000, modifiedAt: 1.5, key: 'a' }))).toEqual({ etag: 'e1', version: 'v1', chunkSize: 1024, size: 5000, modifiedAt: 1.5, key: keyHash('a') });
    expect(parseExtra('{"python":1}')).toBeUndefined();
    expect(parseExtra('not json')).toBeUndefined();
  });

  it('cuts bodies into fixed chunks', async () => {
    async function* body() {
      yield new Uint8Array(700);
      yield new Uint8Array(700);
      yield new Uint8Array(10);
    }
    const sizes: number[] = [];
    for await (const chunk of fixedChunks(body(), 512)) sizes.push(chunk.byteLength);
    expect(sizes).toEqual([512, 512, 386]);
  });

  it('cuts any piece sizes into exact chunks of the same bytes, in new buffers, with small bodies in small buffers', async () => {
    const source = Buffer.from(Array.from({ length: 100_000 }, (_, index) => (index * 7 + 3) % 251));
    for (const pieceSizes of [[1], [7, 300, 1], [65_536], [100_000], [40_000, 1, 59_999]]) {
      async function* body(): AsyncGenerator<Uint8Array> {
        let offset = 0;
        for (let index = 0; offset < source.byteLength; index++) {
          const size = pieceSizes[index % pieceSizes.length]!;
          // One reused buffer, as a source may do: each yielded chunk must be a copy.
          const reused = Buffer.from(source.subarray(offset, offset + size));
          yield reused;
          reused.fill(0);
          offset += size;
        }
      }
      const chunks: Buffer[] = [];
      for await (const chunk of fixedChunks(body(), 32_768)) chunks.push(chunk);
      expect(chunks.map((chunk) => chunk.byteLength)).toEqual([32_768, 32_768, 32_768, 1_696]);
      expect(Buffer.concat(chunks).equals(source)).toBe(true);
    }
    async function* small(): AsyncGenerator<Uint8Array> {
      yield Buffer.alloc(1024, 1);
    }
    const yielded: Buffer[] = [];
    for await (const chunk of fixedChunks(small(), 1024 * 1024)) yielded.push(chunk);
    const [only] = yielded;
    expect(only!.byteLength).toBe(1024);
    // (Small buffers may come from Node's shared pool, which is 64 KiB at most.)
    expect(only!.buffer.byteLength).toBeLessThanOrEqual(64 * 1024);
  });

  it('puts the creation time in chunk version ids, in an order that sorts by time', () => {
    const early = newVersion(Date.UTC(2026, 0, 1));
    const late = newVersion(Date.UTC(2031, 5, 1));
    expect(early).toMatch(/^[0-9a-z]{9}[0-9a-f]{20}$/);
    expect(versionTime(early)).toBe(Date.UTC(2026, 0, 1));
    expect(early < late).toBe(true);
    expect(newVersion()).not.toBe(newVersion());
    expect(versionTime('0123456789abcdef01234567')).toBeUndefined();
  });

  it('names the writer in chunk version ids: a dead pid of this host is gone, a live one or another host is not', () => {
    expect(versionWriterGone(newVersion())).toBe(false);
    expect(newVersion(Date.now(), { host: HOST_TAG, pid: 12345 }).slice(9, 23)).toBe(`${HOST_TAG}003039`);
    // pid 4194304 is past Linux's largest (pid_max is at most 2^22): never a running process.
    expect(versionWriterGone(newVersion(Date.now(), { host: HOST_TAG, pid: 4_194_304 }))).toBe(true);
    expect(versionWriterGone(newVersion(Date.now(), { host: HOST_TAG === '00000000' ? '00000001' : '00000000', pid: 4_194_304 }))).toBe(false);
    // A pid too large for the id is written as unknown, and never judged gone.
    expect(versionWriterGone(newVersion(Date.now(), { host: HOST_TAG, pid: 0x1000000 }))).toBe(false);
    expect(versionWriterGone('not-a-version')).toBe(false);
  });

  it('maps sqlite: URLs to paths', () => {
    expect(sqlitePath('sqlite::memory:')).toBe(':memory:');
    expect(sqlitePath('sqlite:./store.db')).toBe('./store.db');
    expect(sqlitePath('sqlite:///var/data/store.db?tableName=x')).toBe('/var/data/store.db');
  });
});

describe('error mapping', () => {
  it('maps each driver’s codes onto stowage codes', () => {
    expect(codeOf({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' })).toBe('ALREADY_EXISTS');
    expect(codeOf({ code: 'SQLITE_BUSY' })).toBe('UNAVAILABLE');
    expect(codeOf({ code: 'SQLITE_READONLY' })).toBe('PERMISSION_DENIED');
    expect(codeOf({ code: '23505' })).toBe('ALREADY_EXISTS');
    expect(codeOf({ code: '57P01' })).toBe('UNAVAILABLE');
    expect(codeOf({ code: '42501' })).toBe('PERMISSION_DENIED');
    expect(codeOf({ code: '28P01' })).toBe('PERMISSION_DENIED');
    expect(codeOf({ code: 'ER_DUP_ENTRY', errno: 1062 })).toBe('ALREADY_EXISTS');
    expect(codeOf({ code: 'ER_LOCK_DEADLOCK', errno: 1213 })).toBe('UNAVAILABLE');
    expect(codeOf({ code: 'ER_ACCESS_DENIED_ERROR', errno: 1045 })).toBe('PERMISSION_DENIED');
    expect(codeOf({ code: 'ER_NET_PACKET_TOO_LARGE', errno: 1153 })).toBe('TOO_LARGE');
    expect(codeOf({ code: 'PROTOCOL_CONNECTION_LOST' })).toBe('UNAVAILABLE');
    expect(codeOf({ code: 'ECONNREFUSED' })).toBe('UNAVAILABLE');
    expect(codeOf(new Error('Connection terminated unexpectedly'))).toBe('UNAVAILABLE');
  });

  it('maps a full disk or an exhausted tablespace onto STORAGE_FULL on every engine, not retryable, saying what is full', () => {
    const cases: [object, RegExp][] = [
      [Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }), /SQLite database is full/],
      [Object.assign(new Error('could not extend file "base/16384/16397": No space left on device'), { code: '53100' }), /PostgreSQL server's disk is full \(SQLSTATE 53100 disk_full\)/],
      [Object.assign(new Error('Disk full (/tmp/#sql_1.MAI); waiting for someone to free some space...'), { code: 'ER_DISK_FULL', errno: 1021 }), /MySQL\/MariaDB server's disk is full \(error 1021 ER_DISK_FULL\)/],
      [Object.assign(new Error("The table 'store' is full"), { code: 'ER_RECORD_FILE_FULL', errno: 1114 }), /the table is full .*\(error 1114 ER_RECORD_FILE_FULL\)/],
      [Object.assign(new Error('Got error 28 "No space left on device" from storage engine InnoDB'), { code: 'ER_GET_ERRNO', errno: 1030 }), /disk is full/],
      [Object.assign(new Error("Error writing file './test/store.MAD' (Errcode: 28 \"No space left on device\")"), { code: 'ER_ERROR_ON_WRITE', errno: 1026 }), /disk is full/],
    ];
    for (const [native, message] of cases) {
      expect(codeOf(native), (native as Error).message).toBe('STORAGE_FULL');
      const error = mapDatabaseError(native, 'sql-blob', 'write', 'a.bin');
      expect(error).toMatchObject({ code: 'STORAGE_FULL', retryable: false, key: 'a.bin', cause: native });
      expect(error.name).toBe('StorageFullError');
      expect(error.message).toMatch(message);
      expect(error.message).toMatch(/free space|free some/);
    }
    // Still too large, not full: a value over SQLite's own limit, PostgreSQL's program_limit_exceeded.
    expect(codeOf({ code: 'SQLITE_TOOBIG' })).toBe('TOO_LARGE');
    expect(codeOf({ code: '54000' })).toBe('TOO_LARGE');
  });

  it('keeps the key, the backend and the cause', () => {
    const cause = Object.assign(new Error('duplicate key value'), { code: '23505' });
    const error = mapDatabaseError(cause, 'sql-blob:postgres', 'write', 'a.txt');
    expect(error).toMatchObject({ code: 'ALREADY_EXISTS', key: 'a.txt', backend: 'sql-blob:postgres', cause });
  });
});
