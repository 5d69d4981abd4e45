/**
 * Keeping every operation inside the root, and the filesystem's hierarchy rule.
 *
 * The root is resolved with `realpath` once, so a key's path is the root's real path plus the key.
 * No symbolic link is ever followed:
 *
 * - Reads open the file with `O_NOFOLLOW` and then check where the opened descriptor really is
 *   (`/proc/self/fd/N` on Linux): a link anywhere on the way makes that differ from the key's path.
 * - Writes, deletes and moves check the parent directory with `realpath`, refuse symbolic links
 *   among the components they create or cross, and rename into place (a rename replaces a link
 *   itself, never its target).
 *
 * Node has no `openat`/`renameat`, so a process that swaps a directory for a link *while* an
 * operation runs is out of reach; a link planted beforehand never leads outside the root.
 *
 * @module
 */
import { constants, type BigIntStats } from 'node:fs';
import { lstat, mkdir, open, readlink, realpath, rename, rmdir, type FileHandle } from 'node:fs/promises';
import { sep } from 'node:path';
import { AlreadyExistsError, NotFoundError, PermissionDeniedError, UnavailableError } from '@stowage/core';
import { BACKEND_NAME, hasCode } from './fs-errors.ts';
import type { RootLayout } from './layout.ts';
import { versionOf, type FileVersion } from './versions.ts';

/** What stands at a key's path. */
export type Occupant =
  /** Nothing: the key is free. */
  | { readonly kind: 'missing' }
  /** A regular file: the object. */
  | { readonly kind: 'file'; readonly version: FileVersion }
  /** A directory: the key is a folder, so no object can be stored at it. */
  | { readonly kind: 'folder' }
  /** An ancestor is a file (`by` is its key), so no object can be stored below it. */
  | { readonly kind: 'blocked'; readonly by: string };

const READ_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);
const MAX_ATTEMPTS = 16;

function linkError(key: string, action: string, through: string, cause?: unknown): PermissionDeniedError {
  const where = through === key ? 'it is' : `${JSON.stringify(through)} is`;
  return new PermissionDeniedError(
    `cannot ${action} ${JSON.stringify(key)}: ${where} a symbolic link or leads outside the root, and the local backend never follows links`,
    { key, backend: BACKEND_NAME, cause },
  );
}

function specialFileError(key: string, action: string): PermissionDeniedError {
  return new PermissionDeniedError(`cannot ${action} ${JSON.stringify(key)}: it is not a regular file`, { key, backend: BACKEND_NAME });
}

/** The `AlreadyExistsError` of a key that a folder or a file ancestor keeps from holding an object. */
export function hierarchyError(key: string, action: string, occupant: Occupant): AlreadyExistsError {
  const reason = occupant.kind === 'blocked' ? `${JSON.stringify(occupant.by)} is a file` : `${JSON.stringify(key)} is a folder`;
  return new AlreadyExistsError(`cannot ${action} ${JSON.stringify(key)}: ${reason}`, { key, backend: BACKEND_NAME });
}

/** The keys of a key's ancestors, outermost first: `a/b/c` → `a`, `a/b`. */
function ancestorsOf(key: string): string[] {
  const ancestors: string[] = [];
  let slash = key.indexOf('/');
  while (slash !== -1) {
    ancestors.push(key.slice(0, slash));
    slash = key.indexOf('/', slash + 1);
  }
  return ancestors;
}

/**
 * Walks the ancestors of `key` with `lstat`: `'present'` when all are plain directories, `'missing'`
 * when one does not exist, a blocking file otherwise; a symbolic link throws `PermissionDeniedError`.
 */
async function walkAncestors(layout: RootLayout, key: string, action: string): Promise<'present' | 'missing' | { by: string }> {
  for (const ancestor of ancestorsOf(key)) {
    let stats;
    try {
      stats = await lstat(layout.pathOf(ancestor));
    } catch (error) {
      if (hasCode(error, 'ENOENT')) return 'missing';
      if (hasCode(error, 'ENOTDIR')) continue; // raced with a change; the next ancestor tells
      throw error;
    }
    if (stats.isSymbolicLink()) throw linkError(key, action, ancestor);
    if (!stats.isDirectory()) return { by: ancestor };
  }
  return 'present';
}

