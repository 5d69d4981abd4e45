/**
 * The record of used nonces that makes single-use upload links single-use, kept in any stowage
 * store: one empty object per nonce, named `<expiry>/<nonce>` (the link's expiry in seconds, twelve
 * digits), written create-only, so that of two uploads through one link exactly one claims it, also
 * across servers that share the store.
 *
 * The record cannot grow without bound: a nonce is worth keeping only while its link is valid, and
 * a link that has expired is refused before its nonce is looked at. Keys sort by expiry, so a sweep
 * lists from the oldest and stops at the first that is still needed; it deletes what expired more
 * than `graceSeconds` ago (the clocks of the servers that share the record may differ by that
 * much). The record then holds at most the nonces of links used within their lifetime.
 *
 * @module
 */
import { isStowageError, type Store } from '@stowage/core';

/** Options of {@link NonceRecord}. */
export interface NonceRecordOptions {
  /** How long after its link expired a nonce is kept (default 300 s): more than the clock difference between the servers sharing the record. */
  graceSeconds?: number | undefined;
  /** How often a sweep is due (default 60 s): see {@link NonceRecord.sweepDue}. */
  sweepIntervalMs?: number | undefined;
}

/** How many keys one sweep deletes per call. */
const DELETE_BATCH = 1000;

/** What the record's keys look like: the expiry (twelve digits), then the nonce. */
const NONCE_KEY = /^(\d{12})\/[A-Za-z0-9_-]{22}$/;

/** The key of a nonce: its link's expiry first, so that keys sort by expiry. */
function nonceKey(nonce: string, expires: number): string {
  return `${String(expires).padStart(12, '0')}/${nonce}`;
}

/** The used nonces of single-use links, in a store. */
export class NonceRecord {
  /** The store the nonces are recorded in. */
  readonly store: Store;
  readonly #graceSeconds: number;
  readonly #sweepIntervalMs: number;
  #lastSweep = Number.NEGATIVE_INFINITY;
  #sweeping: Promise<number> | undefined;

  constructor(store: Store, options: NonceRecordOptions = {}) {
    if (!store.capabilities.conditionalWrite) {
      throw new TypeError(`a nonce record needs create-only writes (conditionalWrite), which the '${store.backendName}' backend does not declare`);
    }
    this.store = store;
    this.#graceSeconds = options.graceSeconds ?? 300;
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
    if (!Number.isSafeInteger(this.#graceSeconds) || this.#graceSeconds < 0) throw new TypeError('graceSeconds must be a non-negative integer');
    if (!Number.isFinite(this.#sweepIntervalMs) || this.#sweepIntervalMs < 0) throw new TypeError('sweepIntervalMs must be a non-negative number');
  }

  /** Records a nonce; `false` when it was recorded already (the link was used). */
  async claim(nonce: string, expires: number, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.store.write(nonceKey(nonce, expires), new Uint8Array(0), { ifNoneMatch: '*', contentType: 'application/octet-stream', signal });
      return true;
    } catch (error) {
      if (isStowageError(error, 'ALREADY_EXISTS')) return false;
      throw error;
    }
  }

  /** Whether a sweep is due: none runs, and the last one started at least `sweepIntervalMs` ago. */
  sweepDue(): boolean {
    return this.#sweeping === undefined && Date.now() - this.#lastSweep >= this.#sweepIntervalMs;
  }

  /** Forgets a claimed nonce (its upload failed), so that its link can be used again. */
  async release(nonce: string, expires: number): Promise<void> {
    await this.store.delete(nonceKey(nonce, expires));
  }

  /**
   * Deletes the nonces of links that expired more than the grace period before `now`, oldest first,
   * stopping at the first one still needed; resolves to how many it deleted. One sweep at a time.
   */
  sweep(now: number = Date.now()): Promise<number> {
    this.#sweeping ??= this.#sweep(now).finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  async #sweep(now: number): Promise<number> {
    this.#lastSweep = Date.now();
    const cutoff = Math.floor(now / 1000) - this.#graceSeconds;
    let batch: string[] = [];
    let deleted = 0;
    for await (const entry of this.store.listAll()) {
      // Anything else in the store is not the record's: never deleted.
      const match = NONCE_KEY.exec(entry.key);
      if (match === null) continue;
      if (Number(match[1]) >= cutoff) break;
      batch.push(entry.key);
      if (batch.length === DELETE_BATCH) {
        await this.store.deleteMany(batch);
        deleted += batch.length;
        batch = [];
      }
    }
    if (batch.length > 0) await this.store.deleteMany(batch);
    return deleted + batch.length;
  }
}
