/**
 * Per-operation time limits. One attempt of an operation gets a signal that fires when the caller
 * aborts or when its time is up; the backend hands that signal to its SDK or driver call, so that a
 * slow server is cut off where the request is, not only in stowage.
 *
 * @module
 */
import { InvalidArgumentError, UnavailableError, isStowageError } from './errors.ts';

/** One attempt's signal, and how to tell a timeout from the caller's abort. */
export interface AttemptScope {
  /** What the backend call gets: fires on the caller's abort or at the time limit. */
  readonly signal: AbortSignal | undefined;
  /** Whether the time limit (not the caller) fired it. */
  timedOut(): boolean;
  /** Stops the clock once the call has returned; the caller's abort still reaches a stream opened by it. */
  dispose(): void;
}

/** Checks a `timeoutMs` option: a positive number of milliseconds, or undefined. */
export function checkTimeout(value: unknown, name = 'timeoutMs'): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(`${name} must be a positive number of milliseconds, got ${String(value)}`);
  }
  return value;
}

/** The signal of one attempt: the caller's, plus a clock of `timeoutMs` when one is set. */
export function attemptScope(signal: AbortSignal | undefined, timeoutMs: number | undefined): AttemptScope {
  if (timeoutMs === undefined) return { signal, timedOut: () => false, dispose: () => {} };
  const clock = new AbortController();
  let fired = false;
  // Not AbortSignal.timeout(): the clock must stop when the call returns, or it would later cut the
  // body of a read that was opened in time.
  const timer = setTimeout(() => {
    fired = true;
    clock.abort(new UnavailableError(`timed out after ${timeoutMs} ms`));
  }, timeoutMs);
  return {
    signal: signal ? AbortSignal.any([signal, clock.signal]) : clock.signal,
    timedOut: () => fired && !signal?.aborted,
    dispose: () => clearTimeout(timer),
  };
}

/**
 * The error of an attempt whose clock fired: `UNAVAILABLE` (a timeout is transient), whatever the
 * backend made of the abort it saw, with that as `cause`.
 */
export function timeoutError(error: unknown, timeoutMs: number, key: string | undefined, backend: string): UnavailableError {
  const what = key === undefined ? 'operation' : `operation on ${JSON.stringify(key)}`;
  const cause = isStowageError(error) || error instanceof Error ? error : undefined;
  return new UnavailableError(`${what} timed out after ${timeoutMs} ms`, { key, backend, cause });
}
