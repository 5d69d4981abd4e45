/**
 * How case files declare their cases, and small helpers several groups share.
 *
 * @module
 */
import type { Capabilities, CapabilityName, Store, WriteOptions } from '@stowage/core';
import type { CaseContext, ConformanceCase, GroupName } from '../types.ts';

/** A case as written in a group file: the id without its group. */
export type CaseSpec = Omit<ConformanceCase, 'group' | 'id'> & { id: string };

/** Builds a group's cases, prefixing each id with the group name so ids stay unique across groups. */
export function defineGroup(group: GroupName, specs: readonly CaseSpec[]): readonly ConformanceCase[] {
  return Object.freeze(specs.map((spec) => Object.freeze({ ...spec, group, id: `${group}/${spec.id}` })));
}

/** Whether a capability counts as declared: `true`, a mode, a non-null limit, or a non-empty list. */
export function isDeclared(capabilities: Capabilities, name: CapabilityName): boolean {
  const value = capabilities[name];
  if (Array.isArray(value)) return value.length > 0;
  return value !== false && value !== null && value !== undefined;
}

/** User metadata to write when the backend stores it, else nothing (so that plain cases run everywhere). */
export function metadataOption(context: CaseContext, metadata: Record<string, string>): Pick<WriteOptions, 'metadata'> {
  return context.capabilities.userMetadata ? { metadata } : {};
}

/** The metadata `stat` must return after writing {@link metadataOption}'s result. */
export function expectedMetadata(context: CaseContext, metadata: Record<string, string>): Record<string, string> {
  return context.capabilities.userMetadata ? metadata : {};
}

/** Writes several small text objects, in the given order, one after the other. */
export async function writeAll(store: Store, keys: readonly string[], content: (key: string) => string = (key) => `content of ${key}`): Promise<void> {
  for (const key of keys) await store.write(key, content(key));
}

/** A deterministic shuffle (so that a failure reproduces), used to write keys out of order. */
export function shuffled<T>(items: readonly T[], seed = 7): T[] {
  const out = items.slice();
  let state = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const j = (state >>> 0) % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
