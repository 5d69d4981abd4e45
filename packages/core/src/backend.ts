/**
 * The adapter-facing contract.
 *
 * An adapter implements {@link Backend} for one SDK, driver or filesystem. `Store` validates keys,
 * options and capabilities, converts bodies, computes digests and enforces size limits before it
 * calls the backend, so a backend receives only valid, absolute keys (the store's root already
 * applied) and never re-checks them. A backend maps every native error onto a `StowageError` code.
 *
 * @module
 */
import type { Capabilities } from './capabilities.ts';
import type { SweepResult } from './sweep.ts';
import type { ResolvedRetryPolicy } from './retry.ts';

/** What `stat` returns, and what a write returns for the object it stored. */
export interface ObjectInfo {
  /** The object's key, relative to the store that answered. */
  key: string;
  /** Size in bytes. */
  size: number;
  /** When the object was last written. */
  lastModified: Date;
  /** An opaque version tag: it changes on every write; pass it to `ifMatch` for compare-and-swap. */
  etag: string;
  /** The MIME type given at write time, else inferred from the key's extension, else `application/octet-stream`. */
  contentType: string;
  /** User metadata exactly as written (lowercase keys). Empty when there is none. */
  metadata: Record<string, string>;
  /** Lowercase hex SHA-256 of the content, where known. `Store` computes it on every write. */
  sha256?: string | undefined;
  /** The backend's version id (a GCS generation, an S3 version), where it has one. */
  versionId?: string | undefined;
  /** Lowercase hex MD5 of the content, where the backend keeps one (GCS, Azure, single-part S3). */
  md5?: string | undefined;
  /** Lowercase hex CRC32C (Castagnoli) of the content, big-endian, where the backend keeps one (GCS, S3). */
  crc32c?: string | undefined;
}

/** One object in a listing page. */
export interface ListEntry {
  /** The object's key, relative to the store that answered. */
  key: string;
  /** Size in bytes. */
  size: number;
  /** When the object was last written. */
  lastModified: Date;
  /** The object's etag (same value `stat` returns). */
  etag: string;
}

/** One page of a listing. */
export interface ListPage {
  /** Objects, in the backend's declared order. */
  items: ListEntry[];
  /** With a delimiter: the common prefixes (each ends with `/`), in the same order, merged with `items`. */
  prefixes: string[];
  /** Pass as `cursor` to get the next page; absent on the last page. */
  cursor?: string | undefined;
}

/** A byte range as the caller gave it, before the object's size is known. */
export type ByteRange =
  /** `length` bytes from `offset` (to the end when `length` is absent); clamped at the end of the object. */
  | { offset: number; length?: number | undefined }
  /** The last `suffix` bytes (the whole object when it is shorter). */
  | { suffix: number };

/** What a backend's `read` returns. */
export interface BackendReadResult {
  /** The object's metadata, as `stat` would return it. */
  info: ObjectInfo;
  /** The requested bytes. */
  body: ReadableStream<Uint8Array>;
  /** The range actually returned (after clamping), when a range was asked. */
  range?: { offset: number; length: number } | undefined;
}

/** Operation context passed to every backend call. */
export interface OperationContext {
  /** Fires when the caller aborts: stop the SDK call and release resources. */
  signal?: AbortSignal | undefined;
  /**
   * This call's own time limit in milliseconds, from the caller's options, for the store's timeout
   * layer (which otherwise applies the store's `timeoutMs`). Backends ignore it.
   */
  timeoutMs?: number | undefined;
  /**
   * This call's own retry policy, from the caller's options, for the store's retry and
   * resumable-read layers (`false`: none; absent: the store's). Backends ignore it.
   */
  retry?: ResolvedRetryPolicy | false | undefined;
}

