/**
 * Metadata: content types (given, inferred from the extension, or the default), user metadata
 * (capability `userMetadata`) that round-trips exactly whatever the wire format, and what `stat`
 * returns: size, modified time, etag, SHA-256.
 *
 * @module
 */
import assert from 'node:assert/strict';
import { MAX_METADATA_BYTES, type Store } from '@stowage/core';
import { assertNoBackendCalls, crc32cHex, md5Hex, rejectsWithCode, sha256Hex } from '../assertions.ts';
import type { ConformanceCase } from '../types.ts';
import { defineGroup, type CaseSpec } from './define.ts';

/** How far a backend's clock may be from ours: servers in containers or far away drift a little. */
const CLOCK_TOLERANCE_MS = 5 * 60 * 1000;

function userMetadataCase(spec: Omit<CaseSpec, 'capability' | 'requires'>): CaseSpec {
  return { ...spec, capability: 'userMetadata', requires: 'declared' };
}

/** Writes `metadata` and checks that `write`, `stat` and `get` all return it exactly. */
async function expectMetadataRoundTrip(store: Store, key: string, metadata: Record<string, string>): Promise<void> {
  const written = await store.write(key, 'm', { metadata });
  assert.deepEqual(written.metadata, metadata, 'write returns the metadata');
  assert.deepEqual((await store.stat(key)).metadata, metadata, 'stat returns the metadata exactly');
  const { info, body } = await store.get(key);
  await body.cancel();
  assert.deepEqual(info.metadata, metadata, 'get returns the metadata exactly');
}

