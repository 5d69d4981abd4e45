/**
 * Case contexts: every case gets a store of its own under a random prefix, and what it wrote is
 * deleted when it ends. Shared by the runner-agnostic runner and the vitest binding.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { Store, type Backend } from '@stowage/core';
import type { CaseContext, ConformanceCase, OtherWriter, ResolvedSuiteOptions, StoreFactory, SuiteOptions } from './types.ts';

/** 1 MiB: the default chunk size, and the size of core's body slices. */
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;
/** 20 MiB: the default size of the large streamed body. */
export const DEFAULT_LARGE_SIZE = 20 * 1024 * 1024;
/** 30 s: the default per-case time limit. */
export const DEFAULT_TIMEOUT = 30_000;

/** Applies the defaults to suite options, and rejects values that would make cases meaningless. */
export function resolveSuiteOptions(options: SuiteOptions = {}): ResolvedSuiteOptions {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const largeSize = options.largeSize ?? DEFAULT_LARGE_SIZE;
  const timeout = options.timeout ?? DEFAULT_TIMEOUT;
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 16) throw new TypeError(`chunkSize must be an integer of at least 16 bytes, got ${String(chunkSize)}`);
  if (!Number.isSafeInteger(largeSize) || largeSize < 1) throw new TypeError(`largeSize must be a positive integer, got ${String(largeSize)}`);
  if (!(timeout > 0)) throw new TypeError(`timeout must be a positive number of milliseconds, got ${String(timeout)}`);
  return { chunkSize, largeSize, timeout, cleanup: options.cleanup ?? true };
}

/** A short random token for prefixes: unique enough that suites never collide on one server. */
export function randomToken(): string {
  return randomBytes(6).toString('hex');
}

/** A store whose backend calls are recorded (method names, in order); the backend itself is unchanged. */
export function recordingStore(store: Store): { store: Store; calls: string[] } {
  const calls: string[] = [];
  const backend = store.backend;
  const proxy = new Proxy(backend, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(property));
        // Called on the real backend: adapters keep state in private fields, which a proxy cannot reach.
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as Backend;
  return { store: new Store(proxy, { root: store.root, signer: store.signer }), calls };
}

/** A case context plus the clean-up to run when the case ends. */
export interface PreparedContext {
  context: CaseContext;
  /** Deletes everything the case wrote (best effort: a clean-up failure never hides the case's own result). */
  cleanup(): Promise<void>;
}

/** An other writer that takes keys relative to `store`, as the case sees them. */
function boundOtherWriter(writer: OtherWriter, store: Store): OtherWriter {
  const full = (key: string): string => `${store.root}${key}`;
  return {
    name: writer.name,
    metadata: writer.metadata,
    write: (key, body, options) => writer.write(full(key), body, options),
    delete: (key) => writer.delete(full(key)),
    copy: (from, to) => writer.copy(full(from), full(to)),
  };
}

/** Creates a fresh context for one case below `base` (with the fixture's other writer, when it has one). */
export function prepareContext(base: Store, options: ResolvedSuiteOptions, fixture: { otherWriter?: OtherWriter | undefined } = {}): PreparedContext {
  const folder = `t-${randomToken()}`;
  const store = base.at(`${folder}/`);
  const folders = [folder];
  let siblings = 0;
  const context: CaseContext = {
    store,
    capabilities: base.capabilities,
    options,
    recording: () => recordingStore(store),
    sibling: () => {
      const name = `${folder}-${++siblings}`;
      folders.push(name);
      return base.at(`${name}/`);
    },
    ...(fixture.otherWriter ? { otherWriter: boundOtherWriter(fixture.otherWriter, store) } : {}),
  };
  return {
    context,
    async cleanup() {
      if (!options.cleanup) return;
      for (const name of folders) {
        try {
          await base.deleteFolder(name);
        } catch {
          // The case's verdict stands on its own; a listing broken enough to fail here fails its own cases.
        }
      }
    },
  };
}

/** Runs `promise` with a time limit; the timer never keeps the process alive. */
export async function withTimeout<T>(promise: Promise<T>, milliseconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${milliseconds} ms`)), milliseconds);
    timer.unref?.();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The time limit of one case. */
export function caseTimeout(testCase: ConformanceCase, options: ResolvedSuiteOptions): number {
  return testCase.slow ? options.timeout * 4 : options.timeout;
}

/** Whether `value` looks like a `Store` (duck-typed: the factory's copy of core may not be this one). */
function isStore(value: unknown): value is Store {
  const v = value as Partial<Store> | null;
  return typeof v === 'object' && v !== null && typeof v.write === 'function' && typeof v.at === 'function' && typeof v.list === 'function';
}

/** What {@link openFactory} makes of a factory's result. */
export interface OpenedFactory {
  store: Store;
  /** The fixture's other writer, when it supplied one. */
  otherWriter?: OtherWriter | undefined;
  /** Closes the other writer, then runs the factory's teardown. */
  teardown: () => Promise<void>;
}

/** Calls the factory and normalizes its result to a store, its other writer and a teardown. */
export async function openFactory(factory: StoreFactory): Promise<OpenedFactory> {
  const result = await factory();
  if (isStore(result)) return { store: result, teardown: async () => {} };
  if (typeof result === 'object' && result !== null && 'store' in result && isStore(result.store)) {
    const { teardown, otherWriter } = result;
    return {
      store: result.store,
      otherWriter,
      teardown: async () => {
        try {
          await otherWriter?.close?.();
        } finally {
          await teardown?.();
        }
      },
    };
  }
  throw new TypeError('the conformance factory must return a Store from @stowage/core, or { store, teardown }');
}
