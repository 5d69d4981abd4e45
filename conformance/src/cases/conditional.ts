/**
 * Conditional writes (capability `conditionalWrite`): create-only (`ifNoneMatch: '*'`) and
 * compare-and-swap (`ifMatch: etag`), exact under concurrency: of N writers exactly one wins.
 *
 * @module
 */
import assert from 'node:assert/strict';
import { AssertionError } from 'node:assert';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { isStowageError, type ErrorCode, type ObjectInfo, type WriteOptions } from '@stowage/core';
import { assertNoBackendCalls, describeError, rejectsWithCode } from '../assertions.ts';
import { patternChunks } from '../content.ts';
import type { CaseContext, ConformanceCase } from '../types.ts';
import { defineGroup, expectedMetadata, metadataOption, type CaseSpec } from './define.ts';

const WRITERS = 20;

function conditionalCase(spec: Omit<CaseSpec, 'capability' | 'requires'>): CaseSpec {
  return { ...spec, capability: 'conditionalWrite', requires: 'declared' };
}

/** A body delivered in two pieces with a turn of the event loop between, so that concurrent writers interleave. */
async function* inTwoPieces(text: string): AsyncGenerator<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  const middle = bytes.byteLength >> 1;
  yield bytes.subarray(0, middle);
  await nextTurn();
  yield bytes.subarray(middle);
}

/** Runs `WRITERS` conditional writes of distinct content at once; checks that exactly one wins and the rest fail with `loserCode`. */
async function race(context: CaseContext, key: string, options: WriteOptions, loserCode: ErrorCode): Promise<void> {
  const { store } = context;
  const contents = Array.from({ length: WRITERS }, (_, i) => `writer ${i} `.padEnd(64 + i, '.'));
  const results = await Promise.allSettled(contents.map((content) => store.write(key, inTwoPieces(content), options)));
  const winners = results.flatMap((result, i) => (result.status === 'fulfilled' ? [{ i, info: result.value }] : []));
  const unexpected = results.flatMap((result, i) => (result.status === 'rejected' && !isStowageError(result.reason, loserCode) ? [`writer ${i}: ${describeError(result.reason)}`] : []));
  if (unexpected.length > 0) {
    throw new AssertionError({ message: `losers must fail with ${loserCode}, but ${unexpected.length} did not: ${unexpected.slice(0, 3).join('; ')}`, operator: 'race' });
  }
  assert.equal(winners.length, 1, `exactly one of ${WRITERS} concurrent writers wins (${winners.length} did)`);
  const winner = winners[0]!;
  assert.equal(await store.readText(key), contents[winner.i], "the stored content is the winner's");
  assert.equal((await store.stat(key)).etag, (winner.info as ObjectInfo).etag, "the stored etag is the winner's");
}

