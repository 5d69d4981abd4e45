/**
 * Other writers: another program (plain SQL, the bare SDK, the filesystem) overwrites, deletes,
 * re-creates and copies keys beside stowage, through the fixture's {@link OtherWriter}. Whatever it
 * did, stowage serves the current bytes, reports a new etag and no digest it cannot vouch for,
 * refuses a compare-and-swap on the etag from before, and its sweep leaves nothing no object owns;
 * with both writing at once, no read returns bytes neither wrote, and a compare-and-swap applies to
 * the version it read or fails (the other program's write is never lost).
 *
 * The other writer's bodies always differ in length from what stowage wrote before: a change of
 * the bytes alone at the same length and time is what some backends document they cannot detect.
 *
 * @module
 */
import assert from 'node:assert/strict';
import { isStowageError, type Store } from '@stowage/core';
import { crc32cHex, md5Hex, rejectsWithCode, sha256Hex } from '../assertions.ts';
import { patternBytes } from '../content.ts';
import type { CaseContext, ConformanceCase, OtherWriter } from '../types.ts';
import { defineGroup, metadataOption, type CaseSpec } from './define.ts';

const encoder = new TextEncoder();

function writerOf(context: CaseContext): OtherWriter {
  // notApplicableReason keeps these cases from running without one.
  assert.ok(context.otherWriter, 'the fixture supplies an other writer');
  return context.otherWriter;
}

/** Every digest the backend reports of an object must be the digest of the bytes it serves. */
function assertDigestsVouched(info: { sha256?: string | undefined; md5?: string | undefined; crc32c?: string | undefined }, bytes: Uint8Array, what: string): void {
  if (info.sha256 !== undefined) assert.equal(info.sha256, sha256Hex(bytes), `${what}: a sha256 is reported only when it is the served bytes' own`);
  if (info.md5 !== undefined) assert.equal(info.md5, md5Hex(bytes), `${what}: an md5 is reported only when it is the served bytes' own`);
  if (info.crc32c !== undefined) assert.equal(info.crc32c, crc32cHex(bytes), `${what}: a crc32c is reported only when it is the served bytes' own`);
}

/**
 * The checks of an object another program changed: its current bytes are served (whole, and a
 * range of them), `stat`, `get` and the listing agree on size and etag, the etag is none stowage
 * reported before, digests are vouched for, and an `ifMatch` on an old etag fails and changes nothing.
 * Returns the current etag.
 */
async function assertServesForeign(context: CaseContext, key: string, expected: Uint8Array, oldEtags: readonly string[], what: string): Promise<string> {
  const { store, capabilities } = context;
  const bytes = await store.readBytes(key);
  assert.equal(sha256Hex(bytes), sha256Hex(expected), `${what}: read serves the other writer's bytes (${bytes.byteLength} bytes read, ${expected.byteLength} written)`);
  const info = await store.stat(key);
  assert.equal(info.size, expected.byteLength, `${what}: stat reports the current size`);
  for (const old of oldEtags) assert.notEqual(info.etag, old, `${what}: the etag changed with the other writer's change`);
  assertDigestsVouched(info, expected, `${what} (stat)`);
  const got = await store.get(key);
  const body = new Uint8Array(await new Response(got.body).arrayBuffer());
  assert.equal(sha256Hex(body), sha256Hex(expected), `${what}: get serves the current bytes`);
  assert.equal(got.info.size, body.byteLength, `${what}: get's size is its body's`);
  assert.equal(got.info.etag, info.etag, `${what}: get and stat report one etag`);
  assertDigestsVouched(got.info, body, `${what} (get)`);
  if (capabilities.rangeRead && expected.byteLength > 2) {
    const range = await store.readBytes(key, { range: { offset: 1, length: expected.byteLength - 2 } });
    assert.equal(sha256Hex(range), sha256Hex(expected.subarray(1, -1)), `${what}: a range read serves the current bytes`);
  }
  const listed = [];
  for await (const entry of store.listAll()) if (entry.key === key) listed.push(entry);
  assert.equal(listed.length, 1, `${what}: the key is listed once`);
  assert.equal(listed[0]!.size, expected.byteLength, `${what}: the listing reports the current size`);
  assert.equal(listed[0]!.etag, info.etag, `${what}: the listing and stat report one etag`);
  if (capabilities.conditionalWrite) {
    for (const old of oldEtags) {
      await rejectsWithCode(store.write(key, 'a lost update', { ifMatch: old }), 'PRECONDITION_FAILED', `${what}: ifMatch on an etag from before the other writer's change`);
    }
    assert.equal(sha256Hex(await store.readBytes(key)), sha256Hex(expected), `${what}: the refused write changed nothing`);
  }
  return info.etag;
}

