/**
 * Opening a {@link ChildStore}: in each child process, and in the checking process unless it is
 * given a store of its own.
 *
 * @module
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openStore, type Store } from '@stowage/core';
import type { ChildStore } from './protocol.ts';

/** A store opened from a {@link ChildStore}, and what closes it. */
export interface OpenedChildStore {
  store: Store;
  teardown: () => Promise<void>;
}

/** Checks that `spec` is a {@link ChildStore}; throws a `TypeError` that says what is expected. */
export function checkChildStore(spec: unknown): ChildStore {
  const value = spec as { url?: unknown; module?: unknown } | null;
  if (typeof value === 'object' && value !== null) {
    if (typeof value.url === 'string' && value.url !== '' && value.module === undefined) return value as ChildStore;
    if (typeof value.module === 'string' && value.module !== '' && value.url === undefined) return value as ChildStore;
  }
  throw new TypeError(`a child store is { url } (a store URL for openStore) or { module, options } (a module exporting openStore(options)), got ${JSON.stringify(spec)}`);
}

/** Whether `value` looks like a `Store` (duck-typed: the module's copy of core may not be this one). */
function isStore(value: unknown): value is Store {
  const v = value as Partial<Store> | null;
  return typeof v === 'object' && v !== null && typeof v.write === 'function' && typeof v.get === 'function' && typeof v.close === 'function';
}

/** Opens the store a {@link ChildStore} describes, with the teardown that closes it. */
export async function openChildStore(spec: ChildStore): Promise<OpenedChildStore> {
  if ('url' in spec) {
    const store = await openStore(spec.url);
    return { store, teardown: () => store.close() };
  }
  const href = spec.module.startsWith('file:') ? spec.module : pathToFileURL(isAbsolute(spec.module) ? spec.module : resolve(spec.module)).href;
  const imported = (await import(href)) as { openStore?: unknown; default?: unknown };
  const factory = typeof imported.openStore === 'function' ? imported.openStore : imported.default;
  if (typeof factory !== 'function') throw new TypeError(`${spec.module} exports no openStore(options) function (nor a default one)`);
  const result = (await (factory as (options: unknown) => unknown)(spec.options)) as { store?: unknown; teardown?: () => unknown } | null;
  if (isStore(result)) return { store: result, teardown: () => result.close() };
  if (result !== null && typeof result === 'object' && isStore(result.store)) {
    const { store, teardown } = result as { store: Store; teardown?: () => unknown };
    // A teardown of its own does what is needed (it may close a shared backend); without one, the store is closed.
    return { store, teardown: async () => void (await (teardown ? teardown() : store.close())) };
  }
  throw new TypeError(`openStore of ${spec.module} must resolve to a Store from @stowage/core, or to { store, teardown }`);
}
