/**
 * Atomicity: a reader sees the old object or the new one, never a part. A write that is aborted,
 * whose source fails, or that crosses a size limit leaves the old object byte-identical and no new
 * one, with nothing stray in listings; a size known to be too large is refused before any I/O.
 *
 * @module
 */
import assert from 'node:assert/strict';
import { AssertionError } from 'node:assert';
import { Readable } from 'node:stream';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { isStowageError, type ObjectInfo, type Store } from '@stowage/core';
import { assertNoBackendCalls, collect, describeError, hasInCauseChain, rejectsWithCode } from '../assertions.ts';
import { identifyPattern, patternBytes, patternChunks, patternSha256 } from '../content.ts';
import { withTimeout } from '../context.ts';
import type { CaseContext, ConformanceCase } from '../types.ts';
import { defineGroup, type CaseSpec } from './define.ts';

/** Writes the "old" object the failing writes must not disturb: two chunks and a byte. */
async function writeOld(context: CaseContext, key: string): Promise<ObjectInfo> {
  return context.store.write(key, patternBytes(context.options.chunkSize * 2 + 1, 1), { contentType: 'application/x-old' });
}

/** Checks that `key` still holds exactly what {@link writeOld} wrote. */
async function expectOldIntact(context: CaseContext, key: string, old: ObjectInfo): Promise<void> {
  const info = await context.store.stat(key);
  assert.equal(info.etag, old.etag, 'the old object keeps its etag');
  assert.equal(info.size, old.size, 'the old object keeps its size');
  assert.equal(info.contentType, 'application/x-old', 'the old object keeps its content type');
  assert.equal(info.sha256, old.sha256, 'the old object keeps its sha256');
  assert.equal(info.sha256, patternSha256(context.options.chunkSize * 2 + 1, 1), 'the old sha256 is that of the old content');
  const { match, bytes } = await identifyPattern(await context.store.read(key), [{ size: old.size, seed: 1 }]);
  assert.ok(match, `the old object is byte-identical (read ${bytes} bytes that differ)`);
}

/** Checks that the failed write left no object and nothing stray (temporary files, parts) in listings. */
async function expectNothing(store: Store, key: string, others: readonly string[] = []): Promise<void> {
  assert.equal(await store.exists(key), false, `no object at ${key}`);
  assert.deepEqual((await collect(store.listAll())).map((item) => item.key), [...others], 'nothing stray in the listing');
}

/** A body that aborts `controller` after `before` chunks of `size` bytes, then keeps offering a few more. */
async function* abortingBody(controller: AbortController, before: number, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < before + 8; i++) {
    if (i === before) controller.abort(new Error('conformance: aborted mid-stream'));
    yield patternBytes(size, 2, i * size);
    await nextTurn();
  }
}

type FailingSource = (error: Error, chunk: number) => AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

/** Sources that deliver two chunks and then fail with `error`, one per body kind. */
const FAILING_SOURCES: readonly [label: string, source: FailingSource][] = [
  [
    'async-iterable',
    (error, chunk) =>
      (async function* () {
        yield patternBytes(chunk, 3);
        yield patternBytes(chunk, 3, chunk);
        await nextTurn();
        throw error;
      })(),
  ],
  [
    'web-stream',
    (error, chunk) => {
      let step = 0;
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (step < 2) controller.enqueue(patternBytes(chunk, 3, chunk * step++));
          else controller.error(error);
        },
      });
    },
  ],
  [
    'node-readable',
    (error, chunk) => {
      let step = 0;
      return new Readable({
        read() {
          if (step < 2) this.push(Buffer.from(patternBytes(chunk, 3, chunk * step++)));
          else setImmediate(() => this.destroy(error));
        },
      });
    },
  ],
];

function sourceErrorCase(label: string, source: FailingSource): CaseSpec {
  return {
    id: `source-error/${label}`,
    name: `a ${label} body that fails midway rejects the write with its error, leaves the old object intact and creates nothing`,
    async run(context) {
      const { store, options } = context;
      const old = await writeOld(context, 'old.bin');
      for (const key of ['old.bin', 'new.bin']) {
        const error = new Error(`conformance: the ${label} source failed`);
        try {
          await store.write(key, source(error, options.chunkSize));
        } catch (caught) {
          if (!hasInCauseChain(caught, error)) {
            throw new AssertionError({ message: `${key}: the write must reject with the source's error (or one caused by it), got ${describeError(caught)}`, operator: 'sourceError' });
          }
          continue;
        }
        throw new AssertionError({ message: `${key}: the write succeeded although its body failed`, operator: 'sourceError' });
      }
      await expectOldIntact(context, 'old.bin', old);
      await expectNothing(store, 'new.bin', ['old.bin']);
    },
  };
}

