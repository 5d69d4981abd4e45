/**
 * The user-facing `Store`: validates keys and options, gates capabilities, converts bodies, computes
 * digests, enforces size limits, and emulates what a backend lacks (copy, move, glob, folders).
 *
 * @module
 */
import type {
  Backend,
  BackendReadResult,
  BackendWriteRequest,
  ByteRange,
  ListEntry,
  ListPage,
  ObjectInfo,
  OperationContext,
  SignUrlOptions,
  UrlSigner,
} from './backend.ts';
import {
  decodeUtf8,
  emptyStream,
  HELD_IN_MEMORY,
  guardReadStream,
  isHeldInMemory,
  meterBody,
  streamToBytes,
  throwIfAborted,
  toSource,
  type Body,
  type SourceBody,
} from './bodies.ts';
import type { Capabilities } from './capabilities.ts';
import { inferContentType } from './content-type.ts';
import {
  AbortedError,
  AlreadyExistsError,
  CapabilityNotSupportedError,
  InvalidArgumentError,
  RangeNotSatisfiableError,
  TooLargeError,
  isStowageError,
  type StowageError,
} from './errors.ts';
import { compileGlob } from './glob.ts';
import { checkIdentifierMetadataKeys, validateContentType, validateMetadata } from './metadata.ts';
import { assertNotReserved, assertValidKey, assertValidPrefix, normalizeRoot, reservedSegmentSet, utf8Length, MAX_KEY_BYTES } from './paths.ts';
import { isReplayableBody, resolveRetryPolicy, type ResolvedRetryPolicy, type RetryPolicy } from './retry.ts';
import { applyLayers, layerNames, type Layer } from './layers/layer.ts';
import { resumableReadsLayer, retryLayer, timeoutLayer } from './layers/reliability.ts';
import { DEFAULT_SWEEP_AGE_MS, type SweepOptions, type SweepReport } from './sweep.ts';
import { checkTimeout } from './timeouts.ts';

/**
 * The type of an argument that needs a capability the backend lacks: passing anything to it is a
 * compile error whose message names the capability.
 */
export interface CapabilityRequired<Name extends string> {
  readonly 'stowage: the backend does not declare this capability': Name;
}

type Gate<C extends Capabilities, K extends keyof Capabilities, T> = C[K] extends false ? CapabilityRequired<K & string> : T;

/** Options every operation takes. */
export interface OperationOptions {
  /** Aborts the operation; the abort reaches the backend's SDK call. */
  signal?: AbortSignal | undefined;
  /**
   * Fails an attempt that takes longer than this many milliseconds with `UNAVAILABLE` (the store's
   * `timeoutMs` when absent). The clock's abort reaches the backend's SDK call like the caller's.
   * It bounds each backend call: a write until it is stored, a read until it is opened (not the
   * reading of its stream).
   */
  timeoutMs?: number | undefined;
  /** This operation's retries, instead of the store's `retry` (`false`: none). See {@link RetryPolicy}. */
  retry?: RetryPolicy | boolean | undefined;
}

/** Options of a read. */
export interface ReadOptions<C extends Capabilities = Capabilities> extends OperationOptions {
  /** Only these bytes (needs `rangeRead`). A range past the end is clamped; an offset past the end is `RangeNotSatisfiableError`. */
  range?: Gate<C, 'rangeRead', ByteRange> | undefined;
}

/** Options of a write. */
export interface WriteOptions<C extends Capabilities = Capabilities> extends OperationOptions {
  /** The MIME type; inferred from the key's extension when absent. */
  contentType?: string | undefined;
  /**
   * User metadata (needs `userMetadata`): lowercase `[a-z0-9-_]` keys, string values, 2 KiB in all.
   * A backend whose `metadataKeys` capability is `'identifier'` (Azure) takes only identifier keys.
   */
  metadata?: Gate<C, 'userMetadata', Record<string, string>> | undefined;
  /** `'*'`: create only, fail with `AlreadyExistsError` when the key exists (needs `conditionalWrite`). */
  ifNoneMatch?: Gate<C, 'conditionalWrite', '*'> | undefined;
  /** Compare-and-swap: fail with `PreconditionFailedError` unless the current etag is this (needs `conditionalWrite`). */
  ifMatch?: Gate<C, 'conditionalWrite', string> | undefined;
  /** Refuse bodies larger than this many bytes (the smaller of this and the store's `maxSize` applies). */
  maxSize?: number | undefined;
  /** The exact size of a streamed body, when known: it is checked against `maxSize` before any I/O and against the bytes that arrive. */
  size?: number | undefined;
}

/** Options of a listing. */
export interface ListOptions extends OperationOptions {
  /** Only keys starting with this. */
  prefix?: string | undefined;
  /** `'/'`: group keys below the next `/` into `prefixes` (emulated when the backend lacks `listDelimiter`). */
  delimiter?: '/' | undefined;
  /** Items plus prefixes per page, 1 to 1000 (default 1000). */
  limit?: number | undefined;
  /** Resume after the last entry of the page that returned this cursor. */
  cursor?: string | undefined;
}