/** Checks the directories above `key` (one `realpath` when all is well). */
async function checkAncestors(layout: RootLayout, key: string, action: string): Promise<'present' | 'missing' | { by: string }> {
  const slash = key.lastIndexOf('/');
  if (slash === -1) return 'present';
  const parent = layout.pathOf(key.slice(0, slash));
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    let resolved: string | undefined;
    try {
      // The trailing separator makes realpath fail (ENOTDIR) when the parent is a file.
      resolved = await realpath(parent + sep);
      if (resolved === parent) return 'present';
    } catch (error) {
      if (!hasCode(error, 'ENOENT', 'ENOTDIR', 'ELOOP')) throw error;
    }
    // Something is off (missing, a file in the way, a link): find out what, component by component.
    const walked = await walkAncestors(layout, key, action);
    if (walked !== 'present') return walked;
    // All plain directories, yet realpath resolved elsewhere: a link swapped back meanwhile, or a
    // filesystem that folds case. Either way, not this path.
    if (resolved !== undefined) throw linkError(key, action, key.slice(0, slash));
    // realpath failed, yet all is there now: another writer created the folders meanwhile. Look again.
  }
  throw new UnavailableError(`cannot ${action} ${JSON.stringify(key)}: its folders kept changing`, { key, backend: BACKEND_NAME });
}

/** What stands at `key`'s path, without following any link. */
export async function inspectKey(layout: RootLayout, key: string, action: string): Promise<Occupant> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const ancestors = await checkAncestors(layout, key, action);
    if (ancestors === 'missing') return { kind: 'missing' };
    if (typeof ancestors === 'object') return { kind: 'blocked', by: ancestors.by };
    let stats: BigIntStats;
    try {
      stats = await lstat(layout.pathOf(key), { bigint: true });
    } catch (error) {
      if (hasCode(error, 'ENOENT')) return { kind: 'missing' };
      if (!hasCode(error, 'ENOTDIR')) throw error;
      // An ancestor became a file since the check above: find it, or look again.
      const walked = await walkAncestors(layout, key, action);
      if (walked === 'missing') return { kind: 'missing' };
      if (typeof walked === 'object') return { kind: 'blocked', by: walked.by };
      continue;
    }
    if (stats.isFile()) return { kind: 'file', version: versionOf(stats) };
    if (stats.isDirectory()) return { kind: 'folder' };
    if (stats.isSymbolicLink()) throw linkError(key, action, key);
    throw specialFileError(key, action);
  }
  throw new UnavailableError(`cannot ${action} ${JSON.stringify(key)}: its folders kept changing`, { key, backend: BACKEND_NAME });
}

/** Where an open descriptor really points (Linux), or undefined where `/proc` is not available. */
async function descriptorPath(handle: FileHandle): Promise<string | undefined> {
  try {
    return await readlink(`/proc/self/fd/${handle.fd}`);
  } catch {
    return undefined;
  }
}

/**
 * Opens the object at `key` for reading, after making sure the opened file is that very path inside
 * the root: `NotFoundError` when there is none (or a folder), `PermissionDeniedError` for a link.
 */
