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

/** The scope of an attempt without a time limit: the caller's signal as it is. */
const untimed = (signal: AbortSignal | undefined): AttemptScope => ({ signal, timedOut: () => false, dispose: () => {} });

/**
 * One attempt under a clock: its own controller, linked into its clock's list of attempts in flight
 * (in the order of their deadlines) until it is disposed.
 */
class TimedAttempt implements AttemptScope {
  readonly signal: AbortSignal;
  readonly controller = new AbortController();
  readonly deadline: number;
  readonly #caller: AbortSignal | undefined;
  readonly #clock: Clock;
  prev: TimedAttempt | undefined = undefined;
  next: TimedAttempt | undefined = undefined;
  linked = true;
  fired = false;

  constructor(clock: Clock, caller: AbortSignal | undefined, deadline: number) {
    this.#clock = clock;
    this.#caller = caller;
    this.deadline = deadline;
    // The caller's abort keeps reaching what the attempt opened (a read's stream) after dispose().
    this.signal = caller ? AbortSignal.any([caller, this.controller.signal]) : this.controller.signal;
  }

  timedOut(): boolean {
    return this.fired && !this.#caller?.aborted;
  }

  dispose(): void {
    if (this.linked) this.#clock.remove(this);
  }
}

/**
 * The clock of every attempt with one time limit: one timer for all of them rather than one per
 * attempt (a timer costs more than the call it guards on a fast backend). Attempts start in the
 * order of their deadlines, so the first in the list is always the next to expire; the timer is
 * armed for it, and re-armed for the next one when it fires. While no attempt is in flight, the
 * timer does not keep the process alive, and a clock idle for a whole period is dropped.
 */
class Clock {
  readonly #timeoutMs: number;
  #head: TimedAttempt | undefined = undefined;
  #tail: TimedAttempt | undefined = undefined;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  start(caller: AbortSignal | undefined): TimedAttempt {
    const attempt = new TimedAttempt(this, caller, performance.now() + this.#timeoutMs);
    const tail = this.#tail;
    if (tail === undefined) {
      this.#head = attempt;
      if (this.#timer === undefined) this.#arm(this.#timeoutMs);
      else this.#timer.ref();
    } else {
      tail.next = attempt;
      attempt.prev = tail;
    }
    this.#tail = attempt;
    return attempt;
  }

  remove(attempt: TimedAttempt): void {
    attempt.linked = false;
    const { prev, next } = attempt;
    if (prev === undefined) this.#head = next;
    else prev.next = next;
    if (next === undefined) this.#tail = prev;
    else next.prev = prev;
    attempt.prev = attempt.next = undefined;
    if (this.#head === undefined) this.#timer?.unref();
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => this.#fire(), ms);
  }

  #fire(): void {
    this.#timer = undefined;
    const now = performance.now();
    let head = this.#head;
    while (head !== undefined && head.deadline <= now) {
      this.remove(head);
      head.fired = true;
      head.controller.abort(new UnavailableError(`timed out after ${this.#timeoutMs} ms`));
      head = this.#head;
    }
    if (head !== undefined) this.#arm(Math.max(1, Math.ceil(head.deadline - now)));
    else if (clocks.get(this.#timeoutMs) === this) clocks.delete(this.#timeoutMs);
  }
}

/** The clocks by time limit; one lives while attempts with its limit are in flight (and a period after). */
const clocks = new Map<number, Clock>();

/** The signal of one attempt: the caller's, plus a clock of `timeoutMs` when one is set. */
export function attemptScope(signal: AbortSignal | undefined, timeoutMs: number | undefined): AttemptScope {
  if (timeoutMs === undefined) return untimed(signal);
  let clock = clocks.get(timeoutMs);
  if (clock === undefined) {
    clock = new Clock(timeoutMs);
    clocks.set(timeoutMs, clock);
  }
  // Not AbortSignal.timeout(): the clock must stop when the call returns, or it would later cut the
  // body of a read that was opened in time.
  return clock.start(signal);
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