/** Options of copy and move. */
export interface CopyOptions<C extends Capabilities = Capabilities> extends OperationOptions {
  /** `'*'`: fail with `AlreadyExistsError` when the destination exists (needs `conditionalWrite`). */
  ifNoneMatch?: Gate<C, 'conditionalWrite', '*'> | undefined;
}

/** An object opened for reading: its metadata and its bytes. */
export interface StoredObject {
  info: ObjectInfo;
  body: ReadableStream<Uint8Array>;
  /** The bytes returned, when a range was asked (after clamping). */
  range?: { offset: number; length: number } | undefined;
}

/** Options of a store. */
export interface StoreOptions {
  /** Every key is stored under this folder prefix; the store sees only keys below it. */
  root?: string | undefined;
  /** Refuse bodies larger than this many bytes, while streaming, before anything is stored. */
  maxSize?: number | undefined;
  /**
   * Enforce the filesystem rule on every backend: a write of `a/b` fails while `a` exists and a write
   * of `a` fails while anything exists under `a/`. For data that must move between backends.
   */
  strictHierarchy?: boolean | undefined;
  /**
   * Signs URLs when the backend cannot (`signedUrl: false`), such as the HMAC links of
   * `@stowage/http`. Prefer {@link Store.withSigner}, whose type then allows `signUrl`.
   */
  signer?: UrlSigner | undefined;
  /**
   * Repeat operations that fail with `UNAVAILABLE` (off by default; `true` takes the defaults). Only
   * operations whose repeat is harmless are repeated, and reads that fail midway resume from the
   * last byte: {@link RetryPolicy} says exactly which, and why.
   */
  retry?: RetryPolicy | boolean | undefined;
  /** The default `timeoutMs` of every operation (none by default). */
  timeoutMs?: number | undefined;
  /**
   * Layers to wrap the backend in, the first outermost (the one the store calls first): limits,
   * logging, tracing, metrics, faults, or layers of your own. See {@link Layer}.
   */
  layers?: readonly Layer[] | undefined;
}

/** What {@link Store.describe} says of a store. */
export interface StoreDescription {
  /** The backend's name. */
  backend: string;
  /** The folder prefix the store is rooted at. */
  root: string;
  /** The names of the layers the store was given (`layers`, `with`), outermost first. */
  layers: readonly string[];
  /**
   * Every layer a call passes through, outermost first: the store's own (`retry`,
   * `resumable-reads`, `timeout`, configured by its `retry` and `timeoutMs` options), then `layers`.
   */
  stack: readonly string[];
  /** The retry policy in force (`undefined`: none). */
  retry: Readonly<Required<RetryPolicy>> | undefined;
  /** The default time limit of an operation, in milliseconds (`undefined`: none). */
  timeoutMs: number | undefined;
  /** The size limit of a body (`undefined`: the backend's own, if any). */
  maxSize: number | undefined;
  /** Whether the filesystem hierarchy rule is enforced. */
  strictHierarchy: boolean;
}

/** The capabilities of a store whose backend's are `C` and that has a URL signer. */
export type WithSignedUrl<C extends Capabilities> = Omit<C, 'signedUrl'> & { readonly signedUrl: true };

const MAX_PAGE = 1000;
const DELETE_BATCH = 1000;

