/**
 * What a store does when the connection to its server breaks: an upload cut partway, a download
 * cut midway, an abort while the server is slow. The store under test reaches its server through a
 * {@link FaultProxy}; a second store on the same root reaches it directly, to look at what is
 * stored while and after the fault hits.
 *
 * @module
 */
import assert from 'node:assert/strict';
import { Store, isStowageError, type ErrorCode } from '@stowage/core';
import { describeError, digestStream, sha256Hex } from '../assertions.ts';
import { patternBytes } from '../content.ts';
import type { FaultProxy } from '../faults/proxy.ts';

/** The two stores of a fault check: through the proxy, and direct. */
export interface FaultStores {
  /** Reaches the server through the proxy. */
  proxied: Store;
  /** The same root, reached directly (never faulted): for checking what is stored. */
  direct: Store;
  /**
   * Names whatever a failed upload left behind on the server where nobody sees it in a listing:
   * incomplete multipart uploads, staged chunk rows, uncommitted blocks. Empty when clean.
   */
  leftovers?(): Promise<string[]>;
}

/** What one upload trial did. */
export interface UploadTrial {
  /** Whether the write succeeded (it may: an SDK can retry a cut part on a new connection). */
  stored: boolean;
  /** The failure's code when it failed. */
  code?: ErrorCode | string | undefined;
  /** How many times a reader saw the object while the write ran (always the old or the new one). */
  observations: number;
}

async function digestOf(store: Store, key: string): Promise<string | undefined> {
  try {
    return (await digestStream(await store.read(key), key)).sha256;
  } catch (error) {
    if (isStowageError(error, 'NOT_FOUND')) return undefined;
    // A read racing a write can lose its object (overwritten, a chunk replaced): not a partial object.
    if (isStowageError(error, 'PRECONDITION_FAILED')) return 'replaced';
    throw error;
  }
}

/**
 * One upload cut after `fraction` of its bytes: an old object is written directly, the new one goes
 * through the proxy, whose upload direction is cut (reset) at that point. While the write runs, a
 * reader polls the key directly; every object it sees is the old or the new one in full. Afterwards
 * the key holds the new object (the write succeeded) or the old one (it failed with a stowage
 * error), and `leftovers()` is empty.
 */