/** A write request as the backend receives it. */
export interface BackendWriteRequest extends OperationContext {
  /**
   * The body, already converted, size-checked and hashed by `Store` as it flows. Iterate it once. If
   * iterating throws (size limit crossed, abort, source error), the backend must leave the previous
   * object exactly as it was and store nothing.
   */
  body: AsyncIterable<Uint8Array>;
  /** The exact size when the caller's body told it (bytes, string, `Blob`, or a `size` option); else undefined. */
  size?: number | undefined;
  /** Always set: given, or inferred by `Store`. */
  contentType: string;
  /** User metadata, validated (empty when none; only sent when `userMetadata` is declared). */
  metadata: Record<string, string>;
  /** Create-only: fail with `AlreadyExistsError` when the key exists. */
  ifNoneMatch?: '*' | undefined;
  /** Compare-and-swap: fail with `PreconditionFailedError` unless the current etag equals this. */
  ifMatch?: string | undefined;
  /**
   * The SHA-256 (lowercase hex) of everything the body yielded. Call only after the body iterator has
   * finished; store it with the object so that `stat` returns it.
   */
  sha256(): string;
  /** The number of bytes the body yielded; call only after the body iterator has finished. */
  bytesWritten(): number;
  /**
   * When the caller's body can be sent again (bytes, a string, an `ArrayBuffer`, a `Blob`): a fresh
   * request that reads it from the start, for the retry layer's next attempt. Backends ignore it.
   */
  again?: (() => BackendWriteRequest) | undefined;
}

/** Options of a backend listing call. */
export interface BackendListOptions extends OperationContext {
  /** Only keys starting with this (may be empty, may end inside a segment). */
  prefix: string;
  /** `'/'` to group keys below the next `/` into `prefixes`; only when `listDelimiter` is declared. */
  delimiter?: '/' | undefined;
  /** Maximum number of items plus prefixes in the page (at least 1). */
  limit: number;
  /** A cursor from a previous page of the same listing. */
  cursor?: string | undefined;
}

/** Options of a backend copy or move. */
export interface BackendCopyOptions extends OperationContext {
  /** Create-only at the destination. */
  ifNoneMatch?: '*' | undefined;
}

/** Options of a backend's sweep, validated and defaulted by `Store`. */
export interface BackendSweepOptions extends OperationContext {
  /**
   * Only leftovers of writes to keys starting with this (the store's root; `''` for every key).
   * Leftovers that belong to no key the backend can tell (local's temporary files and locks) are the
   * backend's own and are swept whatever the prefix.
   */
  prefix: string;
  /** A leftover whose writer may still be running counts as abandoned once it is this many milliseconds old. */
  olderThanMs: number;
  /** Find and report, remove nothing. */
  dryRun: boolean;
}

/** Options of a signed URL. */
export interface SignUrlOptions {
  /** `'GET'` (default) to download or `'PUT'` to upload. */
  method?: 'GET' | 'PUT' | undefined;
  /** Seconds until the URL expires (default 900). */
  expiresIn?: number | undefined;
  /** For `PUT`: the content type the uploader must send. */
  contentType?: string | undefined;
}

/**
 * Signs URLs for a backend that cannot sign them itself: stowage's HTTP handler (`@stowage/http`)
 * serves and verifies them. Give one to a store with `store.withSigner(signer)`.
 */
export interface UrlSigner {
  /**
   * A URL granting `options.method` on `key` until `options.expiresIn` seconds from now. `key` is
   * absolute (the store's root applied) and valid; the options are validated and defaulted.
   */
  sign(key: string, options: { method: 'GET' | 'PUT'; expiresIn: number; contentType?: string | undefined }): string | Promise<string>;
}

/**
 * The contract an adapter implements. Keys are absolute (the store's root applied) and valid.
 *
 * Required: `stat`, `read`, `write`, `delete`, `list`, `health`, `close`, `unwrap`. Optional methods
 * are native accelerations: when absent, `Store` emulates them over the required ones (and the
 * capabilities must say `'emulated'`).
 */
