/**
 * The local filesystem backend.
 *
 * @module
 */
import { constants, mkdirSync, realpathSync, statSync } from 'node:fs';
import { access, copyFile, lstat, open, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  AbortedError,
  AlreadyExistsError,
  InvalidArgumentError,
  NotFoundError,
  PreconditionFailedError,
  SweepTally,
  UnavailableError,
  defineCapabilities,
  inferContentType,
  resolveRange,
  type Backend,
  type BackendCopyOptions,
  type BackendListOptions,
  type BackendReadResult,
  type BackendSweepOptions,
  type BackendWriteRequest,
  type ByteRange,
  type ListEntry,
  type ListPage,
  type ObjectInfo,
  type OperationContext,
  type SweepResult,
} from '@stowage/core';
import { hierarchyError, inspectKey, openForReading, placeFile, pruneParents, type Occupant } from './confinement.ts';
import { bytesStream, copyBetween, fileStream, readWhole, writeBody } from './file-io.ts';
import { BACKEND_NAME, hasCode, toStowageError } from './fs-errors.ts';
import { INTERNAL_DIR, RootLayout } from './layout.ts';
import { LOCAL_SWEEP_KINDS, sweepMetadataRecords, sweepTemporaries } from './leftovers.ts';
import { KeyLocks } from './locks.ts';
import { readMetadata, removeMetadata, removeOtherMetadata, writeMetadata, type StoredMetadata } from './metadata-files.ts';
import { walkListing } from './listing.ts';
import { syncDirectory } from './sync.ts';
import { etagOf, lastModifiedOf, nextModificationTime, sameVersion, versionOf, type FileVersion } from './versions.ts';

/** What the local adapter declares. */
export const LOCAL_CAPABILITIES: {
  readonly rangeRead: true;
  readonly conditionalWrite: true;
  readonly userMetadata: true;
  readonly listDelimiter: true;
  readonly copy: 'native';
  readonly move: 'atomic';
  readonly signedUrl: false;
  readonly multipart: false;
  readonly hierarchical: true;
  readonly maxObjectSize: null;
  readonly listOrder: 'utf8';
  readonly reservedSegments: readonly ['.stowage'];
} = defineCapabilities({
  rangeRead: true,
  conditionalWrite: true,
  userMetadata: true,
  listDelimiter: true,
  copy: 'native',
  move: 'atomic',
  signedUrl: false,
  multipart: false,
  hierarchical: true,
  maxObjectSize: null,
  listOrder: 'utf8',
  // Any depth: a store nested in this one's folder keeps its internals there too.
  reservedSegments: [INTERNAL_DIR] as const,
});

/** Options of {@link LocalBackend}. */
export interface LocalOptions {
  /**
   * The directory that holds the objects (created when missing). Relative paths resolve against the
   * working directory. The key `a/b.txt` is the file `<root>/a/b.txt`.
   */
  root: string;
  /**
   * Flush each written file and the directories it is renamed into (`fsync`) before a write
   * returns, so that it survives a power loss, not only a crash. Off by default: slower, and most
   * uses only need crash atomicity, which renames give anyway.
   */
  fsync?: boolean | undefined;
  /** Give up waiting for another writer's lock on a key after this many milliseconds (default 60 000) with `UnavailableError`. */
  lockTimeoutMs?: number | undefined;
  /**
   * A lock held longer than this many milliseconds (default 30 000) is taken to be left by a crashed
   * process and is broken. Locks of dead processes on this machine are broken at once; this age
   * matters for other machines sharing the directory. Locks are held for milliseconds.
   */
  staleLockMs?: number | undefined;
}

/** How often `stat`/`read` look again when a version was replaced between opening it and reading its metadata. */
const METADATA_ATTEMPTS = 8;
/** Objects up to this size are read whole while their record is read, in one trip to the thread pool. */
const PREFETCH_BYTES = 64 * 1024;
/** Metadata records kept in memory (a few hundred bytes each). */
const RECORD_CACHE_ENTRIES = 4096;
/** Deletes of `deleteMany` in flight at once. */
const DELETE_CONCURRENCY = 8;

