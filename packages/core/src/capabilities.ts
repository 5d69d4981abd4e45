/**
 * What a backend can do, declared as data.
 *
 * Each adapter declares one literal-typed {@link Capabilities} object (use {@link defineCapabilities}
 * to keep the literal types). `Store` refuses an operation whose capability is absent with
 * `CapabilityNotSupportedError` before any I/O, the conformance suite runs a group only where its
 * capability is declared, and TypeScript turns a call that needs a missing capability into a compile
 * error when the adapter is statically known.
 *
 * @module
 */
import { keyProblem } from './paths.ts';

/** The capability object every backend declares. */
export interface Capabilities {
  /** Reads of a byte range (`{ offset, length }` or `{ suffix }`) without reading the rest. */
  readonly rangeRead: boolean;
  /** Create-only writes (`ifNoneMatch: '*'`) and compare-and-swap writes (`ifMatch: etag`), atomic under concurrency. */
  readonly conditionalWrite: boolean;
  /** User metadata (a string map) stored with the object and returned by `stat`. */
  readonly userMetadata: boolean;
  /** Listing with the `/` delimiter (common prefixes) done by the backend. */
  readonly listDelimiter: boolean;
  /** `'native'`: the backend copies server-side; `'emulated'`: `Store` streams the bytes through the client. */
  readonly copy: 'native' | 'emulated';
  /** `'atomic'`: one atomic rename; `'native'`: a server-side copy and delete; `'emulated'`: `Store` copies then deletes. */
  readonly move: 'atomic' | 'native' | 'emulated';
  /** Signed URLs that grant time-limited access without credentials. */
  readonly signedUrl: boolean;
  /** Large writes are sent in parts (multipart, block list, chunk rows): memory stays bounded by the part size. */
  readonly multipart: boolean;
  /** The backend is a tree (a filesystem): it cannot hold both `a` and `a/b`, and such a write fails with `AlreadyExistsError`. */
  readonly hierarchical: boolean;
  /** The largest object the backend stores, in bytes, or `null` when only the medium limits it. */
  readonly maxObjectSize: number | null;
  /** The order listings come in: `'utf8'` (bytewise UTF-8, the default everywhere) or `'utf16'` (UTF-16 code units, Azure Blob). */
  readonly listOrder: 'utf8' | 'utf16';
  /**
   * Key segments the backend keeps for its own files, at any depth (the local adapter's
   * `.stowage`): a key, listing prefix or root with such a segment, in any ASCII case, is refused
   * with `InvalidPathError` before any I/O, so that a store nested in another's folder never
   * exposes its internals through the outer one. Absent or empty: none.
   */
  readonly reservedSegments?: readonly string[] | undefined;
  /**
   * The user metadata keys the backend can carry unchanged. Absent: every stowage key
   * (`[a-z0-9_-]+`). `'identifier'`: only keys that are also identifiers (`[a-z_][a-z0-9_]*`) and
   * do not start with `stowage_`, the prefix such a backend keeps for the store's own fields (Azure
   * Blob, whose metadata names must be C# identifiers). `Store` refuses any other key with
   * `InvalidArgumentError` before any I/O, rather than store it under a changed name.
   */
  readonly metadataKeys?: 'identifier' | undefined;
}

/** The names of the boolean-or-mode capabilities that gate operations. */
export type CapabilityName = keyof Capabilities;

/**
 * Returns its argument unchanged, typed as the exact literal capabilities: the compiler then knows,
 * for instance, that `signedUrl` is `false`, and rejects `store.signUrl(...)` at compile time.
 */
export function defineCapabilities<const C extends Capabilities>(capabilities: C): C {
  return Object.freeze(capabilities);
}

/** The capabilities of a backend that supports everything (the memory adapter's declaration). */
export const ALL_CAPABILITIES: {
  readonly rangeRead: true;
  readonly conditionalWrite: true;
  readonly userMetadata: true;
  readonly listDelimiter: true;
  readonly copy: 'native';
  readonly move: 'atomic';
  readonly signedUrl: false;
  readonly multipart: true;
  readonly hierarchical: false;
  readonly maxObjectSize: null;
  readonly listOrder: 'utf8';
} = defineCapabilities({
  rangeRead: true,
  conditionalWrite: true,
  userMetadata: true,
  listDelimiter: true,
  copy: 'native',
  move: 'atomic',
  signedUrl: false,
  multipart: true,
  hierarchical: false,
  maxObjectSize: null,
  listOrder: 'utf8',
});

/** Checks that a run-time value is a complete capability object (used when loading third-party adapters). */
export function assertCapabilities(value: unknown, backend: string): asserts value is Capabilities {
  const c = value as Record<string, unknown> | null;
  const problems: string[] = [];
  if (typeof c !== 'object' || c === null) {
    throw new TypeError(`backend '${backend}' declares no capabilities object`);
  }
  for (const name of ['rangeRead', 'conditionalWrite', 'userMetadata', 'listDelimiter', 'signedUrl', 'multipart', 'hierarchical'] as const) {
    if (typeof c[name] !== 'boolean') problems.push(`${name} must be a boolean`);
  }
  if (c.copy !== 'native' && c.copy !== 'emulated') problems.push(`copy must be 'native' or 'emulated'`);
  if (c.move !== 'atomic' && c.move !== 'native' && c.move !== 'emulated') problems.push(`move must be 'atomic', 'native' or 'emulated'`);
  if (c.maxObjectSize !== null && !(typeof c.maxObjectSize === 'number' && c.maxObjectSize > 0)) problems.push('maxObjectSize must be a positive number or null');
  if (c.listOrder !== 'utf8' && c.listOrder !== 'utf16') problems.push(`listOrder must be 'utf8' or 'utf16'`);
  const reserved = c.reservedSegments;
  if (reserved !== undefined && !(Array.isArray(reserved) && reserved.every((segment) => typeof segment === 'string' && !segment.includes('/') && keyProblem(segment) === undefined))) {
    problems.push('reservedSegments must be a list of key segments');
  }
  if (c.metadataKeys !== undefined && c.metadataKeys !== 'identifier') problems.push(`metadataKeys must be 'identifier' or absent`);
  if (problems.length > 0) throw new TypeError(`backend '${backend}' declares invalid capabilities: ${problems.join('; ')}`);
}
