/**
 * A fault-injecting layer, for testing what an application (or a store) does when its backend has a
 * bad day: errors by code before the call reaches the backend, an answer lost after it did, slowness
 * that honours the caller's abort, and reads or writes cut after a number of bytes. Faults are
 * chosen by rules (an operation, a key, how many times, a probability drawn from a seeded generator,
 * so a run can be repeated) or by a script that sees every call.
 *
 * @module
 */
import type { Backend, BackendReadResult, BackendWriteRequest, ObjectInfo, OperationContext } from '../backend.ts';
import type { Capabilities } from '../capabilities.ts';
import { checkKnownFields, checkOptions, describeValue } from '../arguments.ts';
import { AbortedError, ErrorCode, InvalidArgumentError, UnavailableError, byteCount, createError } from '../errors.ts';
import { LayeredBackend, OPERATION_NAMES, type Layer, type LayerCall, type OperationName } from './layer.ts';

/** The operations a fault can be attached to. */
export type FaultOperation = OperationName;

/** What happens to a matching call. */
export type Fault =
  /** Fails with `UNAVAILABLE` without reaching the backend (a refused connection, a 503). */
  | { readonly kind: 'unavailable' }
  /** Fails with this stowage error code without reaching the backend. */
  | { readonly kind: 'error'; readonly code: ErrorCode; readonly message?: string | undefined }
  /** Runs the call on the backend, then fails with `UNAVAILABLE`: it happened, the caller is not told. */
  | { readonly kind: 'lost-response' }
  /** Waits `ms` before the call (failing with `ABORTED` at once when the signal fires), then runs it. */
  | { readonly kind: 'delay'; readonly ms: number }
  /** A read whose stream fails with `UNAVAILABLE` after `afterBytes` bytes. */
  | { readonly kind: 'cut-read'; readonly afterBytes: number }
  /** A write whose body fails with `UNAVAILABLE` after the backend took `afterBytes` bytes of it. */
  | { readonly kind: 'cut-write'; readonly afterBytes: number };

/** When a fault applies. */
export interface FaultRule {
  /** The operation, or `'*'` for every one but `signUrl` (which reaches no storage). */
  readonly operation: FaultOperation | '*';
  readonly fault: Fault;
  /** How many matching calls get it (default every one). */
  readonly times?: number | undefined;
  /** Only calls on this key (the backend's absolute key), or keys matching this pattern. */
  readonly key?: string | RegExp | undefined;
  /** The chance, from 0 to 1, that a matching call gets it (default 1), drawn from the layer's seeded generator. */
  readonly probability?: number | undefined;
}

/** One call the layer saw. */
export interface RecordedCall {
  readonly operation: FaultOperation;
  readonly key: string | undefined;
  /** The fault it got, if any. */
  readonly fault: Fault['kind'] | undefined;
}

/** Decides the fault of one call (or none), before the rules are asked. */
export type FaultScript = (call: { readonly operation: FaultOperation; readonly key: string | undefined; readonly index: number }) => Fault | undefined;

/** Options of {@link faultLayer}. */
export interface FaultLayerOptions {
  /** Rules to start with; tried in order, the first matching one with calls left applies. */
  rules?: readonly FaultRule[] | undefined;
  /** The seed of the generator that draws probabilities (default a random one, see `seed` on the layer). */
  seed?: number | undefined;
  /** Asked first for every call; a fault it returns applies, `undefined` leaves the call to the rules. */
  script?: FaultScript | undefined;
  /** Keep the calls seen in `calls` (default `true`; turn off for long runs). */
  record?: boolean | undefined;
}

/** The fault layer: a {@link Layer} whose rules can change while it is in use. */
export interface FaultLayer extends Layer {
  /** The seed of its generator: pass it back as `seed` to repeat a run. */
  readonly seed: number;
  /** Every call so far, in order (when recording). */
  readonly calls: readonly RecordedCall[];
  /** Adds a rule; returns the layer, for chaining. */
  inject(rule: FaultRule): this;
  /** Removes every rule (the recorded calls stay). */
  clear(): this;
}

const FAULT_KINDS = ['unavailable', 'error', 'lost-response', 'delay', 'cut-read', 'cut-write'];
const CODES = new Set<string>(Object.values(ErrorCode));

function checkRule(rule: FaultRule): void {
  if (typeof rule !== 'object' || rule === null) throw new InvalidArgumentError(`a fault rule must be an object, got ${describeValue(rule)}`);
  if (rule.operation !== '*' && !OPERATION_NAMES.includes(rule.operation)) {
    throw new InvalidArgumentError(`a fault rule's operation must be '*' or one of ${OPERATION_NAMES.join(', ')}, got ${describeValue(rule.operation)}`);
  }
  checkFault(rule.fault);
  if (rule.times !== undefined && (!Number.isSafeInteger(rule.times) || rule.times < 0)) throw new InvalidArgumentError(`a fault rule's times must be a non-negative integer, got ${describeValue(rule.times)}`);
  if (rule.probability !== undefined && (typeof rule.probability !== 'number' || !(rule.probability >= 0 && rule.probability <= 1))) {
    throw new InvalidArgumentError(`a fault rule's probability must be from 0 to 1, got ${describeValue(rule.probability)}`);
  }
  if (rule.key !== undefined && typeof rule.key !== 'string' && !(rule.key instanceof RegExp)) throw new InvalidArgumentError(`a fault rule's key must be a string or a RegExp, got ${describeValue(rule.key)}`);
}

