/**
 * `@stowage/memory`: the reference adapter. Keeps objects in a `Map`, declares every capability, and
 * is what the docs and core's own tests run on.
 *
 * @module
 */
import {
  AlreadyExistsError,
  NotFoundError,
  PreconditionFailedError,
  checkOptions,
  compareUtf8,
  resolveRange,
  defineCapabilities,
  readUrlParameters,
  type AdapterDefinition,
  type Backend,
  type BackendCopyOptions,
  type BackendListOptions,
  type BackendReadResult,
  type BackendWriteRequest,
  type ByteRange,
  type ListEntry,
  type ListPage,
  type ObjectInfo,
  type OperationContext,
  type SweepResult,
} from '@stowage/core';

/** What the memory adapter declares. */
export const MEMORY_CAPABILITIES: {
  readonly rangeRead: true;
  readonly conditionalWrite: true;
  readonly userMetadata: true;
  readonly listDelimiter: true;
  readonly copy: 'native';
  readonly move: 'atomic';
  readonly signedUrl: false;
  readonly multipart: true;
  readonly hierarchical: boolean;
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
  hierarchical: false as boolean,
  maxObjectSize: null,
  listOrder: 'utf8',
});

/** Options of {@link MemoryBackend}. */
export interface MemoryOptions {
  /** Enforce the filesystem rule (no `a` beside `a/b`), to test code meant for the local adapter. */
  hierarchical?: boolean | undefined;
}

interface Entry {
  bytes: Uint8Array;
  info: ObjectInfo;
}

const READ_SLICE = 64 * 1024;
let etagCounter = 0;

function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  return Buffer.from(cursor, 'base64url').toString('utf8');
}

function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (offset >= bytes.byteLength) {
          controller.close();
          return;
        }
        const end = Math.min(bytes.byteLength, offset + READ_SLICE);
        // A copy, so that a consumer that transfers or mutates the chunk cannot change the stored object.
        controller.enqueue(bytes.slice(offset, end));
        offset = end;
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * A backend that keeps everything in memory. Writes are buffered until the body ends, then
 * committed in one synchronous step, so conditional writes are exact under concurrency.
 *
 * @example
 * ```ts
 * import { Store } from '@stowage/core'
 * import { MemoryBackend } from '@stowage/memory'
 * const store = new Store(new MemoryBackend())
 * await store.write('a.txt', 'hello')
 * ```
 */
export class MemoryBackend implements Backend<typeof MEMORY_CAPABILITIES> {
  readonly name = 'memory';
  readonly capabilities: typeof MEMORY_CAPABILITIES;
  readonly #objects = new Map<string, Entry>();
  /** Keys in UTF-8 byte order, kept sorted on every change. */
  readonly #sorted: string[] = [];
  readonly #hierarchical: boolean;

  constructor(options?: MemoryOptions) {
    this.#hierarchical = checkOptions(options, 'new MemoryBackend').hierarchical === true;
    this.capabilities = this.#hierarchical ? { ...MEMORY_CAPABILITIES, hierarchical: true } : MEMORY_CAPABILITIES;
  }