/** A compare-and-swap on the current (foreign) version applies, and stowage's own digest is back. */
async function assertSwapsOnForeign(context: CaseContext, key: string, etag: string, what: string): Promise<void> {
  const { store, capabilities } = context;
  if (!capabilities.conditionalWrite) return;
  const mine = encoder.encode(`stowage wrote this over the other writer's version of ${key}`);
  const written = await store.write(key, mine, { ifMatch: etag });
  assert.notEqual(written.etag, etag, `${what}: a write on the current etag gives a new one`);
  assert.equal(sha256Hex(await store.readBytes(key)), sha256Hex(mine), `${what}: a compare-and-swap on the current etag applies`);
  const info = await store.stat(key);
  assert.equal(info.etag, written.etag, `${what}: stat reports the etag the write returned`);
  assertDigestsVouched(info, mine, `${what}: after stowage wrote again`);
}

/** Whether a key is gone for every way of looking at it. */
async function assertGone(store: Store, key: string, what: string): Promise<void> {
  await rejectsWithCode(store.stat(key), 'NOT_FOUND', `${what}: stat`);
  await rejectsWithCode(store.readBytes(key), 'NOT_FOUND', `${what}: read`);
  assert.equal(await store.exists(key), false, `${what}: exists`);
  for await (const entry of store.listAll()) assert.notEqual(entry.key, key, `${what}: not listed`);
}

/** The other writer copies `key` (written by stowage): the copy serves its bytes; the source is untouched until changed. */
async function checkForeignCopy(context: CaseContext, key: string, body: Uint8Array): Promise<void> {
  const other = writerOf(context);
  const { store } = context;
  const source = await store.write(key, body, metadataOption(context, { by: 'stowage' }));
  const copyKey = `copy-of-${key}`;
  await other.copy(key, copyKey);
  const bytes = await store.readBytes(copyKey);
  assert.equal(sha256Hex(bytes), sha256Hex(body), `${key}: the copy serves the source's bytes`);
  const info = await store.stat(copyKey);
  assert.equal(info.size, body.byteLength, `${key}: the copy's size`);
  assertDigestsVouched(info, body, `${key}: the copy`);
  const sourceInfo = await store.stat(key);
  assert.equal(sourceInfo.etag, source.etag, `${key}: the source keeps its etag`);
  assert.equal(sha256Hex(await store.readBytes(key)), sha256Hex(body), `${key}: the source keeps its bytes`);
  // The source changes under the copy: the copy keeps what it had.
  const changed = encoder.encode(`the other writer changed ${key} after copying it`);
  await other.write(key, changed);
  await assertServesForeign(context, key, changed, [source.etag], `${key}, changed after the copy`);
  assert.equal(sha256Hex(await store.readBytes(copyKey)), sha256Hex(body), `${key}: the copy is unchanged`);
  await assertSwapsOnForeign(context, copyKey, info.etag, `${key}: the copy`);
}