interface Temporary {
  path: string;
  handle: FileHandle;
}

function positiveOption(options: LocalOptions, name: 'lockTimeoutMs' | 'staleLockMs', fallback: number): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(`local backend option '${name}' must be a positive number of milliseconds, got ${String(value)}`, { backend: BACKEND_NAME });
  }
  return value;
}

function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (key === '' || encodeCursor(key) !== cursor) {
    throw new InvalidArgumentError('invalid cursor: pass the cursor of a previous page unchanged', { backend: BACKEND_NAME });
  }
  return key;
}

function throwIfAborted(signal: AbortSignal | undefined, key: string): void {
  if (signal?.aborted) throw new AbortedError(`operation on ${JSON.stringify(key)} aborted`, { key, backend: BACKEND_NAME, cause: signal.reason });
}

/** Fails when a conditional write's condition does not hold for what stands at the key now. */
function checkConditions(key: string, occupant: Occupant, ifNoneMatch: '*' | undefined, ifMatch: string | undefined): void {
  if (ifNoneMatch === '*' && occupant.kind === 'file') {
    throw new AlreadyExistsError(`an object exists at ${JSON.stringify(key)}`, { key, backend: BACKEND_NAME });
  }
  if (ifMatch !== undefined) {
    if (occupant.kind !== 'file') {
      throw new PreconditionFailedError(`no object at ${JSON.stringify(key)} to compare with ${ifMatch}`, { key, backend: BACKEND_NAME });
    }
    if (etagOf(occupant.version) !== ifMatch) {
      throw new PreconditionFailedError(`the etag of ${JSON.stringify(key)} is not ${ifMatch}`, { key, backend: BACKEND_NAME });
    }
  }
}

/** Fails when a folder, or a file above it, keeps the key from holding an object. */
function checkPlaceable(key: string, action: string, occupant: Occupant): void {
  if (occupant.kind === 'folder' || occupant.kind === 'blocked') throw hierarchyError(key, action, occupant);
}

/**
 * A backend that stores objects as plain files under a root directory: the key `a/b.txt` is the
 * file `<root>/a/b.txt`, so people and other tools see the files as they are.
 *
 * - Writes stream into a temporary file in `<root>/.stowage/tmp` and rename it into place: readers
 *   see the old file or the new one, and a failed or aborted write leaves the old one untouched.
 * - Content type, user metadata and SHA-256 live in `<root>/.stowage/meta`, tied to the exact
 *   version of the file they describe.
 * - Conditional writes hold across processes through per-key lock files in `<root>/.stowage/locks`.
 * - A filesystem cannot hold both `a` and `a/b`: such a write fails with `AlreadyExistsError`.
 * - No key, `..` or symbolic link reaches anything outside the root.
 *
 * @example
 * ```ts
 * import { Store } from '@stowage/core'
 * import { LocalBackend } from '@stowage/local'
 *
 * const store = new Store(new LocalBackend({ root: './data' }))
 * await store.write('notes/hello.txt', 'Hello!')
 * console.log(await store.readText('notes/hello.txt')) // Hello!
 * ```
 */
export class LocalBackend implements Backend<typeof LOCAL_CAPABILITIES> {
  /** `'local'`. */
  readonly name = BACKEND_NAME;
  /** What this backend can do: everything but signed URLs and multipart, with `hierarchical: true`. */
  readonly capabilities: typeof LOCAL_CAPABILITIES = LOCAL_CAPABILITIES;
  readonly #layout: RootLayout;
  readonly #locks: KeyLocks;
  readonly #fsync: boolean;
  #reclaimed: Promise<void> | undefined;

