/**
 * Retries of transient failures: the policy a store is given, the backoff between attempts, and
 * which bodies can be sent again.
 *
 * Only `UNAVAILABLE` (throttling, 5xx, resets, timeouts, a vanished server, as each adapter maps
 * them) starts another attempt; every other code is an answer, not an accident. What `Store`
 * repeats, and why each repeat is harmless, is written on {@link RetryPolicy}.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortedError, InvalidArgumentError, isStowageError } from './errors.ts';
import { isHeldInMemory, type Body } from './bodies.ts';

/**
 * How a store repeats operations that failed with `UNAVAILABLE`. Off unless a store is given one
 * (`retry: true` takes every default).
 *
 * Repeated, because a repeat cannot change the outcome:
 * - `stat`, `exists`, `list` (and everything built on it: `pages`, `listAll`, `glob`, folders),
 *   `health`: reads.
 * - opening a read (`get`, `read`, `readBytes`, ...): a read. A read that fails *midway* is not
 *   started again from the top: it resumes from the last byte delivered with a range request, and
 *   fails with `PRECONDITION_FAILED` when the object's etag changed meanwhile (two versions are
 *   never spliced). On a backend without `rangeRead` it fails with `UNAVAILABLE`.
 * - `delete`, `deleteMany`: deleting twice is deleting once.
 * - `copy`: copying again gives the same destination. A create-only copy that finds the destination
 *   on a repeat (its first attempt may have landed) succeeds when the destination has the source's
 *   size and SHA-256, and fails with `ALREADY_EXISTS` otherwise.
 * - `write` with a body that can be sent again: bytes, a string, an `ArrayBuffer`, a `Blob` (never a
 *   stream or an async iterable: those are read once, and such a write fails with the first
 *   `UNAVAILABLE`). An unconditional repeat stores the same bytes again. A conditional repeat cannot
 *   overwrite anything it should not: `ifNoneMatch: '*'` still refuses an existing object, `ifMatch`
 *   still compares etags. When the first attempt did land and only its answer was lost, the repeat
 *   meets the caller's own write: a create-only repeat that finds an object with this write's
 *   SHA-256, size, content type and metadata reports success (another writer that stored exactly
 *   the same object in that moment is indistinguishable, and the stored object is then exactly what
 *   the caller asked for; a create-only write used as a lock should carry the owner in its content
 *   or metadata); a compare-and-swap repeat that fails reports `PRECONDITION_FAILED` saying that the
 *   write may have been applied, because telling the caller's own write apart from an identical one
 *   by another writer would lose that writer's update.
 *
 * Not repeated: `move` (a repeat of a move that landed finds no source), `signUrl` (no I/O on most
 * backends), writes of streams, and any operation the caller aborted.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included (default 3; 1 turns retries off). */
  attempts?: number | undefined;
  /** The backoff before the second attempt, in milliseconds (default 100); it doubles per attempt. */
  baseDelayMs?: number | undefined;
  /** The longest backoff between two attempts, in milliseconds (default 5000). */
  maxDelayMs?: number | undefined;
  /**
   * No attempt starts later than this many milliseconds after the operation began (default
   * 30 000). A running attempt is bounded by `timeoutMs`, not by the deadline.
   */
  deadlineMs?: number | undefined;
}

/** A {@link RetryPolicy} with every default applied. */
export interface ResolvedRetryPolicy {
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly deadlineMs: number;
}

/** The defaults of {@link RetryPolicy}. */
export const DEFAULT_RETRY_POLICY: ResolvedRetryPolicy = Object.freeze({ attempts: 3, baseDelayMs: 100, maxDelayMs: 5000, deadlineMs: 30_000 });

function nonNegative(value: unknown, name: string, fallback: number, minimum = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < minimum) {
    throw new InvalidArgumentError(`retry.${name} must be a number of at least ${minimum}, got ${String(value)}`);
  }
  return value;
}

/**
 * Checks a store's or an operation's `retry` option: `undefined` or `false` is no retries, `true`
 * the defaults, an object the defaults with its values. `InvalidArgumentError` for anything else.
 */
export function resolveRetryPolicy(value: unknown): ResolvedRetryPolicy | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return DEFAULT_RETRY_POLICY;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(`retry must be true, false or { attempts, baseDelayMs, maxDelayMs, deadlineMs }, got ${JSON.stringify(value)}`);
  }
  const given = value as RetryPolicy;
  for (const name of Object.keys(given)) {
    if (!(name in DEFAULT_RETRY_POLICY)) throw new InvalidArgumentError(`retry has no option ${JSON.stringify(name)} (attempts, baseDelayMs, maxDelayMs, deadlineMs)`);
  }
  const attempts = nonNegative(given.attempts, 'attempts', DEFAULT_RETRY_POLICY.attempts, 1);
  if (!Number.isSafeInteger(attempts)) throw new InvalidArgumentError(`retry.attempts must be an integer, got ${attempts}`);
  const baseDelayMs = nonNegative(given.baseDelayMs, 'baseDelayMs', DEFAULT_RETRY_POLICY.baseDelayMs);
  const maxDelayMs = nonNegative(given.maxDelayMs, 'maxDelayMs', Math.max(DEFAULT_RETRY_POLICY.maxDelayMs, baseDelayMs));
  const deadlineMs = nonNegative(given.deadlineMs, 'deadlineMs', DEFAULT_RETRY_POLICY.deadlineMs);
  if (attempts === 1) return undefined;
  return Object.freeze({ attempts, baseDelayMs, maxDelayMs, deadlineMs });
}

/**
 * The pause before attempt `attempt + 1`, after `attempt` failures: "full jitter", a uniformly random
 * time up to `min(maxDelayMs, baseDelayMs × 2^(attempt − 1))`, so that many clients that failed at
 * once do not come back at once.
 */
export function retryDelay(policy: ResolvedRetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** Whether an error may go away on another attempt: `UNAVAILABLE` only. */
export function isRetryable(error: unknown): boolean {
  return isStowageError(error, 'UNAVAILABLE');
}

/** Waits `ms` milliseconds, or rejects with `AbortedError` as soon as `signal` fires. */
export async function pause(ms: number, signal: AbortSignal | undefined, key?: string, backend?: string): Promise<void> {
  if (ms <= 0 && !signal?.aborted) return;
  try {
    await sleep(ms, undefined, signal ? { signal } : undefined);
  } catch (cause) {
    throw new AbortedError(`operation aborted${key === undefined ? '' : ` on ${JSON.stringify(key)}`} while waiting to retry`, { key, backend, cause: signal?.reason ?? cause });
  }
}

/**
 * Whether a write body can be sent a second time: bytes, strings, `ArrayBuffer`s and `Blob`s are
 * read again from the start; streams and async iterables are read once.
 */
export function isReplayableBody(body: Body): boolean {
  return isHeldInMemory(body) || (typeof Blob !== 'undefined' && body instanceof Blob);
}