  #index(key: string): number {
    let low = 0;
    let high = this.#sorted.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (compareUtf8(this.#sorted[mid]!, key) < 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  #get(key: string): Entry {
    const entry = this.#objects.get(key);
    if (!entry) throw new NotFoundError(`no object at ${JSON.stringify(key)}`, { key, backend: this.name });
    return entry;
  }

  #checkHierarchy(key: string): void {
    if (!this.#hierarchical) return;
    let slash = key.indexOf('/');
    while (slash !== -1) {
      const ancestor = key.slice(0, slash);
      if (this.#objects.has(ancestor)) {
        throw new AlreadyExistsError(`cannot write ${JSON.stringify(key)}: ${JSON.stringify(ancestor)} is a file`, { key, backend: this.name });
      }
      slash = key.indexOf('/', slash + 1);
    }
    const below = this.#sorted[this.#index(`${key}/`)];
    if (below?.startsWith(`${key}/`)) {
      throw new AlreadyExistsError(`cannot write ${JSON.stringify(key)}: it is a folder`, { key, backend: this.name });
    }
  }

  #commit(key: string, bytes: Uint8Array, info: Omit<ObjectInfo, 'key' | 'etag' | 'lastModified' | 'size'>): ObjectInfo {
    const full: ObjectInfo = {
      ...info,
      key,
      size: bytes.byteLength,
      etag: `"${(++etagCounter).toString(36)}-${Date.now().toString(36)}"`,
      lastModified: new Date(),
    };
    if (!this.#objects.has(key)) this.#sorted.splice(this.#index(key), 0, key);
    this.#objects.set(key, { bytes, info: full });
    return { ...full, metadata: { ...full.metadata } };
  }

  #remove(key: string): void {
    if (!this.#objects.delete(key)) return;
    const index = this.#index(key);
    if (this.#sorted[index] === key) this.#sorted.splice(index, 1);
  }

  #checkConditions(key: string, ifNoneMatch: '*' | undefined, ifMatch: string | undefined): void {
    const current = this.#objects.get(key);
    if (ifNoneMatch === '*' && current) {
      throw new AlreadyExistsError(`an object exists at ${JSON.stringify(key)}`, { key, backend: this.name });
    }
    if (ifMatch !== undefined && current?.info.etag !== ifMatch) {
      throw new PreconditionFailedError(
        current ? `the etag of ${JSON.stringify(key)} is not ${ifMatch}` : `no object at ${JSON.stringify(key)} to compare with ${ifMatch}`,
        { key, backend: this.name },
      );
    }
  }

  async stat(key: string): Promise<ObjectInfo> {
    const { info } = this.#get(key);
    return { ...info, metadata: { ...info.metadata } };
  }

  async read(key: string, options: OperationContext & { range?: ByteRange | undefined }): Promise<BackendReadResult> {
    const { bytes, info } = this.#get(key);
    const copy = { ...info, metadata: { ...info.metadata } };
    if (!options.range) return { info: copy, body: streamOf(bytes) };
    const range = resolveRange(options.range, bytes.byteLength, { key, backend: this.name });
    return { info: copy, body: streamOf(bytes.subarray(range.offset, range.offset + range.length)), range };
  }

  async write(key: string, request: BackendWriteRequest): Promise<ObjectInfo> {
    // Fail early when the outcome is already certain; checked again at commit.
    this.#checkConditions(key, request.ifNoneMatch, request.ifMatch);
    this.#checkHierarchy(key);
    const parts: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of request.body) {
      parts.push(chunk.slice());
      total += chunk.byteLength;
    }
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const part of parts) {
      bytes.set(part, offset);
      offset += part.byteLength;
    }
    this.#checkConditions(key, request.ifNoneMatch, request.ifMatch);
    this.#checkHierarchy(key);
    return this.#commit(key, bytes, {
      contentType: request.contentType,
      metadata: { ...request.metadata },
      sha256: request.sha256(),
    });
  }

  async delete(key: string): Promise<void> {
    this.#remove(key);
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.#remove(key);
  }

  async list(options: BackendListOptions): Promise<ListPage> {
    const { prefix, delimiter, limit } = options;
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    const items: ListEntry[] = [];
    const prefixes: string[] = [];
    // Resume after the cursor; after a folder (`a/`), skip everything below it at once.
    const start = after === undefined ? prefix : after.endsWith('/') ? `${after.slice(0, -1)}0` : after;
    let index = this.#index(compareUtf8(start, prefix) > 0 ? start : prefix);
    let last: string | undefined;
    while (index < this.#sorted.length) {
      const key = this.#sorted[index]!;
      if (!key.startsWith(prefix)) break;
      if (after !== undefined && (compareUtf8(key, after) <= 0 || (after.endsWith('/') && key.startsWith(after)))) {
        index++;
        continue;
      }
      if (items.length + prefixes.length === limit) return { items, prefixes, cursor: encodeCursor(last!) };
      const slash = delimiter ? key.indexOf('/', prefix.length) : -1;
      if (slash !== -1) {
        const folder = key.slice(0, slash + 1);
        prefixes.push(folder);
        last = folder;
        // Every key below `x/` sorts before `x0` ('0' follows '/'): jump past the folder.
        index = this.#index(`${folder.slice(0, -1)}0`);
        continue;
      }
      const { info } = this.#objects.get(key)!;
      items.push({ key, size: info.size, lastModified: info.lastModified, etag: info.etag });
      last = key;
      index++;
    }
    return { items, prefixes };
  }

  async copy(from: string, to: string, options: BackendCopyOptions): Promise<ObjectInfo> {
    const source = this.#get(from);
    this.#checkConditions(to, options.ifNoneMatch, undefined);
    this.#checkHierarchy(to);
    return this.#commit(to, source.bytes, {
      contentType: source.info.contentType,
      metadata: { ...source.info.metadata },
      sha256: source.info.sha256,
    });
  }

  async move(from: string, to: string, options: BackendCopyOptions): Promise<ObjectInfo> {
    const info = await this.copy(from, to, options);
    this.#remove(from);
    return info;
  }

  /** Nothing to reclaim: a write keeps its bytes in its own buffer until it commits, and a failed one is garbage-collected with it. */
  async sweep(): Promise<SweepResult> {
    return { kinds: [], items: [], truncated: false, notes: ['nothing to reclaim: a failed write on the memory backend leaves nothing behind'] };
  }

  async health(): Promise<void> {}

  async close(): Promise<void> {}

  /** The map of keys to stored entries (read it, don't change it). */
  unwrap(): ReadonlyMap<string, { bytes: Uint8Array; info: ObjectInfo }> {
    return this.#objects;
  }
}

/** The registry's entry for `memory://` URLs and `type: 'memory'`. */
export const adapter: AdapterDefinition<MemoryOptions> = {
  name: 'memory',
  schemes: ['memory'],
  create: (options) => new MemoryBackend(options),
  optionsFromUrl: (url) => ({ hierarchical: readUrlParameters(url, { hierarchical: 'boolean' }, { backend: 'memory' }).values.hierarchical === true }),
};
