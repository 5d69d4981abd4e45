/**
 * `RedisBackend`: the stowage contract on Redis, through ioredis. See lua-scripts.ts for the key
 * layout and the scripts that make every change atomic.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  AlreadyExistsError,
  InvalidArgumentError,
  NotFoundError,
  PreconditionFailedError,
  UnavailableError,
  defineCapabilities,
  resolveRange,
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
} from '@stowage/core';
import { COMMIT, COPY, DELETE, LIST, MOVE, OBJECT_FIELDS } from './lua-scripts.ts';
import { mapRedisError } from './redis-errors.ts';

/** What the Redis adapter declares: everything but signed URLs, on a flat key space in byte order. */
export const REDIS_CAPABILITIES: {
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

/** Options of {@link RedisBackend.open}. */
export interface RedisOptions {
  /** `redis://[user:password@]host:port/db` or `rediss://...` (TLS). Give this or `client`. */
  url?: string | undefined;
  /** A connected ioredis client to borrow; it is never closed by the backend. It must not set ioredis's own `keyPrefix`. */
  client?: Redis | undefined;
  /** Prefix of every Redis key of this store, so that several stores share one database (default `stowage:`). */
  keyPrefix?: string | undefined;
  /** Bytes per chunk key (default 1 MiB): memory stays bounded by this, and range reads fetch only the chunks they need. */
  chunkSize?: number | undefined;
  /** Seconds a staged chunk of an unfinished write lives (default 3600): a writer that dies leaves nothing behind for longer. */
  stagingTtl?: number | undefined;
  /** Seconds the chunks of a replaced or deleted object stay readable for reads already under way (default 300). */
  readGracePeriod?: number | undefined;
}

const DEFAULT_CHUNK_SIZE = 1024 * 1024;
const MAX_CHUNK_SIZE = 512 * 1024 * 1024; // Redis's largest string

interface Settings {
  prefix: string;
  chunkSize: number;
  stagingTtlMs: number;
  graceMs: number;
}

function positiveInteger(name: string, value: unknown, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new InvalidArgumentError(`redis: ${name} must be an integer from 1 to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function settingsOf(options: RedisOptions): Settings {
  if (options.keyPrefix !== undefined && typeof options.keyPrefix !== 'string') throw new InvalidArgumentError('redis: keyPrefix must be a string');
  return {
    prefix: options.keyPrefix ?? 'stowage:',
    chunkSize: positiveInteger('chunkSize', options.chunkSize, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE),
    stagingTtlMs: positiveInteger('stagingTtl', options.stagingTtl, 3600) * 1000,
    graceMs: positiveInteger('readGracePeriod', options.readGracePeriod, 300) * 1000,
  };
}

/** Where a URL points, for messages: host and port only, never the credentials. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '6379'}`;
  } catch {
    throw new InvalidArgumentError('redis: url is not a URL (expected redis://host:port/db)');
  }
}

interface StoredObject {
  version: string;
  chunks: number;
  size: number;
  chunkSize: number;
  info: ObjectInfo;
}

/** An object from the values of its hash's {@link OBJECT_FIELDS}, or undefined when it has none. */
function objectOf(key: string, values: readonly (string | null | undefined)[]): StoredObject | undefined {
  const [version, chunks, size, chunkSize, contentType, metadata, sha256, modified] = values;
  if (!version) return undefined;
  const info: ObjectInfo = {
    key,
    size: Number(size),
    lastModified: new Date(Number(modified)),
    etag: `"${version}"`,
    contentType: contentType ?? 'application/octet-stream',
    metadata: metadata ? (JSON.parse(metadata) as Record<string, string>) : {},
    sha256: sha256 || undefined,
  };
  return { version, chunks: Number(chunks), size: Number(size), chunkSize: Number(chunkSize), info };
}

function encodeCursor(last: string): string {
  return Buffer.from(last, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  if (decoded === '' || encodeCursor(decoded) !== cursor) throw new InvalidArgumentError(`redis: not a cursor of this store: ${JSON.stringify(cursor)}`);
  return decoded;
}

/**
 * A stowage backend that keeps blobs in Redis. Writes stream into chunk keys staged with a time to
 * live, then one Lua script checks the condition and publishes them atomically; listings walk a
 * sorted set in byte order.
 *
 * @example
 * ```ts
 * import { Store } from '@stowage/core'
 * import { RedisBackend } from 'stowage-redis-example'
 * const store = new Store(await RedisBackend.open({ url: 'redis://127.0.0.1:6379/0' }))
 * ```
 */
export class RedisBackend implements Backend<typeof REDIS_CAPABILITIES> {
  readonly name = 'redis';
  readonly capabilities: typeof REDIS_CAPABILITIES = REDIS_CAPABILITIES;
  readonly #client: Redis;
  readonly #owned: boolean;
  readonly #settings: Settings;

  private constructor(client: Redis, owned: boolean, settings: Settings) {
    this.#client = client;
    this.#owned = owned;
    this.#settings = settings;
  }

  /** Connects (or borrows `options.client`) and checks that the server answers. */
  static async open(options: RedisOptions): Promise<RedisBackend> {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('redis: options must be an object');
    const settings = settingsOf(options);
    if (options.client !== undefined) {
      if (!(options.client instanceof Redis)) throw new InvalidArgumentError('redis: client must be an ioredis Redis instance');
      if (options.client.options.keyPrefix) {
        throw new InvalidArgumentError("redis: the borrowed client sets ioredis's keyPrefix, which the Lua scripts cannot see; use the keyPrefix option instead");
      }
      return new RedisBackend(options.client, false, settings);
    }
    if (typeof options.url !== 'string') throw new InvalidArgumentError('redis: give url (redis://host:port/db) or client');
    const where = describeUrl(options.url);
    // Fail fast while disconnected instead of queueing commands for ever; ioredis keeps reconnecting.
    const client = new Redis(options.url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 10_000 });
    client.on('error', () => {
      // Connection errors reach the caller through the failed command; without a listener ioredis prints them.
    });
    try {
      await client.connect();
    } catch (cause) {
      client.disconnect();
      throw new UnavailableError(`redis: cannot connect to ${where}: ${(cause as Error).message}`, { backend: 'redis', cause });
    }
    return new RedisBackend(client, true, settings);
  }

  #objectKey(key: string): string {
    return `${this.#settings.prefix}o:${key}`;
  }

  get #index(): string {
    return `${this.#settings.prefix}index`;
  }

  get #chunkPrefix(): string {
    return `${this.#settings.prefix}c:`;
  }

  async #load(key: string): Promise<StoredObject | undefined> {
    return objectOf(key, await this.#client.hmget(this.#objectKey(key), ...OBJECT_FIELDS));
  }

  async #require(key: string): Promise<StoredObject> {
    const found = await this.#load(key);
    if (!found) throw new NotFoundError(`no object at ${JSON.stringify(key)}`, { key, backend: this.name });
    return found;
  }

  async stat(key: string): Promise<ObjectInfo> {
    try {
      return (await this.#require(key)).info;
    } catch (error) {
      throw mapRedisError(error, this.name, 'stat of', key);
    }
  }

  async read(key: string, options: OperationContext & { range?: ByteRange | undefined }): Promise<BackendReadResult> {
    let object: StoredObject;
    try {
      object = await this.#require(key);
    } catch (error) {
      throw mapRedisError(error, this.name, 'read of', key);
    }
    const range = options.range ? resolveRange(options.range, object.size, { key, backend: this.name }) : { offset: 0, length: object.size };
    return { info: object.info, body: this.#stream(key, object, range), range: options.range ? range : undefined };
  }

  /** The bytes of `range`, one chunk key (or the part of one that the range covers) per pull. */
  #stream(key: string, object: StoredObject, range: { offset: number; length: number }): ReadableStream<Uint8Array> {
    let offset = range.offset;
    const end = range.offset + range.length;
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          if (offset >= end) {
            controller.close();
            return;
          }
          const index = Math.floor(offset / object.chunkSize);
          const from = offset - index * object.chunkSize;
          const to = Math.min(object.chunkSize, end - index * object.chunkSize);
          let bytes: Buffer;
          try {
            bytes = await this.#client.getrangeBuffer(`${this.#chunkPrefix}${object.version}:${index}`, from, to - 1);
          } catch (error) {
            throw mapRedisError(error, this.name, 'read of', key);
          }
          // GETRANGE answers a missing key with nothing: the version was replaced and its grace period is over.
          if (bytes.byteLength !== to - from) {
            throw new UnavailableError(`redis: ${JSON.stringify(key)} was replaced or deleted while it was read, and its previous content has expired`, { key, backend: this.name });
          }
          offset += bytes.byteLength;
          controller.enqueue(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
        },
      },
      { highWaterMark: 0 },
    );
  }

  async write(key: string, request: BackendWriteRequest): Promise<ObjectInfo> {
    const version = randomUUID();
    const { chunkSize, stagingTtlMs } = this.#settings;
    let staged = 0;
    try {
      // The outcome is already certain: refuse before streaming the body (the commit checks again).
      if (request.ifNoneMatch === '*' || request.ifMatch !== undefined) {
        const current = await this.#client.hget(this.#objectKey(key), 'v');
        this.#checkCondition(key, current ?? undefined, request);
      }
      let parts: Uint8Array[] = [];
      let buffered = 0;
      const flush = async (bytes: Uint8Array): Promise<void> => {
        await this.#client.set(`${this.#chunkPrefix}${version}:${staged}`, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'PX', stagingTtlMs);
        staged += 1;
      };
      for await (const chunk of request.body) {
        let rest = chunk;
        while (buffered + rest.byteLength >= chunkSize) {
          const take = chunkSize - buffered;
          parts.push(rest.subarray(0, take));
          await flush(Buffer.concat(parts, chunkSize));
          rest = rest.subarray(take);
          parts = [];
          buffered = 0;
        }
        if (rest.byteLength > 0) {
          // A copy: the caller may reuse its buffer once the iterator moves on.
          parts.push(rest.slice());
          buffered += rest.byteLength;
        }
      }
      if (buffered > 0) await flush(Buffer.concat(parts, buffered));
      const size = request.bytesWritten();
      const condition = request.ifNoneMatch === '*' ? '*' : (request.ifMatch ?? '');
      const metadata = JSON.stringify(request.metadata);
      const reply = (await COMMIT.run(
        this.#client,
        [this.#objectKey(key), this.#index],
        [key, version, staged, size, chunkSize, request.contentType, metadata, request.sha256(), condition, this.#chunkPrefix, this.#settings.graceMs],
      )) as [string, string?];
      this.#checkReply(key, reply);
      return {
        key,
        size,
        lastModified: new Date(Number(reply[1])),
        etag: `"${version}"`,
        contentType: request.contentType,
        metadata: { ...request.metadata },
        sha256: request.sha256(),
      };
    } catch (error) {
      await this.#discard(version, staged);
      throw mapRedisError(error, this.name, 'write of', key);
    }
  }

  #checkCondition(key: string, version: string | undefined, request: { ifNoneMatch?: '*' | undefined; ifMatch?: string | undefined }): void {
    if (request.ifNoneMatch === '*' && version !== undefined) throw new AlreadyExistsError(`an object exists at ${JSON.stringify(key)}`, { key, backend: this.name });
    if (request.ifMatch !== undefined && (version === undefined || `"${version}"` !== request.ifMatch)) {
      throw new PreconditionFailedError(version === undefined ? `no object at ${JSON.stringify(key)} to compare with ${request.ifMatch}` : `the etag of ${JSON.stringify(key)} is not ${request.ifMatch}`, { key, backend: this.name });
    }
  }

  /** Turns a script's refusal into the error it stands for. */
  #checkReply(key: string, reply: readonly (string | undefined)[], source = key): void {
    switch (reply[0]) {
      case 'ok':
        return;
      case 'exists':
        throw new AlreadyExistsError(`an object exists at ${JSON.stringify(key)}`, { key, backend: this.name });
      case 'mismatch':
        throw new PreconditionFailedError(`the etag of ${JSON.stringify(key)} changed, or the object is gone`, { key, backend: this.name });
      case 'missing':
        throw new NotFoundError(`no object at ${JSON.stringify(source)}`, { key: source, backend: this.name });
      case 'lost':
        throw new UnavailableError(`redis: chunk ${reply[1]} of ${JSON.stringify(source)} expired before it could be stored (a write slower than stagingTtl?)`, { key, backend: this.name });
      default:
        throw new UnavailableError(`redis: unexpected script reply ${JSON.stringify(reply)}`, { key, backend: this.name });
    }
  }

  /** Removes the staged chunks of a write that did not commit; their time to live covers a failure here. */
  async #discard(version: string, staged: number): Promise<void> {
    if (staged === 0) return;
    const keys = Array.from({ length: staged }, (_, index) => `${this.#chunkPrefix}${version}:${index}`);
    await this.#client.del(...keys).catch(() => undefined);
  }

  async delete(key: string): Promise<void> {
    await this.deleteMany([key]);
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    try {
      await DELETE.run(this.#client, [...keys.map((key) => this.#objectKey(key)), this.#index], [...keys, this.#chunkPrefix, this.#settings.graceMs]);
    } catch (error) {
      throw mapRedisError(error, this.name, keys.length === 1 ? 'delete of' : `delete of ${keys.length} keys from`, keys.length === 1 ? keys[0] : undefined);
    }
  }

  async list(options: BackendListOptions): Promise<ListPage> {
    const { prefix, limit } = options;
    let bound = '';
    if (options.cursor !== undefined) {
      const last = decodeCursor(options.cursor);
      // After a folder `x/`, resume at `x0`: everything below `x/` sorts before it.
      if (!last.startsWith(prefix)) throw new InvalidArgumentError(`redis: the cursor belongs to another listing than the prefix ${JSON.stringify(prefix)}`);
      bound = last.endsWith('/') ? `[${last.slice(0, -1)}0` : `(${last}`;
    }
    let reply: [entries: string[][], more: number];
    try {
      reply = (await LIST.run(this.#client, [this.#index], [prefix, bound, limit, options.delimiter ?? '', `${this.#settings.prefix}o:`])) as [string[][], number];
    } catch (error) {
      throw mapRedisError(error, this.name, 'listing of', prefix);
    }
    const [entries, more] = reply;
    const items: ListEntry[] = [];
    const prefixes: string[] = [];
    for (const entry of entries) {
      if (entry[0] === 'p') prefixes.push(entry[1]!);
      else items.push({ key: entry[1]!, size: Number(entry[2]), lastModified: new Date(Number(entry[3])), etag: `"${entry[4]}"` });
    }
    const last = entries.at(-1)?.[1];
    return { items, prefixes, cursor: more === 1 && last !== undefined ? encodeCursor(last) : undefined };
  }

  async copy(from: string, to: string, options: BackendCopyOptions): Promise<ObjectInfo> {
    try {
      const reply = (await COPY.run(
        this.#client,
        [this.#objectKey(from), this.#objectKey(to), this.#index],
        [to, randomUUID(), options.ifNoneMatch === '*' ? '1' : '', this.#chunkPrefix, this.#settings.graceMs],
      )) as [string, (string | null)[]?];
      return this.#copied(to, from, reply);
    } catch (error) {
      throw mapRedisError(error, this.name, 'copy of', from);
    }
  }

  async move(from: string, to: string, options: BackendCopyOptions): Promise<ObjectInfo> {
    try {
      const reply = (await MOVE.run(
        this.#client,
        [this.#objectKey(from), this.#objectKey(to), this.#index],
        [from, to, options.ifNoneMatch === '*' ? '1' : '', this.#chunkPrefix, this.#settings.graceMs],
      )) as [string, (string | null)[]?];
      return this.#copied(to, from, reply);
    } catch (error) {
      throw mapRedisError(error, this.name, 'move of', from);
    }
  }

  /** The destination of a copy or move, from the script's reply. */
  #copied(to: string, from: string, reply: [string, unknown?]): ObjectInfo {
    if (reply[0] !== 'ok') this.#checkReply(to, [reply[0], typeof reply[1] === 'string' ? reply[1] : undefined], from);
    const object = objectOf(to, (reply[1] ?? []) as (string | null)[]);
    if (!object) throw new UnavailableError(`redis: ${JSON.stringify(to)} vanished right after it was written`, { key: to, backend: this.name });
    return object.info;
  }

  async health(): Promise<void> {
    try {
      await this.#client.ping();
    } catch (error) {
      throw mapRedisError(error, this.name, 'ping');
    }
  }

  async close(): Promise<void> {
    if (!this.#owned) return;
    await this.#client.quit().catch(() => this.#client.disconnect());
  }

  /** The ioredis client. */
  unwrap(): Redis {
    return this.#client;
  }
}
