import { isStowageError, type Backend, type Capabilities, type StowageError } from '@stowage/core';
import { MemoryBackend } from '@stowage/memory';

/** Wraps the real memory backend, counting the calls that reach it, and optionally overriding capabilities. */
export function countingBackend(capabilities: Partial<Capabilities> = {}, options: { dropNative?: ('copy' | 'move')[] } = {}) {
  const inner = new MemoryBackend();
  const calls: string[] = [];
  const caps = { ...inner.capabilities, ...capabilities } as Capabilities;
  const backend: Backend = {
    name: 'counting',
    capabilities: caps,
    stat: (key, ctx) => (calls.push(`stat ${key}`), inner.stat(key)),
    read: (key, o) => (calls.push(`read ${key}`), inner.read(key, o)),
    write: (key, r) => (calls.push(`write ${key}`), inner.write(key, r)),
    delete: (key) => (calls.push(`delete ${key}`), inner.delete(key)),
    deleteMany: (keys) => (calls.push(`deleteMany ${keys.length}`), inner.deleteMany(keys)),
    list: (o) => (calls.push(`list ${o.prefix}`), inner.list(o)),
    health: () => inner.health(),
    close: () => inner.close(),
    unwrap: () => inner.unwrap(),
  };
  if (!options.dropNative?.includes('copy')) backend.copy = (from, to, o) => (calls.push(`copy ${from} ${to}`), inner.copy(from, to, o));
  if (!options.dropNative?.includes('move')) backend.move = (from, to, o) => (calls.push(`move ${from} ${to}`), inner.move(from, to, o));
  return { backend, calls, inner };
}

export async function* chunks(count: number, size: number, fill = 7): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < count; i++) yield new Uint8Array(size).fill(fill);
}

/** The StowageError `promise` rejects with (anything else, or no rejection, fails the test). */
export async function failure(promise: Promise<unknown>): Promise<StowageError> {
  try {
    await promise;
  } catch (error) {
    if (isStowageError(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}