function checkFault(fault: Fault): void {
  if (typeof fault !== 'object' || fault === null || !FAULT_KINDS.includes(fault.kind)) {
    throw new InvalidArgumentError(`a fault must be one of ${FAULT_KINDS.map((kind) => `{ kind: '${kind}' }`).join(', ')}, got ${describeValue(fault)}`);
  }
  if (fault.kind === 'error' && !CODES.has(fault.code)) throw new InvalidArgumentError(`an error fault needs a stowage error code (${[...CODES].join(', ')}), got ${describeValue(fault.code)}`);
  if (fault.kind === 'delay' && !(Number.isFinite(fault.ms) && fault.ms >= 0)) throw new InvalidArgumentError(`a delay fault needs ms >= 0, got ${describeValue(fault.ms)}`);
  if ((fault.kind === 'cut-read' || fault.kind === 'cut-write') && !(Number.isSafeInteger(fault.afterBytes) && fault.afterBytes >= 0)) {
    throw new InvalidArgumentError(`a ${fault.kind} fault needs afterBytes, a non-negative integer, got ${describeValue(fault.afterBytes)}`);
  }
}

/** mulberry32: a small, fast generator of numbers in [0, 1) that a seed makes repeatable. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ActiveRule {
  rule: FaultRule;
  left: number;
}

/** The rules, generator and record of calls one fault layer (or `FaultyBackend`) shares across its backends. */
export class FaultPlan {
  readonly seed: number;
  readonly #random: () => number;
  readonly #script: FaultScript | undefined;
  readonly #record: boolean;
  #rules: ActiveRule[] = [];
  readonly #calls: RecordedCall[] = [];
  #index = 0;

  constructor(options: FaultLayerOptions = {}) {
    options = checkOptions(options, 'faultLayer');
    checkKnownFields(options as Record<string, unknown>, ['rules', 'seed', 'script', 'record'], 'faultLayer');
    if (options.seed !== undefined && !Number.isSafeInteger(options.seed)) throw new InvalidArgumentError(`faultLayer: seed must be an integer, got ${describeValue(options.seed)}`);
    if (options.script !== undefined && typeof options.script !== 'function') throw new InvalidArgumentError(`faultLayer: script must be a function, got ${describeValue(options.script)}`);
    if (options.rules !== undefined && !Array.isArray(options.rules)) throw new InvalidArgumentError(`faultLayer: rules must be a list, got ${describeValue(options.rules)}`);
    this.seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
    this.#random = generator(this.seed);
    this.#script = options.script;
    this.#record = options.record ?? true;
    for (const rule of options.rules ?? []) this.inject(rule);
  }

  inject(rule: FaultRule): void {
    checkRule(rule);
    this.#rules.push({ rule, left: rule.times ?? Number.POSITIVE_INFINITY });
  }

  clear(): void {
    this.#rules = [];
  }

  get calls(): readonly RecordedCall[] {
    return this.#calls;
  }

  /** The fault of this call (or none), recorded. */
  take(operation: FaultOperation, key: string | undefined): Fault | undefined {
    const fault = this.#choose(operation, key);
    if (this.#record) this.#calls.push({ operation, key, fault: fault?.kind });
    return fault;
  }

  #choose(operation: FaultOperation, key: string | undefined): Fault | undefined {
    const index = this.#index++;
    const scripted = this.#script?.({ operation, key, index });
    if (scripted !== undefined) {
      checkFault(scripted);
      return scripted;
    }
    for (const active of this.#rules) {
      const { rule } = active;
      if (active.left <= 0) continue;
      if (rule.operation === '*' ? operation === 'signUrl' : rule.operation !== operation) continue;
      if (rule.key !== undefined && (key === undefined || (typeof rule.key === 'string' ? rule.key !== key : rule.key.test(key) === false))) continue;
      if (rule.probability !== undefined && this.#random() >= rule.probability) continue;
      active.left--;
      return rule.fault;
    }
    return undefined;
  }
}

/**
 * A layer that injects faults into the backend it wraps, by rule or by script.
 *
 * @example
 * ```ts
 * const faults = faultLayer({ seed: 7, rules: [{ operation: 'read', fault: { kind: 'cut-read', afterBytes: 1000 }, probability: 0.1 }] })
 * const store = new Store(backend, { layers: [faults], retry: true })
 * // ... exercise the application; faults.calls says what was injected, faults.seed repeats the run
 * ```
 */
export function faultLayer(options: FaultLayerOptions = {}): FaultLayer {
  const plan = new FaultPlan(options);
  const layer: FaultLayer = {
    name: 'faults',
    seed: plan.seed,
    get calls() {
      return plan.calls;
    },
    inject(rule) {
      plan.inject(rule);
      return this;
    },
    clear() {
      plan.clear();
      return this;
    },
    wrap: <C extends Capabilities>(inner: Backend<C>) => new FaultInjectingBackend(inner, plan),
  };
  return layer;
}

/** The backend a fault layer makes: every call asks the plan for its fault. */
export class FaultInjectingBackend<C extends Capabilities = Capabilities> extends LayeredBackend<C> {
  readonly #plan: FaultPlan;