const specs: CaseSpec[] = [
  {
    id: 'content-type/given',
    name: 'a given content type is returned exactly, parameters included',
    async run({ store }) {
      const contentType = 'text/x-custom; charset=utf-8';
      const written = await store.write('doc.bin', 'x', { contentType });
      assert.equal(written.contentType, contentType, 'write');
      assert.equal((await store.stat('doc.bin')).contentType, contentType, 'stat');
      const { info, body } = await store.get('doc.bin');
      await body.cancel();
      assert.equal(info.contentType, contentType, 'get');
    },
  },
  {
    id: 'content-type/inferred',
    name: 'a missing content type is inferred from the extension, case-insensitively',
    async run({ store }) {
      const expected: Record<string, string> = {
        'a.json': 'application/json',
        'photo.JPG': 'image/jpeg',
        'dir/page.html': 'text/html',
        'notes.txt': 'text/plain',
        'archive.tar.gz': 'application/gzip',
      };
      for (const [key, contentType] of Object.entries(expected)) {
        await store.write(key, 'x');
        assert.equal((await store.stat(key)).contentType, contentType, key);
      }
    },
  },
  {
    id: 'content-type/default',
    name: 'without a given type or a known extension the content type is application/octet-stream',
    async run({ store }) {
      for (const key of ['noext', 'weird.unknownext', '.hidden', 'dir.json/file']) {
        await store.write(key, 'x');
        assert.equal((await store.stat(key)).contentType, 'application/octet-stream', key);
      }
    },
  },
  {
    id: 'content-type/invalid',
    name: 'a malformed content type is refused with INVALID_ARGUMENT before any I/O',
    async run(context) {
      const { store, calls } = context.recording();
      for (const contentType of ['', 'text', 'text/plain\r\nx-injected: 1', 'text/plain\r\n; x=1', 'text/plain\n;charset=utf-8', 'täxt/plain', 42]) {
        await rejectsWithCode(store.write('a.txt', 'x', { contentType: contentType as string }), 'INVALID_ARGUMENT', `content type ${JSON.stringify(contentType)}`);
      }
      assertNoBackendCalls(calls, 'malformed content types');
    },
  },
  userMetadataCase({
    id: 'user/unicode',
    name: 'user metadata with non-ASCII values round-trips exactly',
    async run({ store }) {
      await expectMetadataRoundTrip(store, 'u.txt', { author: 'Zoë ✓ 日本', emoji: '😀🚀', mixed: 'naïve café – “quotes”' });
    },
  }),
  userMetadataCase({
    id: 'user/special-characters',
    name: 'user metadata values with whitespace, percent escapes, separators and quotes round-trip exactly',
    async run({ store }) {
      await expectMetadataRoundTrip(store, 'u.txt', {
        spaces: '  leading and trailing  ',
        percent: '100%25 %zz %',
        separators: 'a=b; c, d: e & f',
        quotes: `it's "quoted"`,
        lines: 'one\ntwo\r\nthree\ttab',
        base64ish: '=?utf-8?b?WsO2w6s=?=',
        empty: '',
      });
    },
  }),
  userMetadataCase({
    id: 'user/keys',
    name: 'user metadata keys with digits, - and _ round-trip exactly (identifiers with digits and _ where metadataKeys is identifier)',
    async run({ store, capabilities }) {
      const keys: Record<string, string> =
        capabilities.metadataKeys === 'identifier'
          ? { x_custom_key: '1', snake_case: '2', _0digit: '3', a: '4', ___: '5', a9: '6' }
          : { 'x-custom-key': '1', snake_case: '2', '0digit': '3', a: '4', '-_-': '5' };
      await expectMetadataRoundTrip(store, 'u.txt', keys);
    },
  }),
  {
    id: 'user/identifier-keys',
    name: 'where metadataKeys is identifier, a key that is no identifier or starts with stowage_ is refused with INVALID_ARGUMENT before any I/O, naming the key',
    capability: 'metadataKeys',
    requires: 'declared',
    async run(context) {
      const { store, calls } = context.recording();
      for (const name of ['x-custom', '0digit', '-_-', 'a-', 'stowage_sha256', 'stowage_x']) {
        const error = await store.write('a.txt', 'x', { metadata: { ok: 'x', [name]: 'v' } }).then(
          () => undefined,
          (caught: unknown) => caught as { code?: string; message?: string },
        );
        assert.equal(error?.code, 'INVALID_ARGUMENT', `metadata key ${JSON.stringify(name)}`);
        assert.ok(error?.message?.includes(JSON.stringify(name)), `the message names the key ${JSON.stringify(name)}: ${error?.message}`);
      }
      assertNoBackendCalls(calls, 'metadata keys the backend cannot carry');
      assert.equal(await context.store.exists('a.txt'), false);
    },
  },
  userMetadataCase({
    id: 'user/near-limit',
    name: 'user metadata just under the 2 KiB limit round-trips; one byte more is refused with INVALID_ARGUMENT',
    async run({ store }) {
      // The limit counts keys plus values in UTF-8 bytes: 'big' is 3, the value the rest, with
      // two-byte characters so that a backend counting characters would be off.
      const exact = `${'é'.repeat(500)}${'v'.repeat(MAX_METADATA_BYTES - 3 - 1000)}`;
      assert.equal(3 + Buffer.byteLength(exact), MAX_METADATA_BYTES);
      await expectMetadataRoundTrip(store, 'u.txt', { big: exact });
      await rejectsWithCode(store.write('u2.txt', 'x', { metadata: { big: `${exact}v` } }), 'INVALID_ARGUMENT', 'one byte over');
      assert.equal(await store.exists('u2.txt'), false);
    },
  }),
  userMetadataCase({
    id: 'user/invalid-keys',
    name: 'invalid user metadata keys and values are refused with INVALID_ARGUMENT before any I/O',
    async run(context) {
      const { store, calls } = context.recording();
      const bad: unknown[] = [{ Upper: 'x' }, { 'has space': 'x' }, { 'dot.key': 'x' }, { '': 'x' }, { ünï: 'x' }, { ok: 42 }, { ok: 'lone \uD800' }, 'a=b', ['x']];
      for (const metadata of bad) {
        await rejectsWithCode(store.write('a.txt', 'x', { metadata: metadata as Record<string, string> }), 'INVALID_ARGUMENT', `metadata ${JSON.stringify(metadata)}`);
      }
      assertNoBackendCalls(calls, 'invalid metadata');
    },
  }),
  {
    id: 'user/empty-when-none',
    name: 'an object written without user metadata has an empty metadata object',
    async run({ store }) {
      const written = await store.write('plain.txt', 'x');
      assert.deepEqual(written.metadata, {}, 'write');
      assert.deepEqual((await store.stat('plain.txt')).metadata, {}, 'stat');
    },
  },
  {
    id: 'user/refused',
    name: 'where userMetadata is not declared, writing user metadata is refused with CAPABILITY_NOT_SUPPORTED before any I/O',
    capability: 'userMetadata',
    requires: 'undeclared',
    async run(context) {
      const { store, calls } = context.recording();
      await rejectsWithCode(store.write('a.txt', 'x', { metadata: { a: 'b' } as never }), 'CAPABILITY_NOT_SUPPORTED', 'write with metadata');
      assertNoBackendCalls(calls, 'metadata refusal');
    },
  },
  {
    id: 'stat/fields',
    name: 'stat returns the size, a recent modified time, an etag and the SHA-256 of the content',
    async run({ store }) {
      const before = Date.now();
      const written = await store.write('s.txt', 'hello, stat');
      const info = await store.stat('s.txt');
      assert.equal(info.key, 's.txt');
      assert.equal(info.size, 11);
      assert.ok(info.lastModified instanceof Date && !Number.isNaN(info.lastModified.getTime()), 'lastModified is a valid Date');
      assert.ok(Math.abs(info.lastModified.getTime() - before) < CLOCK_TOLERANCE_MS, `lastModified ${info.lastModified.toISOString()} is close to now`);
      assert.equal(typeof info.etag, 'string');
      assert.ok(info.etag.length > 0, 'etag is not empty');
      assert.equal(info.etag, written.etag, 'stat and write agree on the etag');
      assert.equal(info.sha256, sha256Hex('hello, stat'), 'sha256 is the lowercase hex digest of the content');
      assert.equal(info.contentType, 'text/plain');
    },
  },
  {
    id: 'stat/checksums',
    name: "where a backend reports an object's MD5 or CRC32C, they are those of its content in lowercase hex, and write and stat agree",
    async run({ store }) {
      const content = 'checksums of this content';
      const written = await store.write('sum.txt', content);
      const info = await store.stat('sum.txt');
      for (const [what, reported] of [['write', written], ['stat', info]] as const) {
        if (reported.md5 !== undefined) assert.equal(reported.md5, md5Hex(content), `${what}: md5`);
        if (reported.crc32c !== undefined) assert.equal(reported.crc32c, crc32cHex(content), `${what}: crc32c`);
      }
      assert.equal(info.md5, written.md5, 'write and stat agree on the md5');
      assert.equal(info.crc32c, written.crc32c, 'write and stat agree on the crc32c');
    },
  },
  {
    id: 'stat/etag-changes',
    name: 'the etag and modified time change when the object is overwritten',
    async run({ store }) {
      const first = await store.write('e.txt', 'first');
      await new Promise((resolve) => setTimeout(resolve, 20));
      const second = await store.write('e.txt', 'second version');
      assert.notEqual(second.etag, first.etag, 'a new etag');
      assert.equal((await store.stat('e.txt')).etag, second.etag, 'stat returns the new etag');
      assert.ok(second.lastModified.getTime() >= first.lastModified.getTime(), 'lastModified does not go back');
    },
  },
  {
    id: 'stat/missing',
    name: 'stat, read and exists of a missing key: NOT_FOUND with the key and backend, and false',
    async run({ store }) {
      const error = await rejectsWithCode(store.stat('missing/file.txt'), 'NOT_FOUND', 'stat');
      assert.equal(error.key, 'missing/file.txt', 'the error carries the key relative to the store');
      assert.equal(error.backend, store.backendName, 'the error carries the backend name');
      await rejectsWithCode(store.readBytes('missing/file.txt'), 'NOT_FOUND', 'readBytes');
      await rejectsWithCode(store.get('missing/file.txt'), 'NOT_FOUND', 'get');
      assert.equal(await store.exists('missing/file.txt'), false, 'exists');
    },
  },
  {
    id: 'overwrite-replaces',
    name: 'an overwrite replaces the content type and the user metadata, never merges them',
    async run({ store, capabilities }) {
      const meta = (m: Record<string, string>) => (capabilities.userMetadata ? { metadata: m } : {});
      await store.write('o.txt', 'one', { contentType: 'text/x-one', ...meta({ a: '1', shared: 'old' }) });
      await store.write('o.txt', 'two', { contentType: 'text/x-two', ...meta({ b: '2', shared: 'new' }) });
      let info = await store.stat('o.txt');
      assert.equal(info.contentType, 'text/x-two');
      assert.deepEqual(info.metadata, capabilities.userMetadata ? { b: '2', shared: 'new' } : {});
      await store.write('o.txt', 'three');
      info = await store.stat('o.txt');
      assert.equal(info.contentType, 'text/plain', 'an overwrite without a type infers it again');
      assert.deepEqual(info.metadata, {}, 'an overwrite without metadata clears it');
      assert.equal(await store.readText('o.txt'), 'three');
    },
  },
];

/** The `metadata` group. */
export const metadataCases: readonly ConformanceCase[] = defineGroup('metadata', specs);