export interface Backend<C extends Capabilities = Capabilities> {
  /** A short name for messages and reports, such as `'local'` or `'s3'`. */
  readonly name: string;
  /** What this backend can do. */
  readonly capabilities: C;

  /** The object's metadata; `NotFoundError` when missing. */
  stat(key: string, context: OperationContext): Promise<ObjectInfo>;
  /** Opens the object (or a range of it) for reading; `NotFoundError`, `RangeNotSatisfiableError`. */
  read(key: string, options: OperationContext & { range?: ByteRange | undefined }): Promise<BackendReadResult>;
  /** Stores the body atomically: a reader sees the old object or the new one, never a part. */
  write(key: string, request: BackendWriteRequest): Promise<ObjectInfo>;
  /** Deletes the object; deleting a missing key succeeds. */
  delete(key: string, context: OperationContext): Promise<void>;
  /** Deletes several objects in as few calls as the backend allows; missing keys are ignored. */
  deleteMany?(keys: readonly string[], context: OperationContext): Promise<void>;
  /** One page of keys in the declared order. */
  list(options: BackendListOptions): Promise<ListPage>;
  /** A server-side copy, overwriting the destination unless `ifNoneMatch` is set. */
  copy?(from: string, to: string, options: BackendCopyOptions): Promise<ObjectInfo>;
  /** A server-side move (atomic when the capability says `'atomic'`). */
  move?(from: string, to: string, options: BackendCopyOptions): Promise<ObjectInfo>;
  /** A signed URL; only when `signedUrl` is declared. */
  signUrl?(key: string, options: SignUrlOptions): Promise<string>;
  /**
   * Finds and (unless `dryRun`) removes what failed or abandoned writes left: temporary files, dead
   * locks, staged chunks, unfinished multipart uploads. Build the result with `SweepTally`; report
   * every kind of leftover the backend can have, and say in `unreclaimable` or `notes` what it
   * cannot reclaim and why. Absent: `Store.sweep` reports that the backend does not say.
   */
  sweep?(options: BackendSweepOptions): Promise<SweepResult>;
  /** Resolves when the backend answers; throws a `StowageError` (usually `UNAVAILABLE`) otherwise. */
  health(context: OperationContext): Promise<void>;
  /** Releases what the backend opened itself; a borrowed client is never closed. */
  close(): Promise<void>;
  /** The underlying SDK client, driver, pool or path, for what stowage does not cover. */
  unwrap(): unknown;
}

/** Loads a module by its specifier, resolved from where the loader was written; the default is a dynamic `import()`. */
export type ModuleLoader = (specifier: string) => Promise<unknown>;

/** What the registry passes to {@link AdapterDefinition.create}. */
export interface AdapterContext {
  /**
   * The loader that imported the adapter (`openStore`'s `load`): an adapter whose own `import()` of
   * a driver or SDK it loads on first use fails tries this one, so that the package resolves from
   * the caller (an installed command, the user's project) too.
   */
  load: ModuleLoader;
}

/**
 * How the registry opens an adapter: every adapter package exports one as `adapter`.
 *
 * @example
 * ```ts
 * export const adapter: AdapterDefinition<LocalOptions> = {
 *   name: 'local', schemes: ['file'], create: (o) => new LocalBackend(o), optionsFromUrl: (u) => ({ root: fileURLToPath(u) }),
 * }
 * ```
 */
export interface AdapterDefinition<O = Record<string, unknown>> {
  /** The adapter's name, as used in config files (`type`). */
  name: string;
  /** URL schemes this adapter opens, without the colon. */
  schemes: readonly string[];
  /** Opens a backend with the given options; `context` comes from the registry. */
  create(options: O, context?: AdapterContext): Backend | Promise<Backend>;
  /** Turns a store URL into options for `create`. */
  optionsFromUrl?(url: URL): O;
  /** Option names whose values are secrets, masked in every message. */
  secretOptions?: readonly string[];
}
