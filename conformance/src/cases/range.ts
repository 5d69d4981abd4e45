/**
 * Range reads (capability `rangeRead`): `{ offset, length }`, `{ offset }` and `{ suffix }`, clamped
 * at the end; an offset past the end is `RANGE_NOT_SATISFIABLE`. Where the capability is not
 * declared, a range is refused with `CAPABILITY_NOT_SUPPORTED` before any I/O.
 *
 * @module
 */
import assert from 'node:assert/strict';
import { streamToBytes, type ByteRange, type Store } from '@stowage/core';
import { assertBytesEqual, assertNoBackendCalls, rejectsWithCode } from '../assertions.ts';
import { patternBytes } from '../content.ts';
import type { ConformanceCase } from '../types.ts';
import { defineGroup, type CaseSpec } from './define.ts';

const SIZE = 100;
const SEED = 300;

/** Reads `range` of `key` (pattern `seed`, `size` bytes) and checks the bytes and the reported range. */
async function expectRange(store: Store, key: string, range: ByteRange, offset: number, length: number, size = SIZE, seed = SEED): Promise<void> {
  const what = `range ${JSON.stringify(range)}`;
  const result = await store.get(key, { range });
  const bytes = await streamToBytes(result.body);
  assertBytesEqual(bytes, patternBytes(length, seed, offset), what);
  assert.deepEqual(result.range, { offset, length }, `${what}: the reported range (after clamping)`);
  assert.equal(result.info.size, size, `${what}: info.size is the whole object's size`);
}

async function writeSample(store: Store, size = SIZE, seed = SEED): Promise<void> {
  await store.write('r.bin', patternBytes(size, seed));
}

function rangeCase(spec: Omit<CaseSpec, 'capability' | 'requires'>): CaseSpec {
  return { ...spec, capability: 'rangeRead', requires: 'declared' };
}

