/**
 * The limits of uploads through signed `PUT` links, which hold a connection, a temporary file (or
 * an open transaction) and a write slot for as long as the client takes: a body that stalls is cut
 * after `idleTimeoutMs`, one that trickles in after `timeoutMs`, and at most `maxConcurrent` run at
 * once. Enforced in the Fetch handler, so they hold on every runtime (Node, Bun, Deno, ...), and
 * the write is aborted when they cut a body, so that it stores nothing and leaves nothing behind.
 *
 * @module
 */
import { AbortedError, type Store } from '@stowage/core';
import { NonceRecord } from './nonces.ts';

/** The defaults of {@link UploadOptions}. */
export const UPLOAD_DEFAULTS: { readonly idleTimeoutMs: 30_000; readonly timeoutMs: 600_000; readonly maxConcurrent: 64 } = Object.freeze({
  idleTimeoutMs: 30_000,
  timeoutMs: 600_000,
  maxConcurrent: 64,
});

/** `createHandler`'s `uploads` option: `PUT` through links signed for `PUT`. */
export interface UploadOptions {
  /** The largest body accepted, in bytes: 413 before reading when `Content-Length` says more, else as the limit is crossed; nothing stored. */
  maxSize: number;
  /**
   * How long the handler waits for the next bytes of a body (default 30 s): a body that sends
   * nothing for this long is cut with 408 and stores nothing. Time the store takes to write what
   * arrived does not count.
   */
  idleTimeoutMs?: number | undefined;
  /** How long a whole upload may take, from the first byte read to stored (default 10 min): cut with 408 after that, nothing stored. */
  timeoutMs?: number | undefined;
  /** How many uploads may be in progress at once (default 64); more get 503 with `Retry-After`, before a byte is read. */
  maxConcurrent?: number | undefined;
  /**
   * Where single-use upload links record their nonces: any store with create-only writes, on any
   * backend (share one between servers that verify the same links), outside the served store (a
   * store or root of its own, such as `store.at('upload-nonces/')` of another store). Required when
   * the signer issues single-use links (`createSigner({ uploads: { singleUse: true } })`).
   * Records are dropped once their links have expired (see {@link NonceRecord}).
   */
  nonceStore?: Store | undefined;
}

/** {@link UploadOptions} checked, with every default applied. */
export interface ResolvedUploads {
  readonly maxSize: number;
  readonly idleTimeoutMs: number;
  readonly timeoutMs: number;
  readonly maxConcurrent: number;
  readonly nonces: NonceRecord | undefined;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`uploads.${name} must be a positive integer, got ${String(value)}`);
  return value;
}

/** Checks `createHandler`'s `uploads` option (a `TypeError` for a bad one) and fills in the defaults. */
export function resolveUploads(options: UploadOptions): ResolvedUploads {
  if (typeof options !== 'object' || options === null) throw new TypeError('uploads must be an object such as { maxSize: 10485760 }');
  const { maxSize } = options;
  if (!Number.isSafeInteger(maxSize) || maxSize < 0) throw new TypeError('uploads.maxSize must be a non-negative integer');
  const nonceStore = options.nonceStore;
  if (nonceStore !== undefined && typeof nonceStore?.write !== 'function') throw new TypeError('uploads.nonceStore must be a Store');
  return Object.freeze({
    maxSize,
    idleTimeoutMs: positive(options.idleTimeoutMs, UPLOAD_DEFAULTS.idleTimeoutMs, 'idleTimeoutMs'),
    timeoutMs: positive(options.timeoutMs, UPLOAD_DEFAULTS.timeoutMs, 'timeoutMs'),
    maxConcurrent: positive(options.maxConcurrent, UPLOAD_DEFAULTS.maxConcurrent, 'maxConcurrent'),
    nonces: nonceStore === undefined ? undefined : new NonceRecord(nonceStore),
  });
}

/** A request body under the clock: what the write reads, and why it was cut, if it was. */
export interface GuardedBody {
  /** The body's chunks; throws once the body is cut, so that the write stores nothing. */
  readonly chunks: AsyncIterable<Uint8Array>;
  /** For the write: fires when the client goes away (`signal`) or the body is cut. */
  readonly signal: AbortSignal;
  /** Why the body was cut (for logs), or undefined. */
  readonly cut: string | undefined;
  /** Stops the clock. */
  dispose(): void;
}

/**
 * Reads `body` under the upload clock: cut when a read waits longer than `idleTimeoutMs` or the
 * whole upload runs past `timeoutMs`. One timer per upload, re-armed only when it fires.
 */
export function guardBody(body: ReadableStream<Uint8Array>, limits: Pick<ResolvedUploads, 'idleTimeoutMs' | 'timeoutMs'>, signal: AbortSignal | undefined): GuardedBody {
  const started = performance.now();
  const controller = new AbortController();
  const reader = body.getReader();
  let waitingSince: number | undefined;
  let cut: string | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const stop = (why: string): void => {
    cut = why;
    controller.abort(new AbortedError(`upload cut: ${why}`));
    reader.cancel(new Error(why)).catch(() => {});
  };
  const check = (): void => {
    timer = undefined;
    const now = performance.now();
    if (now - started >= limits.timeoutMs) return stop(`the upload took longer than ${limits.timeoutMs} ms`);
    if (waitingSince !== undefined && now - waitingSince >= limits.idleTimeoutMs) return stop(`the body sent nothing for ${limits.idleTimeoutMs} ms`);
    const idleLeft = waitingSince === undefined ? limits.idleTimeoutMs : limits.idleTimeoutMs - (now - waitingSince);
    arm(Math.min(limits.timeoutMs - (now - started), idleLeft));
  };
  const arm = (ms: number): void => {
    timer = setTimeout(check, Math.max(1, Math.ceil(ms)));
    timer.unref?.();
  };
  arm(Math.min(limits.idleTimeoutMs, limits.timeoutMs));

  async function* chunks(): AsyncGenerator<Uint8Array> {
    let ended = false;
    try {
      while (true) {
        waitingSince = performance.now();
        const next = await reader.read();
        waitingSince = undefined;
        // A cancelled reader ends as if the body were complete: never let that pass for the end.
        if (cut !== undefined) throw new AbortedError(`upload cut: ${cut}`);
        if (next.done) {
          ended = true;
          return;
        }
        yield next.value;
      }
    } finally {
      waitingSince = undefined;
      // Left early (the size limit crossed, the write failed): the rest of the body is discarded.
      if (ended) reader.releaseLock();
      else reader.cancel().catch(() => {});
    }
  }

  return {
    chunks: chunks(),
    signal: signal === undefined ? controller.signal : AbortSignal.any([signal, controller.signal]),
    get cut() {
      return cut;
    },
    dispose() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
