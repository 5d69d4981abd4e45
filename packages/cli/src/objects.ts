/**
 * Objects wherever they are (a key in a store, a local file, standard input or output) and the one
 * way to move bytes between any two of them: streamed, counted for the progress bar, aborted by the
 * run's signal, and atomic at the destination (a store write, or a local file renamed into place).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { unlink } from 'node:fs/promises';
import { basename, isAbsolute, join, relative } from 'node:path';
import {
  AbortedError,
  DEFAULT_CONTENT_TYPE,
  inferContentType,
  InvalidArgumentError,
  toSource,
  type ListEntry,
  type Store,
  type WriteOptions,
} from '@stowage/core';
import type { Context } from './command.ts';
import { atLocation, usageError } from './failures.ts';
import { fileError, hashPath, pathNotFound, readPath, statPath, walkPath, writePath } from './files.ts';
import { displayKey, displayLocation, folderPrefix, type Location, type StoreLocation } from './locations.ts';
import { counted, transferProgress } from './progress.ts';

/** One object, or where one is to be written. */
export type ObjectRef =
  | { kind: 'store'; store: Store; key: string; display: string }
  | { kind: 'path'; path: string; display: string }
  | { kind: 'stdio'; display: string };

/** What {@link openRef} opens a store for. */
export interface RefPurpose {
  write: boolean;
}

/** The object a location names, its store opened. */
export async function openRef(context: Context, location: Location, purpose: RefPurpose): Promise<ObjectRef> {
  const display = displayLocation(location);
  switch (location.kind) {
    case 'stdio':
      return { kind: 'stdio', display };
    case 'path':
      return { kind: 'path', path: location.path, display };
    case 'store':
      return { kind: 'store', store: await openStoreOf(context, location, purpose), key: location.key, display };
  }
}

/** The store of a store location, with the location attached to an error while opening it. */
export async function openStoreOf(context: Context, location: StoreLocation, purpose: RefPurpose): Promise<Store> {
  try {
    return await context.session.store(location.store, purpose);
  } catch (error) {
    throw atLocation(error, displayLocation(location));
  }
}

/** Options of {@link copyObject}. */
export interface CopyObjectOptions {
  /** Fail with `ALREADY_EXISTS` rather than replace an existing destination. */
  createOnly?: boolean | undefined;
  /** The content type to store, instead of the source's. */
  contentType?: string | undefined;
}

/** What a copy stored. */
export interface CopyResult {
  size: number;
}

/** Whether two refs are the same object. */
function sameObject(from: ObjectRef, to: ObjectRef): boolean {
  if (from.kind === 'store' && to.kind === 'store') return from.store === to.store && from.key === to.key;
  return from.kind === 'path' && to.kind === 'path' && from.path === to.path;
}

/**
 * Iterates a Node stream (standard input) so that an abort ends the wait for the next chunk. A read
 * still waiting for data when the iteration ends would hold back the stream iterator's `return()`
 * until data came (standard input may never send more), so then the stream is destroyed instead.
 */
