/**
 * Listing a directory tree in UTF-8 byte order, lazily.
 *
 * Keys sort by their UTF-8 bytes. A depth-first walk gives that order when each directory's entries
 * are sorted with a folder named `x` compared as `x/`: every key below `x/` then falls between the
 * entries that sort before and after `x/` (`x.txt` < `x/…` < `x0`). The walk reads one directory at
 * a time, only when the listing gets there, and `stat`s only the files it returns; a resumed
 * listing skips whole folders that sort before its cursor without reading them.
 *
 * Skipped: `.stowage` entries at any depth (this store's internals, or a nested store's), symbolic links, special files, and names that no key
 * can reach (not UTF-8, control characters, backslashes, too long).
 *
 * @module
 */
import type { Dirent } from 'node:fs';
import { lstat, opendir, readdir, realpath } from 'node:fs/promises';
import { compareUtf8, keyProblem } from '@stowage/core';
import { hasCode } from './fs-errors.ts';
import { INTERNAL_DIR, type RootLayout } from './layout.ts';
import { versionOf, type FileVersion } from './versions.ts';

/** One entry of a listing: an object, or (with the delimiter) a common prefix ending with `/`. */
export type ListedEntry = { readonly kind: 'object'; readonly key: string; readonly version: FileVersion } | { readonly kind: 'prefix'; readonly key: string };

/** What to list. */
export interface WalkOptions {
  /** Only keys starting with this (it may end inside a segment). */
  prefix: string;
  /** Group keys below the next `/` after the prefix into common prefixes. */
  delimiter: boolean;
  /** Resume after this key or common prefix (from a cursor). */
  after?: string | undefined;
}

interface DirectoryEntry {
  name: string;
  /** The name a folder sorts by: its name plus `/`. */
  sortName: string;
  folder: boolean;
}

// ignoreBOM: a name that starts with U+FEFF is a key that starts with it, not a byte-order mark to drop.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Whether the folder at `folderKey` is a plain directory reached without any link. */
async function isPlainDirectory(layout: RootLayout, folderKey: string): Promise<boolean> {
  const path = layout.pathOf(folderKey);
  try {
    return (await realpath(path)) === path && (await lstat(path)).isDirectory();
  } catch (error) {
    if (hasCode(error, 'ENOENT', 'ENOTDIR', 'ELOOP', 'EACCES')) return false;
    throw error;
  }
}

/** The entries of the folder `dirKey` (`''` or ending with `/`) that keys can name, sorted by their sort names. */
async function readFolder(layout: RootLayout, dirKey: string): Promise<DirectoryEntry[]> {
  const path = layout.pathOf(dirKey.slice(0, -1));
  // Bun ignores withFileTypes beside a buffer encoding and returns bare names: their type is then
  // unknown, as on a filesystem that reports DT_UNKNOWN, and is asked for below.
  let dirents: readonly (Dirent<Buffer> | Uint8Array)[];
  try {
    dirents = await readdir(path, { withFileTypes: true, encoding: 'buffer' });
  } catch (error) {
    // Removed since its parent was read (a delete pruned it): nothing to list there.
    if (hasCode(error, 'ENOENT', 'ENOTDIR')) return [];
    throw error;
  }
  const entries: DirectoryEntry[] = [];
  for (const entry of dirents) {
    const dirent = entry instanceof Uint8Array ? undefined : entry;
    let name: string;
    try {
      name = decoder.decode(dirent === undefined ? (entry as Uint8Array) : dirent.name);
    } catch {
      continue;
    }
    // At any depth: a store nested in this folder keeps its internals there (any case: a
    // case-insensitive filesystem finds the same directory).
    if (name.toLowerCase() === INTERNAL_DIR) continue;
    let folder = dirent?.isDirectory() ?? false;
    if (!folder && !dirent?.isFile()) {
      if (dirent !== undefined && (dirent.isSymbolicLink() || dirent.isFIFO() || dirent.isSocket() || dirent.isBlockDevice() || dirent.isCharacterDevice())) continue;
      // The filesystem did not say what it is (DT_UNKNOWN): ask.
      try {
        const stats = await lstat(`${path}/${name}`);
        if (!stats.isFile() && !stats.isDirectory()) continue;
        folder = stats.isDirectory();
      } catch {
        continue;
      }
    }
    if (keyProblem(dirKey + name) !== undefined) continue;
    entries.push({ name, sortName: folder ? `${name}/` : name, folder });
  }
  return entries.sort((a, b) => compareUtf8(a.sortName, b.sortName));
}

