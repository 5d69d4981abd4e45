/**
 * Plain local files, for uploads and downloads: a location without a store prefix. A file written
 * here appears whole or not at all, like an object in a store: the bytes go to a temporary file in
 * the same directory, which is renamed over the destination (or hard-linked to it, for a create-only
 * copy) once complete, and removed when the copy fails or is interrupted.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, type Dirent } from 'node:fs';
import { link, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  AbortedError,
  AlreadyExistsError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  StowageError,
  compareUtf8,
  isStowageError,
} from '@stowage/core';

/** The name that errors about plain files give as their backend. */
const FILES = 'files';

/** The directory of stowage's own files (the local adapter's metadata, the embedded store), which walks and listings of local directories skip. */
export const INTERNAL_DIRECTORY = '.stowage';

/** Turns a filesystem error into a stowage error that names the path. */
export function fileError(error: unknown, path: string): StowageError {
  if (isStowageError(error)) return error;
  const code = (error as { code?: string } | null)?.code;
  const options = { backend: FILES, cause: error };
  switch (code) {
    case 'ENOENT':
      return new NotFoundError(`no such file or directory: ${path}`, options);
    case 'EACCES':
    case 'EPERM':
      return new PermissionDeniedError(`permission denied: ${path}`, options);
    case 'EEXIST':
      return new AlreadyExistsError(`already exists: ${path}`, options);
    case 'EISDIR':
      return new InvalidArgumentError(`${path} is a directory (copy a directory with -r)`, options);
    case 'ENOTDIR':
      return new InvalidArgumentError(`a part of ${path} is not a directory`, options);
    case 'ABORT_ERR':
      return new AbortedError(`interrupted while reading or writing ${path}`, options);
    default:
      return new StowageError('UNAVAILABLE', `cannot read or write ${path}: ${code ?? (error as Error)?.message ?? 'unknown error'}`, options);
  }
}

/** The error for a local path that does not exist. */
export function pathNotFound(path: string, what = 'file or directory'): NotFoundError {
  return new NotFoundError(`no such ${what}: ${path}`, { backend: FILES });
}

/** What a local path is. */
export interface PathInfo {
  kind: 'file' | 'directory' | 'other';
  size: number;
  lastModified: Date;
}

/** Stats a local path; undefined when it does not exist. */
export async function statPath(path: string): Promise<PathInfo | undefined> {
  try {
    const info = await stat(path);
    return { kind: info.isFile() ? 'file' : info.isDirectory() ? 'directory' : 'other', size: info.size, lastModified: info.mtime };
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw fileError(error, path);
  }
}

/** Reads a local file as a stream of chunks (1 MiB at a time: large reads are what make local copies fast). */
export function readPath(path: string, signal: AbortSignal): AsyncIterable<Uint8Array> {
  return (async function* () {
    try {
      yield* createReadStream(path, { highWaterMark: 1024 * 1024, signal }) as AsyncIterable<Uint8Array>;
    } catch (error) {
      throw signal.aborted ? new AbortedError(`interrupted while reading ${path}`, { backend: FILES, cause: error }) : fileError(error, path);
    }
  })();
}

/** Options of {@link writePath}. */
export interface WritePathOptions {
  signal: AbortSignal;
  /** Fail with `ALREADY_EXISTS` instead of replacing an existing file (atomically: a hard link, not a check). */
  createOnly?: boolean | undefined;
}

/**
 * Writes `chunks` to `path` atomically: into a temporary file beside it, then renamed (or linked,
 * for `createOnly`) into place. On failure or abort the temporary file is removed and `path` is left
 * exactly as it was. Returns the number of bytes written.
 */
export async function writePath(path: string, chunks: AsyncIterable<Uint8Array>, options: WritePathOptions): Promise<number> {
  const directory = dirname(path);
  const temporary = join(directory, `.${basename(path)}.stowage-${randomBytes(6).toString('hex')}.partial`);
  try {
    await mkdir(directory, { recursive: true });
  } catch (error) {
    throw fileError(error, directory);
  }
  let handle;
  try {
    handle = await open(temporary, 'wx');
  } catch (error) {
    throw fileError(error, path);
  }
  let size = 0;
  let committed = false;
  try {
    for await (const chunk of chunks) {
      if (options.signal.aborted) break;
      await handle.write(chunk);
      size += chunk.byteLength;
    }
    if (options.signal.aborted) throw new AbortedError(`interrupted: ${path} was left as it was`, { backend: FILES });
    await handle.close();
    handle = undefined;
    if (options.createOnly) {
      await link(temporary, path);
      await unlink(temporary);
    } else {
      await rename(temporary, path);
    }
    committed = true;
    return size;
  } catch (error) {
    throw fileError(error, path);
  } finally {
    await handle?.close().catch(() => {});
    if (!committed) await unlink(temporary).catch(() => {});
  }
}

/** A file found by {@link walkPath}. */
export interface WalkedFile {
  /** Its path below the walked directory, with `/` between segments. */
  relative: string;
  /** Its absolute path. */
  path: string;
  size: number;
  lastModified: Date;
}

function isPartial(name: string): boolean {
  return /^\..+\.stowage-[0-9a-f]{12}\.partial$/.test(name);
}

/**
 * Every regular file below `directory`, in UTF-8 byte order of the relative paths (each directory's
 * entries sorted with a folder `x` ordered as `x/`, which gives the same order as a store listing).
 * Symbolic links, `.stowage` directories and unfinished downloads are skipped.
 */
export async function* walkPath(directory: string, prefix = ''): AsyncGenerator<WalkedFile> {
  let entries: Dirent[];
  try {
    entries = await readdir(directory, { withFileTypes: true });
  } catch (error) {
    throw fileError(error, directory);
  }
  const named = entries
    .filter((entry) => (entry.isDirectory() ? entry.name !== INTERNAL_DIRECTORY : entry.isFile() && !isPartial(entry.name)))
    .map((entry) => ({ entry, order: entry.isDirectory() ? `${entry.name}/` : entry.name }))
    .sort((a, b) => compareUtf8(a.order, b.order));
  for (const { entry } of named) {
    const path = join(directory, entry.name);
    const relative = `${prefix}${entry.name}`;
    if (entry.isDirectory()) {
      yield* walkPath(path, `${relative}/`);
    } else {
      const info = await statPath(path);
      if (info?.kind === 'file') yield { relative, path, size: info.size, lastModified: info.lastModified };
    }
  }
}

/** The lowercase hex SHA-256 of a local file, streamed. */
export async function hashPath(path: string, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of readPath(path, signal)) hash.update(chunk);
  return hash.digest('hex');
}