async function* abortable(stream: NodeJS.ReadableStream, signal: AbortSignal, what: string): AsyncGenerator<Uint8Array> {
  const iterator = (stream as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  const aborted = new Promise<never>((_, reject) => {
    const fail = () => reject(new AbortedError(`interrupted while reading ${what}`));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
  aborted.catch(() => {});
  let waiting = false;
  try {
    for (;;) {
      waiting = true;
      const next = await Promise.race([iterator.next(), aborted]);
      waiting = false;
      if (next.done) return;
      yield next.value;
    }
  } finally {
    if (waiting) (stream as { destroy?: () => void }).destroy?.();
    else await iterator.return?.();
  }
}

/** Writes chunks to a stream with back-pressure (standard output). */
async function writeToStream(chunks: AsyncIterable<Uint8Array>, stream: NodeJS.WritableStream, signal: AbortSignal): Promise<number> {
  let size = 0;
  for await (const chunk of chunks) {
    size += chunk.byteLength;
    if (!stream.write(chunk)) await once(stream, 'drain', { signal });
  }
  return size;
}

/**
 * Copies one object. Within one store it is the store's own copy (server-side where it can be);
 * otherwise the bytes stream from the source to the destination, with a progress bar on a terminal
 * for large ones. Content type and user metadata go along (metadata only where the destination keeps
 * it). Errors carry the location they concern.
 */
export async function copyObject(context: Context, from: ObjectRef, to: ObjectRef, options: CopyObjectOptions = {}): Promise<CopyResult> {
  const { signal } = context;
  if (sameObject(from, to)) throw usageError(`the source and the destination are the same object`, to.display);
  if (from.kind === 'store' && to.kind === 'store' && from.store === to.store && options.contentType === undefined) {
    try {
      const info = await from.store.copy(from.key, to.key, { signal, ...(options.createOnly ? { ifNoneMatch: '*' as const } : {}) });
      return { size: info.size };
    } catch (error) {
      throw atLocation(error, isAboutSource(error, from) ? from.display : to.display);
    }
  }

  let body: AsyncIterable<Uint8Array>;
  let size: number | undefined;
  let contentType = options.contentType;
  let metadata: Record<string, string> = {};
  let opened: ReadableStream<Uint8Array> | undefined;
  try {
    if (from.kind === 'store') {
      const object = await from.store.get(from.key, { signal });
      opened = object.body;
      body = toSource(object.body, from.key).chunks;
      size = object.info.size;
      contentType ??= object.info.contentType;
      metadata = object.info.metadata;
    } else if (from.kind === 'path') {
      const info = await statPath(from.path);
      if (info === undefined) throw pathNotFound(from.path, 'file');
      if (info.kind === 'directory') throw new InvalidArgumentError(`${from.display} is a directory (copy a directory with -r)`, { backend: 'files' });
      body = readPath(from.path, signal);
      size = info.size;
      const inferred = inferContentType(basename(from.path));
      if (inferred !== DEFAULT_CONTENT_TYPE) contentType ??= inferred;
    } else {
      body = abortable(context.io.stdin, signal, 'standard input');
    }
  } catch (error) {
    throw atLocation(error, from.display);
  }

  const progress = transferProgress({ stream: context.io.stderr, quiet: context.quiet || (to.kind === 'stdio' && context.io.stdout.isTTY === true) }, to.display, size);
  try {
    const chunks = counted(body, progress);
    if (to.kind === 'store') {
      const write: WriteOptions = { signal, size };
      if (contentType !== undefined) write.contentType = contentType;
      if (Object.keys(metadata).length > 0) {
        if (to.store.capabilities.userMetadata) write.metadata = metadata;
        else context.note(`note: ${to.display} does not keep user metadata: copied without it`);
      }
      if (options.createOnly) write.ifNoneMatch = '*';
      const info = await to.store.write(to.key, chunks, write);
      return { size: info.size };
    }
    if (to.kind === 'path') return { size: await writePath(to.path, chunks, { signal, createOnly: options.createOnly }) };
    return { size: await writeToStream(chunks, context.io.stdout, signal) };
  } catch (error) {
    throw atLocation(error, isAboutSource(error, from) ? from.display : to.display);
  } finally {
    progress.stop();
    // A destination that refused before reading (ALREADY_EXISTS, TOO_LARGE) never started the source.
    if (opened !== undefined && !opened.locked) await opened.cancel().catch(() => {});
  }
}

/**
 * Moves one object: the store's own move within one store (a rename, atomic where the backend can),
 * else a copy and then the deletion of the source, only once the copy is stored.
 */
export async function moveObject(context: Context, from: ObjectRef, to: ObjectRef, options: CopyObjectOptions = {}): Promise<CopyResult> {
  if (from.kind === 'store' && to.kind === 'store' && from.store === to.store && options.contentType === undefined) {
    if (from.key === to.key) throw usageError('the source and the destination are the same object', to.display);
    try {
      const info = await from.store.move(from.key, to.key, { signal: context.signal, ...(options.createOnly ? { ifNoneMatch: '*' as const } : {}) });
      return { size: info.size };
    } catch (error) {
      throw atLocation(error, isAboutSource(error, from) ? from.display : to.display);
    }
  }
  const result = await copyObject(context, from, to, options);
  await deleteObject(from, context.signal);
  return result;
}

/** Whether an error raised during a copy concerns the source (a read) rather than the destination. */
function isAboutSource(error: unknown, from: ObjectRef): boolean {
  const code = (error as { code?: string } | null)?.code;
  if (code === 'NOT_FOUND' && from.kind === 'store') return (error as { key?: string }).key === from.key;
  return code === 'NOT_FOUND' && from.kind === 'path';
}

/** Deletes one object (a store key, or a local file for `mv`). */
export async function deleteObject(ref: ObjectRef, signal: AbortSignal): Promise<void> {
  try {
    if (ref.kind === 'store') await ref.store.delete(ref.key, { signal });
    else if (ref.kind === 'path') await unlink(ref.path).catch((error: unknown) => Promise.reject(fileError(error, ref.path)));
  } catch (error) {
    throw atLocation(error, ref.display);
  }
}

/** One object found below a folder location. */
export interface FoundObject {
  /** Its key (or path) below the folder, with `/` between segments. */
  relative: string;
  size: number;
  lastModified: Date;
  /** The object itself. */
  ref: ObjectRef;
  /** Its SHA-256, from the store's metadata when it keeps one, else read and hashed. */
  sha256(): Promise<string>;
}

/** Hashes an object's bytes (for a store object that does not know its SHA-256). */
async function hashStoreObject(store: Store, key: string, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of toSource(await store.read(key, { signal }), key).chunks) hash.update(chunk);
  return hash.digest('hex');
}

/**
 * Every object below a folder location (a store prefix or a local directory), in listing order. A
 * store location's key is a folder: `docs` and `docs/` both list `docs/...`; the empty key lists the
 * whole store.
 */
export async function* objectsBelow(context: Context, location: Location): AsyncGenerator<FoundObject> {
  const { signal } = context;
  if (location.kind === 'stdio') throw usageError('standard input or output is not a folder', location.text);
  if (location.kind === 'path') {
    const info = await statPath(location.path);
    if (info === undefined) throw atLocation(pathNotFound(location.path, 'directory'), location.text);
    if (info.kind !== 'directory') throw atLocation(new InvalidArgumentError(`${location.text} is not a directory`, { backend: 'files' }), location.text);
    for await (const file of walkPath(location.path)) {
      const display = `${location.text.replace(/\/+$/, '')}/${file.relative}`;
      yield {
        relative: file.relative,
        size: file.size,
        lastModified: file.lastModified,
        ref: { kind: 'path', path: file.path, display },
        sha256: () => hashPath(file.path, signal),
      };
    }
    return;
  }
  const store = await openStoreOf(context, location, { write: false });
  const prefix = folderPrefix(location.key);
  try {
    for await (const entry of store.listAll({ prefix, signal })) yield storeObject(store, location, entry, entry.key.slice(prefix.length), signal);
  } catch (error) {
    throw atLocation(error, displayLocation(location));
  }
}

function storeObject(store: Store, location: StoreLocation, entry: ListEntry, relative: string, signal: AbortSignal): FoundObject {
  return {
    relative,
    size: entry.size,
    lastModified: entry.lastModified,
    ref: { kind: 'store', store, key: entry.key, display: displayKey(location, entry.key) },
    sha256: async () => (await store.stat(entry.key, { signal })).sha256 ?? hashStoreObject(store, entry.key, signal),
  };
}

/**
 * Refuses a recursive copy or sync into a folder inside its own source: the listing would come upon
 * the copies and copy them again. Compares store folders when both locations open the same store,
 * and local directories by path.
 */
export async function assertNotInside(context: Context, source: Location, destination: Location): Promise<void> {
  let inside = false;
  if (source.kind === 'path' && destination.kind === 'path') {
    const below = relative(source.path, destination.path);
    inside = below === '' || (!below.startsWith('..') && !isAbsolute(below));
  } else if (source.kind === 'store' && destination.kind === 'store') {
    const [from, to] = await Promise.all([openStoreOf(context, source, { write: false }), openStoreOf(context, destination, { write: false })]);
    inside = from === to && folderPrefix(destination.key).startsWith(folderPrefix(source.key));
  }
  if (inside) throw usageError(`the destination ${displayLocation(destination)} is inside the source ${displayLocation(source)}`, displayLocation(destination));
}

/** The object `relative` below a folder location: a key below the prefix, or a path below the directory. */
export async function refBelow(context: Context, folder: Location, relative: string, purpose: RefPurpose): Promise<ObjectRef> {
  if (folder.kind === 'stdio') throw usageError('standard input or output is not a folder', folder.text);
  if (folder.kind === 'path') {
    return { kind: 'path', path: join(folder.path, ...relative.split('/')), display: `${folder.text.replace(/\/+$/, '')}/${relative}` };
  }
  const key = `${folderPrefix(folder.key)}${relative}`;
  return { kind: 'store', store: await openStoreOf(context, folder, purpose), key, display: displayKey(folder, key) };
}