const specs: CaseSpec[] = [
  rangeCase({
    id: 'offset-length',
    name: '{ offset, length } returns exactly those bytes',
    async run({ store }) {
      await writeSample(store);
      await expectRange(store, 'r.bin', { offset: 10, length: 20 }, 10, 20);
      await expectRange(store, 'r.bin', { offset: 0, length: 1 }, 0, 1);
      await expectRange(store, 'r.bin', { offset: 99, length: 1 }, 99, 1);
    },
  }),
  rangeCase({
    id: 'offset-only',
    name: '{ offset } returns the bytes from offset to the end',
    async run({ store }) {
      await writeSample(store);
      await expectRange(store, 'r.bin', { offset: 90 }, 90, 10);
      await expectRange(store, 'r.bin', { offset: 0 }, 0, SIZE);
    },
  }),
  rangeCase({
    id: 'suffix',
    name: '{ suffix } returns the last bytes',
    async run({ store }) {
      await writeSample(store);
      await expectRange(store, 'r.bin', { suffix: 10 }, 90, 10);
      await expectRange(store, 'r.bin', { suffix: SIZE }, 0, SIZE);
    },
  }),
  rangeCase({
    id: 'length-past-end',
    name: 'a length past the end is clamped to the end',
    async run({ store }) {
      await writeSample(store);
      await expectRange(store, 'r.bin', { offset: 95, length: 100 }, 95, 5);
      await expectRange(store, 'r.bin', { offset: 0, length: 1_000_000 }, 0, SIZE);
    },
  }),
  rangeCase({
    id: 'suffix-past-start',
    name: 'a suffix larger than the object returns the whole object',
    async run({ store }) {
      await writeSample(store);
      await expectRange(store, 'r.bin', { suffix: 1000 }, 0, SIZE);
    },
  }),
  rangeCase({
    id: 'offset-at-end',
    name: 'an offset equal to the size returns no bytes',
    async run({ store }) {
      await writeSample(store);
      await expectRange(store, 'r.bin', { offset: SIZE }, SIZE, 0);
      await expectRange(store, 'r.bin', { offset: SIZE, length: 5 }, SIZE, 0);
    },
  }),
  rangeCase({
    id: 'offset-past-end',
    name: 'an offset past the end fails with RANGE_NOT_SATISFIABLE',
    async run({ store }) {
      await writeSample(store);
      for (const range of [{ offset: SIZE + 1 }, { offset: SIZE + 1, length: 1 }, { offset: SIZE + 1, length: 0 }, { offset: 1_000_000 }]) {
        const error = await rejectsWithCode(store.readBytes('r.bin', { range }), 'RANGE_NOT_SATISFIABLE', `range ${JSON.stringify(range)}`);
        assert.equal(error.key, 'r.bin', 'the error names the key');
      }
    },
  }),
  rangeCase({
    id: 'zero-length',
    name: 'a zero-length range returns no bytes',
    async run({ store }) {
      await writeSample(store);
      await expectRange(store, 'r.bin', { offset: 5, length: 0 }, 5, 0);
      await expectRange(store, 'r.bin', { suffix: 0 }, SIZE, 0);
    },
  }),
  rangeCase({
    id: 'missing-key',
    name: 'a range read of a missing key fails with NOT_FOUND',
    async run({ store }) {
      for (const range of [{ offset: 0, length: 10 }, { offset: 0 }, { suffix: 5 }, { offset: 0, length: 0 }]) {
        await rejectsWithCode(store.readBytes('missing.bin', { range }), 'NOT_FOUND', `range ${JSON.stringify(range)}`);
      }
    },
  }),
  rangeCase({
    id: 'empty-object',
    name: 'ranges of an empty object are empty, and any offset past 0 fails with RANGE_NOT_SATISFIABLE',
    async run({ store }) {
      await store.write('r.bin', new Uint8Array(0));
      await expectRange(store, 'r.bin', { offset: 0 }, 0, 0, 0);
      await expectRange(store, 'r.bin', { offset: 0, length: 10 }, 0, 0, 0);
      await expectRange(store, 'r.bin', { suffix: 5 }, 0, 0, 0);
      await rejectsWithCode(store.readBytes('r.bin', { range: { offset: 1 } }), 'RANGE_NOT_SATISFIABLE', 'offset 1');
    },
  }),
  rangeCase({
    id: 'chunk-boundary',
    name: 'ranges that start, end or cross at the chunk-size boundary return exact bytes',
    slow: true,
    async run({ store, options }) {
      const chunk = options.chunkSize;
      const size = chunk * 2 + 3;
      const seed = SEED + 1;
      await writeSample(store, size, seed);
      const cases: [ByteRange, number, number][] = [
        [{ offset: chunk - 5, length: 10 }, chunk - 5, 10],
        [{ offset: chunk - 1, length: 2 }, chunk - 1, 2],
        [{ offset: chunk, length: 1 }, chunk, 1],
        [{ offset: chunk - 1, length: chunk + 2 }, chunk - 1, chunk + 2],
        [{ offset: 1, length: chunk * 2 }, 1, chunk * 2],
        [{ offset: chunk * 2 }, chunk * 2, 3],
        [{ suffix: chunk + 1 }, size - chunk - 1, chunk + 1],
        [{ offset: 0, length: chunk }, 0, chunk],
      ];
      for (const [range, offset, length] of cases) await expectRange(store, 'r.bin', range, offset, length, size, seed);
    },
  }),
  rangeCase({
    id: 'info',
    name: 'a range read returns the whole object\'s metadata',
    async run({ store }) {
      await store.write('r.txt', patternBytes(SIZE, SEED), { contentType: 'text/x-range' });
      const stat = await store.stat('r.txt');
      const { info, body } = await store.get('r.txt', { range: { offset: 10, length: 5 } });
      await body.cancel();
      assert.equal(info.size, SIZE);
      assert.equal(info.etag, stat.etag);
      assert.equal(info.contentType, 'text/x-range');
      assert.equal(info.key, 'r.txt');
    },
  }),
  rangeCase({
    id: 'invalid',
    name: 'malformed ranges are refused with INVALID_ARGUMENT before any I/O',
    async run(context) {
      const { store, calls } = context.recording();
      const ranges = [{ offset: -1 }, { offset: 1.5 }, { offset: 0, length: -1 }, { suffix: -1 }, { offset: 1, suffix: 2 }, { length: 5 }, {}, 'bytes=0-1'];
      for (const range of ranges) {
        await rejectsWithCode(store.readBytes('r.bin', { range: range as never }), 'INVALID_ARGUMENT', `range ${JSON.stringify(range)}`);
      }
      assertNoBackendCalls(calls, 'malformed ranges');
    },
  }),
  {
    id: 'refused',
    name: 'where rangeRead is not declared, a range read is refused with CAPABILITY_NOT_SUPPORTED before any I/O',
    capability: 'rangeRead',
    requires: 'undeclared',
    async run(context) {
      const { store, calls } = context.recording();
      const range = { offset: 0, length: 1 } as never;
      await rejectsWithCode(store.get('r.bin', { range }), 'CAPABILITY_NOT_SUPPORTED', 'get with a range');
      await rejectsWithCode(store.read('r.bin', { range }), 'CAPABILITY_NOT_SUPPORTED', 'read with a range');
      await rejectsWithCode(store.readBytes('r.bin', { range: { suffix: 1 } as never }), 'CAPABILITY_NOT_SUPPORTED', 'readBytes with a suffix');
      assertNoBackendCalls(calls, 'range refusal');
    },
  },
];

/** The `range` group. */
export const rangeCases: readonly ConformanceCase[] = defineGroup('range', specs);