function checkLimit(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${name} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

function minDefined(...values: (number | null | undefined)[]): number | undefined {
  let result: number | undefined;
  for (const value of values) if (typeof value === 'number' && (result === undefined || value < result)) result = value;
  return result;
}

/**
 * A store of blobs on one backend. Open one with `openStore(...)` or `new Store(backend)`.
 *
 * @typeParam C - the backend's capabilities; when literal, calls that need a missing capability are
 * compile errors.
 *
 * @example
 * ```ts
 * import { Store } from '@stowage/core'
 * import { MemoryBackend } from '@stowage/memory'
 *
 * const store = new Store(new MemoryBackend())
 * await store.write('hello.txt', 'Hello!')
 * console.log(await store.readText('hello.txt')) // Hello!
 * ```
 */
export class Store<C extends Capabilities = Capabilities> {
  /** The backend with the store's own reliability layers (retry, resumable reads, time limit) around {@link #base}. */
  readonly #backend: Backend<C>;
  /** The adapter's backend wrapped in the `layers` given: what stores made from this one build on. */
  readonly #base: Backend<C>;
  /**
   * What a call without options of its own goes to: {@link #base} when the store has neither retries
   * nor a time limit (its own layers would only pass the call on), else {@link #backend}.
   */
  readonly #direct: Backend<C>;
  readonly #root: string;
  readonly #maxSize: number | undefined;
  readonly #strict: boolean;
  readonly #signer: UrlSigner | undefined;
  readonly #capabilities: C;
  readonly #retry: ResolvedRetryPolicy | undefined;
  readonly #retryOption: RetryPolicy | boolean | undefined;
  readonly #timeoutMs: number | undefined;
  readonly #reserved: ReadonlySet<string>;

  constructor(backend: Backend<C>, options: StoreOptions = {}) {
    this.#base = options.layers === undefined ? backend : applyLayers(backend, options.layers);
    this.#retry = resolveRetryPolicy(options.retry);
    this.#retryOption = options.retry;
    this.#timeoutMs = checkTimeout(options.timeoutMs);
    // Outermost, so that each attempt passes through every layer again; their order is what
    // RELIABILITY.md describes: a read resumes under the retry policy, each attempt has the time limit.
    this.#backend = applyLayers(this.#base, [retryLayer(this.#retry ?? false), resumableReadsLayer(this.#retry ?? false), timeoutLayer(this.#timeoutMs)]);
    this.#direct = this.#retry === undefined && this.#timeoutMs === undefined ? this.#base : this.#backend;
    backend = this.#backend;
    this.#reserved = reservedSegmentSet(backend.capabilities.reservedSegments);
    this.#root = normalizeRoot(options.root);
    assertNotReserved(this.#root, this.#reserved, 'root');
    this.#maxSize = checkLimit('maxSize', options.maxSize);
    this.#strict = options.strictHierarchy === true;
    if (options.signer !== undefined && typeof options.signer?.sign !== 'function') {
      throw new InvalidArgumentError('signer must be an object with a sign(key, options) method');
    }
    // A backend that signs natively keeps doing so; the signer only fills the gap.
    this.#signer = backend.capabilities.signedUrl ? undefined : options.signer;
    this.#capabilities = this.#signer ? (Object.freeze({ ...backend.capabilities, signedUrl: true }) as C) : backend.capabilities;
  }

  /** What this store can do: the backend's capabilities, with `signedUrl` when a signer fills in for the backend. */
  get capabilities(): C {
    return this.#capabilities;
  }

  /** The URL signer that fills in for a backend that cannot sign, if any. */
  get signer(): UrlSigner | undefined {
    return this.#signer;
  }

  /**
   * The same store (same backend, root and limits) whose `signUrl` uses `signer` when the backend
   * cannot sign natively, as with the HMAC links of `@stowage/http`. A backend that signs natively
   * keeps its own signer.
   */
  withSigner(signer: UrlSigner): Store<WithSignedUrl<C>> {
    return new Store(this.#base, { ...this.#sharedOptions(), root: this.#root, signer }) as unknown as Store<WithSignedUrl<C>>;
  }

  /**
   * The same store (root, limits, retries, signer) with `layers` around its backend, the first
   * outermost; they sit outside the layers the store already has. Stores made with `at` and `with`
   * share the layers' state (a concurrency limit counts the calls of all of them).
   *
   * @example
   * ```ts
   * const logged = store.with(loggingLayer({ logger: console }))
   * ```
   */
  with(...layers: Layer[]): Store<C> {
    const backend = applyLayers(this.#base, layers);
    return new Store(backend, { ...this.#sharedOptions(), root: this.#root, signer: this.#signer });
  }

  /** The store's backend, root, layers (outermost first) and limits, for logs and diagnostics. */
  describe(): StoreDescription {
    return {
      backend: this.#backend.name,
      root: this.#root,
      layers: layerNames(this.#base),
      stack: layerNames(this.#backend),
      retry: this.#retry,
      timeoutMs: this.#timeoutMs,
      maxSize: this.#maxSize,
      strictHierarchy: this.#strict,
    };
  }

  /** The backend's name, such as `'local'`. */
  get backendName(): string {
    return this.#backend.name;
  }

  /** The folder prefix this store is rooted at (`''` for the backend's top). */
  get root(): string {
    return this.#root;
  }

  /**
   * A store that sees only the keys below `prefix` of this one, as if they were top-level keys. It
   * shares the backend (closing either closes both).
   */
  at(prefix: string): Store<C> {
    const root = normalizeRoot(prefix);
    return new Store(this.#base, { ...this.#sharedOptions(), root: this.#root + root, signer: this.#signer });
  }

  /** What a store made from this one keeps: limits, hierarchy rule, retries and time limit. */
  #sharedOptions(): StoreOptions {
    return { maxSize: this.#maxSize, strictHierarchy: this.#strict, retry: this.#retryOption, timeoutMs: this.#timeoutMs };
  }

  /** The retry policy in force for this store (`undefined`: no retries). */
  get retryPolicy(): Readonly<Required<RetryPolicy>> | undefined {
    return this.#retry;
  }

  // ---- keys and errors ----

  #absolute(key: unknown, what = 'key'): string {
    assertValidKey(key, what);
    const full = this.#root + key;
    if (this.#root !== '' && utf8Length(full) > MAX_KEY_BYTES) assertValidKey(full, what);
    assertNotReserved(key, this.#reserved, what);
    return full;
  }

  #relative(key: string): string {
    return this.#root === '' ? key : key.slice(this.#root.length);
  }

  #info(info: ObjectInfo): ObjectInfo {
    return this.#root === '' ? info : { ...info, key: this.#relative(info.key) };
  }

  #require(capability: keyof Capabilities, operation: string, key?: string): void {
    const value = this.#capabilities[capability];
    if (value === false) {
      throw new CapabilityNotSupportedError(capability, `${operation} needs the '${capability}' capability, which the '${this.#backend.name}' backend does not declare`, {
        key,
        backend: this.#backend.name,
      });
    }
  }

  /**
   * Gives errors from the backend the caller's relative key and the backend's name. Once the caller's
   * signal fired, a failure that is not an answer (a cut connection the adapter reports as
   * `UNAVAILABLE`, a raw error) is the abort's doing: `ABORTED`.
   */
  #fail(error: unknown, key: string | undefined, signal: AbortSignal | undefined): never {
    throw this.#failure(error, key, signal);
  }

  /** The error {@link #fail} throws. */
  #failure(error: unknown, key: string | undefined, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted && isStowageError(error, 'UNAVAILABLE')) {
      return new AbortedError(`operation on ${JSON.stringify(key ?? '')} aborted`, { key, backend: this.#backend.name, cause: error });
    }
    if (isStowageError(error)) {
      const e = error as StowageError;
      if (key !== undefined) e.key = key;
      e.backend ??= this.#backend.name;
      return e;
    }
    if (signal?.aborted) {
      return new AbortedError(`operation on ${JSON.stringify(key ?? '')} aborted`, { key, backend: this.#backend.name, cause: error });
    }
    return error;
  }

  /**
   * Runs one operation on the layered backend: the context it gets carries the caller's signal and
   * the operation's own `retry` and `timeoutMs` (checked here, so that a bad option is an error even
   * where nothing is repeated) for the store's reliability layers; what fails is given the caller's
   * key by {@link #fail}.
   */
  #call<T>(key: string | undefined, options: OperationOptions, run: (context: OperationContext, backend: Backend<C>) => Promise<T>): Promise<T> {
    const { signal } = options;
    let operation: Promise<T>;
    try {
      throwIfAborted(signal, key, this.#backend.name);
      const context: OperationContext = { signal };
      let backend = this.#direct;
      if (options.retry !== undefined) {
        context.retry = resolveRetryPolicy(options.retry) ?? false;
        backend = this.#backend;
      }
      if (options.timeoutMs !== undefined) {
        context.timeoutMs = checkTimeout(options.timeoutMs);
        backend = this.#backend;
      }
      operation = run(context, backend);
    } catch (error) {
      return Promise.reject(this.#failure(error, key, signal));
    }
    // Not an async function: one promise less per call, and the operation's result passes on as it is.
    return operation.then(undefined, (error: unknown) => {
      throw this.#failure(error, key, signal);
    });
  }

  // ---- reading ----

  /** The object's metadata; `NotFoundError` when missing. */
  stat(key: string, options: OperationOptions = {}): Promise<ObjectInfo> {
    let full: string;
    try {
      full = this.#absolute(key);
    } catch (error) {
      return Promise.reject(error);
    }
    const info = this.#call(key, options, (context, backend) => backend.stat(full, context));
    return this.#root === '' ? info : info.then((found) => this.#info(found));
  }

  /** Whether the object exists. */
  async exists(key: string, options: OperationOptions = {}): Promise<boolean> {
    try {
      await this.stat(key, options);
      return true;
    } catch (error) {
      if (isStowageError(error, 'NOT_FOUND')) return false;
      throw error;
    }
  }

  /** Opens the object for reading: its metadata and a stream of its bytes (or of the range asked). */
  async get(key: string, options: ReadOptions<C> = {}): Promise<StoredObject> {
    const full = this.#absolute(key);
    const range = options.range as ByteRange | undefined;
    const { signal } = options;
    if (range !== undefined) {
      this.#require('rangeRead', 'a range read', key);
      const normalized = this.#checkRange(range);
      if ((('length' in normalized && normalized.length === 0) || ('suffix' in normalized && normalized.suffix === 0))) {
        // Zero bytes asked: answer from stat, so no backend needs a special case for an empty range.
        const info = await this.stat(key, options);
        const offset = 'offset' in normalized ? normalized.offset : info.size;
        if (offset > info.size) {
          throw new RangeNotSatisfiableError(`range starts at ${offset}, past the end of ${JSON.stringify(key)} (${info.size} bytes)`, {
            key,
            backend: this.#backend.name,
            size: info.size,
          });
        }
        return { info, body: emptyStream(), range: { offset, length: 0 } };
      }
    }
    const result: BackendReadResult = await this.#call(key, options, (context, backend) => backend.read(full, { ...context, range }));
    return {
      info: this.#info(result.info),
      body: guardReadStream(result.body, signal, key, this.#backend.name),
      range: result.range,
    };
  }

  #checkRange(range: unknown): ByteRange {
    if (typeof range !== 'object' || range === null) throw new InvalidArgumentError('range must be { offset, length? } or { suffix }');
    const r = range as Record<string, unknown>;
    if ('suffix' in r && r.suffix !== undefined) {
      if ('offset' in r && r.offset !== undefined) throw new InvalidArgumentError('range takes either offset or suffix, not both');
      return { suffix: checkLimit('range.suffix', r.suffix)! };
    }
    const offset = checkLimit('range.offset', r.offset);
    if (offset === undefined) throw new InvalidArgumentError('range needs offset (or suffix)');
    const length = checkLimit('range.length', r.length);
    return length === undefined ? { offset } : { offset, length };
  }

  /** A stream of the object's bytes (or of the range asked). */
  async read(key: string, options: ReadOptions<C> = {}): Promise<ReadableStream<Uint8Array>> {
    return (await this.get(key, options)).body;
  }

  /** The object's bytes, in one buffer. */
  async readBytes(key: string, options: ReadOptions<C> = {}): Promise<Uint8Array> {
    const { body } = await this.get(key, options);
    try {
      return await streamToBytes(body);
    } catch (error) {
      this.#fail(error, key, options.signal);
    }
  }

  /** The object's content decoded as UTF-8; `InvalidArgumentError` when it is not valid UTF-8. */
  async readText(key: string, options: ReadOptions<C> = {}): Promise<string> {
    return decodeUtf8(await this.readBytes(key, options), key);
  }

  /** The object's content parsed as JSON; `InvalidArgumentError` when it is not JSON. */
  async readJson<T = unknown>(key: string, options: ReadOptions<C> = {}): Promise<T> {
    const text = await this.readText(key, options);
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new InvalidArgumentError(`content of ${JSON.stringify(key)} is not valid JSON`, { key, backend: this.#backend.name, cause });
    }
  }

  // ---- writing ----

  /**
   * Stores `body` at `key` atomically: readers see the old object or the new one, never a part. A
   * write that fails or is aborted leaves the old object exactly as it was.
   */
  async write(key: string, body: Body, options: WriteOptions<C> = {}): Promise<ObjectInfo> {
    const full = this.#absolute(key);
    const backendName = this.#backend.name;
    const caps = this.#backend.capabilities;
    const metadata = validateMetadata(options.metadata, key);
    if (Object.keys(metadata).length > 0) this.#require('userMetadata', 'writing user metadata', key);
    if (caps.metadataKeys === 'identifier') checkIdentifierMetadataKeys(metadata, backendName, key);
    const contentType = options.contentType === undefined ? inferContentType(key) : validateContentType(options.contentType, key);
    const ifNoneMatch = options.ifNoneMatch as unknown;
    const ifMatch = options.ifMatch as unknown;
    if (ifNoneMatch !== undefined || ifMatch !== undefined) {
      this.#require('conditionalWrite', 'a conditional write', key);
      if (ifNoneMatch !== undefined && ifMatch !== undefined) throw new InvalidArgumentError('ifNoneMatch and ifMatch cannot be combined', { key });
      if (ifNoneMatch !== undefined && ifNoneMatch !== '*') throw new InvalidArgumentError(`ifNoneMatch must be '*', got ${JSON.stringify(ifNoneMatch)}`, { key });
      if (ifMatch !== undefined && (typeof ifMatch !== 'string' || ifMatch === '')) throw new InvalidArgumentError('ifMatch must be a non-empty etag string', { key });
    }
    const declared = checkLimit('size', options.size);
    const limit = minDefined(this.#maxSize, checkLimit('maxSize', options.maxSize), caps.maxObjectSize);
    const source = toSource(body, key);
    const size = source.size ?? declared;
    if (source.size !== undefined && declared !== undefined && source.size !== declared) {
      throw new InvalidArgumentError(`size option (${declared}) differs from the body's size (${source.size})`, { key });
    }
    if (limit !== undefined && size !== undefined && size > limit) {
      throw new TooLargeError(limit, `body of ${JSON.stringify(key)} is ${size} bytes; the limit is ${limit} bytes`, { key, backend: backendName });
    }
    throwIfAborted(options.signal, key, backendName);
    if (this.#strict) await this.#checkHierarchy(key, options.signal);
    // One request per attempt, each reading the body from the start: the converted source first,
    // then (for bodies that can be sent again, which the retry layer repeats) a fresh conversion.
    const heldInMemory = isHeldInMemory(body);
    const request = (from: SourceBody, context: OperationContext): BackendWriteRequest => {
      const metered = meterBody(declared === undefined ? from.chunks : exactly(from.chunks, declared, key), { maxSize: limit, signal: options.signal, key, backend: backendName });
      const made: BackendWriteRequest = {
        ...context,
        body: metered.chunks,
        size,
        contentType,
        metadata,
        ifNoneMatch: ifNoneMatch as '*' | undefined,
        ifMatch: ifMatch as string | undefined,
        sha256: metered.sha256,
        bytesWritten: metered.bytes,
      };
      // Every attempt's request is marked, the repeated ones (`again`) too.
      if (heldInMemory) (made as { [HELD_IN_MEMORY]?: true })[HELD_IN_MEMORY] = true;
      return made;
    };
    const info = await this.#call(key, options, (context, backend) => {
      const first = request(source, context);
      if (isReplayableBody(body)) first.again = () => request(toSource(body, key), context);
      return backend.write(full, first);
    });
    return this.#info(info);
  }

  async #checkHierarchy(key: string, signal: AbortSignal | undefined): Promise<void> {
    const segments = key.split('/');
    for (let i = 1; i < segments.length; i++) {
      const ancestor = segments.slice(0, i).join('/');
      if (await this.exists(ancestor, { signal })) {
        throw new AlreadyExistsError(`cannot write ${JSON.stringify(key)}: ${JSON.stringify(ancestor)} is a file (strictHierarchy)`, {
          key,
          backend: this.#backend.name,
        });
      }
    }
    const below = await this.list({ prefix: `${key}/`, limit: 1, signal });
    if (below.items.length > 0) {
      throw new AlreadyExistsError(`cannot write ${JSON.stringify(key)}: it is a folder (strictHierarchy)`, { key, backend: this.#backend.name });
    }
  }

  // ---- deleting ----

  /** Deletes the object; deleting a missing key succeeds. */
  async delete(key: string, options: OperationOptions = {}): Promise<void> {
    const full = this.#absolute(key);
    await this.#call(key, options, (context, backend) => backend.delete(full, context));
  }

  /** Deletes several objects (missing ones are ignored), in batches the backend can take. */
  async deleteMany(keys: Iterable<string>, options: OperationOptions = {}): Promise<void> {
    const all = Array.from(keys, (key) => this.#absolute(key));
    for (let i = 0; i < all.length; i += DELETE_BATCH) {
      const batch = all.slice(i, i + DELETE_BATCH);
      await this.#call(undefined, options, async (context, backend) => {
        if (backend.deleteMany) await backend.deleteMany(batch, context);
        else for (const key of batch) await backend.delete(key, context);
      });
    }
  }

  // ---- listing ----

  /** One page of keys, in the backend's declared order (UTF-8 byte order everywhere but Azure). */
  async list(options: ListOptions = {}): Promise<ListPage> {
    const prefix = options.prefix ?? '';
    assertValidPrefix(prefix);
    if (this.#root !== '') assertValidPrefix(this.#root + prefix);
    assertNotReserved(prefix, this.#reserved, 'prefix', true);
    const limit = options.limit ?? MAX_PAGE;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new InvalidArgumentError(`limit must be an integer from 1 to ${MAX_PAGE}, got ${String(limit)}`);
    if (options.delimiter !== undefined && options.delimiter !== '/') throw new InvalidArgumentError(`delimiter must be '/', got ${JSON.stringify(options.delimiter)}`);
    if (options.cursor !== undefined && (typeof options.cursor !== 'string' || options.cursor === '')) throw new InvalidArgumentError('cursor must be a non-empty string from a previous page');
    const { signal } = options;
    if (options.delimiter === '/' && !this.#backend.capabilities.listDelimiter) {
      return this.#call(prefix, options, (context, backend) => this.#listFolded(backend, this.#root + prefix, limit, options.cursor, context));
    }
    const page = await this.#call(prefix, options, (context, backend) =>
      backend.list({ ...context, prefix: this.#root + prefix, delimiter: options.delimiter, limit, cursor: options.cursor }),
    );
    if (this.#root === '') return page;
    return {
      items: page.items.map((item) => ({ ...item, key: this.#relative(item.key) })),
      prefixes: page.prefixes.map((p) => this.#relative(p)),
      cursor: page.cursor,
    };
  }

  /** The delimiter emulated over a flat listing, for backends without `listDelimiter`. */
  async #listFolded(backend: Backend<C>, prefix: string, limit: number, cursor: string | undefined, context: OperationContext): Promise<ListPage> {
    const items: ListEntry[] = [];
    const prefixes: string[] = [];
    // The cursor carries the last folder returned, so that a folder whose keys span backend pages is
    // not returned again by the page that resumes inside it.
    let [backendCursor, lastPrefix] = cursor === undefined ? [undefined, undefined] : decodeFoldedCursor(cursor);
    while (items.length + prefixes.length < limit) {
      // Each backend item adds at most one entry, so asking for what is left never overfills the page.
      const page = await backend.list({ ...context, prefix, limit: limit - items.length - prefixes.length, cursor: backendCursor });
      for (const item of page.items) {
        const slash = item.key.indexOf('/', prefix.length);
        if (slash === -1) items.push({ ...item, key: this.#relative(item.key) });
        else {
          const folder = item.key.slice(0, slash + 1);
          if (folder !== lastPrefix) prefixes.push(this.#relative(folder));
          lastPrefix = folder;
        }
      }
      backendCursor = page.cursor;
      if (!backendCursor) break;
    }
    return { items, prefixes, cursor: backendCursor ? encodeFoldedCursor(backendCursor, lastPrefix) : undefined };
  }

  /** Every page of a listing, fetched as the loop asks for them. */
  async *pages(options: Omit<ListOptions, 'cursor'> = {}): AsyncGenerator<ListPage> {
    let cursor: string | undefined;
    do {
      const page = await this.list({ ...options, cursor });
      yield page;
      cursor = page.cursor;
    } while (cursor);
  }

  /** Every object under `prefix` (all depths), page by page. */
  async *listAll(options: Omit<ListOptions, 'cursor' | 'delimiter'> = {}): AsyncGenerator<ListEntry> {
    for await (const page of this.pages({ ...options, delimiter: undefined })) yield* page.items;
  }

  /** Objects whose key matches the glob (`**`, `*`, `?`, `[...]`); only the pattern's literal prefix is listed. */
  async *glob(pattern: string, options: OperationOptions = {}): AsyncGenerator<ListEntry> {
    const glob = compileGlob(pattern);
    for await (const entry of this.listAll({ ...operationOptions(options), prefix: glob.prefix })) {
      if (glob.test(entry.key)) yield entry;
    }
  }

  // ---- folders ----

  /** Whether any object exists below `folder/`. */
  async isFolder(folder: string, options: OperationOptions = {}): Promise<boolean> {
    // Checked like a key, root included, so that a name too long under this root is INVALID_PATH here too.
    this.#absolute(folder, 'folder');
    const page = await this.list({ ...operationOptions(options), prefix: `${folder}/`, limit: 1 });
    return page.items.length > 0 || page.prefixes.length > 0;
  }

  /** The folders directly below `folder` (the top when absent), each ending with `/`. */
  async *listFolders(folder?: string, options: OperationOptions = {}): AsyncGenerator<string> {
    if (folder !== undefined) this.#absolute(folder, 'folder');
    const prefix = folder === undefined ? '' : `${folder}/`;
    for await (const page of this.pages({ ...operationOptions(options), prefix, delimiter: '/' })) yield* page.prefixes;
  }

  /** Deletes every object below `folder/`; returns how many were deleted. */
  async deleteFolder(folder: string, options: OperationOptions = {}): Promise<number> {
    this.#absolute(folder, 'folder');
    let count = 0;
    let batch: string[] = [];
    for await (const entry of this.listAll({ ...operationOptions(options), prefix: `${folder}/` })) {
      batch.push(entry.key);
      if (batch.length === DELETE_BATCH) {
        await this.deleteMany(batch, options);
        count += batch.length;
        batch = [];
      }
    }
    if (batch.length > 0) await this.deleteMany(batch, options);
    return count + batch.length;
  }

  // ---- copy and move ----

  /** Copies `from` to `to` (server-side where the backend can), overwriting `to` unless `ifNoneMatch` is set. */
  async copy(from: string, to: string, options: CopyOptions<C> = {}): Promise<ObjectInfo> {
    const source = this.#absolute(from, 'source key');
    const target = this.#absolute(to, 'destination key');
    const ifNoneMatch = this.#copyCondition(options, to);
    if (this.#strict) await this.#checkHierarchy(to, options.signal);
    if (this.#backend.copy && this.#backend.capabilities.copy === 'native') {
      const info = await this.#call(from, options, (context, backend) => backend.copy!(source, target, { ...context, ifNoneMatch }));
      return this.#info(info);
    }
    return this.#copyThrough(from, to, ifNoneMatch, options);
  }

  /** Moves `from` to `to`: atomic, native or copy-then-delete, as the `move` capability says. */
  async move(from: string, to: string, options: CopyOptions<C> = {}): Promise<ObjectInfo> {
    const source = this.#absolute(from, 'source key');
    const target = this.#absolute(to, 'destination key');
    const ifNoneMatch = this.#copyCondition(options, to);
    if (source === target) return this.stat(from, options);
    if (this.#strict) await this.#checkHierarchy(to, options.signal);
    if (this.#backend.move && this.#backend.capabilities.move !== 'emulated') {
      const info = await this.#call(from, options, (context, backend) => backend.move!(source, target, { ...context, ifNoneMatch }));
      return this.#info(info);
    }
    const info = await this.copy(from, to, options);
    await this.delete(from, options);
    return info;
  }

  #copyCondition(options: CopyOptions<C>, to: string): '*' | undefined {
    const ifNoneMatch = options.ifNoneMatch as unknown;
    if (ifNoneMatch === undefined) return undefined;
    this.#require('conditionalWrite', 'a create-only copy', to);
    if (ifNoneMatch !== '*') throw new InvalidArgumentError(`ifNoneMatch must be '*', got ${JSON.stringify(ifNoneMatch)}`, { key: to });
    return '*';
  }

  async #copyThrough(from: string, to: string, ifNoneMatch: '*' | undefined, options: OperationOptions): Promise<ObjectInfo> {
    const { info, body } = await this.get(from, options);
    const writeOptions: WriteOptions = { ...options, contentType: info.contentType, size: info.size };
    if (Object.keys(info.metadata).length > 0) writeOptions.metadata = info.metadata;
    if (ifNoneMatch) writeOptions.ifNoneMatch = ifNoneMatch;
    return (this as Store).write(to, body, writeOptions);
  }

  // ---- the rest ----

  /** A URL that grants time-limited access to the object without credentials (needs `signedUrl`). */
  async signUrl(key: Gate<C, 'signedUrl', string>, options: SignUrlOptions = {}): Promise<string> {
    this.#require('signedUrl', 'a signed URL', key as string);
    const full = this.#absolute(key);
    const expiresIn = options.expiresIn ?? 900;
    if (!Number.isSafeInteger(expiresIn) || expiresIn < 1 || expiresIn > 604800) {
      throw new InvalidArgumentError(`expiresIn must be 1 to 604800 seconds, got ${String(expiresIn)}`, { key: key as string });
    }
    const method = options.method ?? 'GET';
    if (method !== 'GET' && method !== 'PUT') throw new InvalidArgumentError(`method must be 'GET' or 'PUT', got ${JSON.stringify(method)}`);
    if (options.contentType !== undefined) validateContentType(options.contentType, key as string);
    const signer = this.#signer;
    if (signer) return this.#call(key as string, {}, async () => signer.sign(full, { method, expiresIn, contentType: options.contentType }));
    return this.#call(key as string, {}, (_context, backend) => backend.signUrl!(full, { ...options, method, expiresIn }));
  }

  /** Resolves when the backend answers; throws a `StowageError` (usually `UNAVAILABLE`) otherwise. */
  async health(options: OperationOptions = {}): Promise<void> {
    await this.#call(undefined, options, (context, backend) => backend.health(context));
  }

  /**
   * Finds and removes what failed or abandoned writes left on the backend: temporary files and dead
   * locks (local), chunk rows no object points at (SQL), unfinished multipart uploads under this
   * store's root (S3). A leftover counts as abandoned when its writer is known to be gone, or once
   * it is older than `olderThanMs` (default a day). The report lists, kind by kind, what was found
   * and removed (with `dryRun`, what would be), and says what the backend cannot reclaim and why.
   * Objects are never touched. Not repeated under a retry policy: run it again instead.
   *
   * @example
   * ```ts
   * const report = await store.sweep({ dryRun: true })
   * for (const kind of report.kinds) console.log(kind.kind, kind.found, kind.bytes, kind.unreclaimable ?? '')
   * ```
   */
  async sweep(options: SweepOptions = {}): Promise<SweepReport> {
    const olderThanMs = options.olderThanMs ?? DEFAULT_SWEEP_AGE_MS;
    if (typeof olderThanMs !== 'number' || !Number.isFinite(olderThanMs) || olderThanMs < 0) {
      throw new InvalidArgumentError(`olderThanMs must be a non-negative number of milliseconds, got ${String(olderThanMs)}`);
    }
    const dryRun = options.dryRun ?? false;
    if (typeof dryRun !== 'boolean') throw new InvalidArgumentError(`dryRun must be a boolean, got ${String(dryRun)}`);
    const backend = this.#backend;
    const report = { backend: backend.name, dryRun, olderThanMs };
    if (!backend.sweep) {
      throwIfAborted(options.signal, undefined, backend.name);
      const note = `the '${backend.name}' backend does not implement sweep, so it cannot say what failed writes leave on it`;
      return { ...report, kinds: [], items: [], truncated: false, notes: [note], found: 0, removed: 0, bytes: 0 };
    }
    const result = await this.#call(undefined, { signal: options.signal, timeoutMs: options.timeoutMs, retry: false }, (context) =>
      backend.sweep!({ ...context, prefix: this.#root, olderThanMs, dryRun }),
    );
    const items = this.#root === '' ? result.items : result.items.map((item) => (item.key?.startsWith(this.#root) ? { ...item, key: this.#relative(item.key) } : item));
    const total = (field: 'found' | 'removed' | 'bytes'): number => result.kinds.reduce((sum, kind) => sum + kind[field], 0);
    return { ...report, ...result, items, found: total('found'), removed: total('removed'), bytes: total('bytes') };
  }

  /** Releases the backend's own connections and handles (shared by every store made with `at`). */
  async close(): Promise<void> {
    await this.#backend.close();
  }

  /** The backend's SDK client, driver, pool or path, for what stowage does not cover. */
  unwrap(): unknown {
    return this.#backend.unwrap();
  }

  /**
   * The adapter's backend wrapped in the store's `layers` (for adapter authors and wrappers); the
   * store's own retry, resumable-read and timeout layers are not part of it, since each store made
   * from it applies its own.
   */
  get backend(): Backend<C> {
    return this.#base;
  }
}

/** The cursor of an emulated delimiter listing: the backend's cursor and the last folder returned. */
function encodeFoldedCursor(backendCursor: string, lastPrefix: string | undefined): string {
  return Buffer.from(JSON.stringify([backendCursor, lastPrefix ?? null]), 'utf8').toString('base64url');
}

function decodeFoldedCursor(cursor: string): [string, string | undefined] {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(decoded) && decoded.length === 2) {
      const [backendCursor, lastPrefix] = decoded as [unknown, unknown];
      if (typeof backendCursor === 'string' && (typeof lastPrefix === 'string' || lastPrefix === null)) return [backendCursor, lastPrefix ?? undefined];
    }
  } catch {
    // not one of ours: reported below
  }
  throw new InvalidArgumentError('cursor does not come from a delimiter listing of this store');
}

/** The options of an operation that every operation it is built of shares. */
function operationOptions(options: OperationOptions): OperationOptions {
  return { signal: options.signal, timeoutMs: options.timeoutMs, retry: options.retry };
}

/** Fails with `InvalidArgumentError` when a stream yields more or fewer bytes than its declared size. */
async function* exactly(source: AsyncIterable<Uint8Array>, size: number, key: string): AsyncGenerator<Uint8Array> {
  let count = 0;
  for await (const chunk of source) {
    count += chunk.byteLength;
    if (count > size) throw new InvalidArgumentError(`body of ${JSON.stringify(key)} is longer than its declared size of ${size} bytes`, { key });
    yield chunk;
  }
  if (count !== size) throw new InvalidArgumentError(`body of ${JSON.stringify(key)} is ${count} bytes, not its declared size of ${size} bytes`, { key });
}