/** A stream that fails the case if anybody reads it: a refusal must come before the body is touched. */
function untouchable(): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      throw new AssertionError({ message: 'the body was read although the write should have been refused first', operator: 'untouchable' });
    },
  };
}

const specs: CaseSpec[] = [
  {
    id: 'abort-overwrite',
    name: 'a write aborted mid-stream rejects with ABORTED and leaves the old object byte-identical; the key can be written again',
    async run(context) {
      const { store, options } = context;
      const old = await writeOld(context, 'a.bin');
      const controller = new AbortController();
      await rejectsWithCode(store.write('a.bin', abortingBody(controller, 3, options.chunkSize), { signal: controller.signal }), 'ABORTED', 'aborted write');
      await expectOldIntact(context, 'a.bin', old);
      await store.write('a.bin', 'fresh');
      assert.equal(await store.readText('a.bin'), 'fresh', 'a later write of the same key succeeds');
    },
  },
  {
    id: 'abort-new',
    name: 'a write of a new key aborted mid-stream rejects with ABORTED and creates nothing',
    async run({ store, options }) {
      const controller = new AbortController();
      await rejectsWithCode(store.write('n.bin', abortingBody(controller, 3, options.chunkSize), { signal: controller.signal }), 'ABORTED', 'aborted write');
      await expectNothing(store, 'n.bin');
    },
  },
  {
    id: 'abort-before',
    name: 'a write whose signal has already fired is refused with ABORTED before any I/O',
    async run(context) {
      const { store, calls } = context.recording();
      const signal = AbortSignal.abort(new Error('conformance: already aborted'));
      await rejectsWithCode(store.write('b.bin', 'x', { signal }), 'ABORTED', 'write');
      await rejectsWithCode(store.write('b.bin', untouchable(), { signal }), 'ABORTED', 'streamed write');
      assertNoBackendCalls(calls, 'pre-aborted write');
    },
  },
  {
    id: 'abort-stalled-source',
    name: 'a write whose body stalls rejects with ABORTED soon after the abort, and leaves the old object intact',
    async run(context) {
      const { store, options } = context;
      const old = await writeOld(context, 's.bin');
      let release!: () => void;
      const stalled = new Promise<void>((resolve) => (release = resolve));
      let waiting!: () => void;
      const isWaiting = new Promise<string>((resolve) => (waiting = () => resolve('waiting')));
      const body = (async function* () {
        yield patternBytes(options.chunkSize, 4);
        yield patternBytes(options.chunkSize, 4, options.chunkSize);
        // Reached only when the consumer asks for a third chunk: the write is now waiting on the source.
        waiting();
        await stalled;
      })();
      const controller = new AbortController();
      const writing = store.write('s.bin', body, { signal: controller.signal });
      writing.catch(() => {});
      try {
        const first = await withTimeout(Promise.race([isWaiting, writing.then(() => 'settled', () => 'settled')]), 10_000, 'consuming the first two chunks');
        if (first === 'settled') await writing.then(() => assert.fail('the write completed although its body never ended'));
        controller.abort(new Error('conformance: aborted while the source stalls'));
        await withTimeout(rejectsWithCode(writing, 'ABORTED', 'write'), 5000, 'the write after the abort');
      } finally {
        release();
      }
      await expectOldIntact(context, 's.bin', old);
    },
  },
  ...FAILING_SOURCES.map(([label, source]) => sourceErrorCase(label, source)),
  {
    id: 'too-large-streaming',
    name: 'a stream that crosses maxSize fails with TOO_LARGE, leaves the old object intact and creates nothing',
    async run(context) {
      const { store, options } = context;
      const old = await writeOld(context, 'big.bin');
      const limit = options.chunkSize * 2 + 1;
      for (const key of ['big.bin', 'new.bin']) {
        const error = await rejectsWithCode(store.write(key, patternChunks(limit + 1, 5, options.chunkSize), { maxSize: limit }), 'TOO_LARGE', key);
        assert.equal((error as { limit?: number }).limit, limit, 'the error carries the limit');
      }
      await expectOldIntact(context, 'big.bin', old);
      await expectNothing(store, 'new.bin', ['big.bin']);
      await store.write('exact.bin', patternChunks(limit, 5, options.chunkSize), { maxSize: limit });
      assert.equal((await store.stat('exact.bin')).size, limit, 'a body of exactly maxSize is stored');
    },
  },
  {
    id: 'too-large-known-size',
    name: 'a body whose known size is above maxSize is refused with TOO_LARGE before any I/O',
    async run(context) {
      const { store, calls } = context.recording();
      const bodies: [string, () => unknown][] = [
        ['bytes', () => new Uint8Array(11)],
        ['string', () => 'ééééé!'],
        ['blob', () => new Blob([new Uint8Array(11)])],
      ];
      for (const [what, body] of bodies) await rejectsWithCode(store.write('t.bin', body() as Uint8Array, { maxSize: 10 }), 'TOO_LARGE', what);
      await rejectsWithCode(store.write('t.bin', untouchable(), { maxSize: 10, size: 11 }), 'TOO_LARGE', 'stream with a size option');
      assertNoBackendCalls(calls, 'known-size refusal');
    },
  },
  {
    id: 'size-mismatch',
    name: 'a stream longer or shorter than its size option fails with INVALID_ARGUMENT and stores nothing',
    async run(context) {
      const { store } = context;
      const old = await writeOld(context, 'old.bin');
      for (const [what, actual] of [['longer', 101], ['shorter', 99]] as const) {
        for (const key of ['old.bin', 'new.bin']) {
          await rejectsWithCode(store.write(key, patternChunks(actual, 6, 40), { size: 100 }), 'INVALID_ARGUMENT', `${what} than declared, ${key}`);
        }
      }
      await expectOldIntact(context, 'old.bin', old);
      await expectNothing(store, 'new.bin', ['old.bin']);
    },
  },
  {
    id: 'max-object-size',
    name: "a body whose known size is above the backend's declared maxObjectSize is refused with TOO_LARGE before any I/O",
    capability: 'maxObjectSize',
    requires: 'declared',
    async run(context) {
      const { store, calls } = context.recording();
      const limit = context.capabilities.maxObjectSize!;
      await rejectsWithCode(store.write('huge.bin', untouchable(), { size: limit + 1 }), 'TOO_LARGE', 'size above maxObjectSize');
      assertNoBackendCalls(calls, 'maxObjectSize refusal');
    },
  },
  {
    id: 'readers-during-overwrite',
    name: 'reads during a slow overwrite see the whole old object or the whole new one, never a mix',
    slow: true,
    async run(context) {
      const { store, options } = context;
      const size = options.chunkSize * 2 + 1;
      await store.write('rw.bin', patternBytes(size, 7));
      const candidates = [
        { size, seed: 7 },
        { size, seed: 8 },
      ];
      const identify = async (what: string): Promise<'old' | 'new'> => {
        const { match, bytes } = await identifyPattern(await store.read('rw.bin'), candidates);
        assert.ok(match, `${what} returned ${bytes} bytes that are neither the old nor the new object`);
        return match.seed === 7 ? 'old' : 'new';
      };
      const piece = Math.ceil(size / 8);
      const body = (async function* () {
        for (let offset = 0; offset < size; offset += piece) {
          yield patternBytes(Math.min(piece, size - offset), 8, offset);
          await sleep(5);
        }
      })();
      let done = false;
      const writing = store.write('rw.bin', body).finally(() => (done = true));
      const seen: string[] = [];
      while (!done) {
        // Yield to the event loop: a backend that answers from memory would otherwise starve the writer's timers.
        await nextTurn();
        seen.push(await identify('a read during the overwrite'));
      }
      await writing;
      assert.ok(seen.length > 0, 'at least one read ran during the overwrite');
      assert.equal(await identify('the read after the overwrite'), 'new', 'the new object after the write');
    },
  },
  {
    id: 'open-read-during-overwrite',
    name: 'a read opened before an overwrite yields the whole old object or the whole new one (or a typed error), never a mix',
    slow: true,
    async run(context) {
      const { store, options } = context;
      const size = options.chunkSize * 2 + 1;
      await store.write('or.bin', patternBytes(size, 9));
      const reader = (await store.read('or.bin')).getReader();
      const first = await reader.read();
      assert.equal(first.done, false, 'the read yields a first chunk');
      await store.write('or.bin', patternBytes(size, 10));
      const parts: Uint8Array[] = [first.value!];
      try {
        for (let next = await reader.read(); !next.done; next = await reader.read()) parts.push(next.value);
      } catch (error) {
        if (isStowageError(error)) return;
        throw error;
      }
      const joined = Buffer.concat(parts);
      assert.ok(
        joined.equals(patternBytes(size, 9)) || joined.equals(patternBytes(size, 10)),
        `the read returned ${joined.byteLength} bytes that are neither the old nor the new object`,
      );
    },
  },
];

/** The `atomicity` group. */
export const atomicityCases: readonly ConformanceCase[] = defineGroup('atomicity', specs);
