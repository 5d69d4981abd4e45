/**
 * The maintenance sweep: `store.sweep()` answers with a well-formed report on every backend (what
 * it looks for, or why there is nothing to look for), never touches an object, finds nothing of a
 * failed write that the backend already cleaned up, and refuses bad options before any I/O.
 *
 * @module
 */
import assert from 'node:assert/strict';
import { DEFAULT_SWEEP_AGE_MS, type Store, type SweepReport } from '@stowage/core';
import { rejectsWithCode, sha256Hex } from '../assertions.ts';
import { patternBytes } from '../content.ts';
import type { ConformanceCase } from '../types.ts';
import { defineGroup, type CaseSpec } from './define.ts';

/** The contract's invariants of any report: totals add up, a dry run removes nothing, items are counted. */
function checkReport(report: SweepReport, store: Store, expected: { dryRun: boolean; olderThanMs: number }): void {
  assert.equal(report.backend, store.backendName, 'the report names the backend');
  assert.equal(report.dryRun, expected.dryRun, 'dryRun');
  assert.equal(report.olderThanMs, expected.olderThanMs, 'olderThanMs');
  assert.ok(Array.isArray(report.kinds) && Array.isArray(report.items) && Array.isArray(report.notes), 'kinds, items and notes are arrays');
  assert.ok(report.kinds.length > 0 || report.notes.length > 0, 'the report says what the backend looks for, or why there is nothing to look for');
  for (const kind of report.kinds) {
    assert.equal(typeof kind.kind, 'string');
    assert.ok(typeof kind.description === 'string' && kind.description.length > 0, `kind ${kind.kind} is described`);
    assert.ok(kind.removed <= kind.found && kind.found >= 0 && kind.bytes >= 0, `kind ${kind.kind}: counts`);
    if (kind.unreclaimable !== undefined) assert.ok(kind.unreclaimable.length > 0, `kind ${kind.kind}: why it cannot be reclaimed`);
  }
  const sum = (field: 'found' | 'removed' | 'bytes'): number => report.kinds.reduce((total, kind) => total + kind[field], 0);
  assert.equal(report.found, sum('found'), 'found is the sum over kinds');
  assert.equal(report.removed, sum('removed'), 'removed is the sum over kinds');
  assert.equal(report.bytes, sum('bytes'), 'bytes is the sum over kinds');
  assert.ok(report.items.length <= report.found, 'no more items than leftovers found');
  assert.equal(report.truncated, report.items.length < report.found, 'truncated exactly when items are left out');
  if (expected.dryRun) {
    assert.equal(report.removed, 0, 'a dry run removes nothing');
    assert.ok(report.items.every((item) => !item.removed), 'a dry run removes no item');
  }
}

const specs: CaseSpec[] = [
  {
    id: 'report',
    name: 'a dry run answers with a consistent report that names the backend and says what it looks for (or why there is nothing)',
    async run({ store }) {
      const report = await store.sweep({ dryRun: true });
      checkReport(report, store, { dryRun: true, olderThanMs: DEFAULT_SWEEP_AGE_MS });
    },
  },
  {
    id: 'objects-untouched',
    name: 'a sweep that takes everything abandoned (olderThanMs 0) leaves every object, its bytes and its etag, exactly as it was',
    async run({ store, options }) {
      const bodies = new Map<string, Uint8Array>([
        ['empty.bin', new Uint8Array(0)],
        ['small.txt', new TextEncoder().encode('small')],
        ['chunked.bin', patternBytes(options.chunkSize + 1, 71)],
        ['folder/deep/object.bin', patternBytes(2 * options.chunkSize + 3, 72)],
      ]);
      const etags = new Map<string, string>();
      for (const [key, body] of bodies) etags.set(key, (await store.write(key, body)).etag);
      const report = await store.sweep({ olderThanMs: 0 });
      checkReport(report, store, { dryRun: false, olderThanMs: 0 });
      for (const [key, body] of bodies) {
        const info = await store.stat(key);
        assert.equal(info.etag, etags.get(key), `the etag of ${key} is unchanged`);
        assert.equal(sha256Hex(await store.readBytes(key)), sha256Hex(body), `the bytes of ${key} are unchanged`);
      }
      const listed = [];
      for await (const entry of store.listAll()) listed.push(entry.key);
      assert.deepEqual(listed.sort(), [...bodies.keys()].sort(), 'the listing is unchanged');
    },
  },
  {
    id: 'after-failed-write',
    name: 'a write whose source fails midway leaves nothing of this store a sweep would find',
    async run({ store, options }) {
      await store.write('victim.bin', 'old');
      const part = patternBytes(options.chunkSize + 1, 73);
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield part;
        yield part;
        throw new Error('the source failed');
      }
      await assert.rejects(store.write('victim.bin', failing()));
      const report = await store.sweep({ olderThanMs: 0, dryRun: true });
      checkReport(report, store, { dryRun: true, olderThanMs: 0 });
      const mine = report.items.filter((item) => item.key !== undefined);
      assert.deepEqual(mine, [], 'no leftover of a key of this store');
      assert.equal(await store.readText('victim.bin'), 'old', 'the old object is intact');
    },
  },
  {
    id: 'bad-options',
    name: 'bad olderThanMs and dryRun are INVALID_ARGUMENT before any I/O; an aborted signal is ABORTED',
    async run({ recording }) {
      const { store, calls } = recording();
      for (const olderThanMs of [-1, Number.NaN, Number.POSITIVE_INFINITY, '60000'] as unknown[]) {
        await rejectsWithCode(store.sweep({ olderThanMs: olderThanMs as number }), 'INVALID_ARGUMENT', `olderThanMs ${String(olderThanMs)}`);
      }
      await rejectsWithCode(store.sweep({ dryRun: 'yes' as unknown as boolean }), 'INVALID_ARGUMENT', 'dryRun "yes"');
      assert.deepEqual(calls, [], 'nothing reached the backend');
      const controller = new AbortController();
      controller.abort();
      await rejectsWithCode(store.sweep({ signal: controller.signal }), 'ABORTED', 'an aborted signal');
    },
  },
];

/** The `sweep` group. */
export const sweepCases: readonly ConformanceCase[] = defineGroup('sweep', specs);
