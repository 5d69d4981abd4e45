/**
 * Races on one key: create-only writers (exactly one wins), unconditional overwriters (the result
 * is exactly one writer's bytes, never a mixture), compare-and-swap updaters of a counter (no
 * update is lost).
 *
 * @module
 */
import assert from 'node:assert/strict';
import { isStowageError, type Store } from '@stowage/core';
import { describeError, digestStream, sha256Hex } from '../assertions.ts';
import { patternBytes } from '../content.ts';

/** Options of the race checks. */
export interface RaceOptions {
  /** Bytes per overwriter (default 64 KiB): make it larger than the backend's chunk or part size to race multi-part writes. */
  bodySize?: number | undefined;
  /** Create-only writers (default 50). */
  createOnlyWriters?: number | undefined;
  /** Overwriters (default 50). */
  overwriters?: number | undefined;
  /** Compare-and-swap updaters (default 20). */
  updaters?: number | undefined;
  /** Attempts each updater makes before it gives up (default 500). */
  updateAttempts?: number | undefined;
}

/** `writers` concurrent create-only writes of distinct bodies: exactly one wins, the rest fail with ALREADY_EXISTS, the stored bytes are the winner's. */
export async function raceCreateOnly(store: Store, key: string, options: RaceOptions = {}): Promise<void> {
  const writers = options.createOnlyWriters ?? 50;
  const bodies = Array.from({ length: writers }, (_, i) => `writer ${i} of ${writers}`);
  const results = await Promise.allSettled(bodies.map((body) => store.write(key, body, { ifNoneMatch: '*' })));
  const winners = results.flatMap((result, i) => (result.status === 'fulfilled' ? [i] : []));
  const odd = results.flatMap((result, i) => (result.status === 'rejected' && !isStowageError(result.reason, 'ALREADY_EXISTS') ? [`writer ${i}: ${describeError(result.reason)}`] : []));
  assert.deepEqual(odd, [], 'every loser fails with ALREADY_EXISTS');
  assert.equal(winners.length, 1, `exactly one of ${writers} create-only writers wins (${winners.length} did)`);
  assert.equal(await store.readText(key), bodies[winners[0]!], "the stored object is the winner's");
}

/** `writers` concurrent unconditional writes of distinct bodies: all succeed and the stored bytes are exactly one of them. */
export async function raceOverwrite(store: Store, key: string, options: RaceOptions = {}): Promise<void> {
  const writers = options.overwriters ?? 50;
  const size = options.bodySize ?? 64 * 1024;
  const digests = new Map<string, number>();
  const bodies = Array.from({ length: writers }, (_, i) => {
    const body = patternBytes(size, 1000 + i);
    digests.set(sha256Hex(body), i);
    return body;
  });
  const results = await Promise.allSettled(bodies.map((body) => store.write(key, body)));
  const failed = results.flatMap((result, i) => (result.status === 'rejected' ? [`writer ${i}: ${describeError(result.reason)}`] : []));
  assert.deepEqual(failed, [], 'every unconditional overwrite succeeds');
  const stored = await digestStream(await store.read(key), 'the raced object');
  assert.equal(stored.size, size, 'the stored object has one writer’s size');
  assert.ok(digests.has(stored.sha256), `the stored bytes are exactly one writer's (sha256 ${stored.sha256} matches none of ${writers}: a mixture)`);
  const info = await store.stat(key);
  if (info.sha256 !== undefined) assert.equal(info.sha256, stored.sha256, 'stat’s sha256 is that of the stored bytes');
}

/**
 * `updaters` concurrent read-modify-write loops on one counter with `ifMatch`: each adds one,
 * retrying on PRECONDITION_FAILED. The final counter equals the number of updaters: no update lost.
 */
export async function raceCompareAndSwap(store: Store, key: string, options: RaceOptions = {}): Promise<void> {
  const updaters = options.updaters ?? 20;
  const attempts = options.updateAttempts ?? 500;
  await store.write(key, '0');
  let conflicts = 0;
  const update = async (): Promise<void> => {
    for (let attempt = 0; attempt < attempts; attempt++) {
      const { info, body } = await store.get(key);
      const value = Number(new TextDecoder().decode(await new Response(body).arrayBuffer()));
      try {
        await store.write(key, String(value + 1), { ifMatch: info.etag });
        return;
      } catch (error) {
        if (!isStowageError(error, 'PRECONDITION_FAILED')) throw error;
        conflicts++;
      }
    }
    throw new Error(`an updater gave up after ${attempts} conflicts`);
  };
  await Promise.all(Array.from({ length: updaters }, update));
  assert.equal(await store.readText(key), String(updaters), `${updaters} compare-and-swap increments, none lost (${conflicts} conflicts retried)`);
}