/** The version of the regular file at `key`, or undefined when it is gone or no longer a regular file. */
async function fileVersion(layout: RootLayout, key: string): Promise<FileVersion | undefined> {
  try {
    const stats = await lstat(layout.pathOf(key), { bigint: true });
    return stats.isFile() ? versionOf(stats) : undefined;
  } catch (error) {
    if (hasCode(error, 'ENOENT', 'ENOTDIR')) return undefined;
    throw error;
  }
}

/**
 * Whether any object lies below the folder `dirKey` (ending with `/`): empty folders make no common
 * prefix. Reads entries as a stream and stops at the first object, so a large folder is not read
 * whole (nor sorted) just to learn that it is not empty.
 */
async function containsObject(layout: RootLayout, dirKey: string): Promise<boolean> {
  const path = layout.pathOf(dirKey.slice(0, -1));
  const folders: string[] = [];
  let dir;
  try {
    dir = await opendir(path);
  } catch (error) {
    if (hasCode(error, 'ENOENT', 'ENOTDIR')) return false;
    throw error;
  }
  // The async iterator closes the directory when the loop ends, also on return.
  for await (const dirent of dir) {
    const name = dirent.name;
    if (keyProblem(dirKey + name) !== undefined) continue;
    if (dirent.isDirectory()) folders.push(`${dirKey}${name}/`);
    else if (dirent.isFile() || !(dirent.isSymbolicLink() || dirent.isFIFO() || dirent.isSocket() || dirent.isBlockDevice() || dirent.isCharacterDevice())) {
      // A name that is not UTF-8 decodes lossily here, so its lstat fails and it does not count.
      const stats = await lstat(`${path}/${name}`).catch(() => undefined);
      if (stats?.isFile()) return true;
      if (stats?.isDirectory()) folders.push(`${dirKey}${name}/`);
    }
  }
  for (const folder of folders) if (await containsObject(layout, folder)) return true;
  return false;
}

async function* walkFolder(
  layout: RootLayout,
  dirKey: string,
  namePrefix: string,
  group: boolean,
  state: { after: string | undefined },
): AsyncGenerator<ListedEntry> {
  for (const entry of await readFolder(layout, dirKey)) {
    if (!entry.name.startsWith(namePrefix)) continue;
    const key = dirKey + entry.sortName;
    const after = state.after;
    if (!entry.folder) {
      if (after !== undefined && compareUtf8(key, after) <= 0) continue;
      const version = await fileVersion(layout, key);
      if (version === undefined) continue;
      state.after = undefined; // everything from here on sorts after the cursor
      yield { kind: 'object', key, version };
    } else if (group) {
      // A prefix at or before the cursor, or one the cursor lies inside, was returned already.
      if (after !== undefined && (compareUtf8(key, after) <= 0 || after.startsWith(key))) continue;
      if (!(await containsObject(layout, key))) continue;
      state.after = undefined;
      yield { kind: 'prefix', key };
    } else {
      // Descend unless the whole folder sorts before the cursor.
      if (after !== undefined && !after.startsWith(key) && compareUtf8(key, after) <= 0) continue;
      yield* walkFolder(layout, key, '', false, state);
    }
  }
}

/** Objects (and common prefixes) under the prefix, in UTF-8 byte order, read as the caller pulls. */
export async function* walkListing(layout: RootLayout, options: WalkOptions): AsyncGenerator<ListedEntry> {
  const slash = options.prefix.lastIndexOf('/');
  const dirKey = options.prefix.slice(0, slash + 1);
  const namePrefix = options.prefix.slice(slash + 1);
  if (dirKey !== '') {
    if (!(await isPlainDirectory(layout, dirKey.slice(0, -1)))) return;
  }
  yield* walkFolder(layout, dirKey, namePrefix, options.delimiter, { after: options.after });
}