export async function cutUpload(stores: FaultStores, proxy: FaultProxy, key: string, size: number, fraction: number, seed: number): Promise<UploadTrial> {
  const oldBody = patternBytes(size, seed);
  const newBody = patternBytes(size, seed + 1);
  const allowed = new Map([
    [sha256Hex(oldBody), 'old'],
    [sha256Hex(newBody), 'new'],
    ['replaced', 'replaced'],
  ]);
  await stores.direct.write(key, oldBody);
  proxy.setFaults({ upload: { cutAfterBytes: Math.floor(size * fraction), cut: 'reset' } });
  let writing = true;
  let observations = 0;
  const seen: string[] = [];
  const watcher = (async () => {
    while (writing) {
      const digest = await digestOf(stores.direct, key);
      observations++;
      if (digest === undefined || !allowed.has(digest)) seen.push(digest ?? 'nothing');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  let outcome: UploadTrial;
  try {
    await stores.proxied.write(key, newBody);
    outcome = { stored: true, observations: 0 };
  } catch (error) {
    if (!isStowageError(error)) throw new Error(`a cut upload must fail with a stowage error, got ${describeError(error)}`, { cause: error });
    outcome = { stored: false, code: error.code, observations: 0 };
  } finally {
    writing = false;
    await watcher;
    proxy.setFaults({});
  }
  outcome.observations = observations;
  assert.deepEqual(seen, [], 'while the write ran, readers saw only the old object or the new one, whole');
  assert.ok(proxy.stats.cuts > 0 || outcome.stored, 'the proxy cut the upload');
  const final = await digestOf(stores.direct, key);
  assert.equal(allowed.get(final ?? ''), outcome.stored ? 'new' : 'old', outcome.stored ? 'a write that succeeded left the new object' : `a write that failed (${outcome.code}) left the old object intact`);
  const left = (await stores.leftovers?.()) ?? [];
  assert.deepEqual(left, [], 'the cut upload left nothing behind');
  return outcome;
}

/**
 * A download cut after half its bytes, read with retries: the read resumes with a range request and
 * yields exactly the stored bytes.
 */
export async function cutDownloadResumed(stores: FaultStores, proxy: FaultProxy, key: string, size: number): Promise<void> {
  const body = patternBytes(size, 77);
  await stores.direct.write(key, body);
  const retrying = new Store(stores.proxied.backend, { root: stores.proxied.root, retry: { attempts: 4, baseDelayMs: 10, maxDelayMs: 100 } });
  proxy.setFaults({ download: { cutAfterBytes: Math.floor(size / 2), cut: 'reset' } });
  try {
    const read = await digestStream(await retrying.read(key), key);
    assert.ok(proxy.stats.cuts > 0, 'the proxy cut the download');
    assert.equal(read.size, size, 'the resumed read has every byte');
    assert.equal(read.sha256, sha256Hex(body), 'the resumed read is byte-identical to the stored object');
  } finally {
    proxy.setFaults({});
  }
}

/**
 * A download cut after half its bytes, read without retries: a typed `UNAVAILABLE` (or the whole
 * object, when the SDK itself recovers), never a short or wrong one.
 */
export async function cutDownloadUnretried(stores: FaultStores, proxy: FaultProxy, key: string, size: number): Promise<ErrorCode | 'complete'> {
  const body = patternBytes(size, 78);
  await stores.direct.write(key, body);
  proxy.setFaults({ download: { cutAfterBytes: Math.floor(size / 2), cut: 'reset' } });
  try {
    const read = await digestStream(await stores.proxied.read(key, { retry: false }), key);
    assert.equal(read.sha256, sha256Hex(body), 'a read that completes despite the cut has the stored bytes');
    return 'complete';
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error;
    assert.ok(isStowageError(error, 'UNAVAILABLE'), `a cut download fails with UNAVAILABLE, got ${describeError(error)}`);
    return 'UNAVAILABLE';
  } finally {
    proxy.setFaults({});
  }
}

/**
 * Each operation started while the server is out of reach (the proxy forwards nothing either way) and
 * aborted after `afterMs` rejects with ABORTED, well before the server would have answered.
 */
export async function abortWhileSlow(stores: FaultStores, proxy: FaultProxy, key: string, afterMs = 200): Promise<void> {
  await stores.direct.write(key, 'slow');
  const operations: [string, (signal: AbortSignal) => Promise<unknown>][] = [
    ['stat', (signal) => stores.proxied.stat(key, { signal })],
    ['read', (signal) => stores.proxied.readBytes(key, { signal })],
    ['write', (signal) => stores.proxied.write(key, 'never stored', { signal })],
    ['list', (signal) => stores.proxied.list({ prefix: key, signal })],
    ['delete', (signal) => stores.proxied.delete(key, { signal })],
  ];
  try {
    for (const [name, run] of operations) {
      // Neither way: the request never reaches the server, so that what the abort leaves can be checked.
      proxy.setFaults({ upload: { stall: true }, download: { stall: true } });
      const controller = new AbortController();
      const started = Date.now();
      const timer = setTimeout(() => controller.abort(new Error('the caller gave up')), afterMs);
      try {
        await run(controller.signal);
        assert.fail(`${name} resolved although the server never answered`);
      } catch (error) {
        if (error instanceof assert.AssertionError) throw error;
        assert.ok(isStowageError(error, 'ABORTED'), `${name} aborted while the server is slow fails with ABORTED, got ${describeError(error)}`);
      } finally {
        clearTimeout(timer);
      }
      // Generous: the point is that it did not wait for the server (which never answers).
      assert.ok(Date.now() - started < afterMs + 5000, `${name} returned promptly after the abort (${Date.now() - started} ms)`);
    }
  } finally {
    proxy.setFaults({});
  }
  assert.equal(await stores.direct.readText(key), 'slow', 'the aborted write stored nothing');
}