  constructor(inner: Backend<C>, plan: FaultPlan, options: { name?: string | undefined; capabilities?: C | undefined } = {}) {
    super(inner, options);
    this.#plan = plan;
  }

  protected override around<T>(call: LayerCall, run: () => Promise<T>): Promise<T> {
    return this.#inject(call, run);
  }

  async #inject<T>(call: LayerCall, run: (fault: Fault | undefined) => Promise<T>): Promise<T> {
    const fault = this.#plan.take(call.operation, call.key);
    if (fault === undefined) return run(undefined);
    const where = call.key === undefined ? call.operation : `${call.operation} ${JSON.stringify(call.key)}`;
    const context = { key: call.key, backend: this.name };
    if (fault.kind === 'unavailable') throw new UnavailableError(`injected fault: ${where} is unavailable`, context);
    if (fault.kind === 'error') throw createError(fault.code, fault.message ?? `injected fault: ${where} failed with ${fault.code}`, context);
    if (fault.kind === 'delay') await delay(fault.ms, call.signal, where, context);
    const result = await run(fault);
    if (fault.kind === 'lost-response') throw new UnavailableError(`injected fault: the answer to ${where} was lost`, context);
    if (fault.kind === 'cut-read' && call.operation === 'read') {
      const read = result as unknown as BackendReadResult;
      return { ...read, body: cutAfter(read.body, fault.afterBytes, call.key ?? '', this.name) } as T;
    }
    return result;
  }

  override write(key: string, request: BackendWriteRequest): Promise<ObjectInfo> {
    return this.#inject({ operation: 'write', key, signal: request.signal }, (fault) =>
      this.inner.write(key, fault?.kind === 'cut-write' ? { ...request, body: cutBody(request.body, fault.afterBytes, key, this.name) } : request),
    );
  }

  /** Always present (a loop of deletes when the inner backend has no batch delete), so its faults apply whatever the backend. */
  override get deleteMany(): (keys: readonly string[], context: OperationContext) => Promise<void> {
    const inner = this.inner;
    return (keys, context) =>
      this.around({ operation: 'deleteMany', key: undefined, count: keys.length, signal: context.signal }, async () => {
        if (inner.deleteMany) await inner.deleteMany(keys, context);
        else for (const key of keys) await inner.delete(key, context);
      });
  }
}

async function delay(ms: number, signal: AbortSignal | undefined, where: string, context: { key: string | undefined; backend: string }): Promise<void> {
  if (signal?.aborted) throw new AbortedError(`${where} aborted while the injected delay ran`, { ...context, cause: signal.reason });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort(): void {
      clearTimeout(timer);
      reject(new AbortedError(`${where} aborted while the injected delay ran`, { ...context, cause: signal?.reason }));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The body's first `afterBytes` bytes, then `UNAVAILABLE`, as a connection that drops mid-upload. */
async function* cutBody(body: AsyncIterable<Uint8Array>, afterBytes: number, key: string, backend: string): AsyncGenerator<Uint8Array> {
  let passed = 0;
  for await (const chunk of body) {
    const room = afterBytes - passed;
    if (chunk.byteLength > room) {
      if (room > 0) yield chunk.subarray(0, room);
      throw new UnavailableError(`injected fault: the write of ${JSON.stringify(key)} broke after ${byteCount(afterBytes)}`, { key, backend });
    }
    passed += chunk.byteLength;
    yield chunk;
  }
}

/** A stream of `body`'s first `afterBytes` bytes that then fails with `UNAVAILABLE` (and cancels `body`). */
function cutAfter(body: ReadableStream<Uint8Array>, afterBytes: number, key: string, backend: string): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let passed = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (passed >= afterBytes) {
          await reader.cancel().catch(() => undefined);
          controller.error(new UnavailableError(`injected fault: the read of ${JSON.stringify(key)} broke after ${byteCount(passed)}`, { key, backend }));
          return;
        }
        const next = await reader.read();
        if (next.done) {
          controller.close();
          return;
        }
        const room = afterBytes - passed;
        const chunk = next.value.byteLength > room ? next.value.subarray(0, room) : next.value;
        passed += chunk.byteLength;
        controller.enqueue(chunk);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}