export async function openForReading(layout: RootLayout, key: string, action: string): Promise<{ handle: FileHandle; version: FileVersion }> {
  const path = layout.pathOf(key);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    let handle: FileHandle;
    try {
      handle = await open(path, READ_FLAGS);
    } catch (error) {
      if (hasCode(error, 'ELOOP')) throw linkError(key, action, key, error);
      if (hasCode(error, 'ENOENT', 'ENOTDIR')) throw new NotFoundError(`no object at ${JSON.stringify(key)}`, { key, backend: BACKEND_NAME, cause: error });
      throw error;
    }
    try {
      // Both questions go to the thread pool at once: a small read is mostly waiting on it.
      const [stats, real] = await Promise.all([handle.stat({ bigint: true }), descriptorPath(handle)]);
      if (stats.isDirectory()) throw new NotFoundError(`no object at ${JSON.stringify(key)}: it is a folder`, { key, backend: BACKEND_NAME });
      if (!stats.isFile()) throw specialFileError(key, action);
      if (real === undefined) {
        if ((await checkAncestors(layout, key, action)) !== 'present') throw new NotFoundError(`no object at ${JSON.stringify(key)}`, { key, backend: BACKEND_NAME });
      } else if (real !== path && real !== `${path} (deleted)`) {
        // "(deleted)": replaced by a write after we opened it, and still the file we asked for.
        // Elsewhere: either a link on the way, or the file was moved after we opened it. Only the
        // first leaves the opened file at the key's path.
        const now = await lstat(path, { bigint: true }).catch(() => undefined);
        if (now !== undefined && now.ino === stats.ino && now.dev === stats.dev) throw linkError(key, action, key);
        await handle.close();
        continue;
      }
      return { handle, version: versionOf(stats) };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }
  throw new UnavailableError(`cannot ${action} ${JSON.stringify(key)}: it kept changing while being opened`, { key, backend: BACKEND_NAME });
}

/**
 * Creates the directories above `key`. Refuses links (`PermissionDeniedError`) and files in the
 * way (`AlreadyExistsError`); starts over when a concurrent delete prunes a directory meanwhile.
 * Returns whether it created any directory.
 */
async function ensureParents(layout: RootLayout, key: string, action: string): Promise<boolean> {
  const ancestors = ancestorsOf(key);
  let created = false;
  attempts: for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    for (const ancestor of ancestors) {
      const path = layout.pathOf(ancestor);
      try {
        await mkdir(path);
        created = true;
        continue;
      } catch (error) {
        if (hasCode(error, 'ENOENT', 'ENOTDIR')) continue attempts; // a parent was pruned or replaced meanwhile
        if (!hasCode(error, 'EEXIST')) throw error;
      }
      let stats;
      try {
        stats = await lstat(path);
      } catch (error) {
        if (hasCode(error, 'ENOENT', 'ENOTDIR')) continue attempts;
        throw error;
      }
      if (stats.isDirectory()) continue;
      if (stats.isSymbolicLink()) throw linkError(key, action, ancestor);
      throw hierarchyError(key, action, { kind: 'blocked', by: ancestor });
    }
    return created;
  }
  throw new UnavailableError(`cannot ${action} ${JSON.stringify(key)}: its folders kept changing`, { key, backend: BACKEND_NAME });
}

/** Removes the now empty directories above `key`, innermost first, up to (never including) the root. */
export async function pruneParents(layout: RootLayout, key: string): Promise<void> {
  const ancestors = ancestorsOf(key);
  for (let i = ancestors.length - 1; i >= 0; i--) {
    try {
      await rmdir(layout.pathOf(ancestors[i]!));
    } catch {
      return; // not empty (the usual case), or already gone: either way, done
    }
  }
}

/**
 * Renames the file at `from` to `key`'s path, creating the directories above it. A folder or a file
 * in the way gives `AlreadyExistsError`; directories created for a rename that then failed are
 * pruned again, so that a refused write changes nothing.
 */
export async function placeFile(layout: RootLayout, from: string, key: string, action: string): Promise<void> {
  const target = layout.pathOf(key);
  let created = false;
  try {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      try {
        await rename(from, target);
        return;
      } catch (error) {
        if (hasCode(error, 'EISDIR', 'ENOTEMPTY', 'EEXIST')) throw hierarchyError(key, action, { kind: 'folder' });
        if (hasCode(error, 'ENOTDIR')) {
          const walked = await walkAncestors(layout, key, action);
          if (typeof walked === 'object') throw hierarchyError(key, action, { kind: 'blocked', by: walked.by });
          continue;
        }
        if (!hasCode(error, 'ENOENT')) throw error;
        // Either the source is gone (not ours to fix) or a directory above the target is missing.
        try {
          await lstat(from);
        } catch {
          throw error;
        }
      }
      if (await ensureParents(layout, key, action)) created = true;
    }
    throw new UnavailableError(`cannot ${action} ${JSON.stringify(key)}: its folders kept changing`, { key, backend: BACKEND_NAME });
  } catch (error) {
    if (created) await pruneParents(layout, key);
    throw error;
  }
}