  /**
   * Opens (and creates, when missing) the root directory. Throws `InvalidArgumentError` for bad
   * options and a `StowageError` when the root cannot be created or is not a directory.
   */
  constructor(options: LocalOptions) {
    if (typeof options !== 'object' || options === null || typeof options.root !== 'string' || options.root === '') {
      throw new InvalidArgumentError("the local backend needs a 'root' directory", { backend: BACKEND_NAME });
    }
    const lockTimeoutMs = positiveOption(options, 'lockTimeoutMs', 60_000);
    const staleMs = positiveOption(options, 'staleLockMs', 30_000);
    const requested = resolve(options.root);
    let root: string;
    try {
      mkdirSync(requested, { recursive: true });
      // Resolved once: every path is built from the real root, so links above it do not matter.
      root = realpathSync.native(requested);
      if (!statSync(root).isDirectory()) throw new InvalidArgumentError(`the root ${JSON.stringify(requested)} is not a directory`, { backend: BACKEND_NAME });
    } catch (error) {
      if (hasCode(error, 'EEXIST', 'ENOTDIR')) {
        throw new InvalidArgumentError(`the root ${JSON.stringify(requested)} is not a directory`, { backend: BACKEND_NAME, cause: error });
      }
      throw toStowageError(error, undefined, `open the root ${JSON.stringify(requested)}`);
    }
    this.#layout = new RootLayout(root);
    try {
      for (const dir of [this.#layout.tmpDir, this.#layout.metaDir, this.#layout.locksDir]) mkdirSync(dir, { recursive: true });
    } catch (error) {
      throw toStowageError(error, undefined, `create ${JSON.stringify(this.#layout.internalDir)}`);
    }
    this.#locks = new KeyLocks(this.#layout, { staleMs, timeoutMs: lockTimeoutMs });
    this.#fsync = options.fsync === true;
  }

  /** The root directory's real path. */
  get root(): string {
    return this.#layout.root;
  }

  // ---- reading ----

  /** The metadata of exactly this version, or `'replaced'` when the key no longer holds it. */
  /**
   * Records by key and file version. A record never changes once written for a version (a rewrite
   * makes a new inode and time), so a hit is always right, across processes too.
   */
  readonly #records = new Map<string, StoredMetadata>();

  #remember(key: string, version: FileVersion, stored: StoredMetadata): void {
    const id = `${version.ino}:${version.mtimeNs}:${version.size}\0${key}`;
    this.#records.delete(id);
    this.#records.set(id, stored);
    if (this.#records.size > RECORD_CACHE_ENTRIES) this.#records.delete(this.#records.keys().next().value!);
  }

  async #metadataOf(key: string, version: FileVersion): Promise<StoredMetadata | undefined | 'replaced'> {
    const cached = this.#records.get(`${version.ino}:${version.mtimeNs}:${version.size}\0${key}`);
    if (cached) return cached;
    const stored = await readMetadata(this.#layout, key, version);
    if (stored !== undefined) {
      this.#remember(key, version, stored);
      return stored;
    }
    // A commit removes the record of the version it replaced: if that happened between opening the
    // file and reading its record, look again rather than answer without metadata.
    const now = await lstat(this.#layout.pathOf(key), { bigint: true }).catch(() => undefined);
    return now !== undefined && now.isFile() && sameVersion(versionOf(now), version) ? undefined : 'replaced';
  }

  #info(key: string, version: FileVersion, stored: StoredMetadata | undefined): ObjectInfo {
    const info: ObjectInfo = {
      key,
      size: version.size,
      lastModified: lastModifiedOf(version),
      etag: etagOf(version),
      // A file without a record (written by another tool) answers like any object without a type.
      contentType: stored?.contentType ?? inferContentType(key),
      metadata: stored ? { ...stored.metadata } : {},
    };
    if (stored?.sha256 !== undefined) info.sha256 = stored.sha256;
    return info;
  }

  /**
   * Opens the object with its metadata, both of one version; the caller closes the handle. With
   * `prefetch`, an object of at most that many bytes is read whole at the same time as its record,
   * and comes back as `data` (the handle is then closed already).
   */
  async #open(
    key: string,
    action: string,
    prefetch = 0,
  ): Promise<{ handle: FileHandle; version: FileVersion; stored: StoredMetadata | undefined; data?: Uint8Array | undefined }> {
    for (let attempt = 1; ; attempt++) {
      const { handle, version } = await openForReading(this.#layout, key, action);
      let data: Uint8Array | undefined;
      let stored: StoredMetadata | undefined | 'replaced';
      try {
        const small = version.size <= prefetch;
        [stored, data] = await Promise.all([this.#metadataOf(key, version), small ? readWhole(handle, version.size, key) : undefined]);
      } catch (error) {
        await handle.close();
        throw error;
      }
      if (stored !== 'replaced' || attempt === METADATA_ATTEMPTS) {
        const result = { handle, version, stored: stored === 'replaced' ? undefined : stored, data };
        // Nothing waits on closing a read-only descriptor whose bytes are already in memory.
        if (data) void handle.close().catch(() => undefined);
        return result;
      }
      await handle.close();
    }
  }

  /** The object's metadata; `NotFoundError` when missing. */
  async stat(key: string, context: OperationContext = {}): Promise<ObjectInfo> {
    try {
      throwIfAborted(context.signal, key);
      const { handle, version, stored } = await this.#open(key, 'stat');
      await handle.close();
      return this.#info(key, version, stored);
    } catch (error) {
      throw toStowageError(error, key, 'stat');
    }
  }

  /** Opens the object (or a range of it): the stream reads from one open descriptor, so it never mixes versions. */
  async read(key: string, options: OperationContext & { range?: ByteRange | undefined } = {}): Promise<BackendReadResult> {
    try {
      throwIfAborted(options.signal, key);
      const { handle, version, stored, data } = await this.#open(key, 'read', PREFETCH_BYTES);
      const info = this.#info(key, version, stored);
      if (options.range === undefined) return { info, body: data ? bytesStream(data) : fileStream(handle, 0, version.size, key) };
      let range: { offset: number; length: number };
      try {
        range = resolveRange(options.range, version.size, { key, backend: this.name });
      } catch (error) {
        if (!data) await handle.close();
        throw error;
      }
      const body = data ? bytesStream(data.subarray(range.offset, range.offset + range.length)) : fileStream(handle, range.offset, range.length, key);
      return { info, body, range };
    } catch (error) {
      throw toStowageError(error, key, 'read');
    }
  }

  // ---- writing ----

  /**
   * Removes what writers of this machine that no longer run left behind (temporary files, locks and
   * the files of locks being created), once per backend, before its first write. What may belong to
   * a live writer, or to another machine, waits for `sweep`.
   */
  #reclaimOnce(): Promise<void> {
    this.#reclaimed ??= (async () => {
      const tally = new SweepTally({ dryRun: false }, LOCAL_SWEEP_KINDS);
      await sweepTemporaries(this.#layout, tally, Number.POSITIVE_INFINITY, true).catch(() => {});
      await this.#locks.sweep(tally, Number.POSITIVE_INFINITY, true).catch(() => {});
    })();
    return this.#reclaimed;
  }

  /**
   * Reclaims temporary files and locks whose writer no longer runs on this machine (or, another
   * machine's, older than `olderThanMs`; locks also once older than `staleLockMs`), and the metadata
   * records of versions no longer at their key (under `prefix`, each checked under its key's lock).
   * Objects are never touched.
   */
  async sweep(options: BackendSweepOptions): Promise<SweepResult> {
    const tally = new SweepTally(options, LOCAL_SWEEP_KINDS);
    try {
      await sweepTemporaries(this.#layout, tally, options.olderThanMs);
      await this.#locks.sweep(tally, options.olderThanMs);
      await sweepMetadataRecords(this.#layout, this.#locks, tally, options.prefix, options.olderThanMs);
    } catch (error) {
      throw toStowageError(error, undefined, 'sweep', this.#layout.root);
    }
    return tally.result();
  }

  async #createTemporary(): Promise<Temporary> {
    await this.#reclaimOnce();
    const path = this.#layout.temporaryPath();
    let handle: FileHandle;
    try {
      handle = await open(path, 'wx+');
    } catch (error) {
      if (!hasCode(error, 'ENOENT')) throw error;
      try {
        await this.#layout.ensureInternalDirectory(this.#layout.tmpDir);
      } catch (cause) {
        if (hasCode(cause, 'ENOENT')) throw this.#rootMissing(cause);
        throw cause;
      }
      handle = await open(path, 'wx+');
    }
    return { path, handle };
  }

  #rootMissing(cause: unknown): UnavailableError {
    return new UnavailableError(`the root ${JSON.stringify(this.#layout.root)} is missing`, { backend: BACKEND_NAME, cause });
  }

  async #discard(temporary: Temporary): Promise<void> {
    await temporary.handle.close().catch(() => {});
    await unlink(temporary.path).catch(() => {});
  }

  /**
   * Renames a fully written temporary file into place under the key's lock: checks the conditions
   * against what stands there now, stamps the new version, writes its metadata, renames. Always
   * consumes the temporary file (renamed or removed).
   */
  async #commit(
    key: string,
    temporary: Temporary,
    stored: () => StoredMetadata,
    conditions: { ifNoneMatch?: '*' | undefined; ifMatch?: string | undefined; signal?: AbortSignal | undefined },
    action: string,
  ): Promise<ObjectInfo> {
    let placed = false;
    try {
      return await this.#locks.withLocks([key], conditions.signal, async () => {
        const current = await inspectKey(this.#layout, key, action);
        checkConditions(key, current, conditions.ifNoneMatch, conditions.ifMatch);
        checkPlaceable(key, action, current);
        const time = nextModificationTime(current.kind === 'file' ? current.version : undefined);
        await temporary.handle.utimes(time, time);
        // The data was flushed before the lock; this flushes the new times, which the metadata names.
        if (this.#fsync) await temporary.handle.sync();
        const version = versionOf(await temporary.handle.stat({ bigint: true }));
        const metadata = stored();
        // The record goes first: it applies only once its inode is at the key, so both switch at the rename.
        const record = await writeMetadata(this.#layout, key, version, metadata, this.#fsync);
        try {
          await placeFile(this.#layout, temporary.path, key, action);
        } catch (error) {
          await unlink(record).catch(() => {});
          throw error;
        }
        placed = true;
        this.#remember(key, version, metadata);
        if (this.#fsync) await syncDirectory(dirname(this.#layout.pathOf(key)));
        // The write is done; records of replaced versions are only clutter (and ignored) if this fails.
        await removeOtherMetadata(this.#layout, key, version.ino).catch(() => {});
        return this.#info(key, version, metadata);
      });
    } finally {
      if (placed) await temporary.handle.close().catch(() => {});
      else await this.#discard(temporary);
    }
  }

  /**
   * Streams the body into a temporary file, then renames it into place: atomic, memory bounded by
   * one chunk. A body that throws, an abort, or a failed condition leaves the old object as it was.
   */
  async write(key: string, request: BackendWriteRequest): Promise<ObjectInfo> {
    const { ifNoneMatch, ifMatch, signal } = request;
    try {
      // Fail before reading the body when the outcome is already certain; checked again under the lock.
      const early = await inspectKey(this.#layout, key, 'write');
      checkConditions(key, early, ifNoneMatch, ifMatch);
      checkPlaceable(key, 'write', early);
      const temporary = await this.#createTemporary();
      try {
        await writeBody(temporary.handle, request.body);
        // Flush the bulk of the data outside the key's lock, so that other writers wait less.
        if (this.#fsync) await temporary.handle.datasync();
      } catch (error) {
        await this.#discard(temporary);
        throw error;
      }
      const stored = (): StoredMetadata => ({ contentType: request.contentType, metadata: { ...request.metadata }, sha256: request.sha256() });
      return await this.#commit(key, temporary, stored, { ifNoneMatch, ifMatch, signal }, 'write');
    } catch (error) {
      throw toStowageError(error, key, 'write', this.#layout.root);
    }
  }

  // ---- deleting ----

  async #deleteOne(key: string, signal: AbortSignal | undefined): Promise<void> {
    await this.#locks.withLocks([key], signal, async () => {
      const occupant = await inspectKey(this.#layout, key, 'delete');
      if (occupant.kind === 'file') {
        try {
          await unlink(this.#layout.pathOf(key));
        } catch (error) {
          if (!hasCode(error, 'ENOENT')) throw error;
        }
        if (this.#fsync) await syncDirectory(dirname(this.#layout.pathOf(key)));
      }
      await removeMetadata(this.#layout, key);
      // Empty folders go too, so that the folder disappears from listings and `a` can be a file again.
      if (occupant.kind === 'file') await pruneParents(this.#layout, key);
    });
  }

  /** Deletes the object; a missing key (or a folder) succeeds. Empty parent folders are removed. */
  async delete(key: string, context: OperationContext = {}): Promise<void> {
    try {
      await this.#deleteOne(key, context.signal);
    } catch (error) {
      throw toStowageError(error, key, 'delete', this.#layout.root);
    }
  }

  /** Deletes several objects, a few at a time; missing keys are ignored. */
  async deleteMany(keys: readonly string[], context: OperationContext = {}): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < keys.length) {
        const key = keys[next++]!;
        throwIfAborted(context.signal, key);
        try {
          await this.#deleteOne(key, context.signal);
        } catch (error) {
          throw toStowageError(error, key, 'delete', this.#layout.root);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, keys.length) }, worker));
  }

  // ---- listing ----

  /** One page of keys in UTF-8 byte order; the cursor resumes after the last key or prefix returned. */
  async list(options: BackendListOptions): Promise<ListPage> {
    const { prefix, limit, signal } = options;
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    const items: ListEntry[] = [];
    const prefixes: string[] = [];
    let last: string | undefined;
    try {
      for await (const entry of walkListing(this.#layout, { prefix, delimiter: options.delimiter === '/', after })) {
        throwIfAborted(signal, prefix);
        // One entry past the page tells whether there is a next page, without a cursor to nowhere.
        if (items.length + prefixes.length === limit) return { items, prefixes, cursor: encodeCursor(last!) };
        if (entry.kind === 'prefix') prefixes.push(entry.key);
        else items.push({ key: entry.key, size: entry.version.size, lastModified: lastModifiedOf(entry.version), etag: etagOf(entry.version) });
        last = entry.key;
      }
    } catch (error) {
      throw toStowageError(error, prefix, 'list');
    }
    return { items, prefixes };
  }

  // ---- copy and move ----

  /** A copy of the open source file in a new temporary file, made by the kernel where it can. */
  async #copyToTemporary(from: string, source: { handle: FileHandle; version: FileVersion }): Promise<Temporary> {
    const temporary = await this.#createTemporary();
    try {
      let copied = false;
      try {
        // copyFile works on paths (with reflinks or copy_file_range): use it only if it provably
        // copied the version we opened, not one a writer renamed into place meanwhile.
        await copyFile(this.#layout.pathOf(from), temporary.path, constants.COPYFILE_FICLONE);
        const now = await lstat(this.#layout.pathOf(from), { bigint: true });
        const result = await temporary.handle.stat({ bigint: true });
        copied = now.isFile() && sameVersion(versionOf(now), source.version) && Number(result.size) === source.version.size;
      } catch {
        copied = false;
      }
      if (!copied) {
        await temporary.handle.truncate(0);
        await copyBetween(source.handle, temporary.handle, source.version.size);
      }
      if (this.#fsync) await temporary.handle.datasync();
      return temporary;
    } catch (error) {
      await this.#discard(temporary);
      throw error;
    }
  }

  /** Copies `from` to `to` on disk (content type, metadata and digest too); `to` gets a new version. */
  async copy(from: string, to: string, options: BackendCopyOptions = {}): Promise<ObjectInfo> {
    const { ifNoneMatch, signal } = options;
    try {
      const early = await inspectKey(this.#layout, to, 'copy to');
      checkConditions(to, early, ifNoneMatch, undefined);
      checkPlaceable(to, 'copy to', early);
      const source = await this.#open(from, 'copy');
      let temporary: Temporary;
      try {
        temporary = await this.#copyToTemporary(from, source);
      } finally {
        await source.handle.close();
      }
      const stored: StoredMetadata = source.stored ?? { contentType: inferContentType(from), metadata: {} };
      return await this.#commit(to, temporary, () => stored, { ifNoneMatch, signal }, 'copy to');
    } catch (error) {
      throw toStowageError(error, from, 'copy', this.#layout.root);
    }
  }

  /**
   * Moves `from` to `to` with one atomic rename, under both keys' locks. The file keeps its inode and
   * modification time, so the moved object keeps its etag and `lastModified`.
   */
  async move(from: string, to: string, options: BackendCopyOptions = {}): Promise<ObjectInfo> {
    const { ifNoneMatch, signal } = options;
    try {
      return await this.#locks.withLocks([from, to], signal, async () => {
        const source = await inspectKey(this.#layout, from, 'move');
        if (source.kind !== 'file') throw new NotFoundError(`no object at ${JSON.stringify(from)}`, { key: from, backend: BACKEND_NAME });
        const target = await inspectKey(this.#layout, to, 'move to');
        checkConditions(to, target, ifNoneMatch, undefined);
        checkPlaceable(to, 'move to', target);
        const stored = (await readMetadata(this.#layout, from, source.version)) ?? { contentType: inferContentType(from), metadata: {} };
        const record = await writeMetadata(this.#layout, to, source.version, stored, this.#fsync);
        try {
          await placeFile(this.#layout, this.#layout.pathOf(from), to, 'move to');
        } catch (error) {
          await unlink(record).catch(() => {});
          throw error;
        }
        if (this.#fsync) {
          await syncDirectory(dirname(this.#layout.pathOf(to)));
          await syncDirectory(dirname(this.#layout.pathOf(from)));
        }
        // The move is done; leftovers below are only clutter (stale records are ignored anyway).
        await removeOtherMetadata(this.#layout, to, source.version.ino).catch(() => {});
        await removeMetadata(this.#layout, from).catch(() => {});
        await pruneParents(this.#layout, from);
        return this.#info(to, source.version, stored);
      });
    } catch (error) {
      throw toStowageError(error, from, 'move', this.#layout.root);
    }
  }

  // ---- the rest ----

  /** Resolves when the root is a readable, writable directory; `UnavailableError` or `PermissionDeniedError` otherwise. */
  async health(): Promise<void> {
    const { root } = this.#layout;
    try {
      if (!(await stat(root)).isDirectory()) throw new UnavailableError(`the root ${JSON.stringify(root)} is no longer a directory`, { backend: BACKEND_NAME });
      await access(root, constants.R_OK | constants.W_OK | constants.X_OK);
      await this.#layout.ensureInternalDirectory(this.#layout.tmpDir);
    } catch (error) {
      if (hasCode(error, 'ENOENT', 'ENOTDIR')) throw this.#rootMissing(error);
      throw toStowageError(error, undefined, `use the root ${JSON.stringify(root)}`);
    }
  }

  /** Nothing to release: every operation closes what it opens (a read stream closes its file when done or cancelled). */
  async close(): Promise<void> {}

  /** The root directory's real path. */
  unwrap(): string {
    return this.#layout.root;
  }
}
