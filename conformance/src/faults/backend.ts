/**
 * A backend wrapper that injects faults at chosen operations: `UNAVAILABLE` (or any error code)
 * before the call reaches the backend, `UNAVAILABLE` after it did (an answer lost on the way back),
 * slowness that honours the caller's abort, and reads or writes that break after a number of bytes.
 * Wrap a real backend and hand the wrapper to a `Store`, to see what the store makes of a backend
 * having a bad day. It is core's fault layer (`faultLayer`) as a class, for tests that build the
 * wrapper themselves.
 *
 * @module
 */
import { FaultInjectingBackend, FaultPlan, type Backend, type Capabilities, type FaultRule, type RecordedCall } from '@stowage/core';

export type { Fault, FaultOperation, FaultRule, RecordedCall } from '@stowage/core';

/** Options of {@link FaultyBackend}. */
export interface FaultyBackendOptions<C extends Capabilities> {
  /** The name the wrapper reports (default the wrapped backend's). */
  name?: string | undefined;
  /** Capabilities to declare instead of the wrapped backend's (to see a store without `rangeRead`, say). */
  capabilities?: Partial<C> | undefined;
  /** Rules to start with. */
  rules?: readonly FaultRule[] | undefined;
  /** The seed of the generator that draws rules' probabilities. */
  seed?: number | undefined;
}

/**
 * Wraps `inner`, forwarding every call, except that calls matching a rule get its fault. Rules are
 * tried in the order they were added; the first matching one with calls left applies.
 *
 * @example
 * ```ts
 * const faulty = new FaultyBackend(new MemoryBackend()).inject({ operation: 'stat', fault: { kind: 'unavailable' }, times: 2 })
 * const store = new Store(faulty, { retry: true })
 * await store.stat('a.txt') // two UNAVAILABLE failures, then the real answer
 * ```
 */
export class FaultyBackend<C extends Capabilities = Capabilities> extends FaultInjectingBackend<C> {
  readonly #plan: FaultPlan;

  constructor(inner: Backend<C>, options: FaultyBackendOptions<C> = {}) {
    const plan = new FaultPlan({ rules: options.rules, seed: options.seed });
    const capabilities = options.capabilities === undefined ? undefined : (Object.freeze({ ...inner.capabilities, ...options.capabilities }) as C);
    super(inner, plan, { name: options.name, capabilities });
    this.#plan = plan;
  }

  /** Adds a rule; returns the wrapper, for chaining. */
  inject(rule: FaultRule): this {
    this.#plan.inject(rule);
    return this;
  }

  /** Removes every rule (the recorded calls stay). */
  clear(): this {
    this.#plan.clear();
    return this;
  }

  /** Every call so far, in order. */
  get calls(): readonly RecordedCall[] {
    return this.#plan.calls;
  }
}
