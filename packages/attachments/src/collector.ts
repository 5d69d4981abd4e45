/**
 * The garbage collector: deletes the objects of a slot that no row refers to.
 *
 * Memory: the live references are kept as 64-bit hashes of their keys in one sorted typed array,
 * 8 bytes each (1 million live references take 8 MiB, 100 million 800 MiB), whatever the key
 * lengths. A hash collision can only make an orphan look live, so it is kept: a live object is
 * never taken for an orphan. The chance that a given orphan is kept this way is about n / 2^64 for
 * n live references.
 *
 * @module
 */
import { hash } from 'node:crypto';
import { InvalidArgumentError, type ListEntry, type OperationOptions, type Store } from '@stowage/core';
import { parseAttachment, parseAttachmentList, type Attachment } from './reference.ts';
import type { ResolvedSlot } from './slots.ts';

/** One item of the live references: a reference, a list of them (a multi-file field), its JSON text, or nothing. */
export type LiveReference = Attachment | readonly Attachment[] | string | null | undefined;

/** The default grace period: one day. */
export const DEFAULT_GRACE_PERIOD_MS = 24 * 60 * 60 * 1000;

/** Options of a collection. */
export interface CollectOptions extends OperationOptions {
  /**
   * Every reference the database holds for the slot (references of other slots and stores are
   * ignored), for example a query's rows. Read to the end before anything is listed or deleted.
   */
  live: AsyncIterable<LiveReference> | Iterable<LiveReference>;
  /** Report the orphans, delete nothing. */
  dryRun?: boolean | undefined;
  /**
   * Objects modified less than this long before the collection started are never deleted, so
   * that uploads whose rows are not committed yet are safe (default one day). It must exceed your
   * longest transaction, plus the clock difference between this machine and the storage server.
   */
  gracePeriodMs?: number | undefined;
  /** Called for each orphan found (after it was deleted, unless `dryRun`). */
  onOrphan?: ((entry: ListEntry) => void | Promise<void>) | undefined;
}

/** What a collection found and did. */
export interface CollectReport {
  slot: string;
  store: string;
  dryRun: boolean;
  /** Live references read (of this slot). */
  liveReferences: number;
  /** Objects listed under the slot's prefix. */
  scanned: number;
  /** Listed objects some row refers to. */
  referenced: number;
  /** Unreferenced objects younger than the grace period, kept. */
  young: number;
  /** Unreferenced objects older than the grace period. */
  orphaned: number;
  /** Bytes of the orphans. */
  orphanedBytes: number;
  /** Orphans deleted (0 in a dry run). */
  deleted: number;
  /** Bytes deleted (0 in a dry run). */
  bytesFreed: number;
}

const DELETE_BATCH = 1000;

/** A set of keys as sorted 64-bit hashes: 8 bytes a key. */
class KeyHashes {
  #hashes = new BigUint64Array(1024);
  #size = 0;
  #sorted = true;

  static hash(key: string): bigint {
    return hash('sha256', key, 'buffer').readBigUInt64BE(0);
  }

  add(key: string): void {
    if (this.#size === this.#hashes.length) {
      const grown = new BigUint64Array(this.#hashes.length * 2);
      grown.set(this.#hashes);
      this.#hashes = grown;
    }
    this.#hashes[this.#size++] = KeyHashes.hash(key);
    this.#sorted = false;
  }

  get size(): number {
    return this.#size;
  }

  has(key: string): boolean {
    if (!this.#sorted) {
      this.#hashes = this.#hashes.subarray(0, this.#size).sort();
      this.#sorted = true;
    }
    const wanted = KeyHashes.hash(key);
    let low = 0;
    let high = this.#size - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const value = this.#hashes[middle]!;
      if (value === wanted) return true;
      if (value < wanted) low = middle + 1;
      else high = middle - 1;
    }
    return false;
  }
}

function referencesOf(item: LiveReference): Attachment[] {
  if (item === null || item === undefined) return [];
  if (typeof item === 'string') return item.trimStart().startsWith('[') ? parseAttachmentList(item) : [parseAttachment(item)];
  if (Array.isArray(item)) return parseAttachmentList(item);
  return [parseAttachment(item)];
}

/** Collects one slot's orphans (see `Attachments.collect`). */
export async function collectGarbage(slot: ResolvedSlot, store: Store, options: CollectOptions): Promise<CollectReport> {
  if (typeof options !== 'object' || options === null || options.live === undefined) throw new InvalidArgumentError('collect needs { live }: the references the database holds');
  const grace = options.gracePeriodMs ?? DEFAULT_GRACE_PERIOD_MS;
  if (typeof grace !== 'number' || !Number.isFinite(grace) || grace < 0) throw new InvalidArgumentError(`gracePeriodMs must be a non-negative number, got ${String(grace)}`);
  const dryRun = options.dryRun === true;
  const { signal } = options;
  // Taken before the live references are read: an object written after it may belong to a row the
  // query did not see yet, and is younger than the grace period anyway.
  const cutoff = Date.now() - grace;
  const live = new KeyHashes();
  for await (const item of options.live) {
    signal?.throwIfAborted();
    for (const reference of referencesOf(item)) {
      if (reference.store === slot.store && reference.key.startsWith(slot.prefix)) live.add(reference.key);
    }
  }
  const report: CollectReport = {
    slot: slot.name,
    store: slot.store,
    dryRun,
    liveReferences: live.size,
    scanned: 0,
    referenced: 0,
    young: 0,
    orphaned: 0,
    orphanedBytes: 0,
    deleted: 0,
    bytesFreed: 0,
  };
  // Keys that are written again (content-addressed ones, given file names) are checked once more
  // just before deletion: a new upload may have rewritten one since it was listed.
  const recheck = slot.keys === 'sha256' || slot.fileName !== 'random';
  let batch: ListEntry[] = [];
  const flush = async (): Promise<void> => {
    let doomed = batch;
    batch = [];
    if (recheck) {
      const fresh: ListEntry[] = [];
      for (const entry of doomed) {
        const info = await store.stat(entry.key, { signal }).catch(() => undefined);
        if (info && info.lastModified.getTime() < cutoff && info.etag === entry.etag) {
          fresh.push(entry);
        } else {
          report.orphaned--;
          report.orphanedBytes -= entry.size;
          if (info) report.young++;
        }
      }
      doomed = fresh;
    }
    if (doomed.length === 0) return;
    await store.deleteMany(doomed.map((entry) => entry.key), { signal });
    for (const entry of doomed) {
      report.deleted++;
      report.bytesFreed += entry.size;
      await options.onOrphan?.(entry);
    }
  };
  for await (const entry of store.listAll({ prefix: slot.prefix, signal })) {
    report.scanned++;
    if (live.has(entry.key)) {
      report.referenced++;
      continue;
    }
    if (entry.lastModified.getTime() >= cutoff) {
      report.young++;
      continue;
    }
    report.orphaned++;
    report.orphanedBytes += entry.size;
    if (dryRun) await options.onOrphan?.(entry);
    else {
      batch.push(entry);
      if (batch.length === DELETE_BATCH) await flush();
    }
  }
  if (!dryRun) await flush();
  return report;
}
