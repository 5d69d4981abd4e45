/**
 * Bodies: every accepted body type stores exactly its bytes, at the sizes where chunking goes wrong
 * (empty, one byte, exactly one chunk, one byte more), and one large streamed body; reads return
 * the exact bytes, and `stat` reports the size and SHA-256 of the content.
 *
 * @module
 */
import assert from 'node:assert/strict';
import { assertBytesEqual, assertNoBackendCalls, rejectsWithCode, sha256Hex } from '../assertions.ts';
import { BODY_TYPES, identifyPattern, patternBytes, patternChunks, patternSha256, prepareBody, type BodyType } from '../content.ts';
import type { ConformanceCase, ResolvedSuiteOptions } from '../types.ts';
import { defineGroup, type CaseSpec } from './define.ts';

const SIZES: readonly [label: string, size: (options: ResolvedSuiteOptions) => number][] = [
  ['0', () => 0],
  ['1', () => 1],
  ['chunk', (o) => o.chunkSize],
  ['chunk+1', (o) => o.chunkSize + 1],
];

function bodyCase(type: BodyType, label: string, sizeOf: (options: ResolvedSuiteOptions) => number, seed: number): CaseSpec {
  return {
    id: `${type}/${label}`,
    name: `a ${type} body of ${label === 'chunk' ? 'chunkSize' : label === 'chunk+1' ? 'chunkSize + 1' : label} bytes is stored byte-exactly`,
    async run({ store, options }) {
      const size = sizeOf(options);
      // Uneven pieces, so that stream boundaries never line up with the chunk size.
      const { body, expected } = prepareBody(type, size, seed, Math.floor(options.chunkSize / 3) + 7);
      const digest = sha256Hex(expected);
      const key = `body-${type}-${label}.bin`;
      const written = await store.write(key, body);
      assert.equal(written.size, expected.byteLength, 'write returns the size');
      assert.equal(written.sha256, digest, 'write returns the SHA-256 of the content');
      const info = await store.stat(key);
      assert.equal(info.size, expected.byteLength, 'stat size');
      assert.equal(info.sha256, digest, 'stat sha256');
      assert.equal(info.etag, written.etag, 'stat returns the etag the write returned');
      assertBytesEqual(await store.readBytes(key), expected, 'read');
    },
  };
}

const specs: CaseSpec[] = [
  ...BODY_TYPES.flatMap((type, t) => SIZES.map(([label, size], s) => bodyCase(type, label, size, 100 + t * 10 + s))),
  {
    id: 'large-stream',
    name: 'a large streamed body (largeSize, default 20 MiB) is stored exactly, checked by SHA-256',
    slow: true,
    async run({ store, options, capabilities }) {
      const size = options.largeSize;
      const seed = 2026;
      const digest = patternSha256(size, seed);
      const written = await store.write('large.bin', patternChunks(size, seed, 256 * 1024 + 3));
      assert.equal(written.size, size, 'write size');
      assert.equal(written.sha256, digest, 'write sha256');
      const info = await store.stat('large.bin');
      assert.equal(info.size, size, 'stat size');
      assert.equal(info.sha256, digest, 'stat sha256');
      // Compared piece by piece with the regenerated pattern: nothing large is held, and a failure names the offset.
      const { match, bytes } = await identifyPattern(await store.read('large.bin'), [{ size, seed }]);
      assert.ok(match, `the read returned ${bytes} bytes that differ from the ${size} bytes written`);
      if (capabilities.rangeRead && size > 10) {
        assertBytesEqual(await store.readBytes('large.bin', { range: { offset: size - 10 } }), patternBytes(10, seed, size - 10), 'the last ten bytes');
      }
    },
  },
  {
    id: 'size-option',
    name: 'a stream written with its exact size option is stored',
    async run({ store }) {
      const written = await store.write('sized.bin', patternChunks(1000, 5, 300), { size: 1000 });
      assert.equal(written.size, 1000);
      assertBytesEqual(await store.readBytes('sized.bin'), patternBytes(1000, 5), 'content');
    },
  },
  {
    id: 'overwrite-shorter',
    name: 'overwriting with a shorter or empty body leaves only the new bytes',
    async run({ store, options }) {
      const long = patternBytes(options.chunkSize + 1, 11);
      await store.write('o.bin', long);
      await store.write('o.bin', 'short');
      assert.equal(await store.readText('o.bin'), 'short');
      assert.equal((await store.stat('o.bin')).size, 5);
      await store.write('o.bin', new Uint8Array(0));
      assert.equal((await store.readBytes('o.bin')).byteLength, 0);
      assert.equal((await store.stat('o.bin')).sha256, sha256Hex(new Uint8Array(0)));
    },
  },
  {
    id: 'read-cancel',
    name: 'a read cancelled midway releases the object: it can be overwritten, read and deleted afterwards',
    async run({ store, options }) {
      await store.write('c.bin', patternBytes(options.chunkSize * 2 + 1, 12));
      const stream = await store.read('c.bin');
      const reader = stream.getReader();
      const first = await reader.read();
      assert.equal(first.done, false, 'the read yields a first chunk');
      await reader.cancel();
      await store.write('c.bin', 'replaced');
      assert.equal(await store.readText('c.bin'), 'replaced');
      await store.delete('c.bin');
      assert.equal(await store.exists('c.bin'), false);
    },
  },
  {
    id: 'concurrent-reads',
    name: 'concurrent reads of one object each return every byte',
    async run({ store, options }) {
      const bytes = patternBytes(options.chunkSize + 1, 13);
      await store.write('r.bin', bytes);
      const reads = await Promise.all(Array.from({ length: 4 }, () => store.readBytes('r.bin')));
      for (const [i, read] of reads.entries()) assertBytesEqual(read, bytes, `read ${i}`);
    },
  },
  {
    id: 'unsupported-type',
    name: 'a body of an unsupported type is refused with INVALID_ARGUMENT before any I/O',
    async run(context) {
      const { store, calls } = context.recording();
      for (const body of [42, null, undefined, {}, [1, 2, 3], true]) {
        await rejectsWithCode(store.write('u.bin', body as never), 'INVALID_ARGUMENT', `body ${JSON.stringify(body) ?? String(body)}`);
      }
      assertNoBackendCalls(calls, 'unsupported bodies');
    },
  },
  {
    id: 'stream-of-strings',
    name: 'a stream that yields strings instead of bytes fails with INVALID_ARGUMENT and stores nothing',
    async run({ store }) {
      const strings = (async function* () {
        yield 'not bytes' as unknown as Uint8Array;
      })();
      await rejectsWithCode(store.write('s.bin', strings), 'INVALID_ARGUMENT', 'write');
      assert.equal(await store.exists('s.bin'), false, 'nothing stored');
    },
  },
];

/** The `bodies` group. */
export const bodiesCases: readonly ConformanceCase[] = defineGroup('bodies', specs);