const specs: CaseSpec[] = [
  {
    id: 'overwrite-small',
    name: 'another program overwrites a small object: its bytes are served with a new etag and no stale digest; ifMatch on the old etag fails',
    needs: 'other-writer',
    async run(context) {
      const other = writerOf(context);
      const before = await context.store.write('doc.txt', 'stowage wrote this', metadataOption(context, { by: 'stowage' }));
      const foreign = encoder.encode('the other writer wrote this, longer');
      await other.write('doc.txt', foreign);
      const etag = await assertServesForeign(context, 'doc.txt', foreign, [before.etag], 'overwritten small object');
      await assertSwapsOnForeign(context, 'doc.txt', etag, 'overwritten small object');
    },
  },
  {
    id: 'overwrite-chunked',
    name: 'another program overwrites a chunked object with a small one and a small one with a chunked one: the current bytes are served, whole and in ranges',
    needs: 'other-writer',
    async run(context) {
      const other = writerOf(context);
      const { store, options } = context;
      const big = patternBytes(2 * options.chunkSize + 5, 91);
      const before = await store.write('big.bin', big);
      const small = encoder.encode('small now');
      await other.write('big.bin', small);
      const etag = await assertServesForeign(context, 'big.bin', small, [before.etag], 'chunked object overwritten with a small one');
      const bigger = patternBytes(2 * options.chunkSize + 17, 92);
      await other.write('big.bin', bigger);
      await assertServesForeign(context, 'big.bin', bigger, [before.etag, etag], 'small object overwritten with a chunked one');
      const mine = await store.write('small.txt', 'stowage');
      await other.write('small.txt', big);
      const current = await assertServesForeign(context, 'small.txt', big, [mine.etag], 'stowage object overwritten with a chunked one');
      await assertSwapsOnForeign(context, 'small.txt', current, 'chunked foreign object');
    },
  },
  {
    id: 'foreign-metadata',
    name: "user metadata another program wrote (non-ASCII values included) reads back as the same Unicode strings, never stowage's stale metadata",
    needs: 'other-writer-metadata',
    async run(context) {
      const other = writerOf(context);
      const { store } = context;
      await store.write('meta.txt', 'stowage', { metadata: { by: 'stowage', stale: 'yes' } });
      const metadata: Record<string, string> = { by: 'other-writer', latin: 'naïve café Zoë', plain: 'ascii only' };
      if (other.metadata === true) metadata.beyond = '✓ 日本語 😀';
      await other.write('meta.txt', encoder.encode('the other writer, with metadata'), { metadata });
      assert.deepEqual((await store.stat('meta.txt')).metadata, metadata, "stat shows the other writer's metadata exactly");
      await other.write('fresh.txt', encoder.encode('created by the other writer'), { metadata });
      assert.deepEqual((await store.stat('fresh.txt')).metadata, metadata, 'on an object only the other writer wrote, too');
      const listed = [];
      for await (const entry of store.listAll()) listed.push(entry.key);
      assert.deepEqual(listed.sort(), ['fresh.txt', 'meta.txt'], 'both are listed');
    },
  },
  {
    id: 'delete-recreate',
    name: 'another program deletes an object, then creates it again: gone everywhere, then its new bytes with an etag no compare-and-swap from before matches',
    needs: 'other-writer',
    async run(context) {
      const other = writerOf(context);
      const { store, options, capabilities } = context;
      const first = await store.write('a.txt', 'first, by stowage');
      const chunked = await store.write('b.bin', patternBytes(options.chunkSize + 3, 93));
      await other.delete('a.txt');
      await other.delete('b.bin');
      await assertGone(store, 'a.txt', 'deleted by the other writer');
      await assertGone(store, 'b.bin', 'chunked, deleted by the other writer');
      if (capabilities.conditionalWrite) {
        await rejectsWithCode(store.write('a.txt', 'x', { ifMatch: first.etag }), 'PRECONDITION_FAILED', 'ifMatch on the etag of an object another program deleted');
        await assertGone(store, 'a.txt', 'after the refused write');
      }
      const again = encoder.encode('again, by the other writer');
      await other.write('a.txt', again);
      const etag = await assertServesForeign(context, 'a.txt', again, [first.etag], 're-created by the other writer');
      const chunkedAgain = patternBytes(options.chunkSize + 40, 94);
      await other.write('b.bin', chunkedAgain);
      await assertServesForeign(context, 'b.bin', chunkedAgain, [chunked.etag], 'chunked, re-created by the other writer');
      if (capabilities.conditionalWrite) {
        await rejectsWithCode(store.write('a.txt', 'x', { ifNoneMatch: '*' }), 'ALREADY_EXISTS', 'create-only on a key the other writer created');
      }
      await assertSwapsOnForeign(context, 'a.txt', etag, 're-created by the other writer');
      await store.delete('b.bin');
      await assertGone(store, 'b.bin', "stowage deleted the other writer's object");
    },
  },
  {
    id: 'copy/small',
    name: "another program copies a small object stowage wrote: the copy serves the source's bytes with digests vouched for, and the source is untouched until it changes it",
    needs: 'other-writer',
    run: (context) => checkForeignCopy(context, 'small.txt', encoder.encode('a small object stowage wrote')),
  },
  {
    id: 'copy/chunked',
    name: 'the same with a chunked object',
    needs: 'other-writer',
    run: (context) => checkForeignCopy(context, 'chunked.bin', patternBytes(2 * context.options.chunkSize + 9, 95)),
  },
  {
    id: 'sweep',
    name: "after another program's overwrites and deletes, a sweep (olderThanMs 0) reclaims what no object owns, never touches an object, and a second sweep finds nothing",
    needs: 'other-writer',
    async run(context) {
      const other = writerOf(context);
      const { store, options } = context;
      await store.write('overwritten.bin', patternBytes(2 * options.chunkSize + 1, 96));
      await store.write('deleted.bin', patternBytes(options.chunkSize + 2, 97));
      const kept = patternBytes(options.chunkSize + 5, 98);
      const keptInfo = await store.write('kept.bin', kept);
      const small = encoder.encode('the other writer made this small');
      await other.write('overwritten.bin', small);
      await other.delete('deleted.bin');
      const first = await store.sweep({ olderThanMs: 0 });
      assert.equal(first.dryRun, false);
      const second = await store.sweep({ olderThanMs: 0, dryRun: true });
      const ours = new Set(['overwritten.bin', 'deleted.bin', 'kept.bin']);
      const left = second.items.filter((item) => item.key !== undefined && ours.has(item.key));
      assert.deepEqual(left, [], 'nothing of these keys is left for a second sweep');
      assert.equal(sha256Hex(await store.readBytes('overwritten.bin')), sha256Hex(small), "the other writer's object is untouched");
      assert.equal(sha256Hex(await store.readBytes('kept.bin')), sha256Hex(kept), "stowage's object is untouched");
      assert.equal((await store.stat('kept.bin')).etag, keptInfo.etag, "stowage's object keeps its etag");
      await assertGone(store, 'deleted.bin', 'the deleted object stays deleted');
    },
  },
  {
    id: 'concurrent-reads',
    name: 'stowage and another program overwrite one key at once while readers read it: every read returns bytes one of them wrote, with its own size and digests',
    needs: 'other-writer',
    slow: true,
    async run(context) {
      const other = writerOf(context);
      const { store, options } = context;
      const known = new Set<string>();
      const initial = patternBytes(options.chunkSize + 1, 100);
      known.add(sha256Hex(initial));
      await store.write('shared.bin', initial);
      const reads: string[] = [];
      for (let round = 0; round < 6; round++) {
        // Lengths differ between the two writers and from round to round.
        const mine = patternBytes(options.chunkSize + 3 + round, 101 + round);
        const theirs = round % 2 === 0 ? encoder.encode(`the other writer, round ${round}`) : patternBytes(2 * options.chunkSize + 11 + round, 131 + round);
        known.add(sha256Hex(mine));
        known.add(sha256Hex(theirs));
        const readOnce = async (): Promise<void> => {
          const got = await store.get('shared.bin');
          const body = new Uint8Array(await new Response(got.body).arrayBuffer());
          const digest = sha256Hex(body);
          reads.push(digest);
          assert.ok(known.has(digest), `round ${round}: a read returned ${body.byteLength} bytes that neither writer wrote`);
          assert.equal(got.info.size, body.byteLength, `round ${round}: the size get reports is its body's`);
          assertDigestsVouched(got.info, body, `round ${round}: a concurrent read`);
        };
        await Promise.all([store.write('shared.bin', mine), other.write('shared.bin', theirs), readOnce(), readOnce(), readOnce(), readOnce()]);
        await readOnce();
      }
      assert.equal(reads.length, 30);
    },
  },
  {
    id: 'concurrent-cas',
    name: "a compare-and-swap racing another program's overwrite applies to the version it read or fails: the other program's write is never lost",
    capability: 'conditionalWrite',
    requires: 'declared',
    needs: 'other-writer',
    slow: true,
    async run(context) {
      const other = writerOf(context);
      const { store, options } = context;
      await store.write('counter.bin', 'start');
      let applied = 0;
      let refused = 0;
      for (let round = 0; round < 10; round++) {
        const read = await store.stat('counter.bin');
        const mine = round % 3 === 0 ? patternBytes(options.chunkSize + 7 + round, 150 + round) : encoder.encode(`stowage swapped in round ${round}`);
        const theirs = encoder.encode(`the other writer, round ${round}, ${'x'.repeat(round)}`);
        const [swap] = await Promise.allSettled([store.write('counter.bin', mine, { ifMatch: read.etag }), other.write('counter.bin', theirs)]);
        if (swap.status === 'fulfilled') applied++;
        else if (isStowageError(swap.reason, 'PRECONDITION_FAILED')) refused++;
        else throw swap.reason;
        // Had the swap applied to a version other than the one it read (the other writer's), that write would be lost.
        const now = await store.readBytes('counter.bin');
        assert.equal(sha256Hex(now), sha256Hex(theirs), `round ${round}: the other writer's write survives (the swap ${swap.status === 'fulfilled' ? 'applied' : 'was refused'})`);
      }
      assert.equal(applied + refused, 10);
    },
  },
];

/** The `other-writers` group: needs the fixture's {@link OtherWriter}. */
export const otherWritersCases: readonly ConformanceCase[] = defineGroup('other-writers', specs);