const specs: CaseSpec[] = [
  conditionalCase({
    id: 'create-only-missing',
    name: "ifNoneMatch '*' on a missing key writes it",
    async run({ store }) {
      const written = await store.write('new.txt', 'created', { ifNoneMatch: '*' });
      assert.equal(await store.readText('new.txt'), 'created');
      assert.equal((await store.stat('new.txt')).etag, written.etag);
    },
  }),
  conditionalCase({
    id: 'create-only-existing',
    name: "ifNoneMatch '*' on an existing key fails with ALREADY_EXISTS and leaves the old object intact",
    async run(context) {
      const { store } = context;
      const old = await store.write('old.txt', 'original', { contentType: 'text/x-old', ...metadataOption(context, { v: '1' }) });
      await rejectsWithCode(store.write('old.txt', 'intruder', { ifNoneMatch: '*', contentType: 'text/x-new' }), 'ALREADY_EXISTS', 'bytes body');
      await rejectsWithCode(
        store.write('old.txt', patternChunks(context.options.chunkSize + 1, 1, 65536), { ifNoneMatch: '*' }),
        'ALREADY_EXISTS',
        'streamed body of chunkSize + 1',
      );
      const info = await store.stat('old.txt');
      assert.equal(info.etag, old.etag, 'etag unchanged');
      assert.equal(info.contentType, 'text/x-old', 'content type unchanged');
      assert.deepEqual(info.metadata, expectedMetadata(context, { v: '1' }), 'metadata unchanged');
      assert.equal(await store.readText('old.txt'), 'original', 'content unchanged');
    },
  }),
  conditionalCase({
    id: 'create-only-after-delete',
    name: "ifNoneMatch '*' succeeds on a key whose object was deleted",
    async run({ store }) {
      await store.write('k.txt', 'one');
      await store.delete('k.txt');
      await store.write('k.txt', 'two', { ifNoneMatch: '*' });
      assert.equal(await store.readText('k.txt'), 'two');
    },
  }),
  conditionalCase({
    id: 'if-match-current',
    name: 'ifMatch with the current etag writes and returns a new etag',
    async run({ store }) {
      const first = await store.write('cas.txt', 'v1');
      const second = await store.write('cas.txt', 'v2 longer', { ifMatch: first.etag });
      assert.notEqual(second.etag, first.etag, 'a new etag');
      assert.equal((await store.stat('cas.txt')).etag, second.etag);
      assert.equal(await store.readText('cas.txt'), 'v2 longer');
      const third = await store.write('cas.txt', 'v3', { ifMatch: second.etag });
      assert.equal(await store.readText('cas.txt'), 'v3', 'a chain of compare-and-swap writes');
      assert.notEqual(third.etag, second.etag);
    },
  }),
  conditionalCase({
    id: 'if-match-stale',
    name: 'ifMatch with a stale etag fails with PRECONDITION_FAILED and leaves the object intact',
    async run({ store }) {
      const first = await store.write('cas.txt', 'v1');
      const second = await store.write('cas.txt', 'v2 longer');
      await rejectsWithCode(store.write('cas.txt', 'v3', { ifMatch: first.etag }), 'PRECONDITION_FAILED', 'stale etag');
      await rejectsWithCode(store.write('cas.txt', 'v3', { ifMatch: '"not-an-etag-this-backend-made"' }), 'PRECONDITION_FAILED', 'made-up etag');
      assert.equal((await store.stat('cas.txt')).etag, second.etag);
      assert.equal(await store.readText('cas.txt'), 'v2 longer');
    },
  }),
  conditionalCase({
    id: 'if-match-missing',
    name: 'ifMatch on a missing key fails with PRECONDITION_FAILED (not NOT_FOUND) and creates nothing',
    async run({ store }) {
      await rejectsWithCode(store.write('missing.txt', 'x', { ifMatch: '"whatever"' }), 'PRECONDITION_FAILED', 'never written');
      assert.equal(await store.exists('missing.txt'), false);
      const gone = await store.write('gone.txt', 'x');
      await store.delete('gone.txt');
      await rejectsWithCode(store.write('gone.txt', 'y', { ifMatch: gone.etag }), 'PRECONDITION_FAILED', 'the etag of a deleted object');
      assert.equal(await store.exists('gone.txt'), false);
    },
  }),
  conditionalCase({
    id: 'concurrent-create-only',
    name: `${WRITERS} concurrent create-only writers: exactly one wins, the rest fail with ALREADY_EXISTS`,
    async run(context) {
      await race(context, 'race.txt', { ifNoneMatch: '*' }, 'ALREADY_EXISTS');
    },
  }),
  conditionalCase({
    id: 'concurrent-if-match',
    name: `${WRITERS} concurrent compare-and-swap writers with the same etag: exactly one wins, the rest fail with PRECONDITION_FAILED`,
    async run(context) {
      const base = await context.store.write('race.txt', 'base');
      await race(context, 'race.txt', { ifMatch: base.etag }, 'PRECONDITION_FAILED');
    },
  }),
  conditionalCase({
    id: 'invalid',
    name: 'ifNoneMatch other than *, an empty ifMatch, or both at once are refused with INVALID_ARGUMENT before any I/O',
    async run(context) {
      const { store, calls } = context.recording();
      const bad = [{ ifNoneMatch: 'etag' }, { ifMatch: '' }, { ifNoneMatch: '*', ifMatch: '"e"' }, { ifMatch: 42 }];
      for (const options of bad) {
        await rejectsWithCode(store.write('a.txt', 'x', options as WriteOptions), 'INVALID_ARGUMENT', JSON.stringify(options));
      }
      assertNoBackendCalls(calls, 'invalid conditions');
    },
  }),
  {
    id: 'refused',
    name: 'where conditionalWrite is not declared, ifNoneMatch and ifMatch are refused with CAPABILITY_NOT_SUPPORTED before any I/O',
    capability: 'conditionalWrite',
    requires: 'undeclared',
    async run(context) {
      const { store, calls } = context.recording();
      await rejectsWithCode(store.write('a.txt', 'x', { ifNoneMatch: '*' as never }), 'CAPABILITY_NOT_SUPPORTED', 'ifNoneMatch');
      await rejectsWithCode(store.write('a.txt', 'x', { ifMatch: '"e"' as never }), 'CAPABILITY_NOT_SUPPORTED', 'ifMatch');
      assertNoBackendCalls(calls, 'conditional refusal');
    },
  },
];

/** The `conditional` group. */
export const conditionalCases: readonly ConformanceCase[] = defineGroup('conditional', specs);
