/**
 * Per-key locks that hold across processes, so that a conditional write's check and its rename are
 * one step for every writer on the machine (and on a shared filesystem that honours `link`).
 *
 * A lock is a file in `.stowage/locks/`, named by the key's hash and holding the owner's pid, host
 * and a unique token. It is never empty: the owner writes its content to a file of its own
 * (`<lock>.<host>.<pid>.<id>.new`) and hard-links that into place, which fails when the lock exists,
 * so a process killed at any moment leaves either no lock or a complete one (and at most its own
 * `.new` file, which names its pid for the sweep). Within one process, callers queue in memory
 * first, so only one of them at a time polls the lock file. A lock left by a crashed process is
 * broken when its owner's pid no longer runs on this host, or when it is older than `staleMs` (for
 * owners on other hosts, or a pid that was reused). Breaking is serialized by a second file made the
 * same way (`<lock>.break`), and only removes the exact lock file (same inode, same content) that was
 * judged stale, so two breakers never remove a fresh lock.
 *
 * Where hard links fail (a filesystem without them), or when the disk is too full to write the
 * content, the lock is created empty with `O_EXCL` and filled afterwards, as a last resort: deletes
 * must still work on a full disk, since they are how space is freed. Such a lock, left empty by a
 * kill, is broken once it is older than `staleMs`.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { link, lstat, open, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { AbortedError, UnavailableError, raceSignal, type SweepTally } from '@stowage/core';
import { BACKEND_NAME, hasCode } from './fs-errors.ts';
import { HOST_TAG, type RootLayout } from './layout.ts';
import { isProcessAlive } from '@stowage/core/node';

/** Timing of the cross-process locks. */
export interface LockTiming {
  /** A lock older than this (milliseconds) is broken even when its owner seems alive. */
  staleMs: number;
  /** Give up waiting for a lock after this many milliseconds, with `UnavailableError`. */
  timeoutMs: number;
}

interface LockContent {
  pid: number;
  host: string;
  token: string;
}

interface HeldLock {
  path: string;
  ino: bigint;
}

const HOST = hostname();
const MAX_BACKOFF_MS = 25;

/**
 * In-process queues by lock path, shared by every backend in this module instance: callers in one
 * process wait here rather than all polling the same lock file.
 */
const queues = new Map<string, Promise<void>>();

/** Runs `task` after every earlier task queued under `path` has finished. */
async function queued<T>(path: string, signal: AbortSignal | undefined, task: () => Promise<T>): Promise<T> {
  const previous = queues.get(path) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => {
    release = resolve;
  });
  // The next caller waits for both: it never overtakes a predecessor, even when we leave early.
  const tail = previous.then(() => mine);
  queues.set(path, tail);
  try {
    await raceSignal(previous, signal);
    return await task();
  } finally {
    release();
    if (queues.get(path) === tail) queues.delete(path);
  }
}

/** Resolves after `ms` milliseconds, or rejects with the signal's reason when it fires first. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function parseContent(text: string): LockContent | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockContent>;
    if (typeof value.pid === 'number' && typeof value.host === 'string' && typeof value.token === 'string') return value as LockContent;
  } catch {
    // Empty (its owner is between create and write) or damaged.
  }
  return undefined;
}

/** The file a lock's (or a breaker's) content is written to before it is linked into place: it names its owner. */
function pendingPath(path: string): string {
  return `${path}.${HOST_TAG}.${process.pid}.${randomBytes(6).toString('hex')}.new`;
}

/** Errors of `link` that mean the filesystem has no hard links (vfat, some network and FUSE filesystems). */
const NO_LINKS = ['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV'];
/** Errors that mean there is no room to write a lock's content. */
const NO_ROOM = ['ENOSPC', 'EDQUOT'];

/** What the sweep needs of one lock, breaker or pending file. */
interface LockFileState {
  name: string;
  path: string;
  ino: bigint;
  mtimeMs: number;
  size: number;
  text: string;
}

/** The lock files of one root (in `.stowage/locks`). */
export class KeyLocks {
  readonly #layout: RootLayout;
  readonly #timing: LockTiming;
  /** Set once `link` failed for want of hard links: locks are then created with `O_EXCL` and filled. */
  #linksUnsupported = false;

  constructor(layout: RootLayout, timing: LockTiming) {
    this.#layout = layout;
    this.#timing = timing;
  }

  /**
   * Runs `task` while holding the locks of `keys`. Several locks are taken in the order of their
   * file names, so that two callers locking the same pair never deadlock.
   */
  async withLocks<T>(keys: readonly string[], signal: AbortSignal | undefined, task: () => Promise<T>): Promise<T> {
    const locks = [...new Map(keys.map((key) => [this.#layout.lockPathOf(key), key] as const))].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const run = async (index: number): Promise<T> => {
      const next = locks[index];
      if (next === undefined) return task();
      const [path, key] = next;
      return queued(path, signal, async () => {
        const held = await this.#acquire(path, key, signal);
        try {
          return await run(index + 1);
        } finally {
          await this.#release(held);
        }
      });
    };
    try {
      return await run(0);
    } catch (error) {
      if (signal?.aborted && error === signal.reason) {
        const key = keys[0];
        throw new AbortedError(`operation on ${JSON.stringify(key)} aborted while waiting for its lock`, { key, backend: BACKEND_NAME, cause: error });
      }
      throw error;
    }
  }

  async #acquire(path: string, key: string, signal: AbortSignal | undefined): Promise<HeldLock> {
    const deadline = Date.now() + this.#timing.timeoutMs;
    const content = ownerContent();
    let backoff = 1;
    while (true) {
      if (signal?.aborted) throw signal.reason;
      const held = await this.#tryCreate(path, content);
      if (held) return held;
      if (await this.#breakIfStale(path)) continue;
      if (Date.now() > deadline) {
        throw new UnavailableError(`timed out after ${this.#timing.timeoutMs} ms waiting for the lock on ${JSON.stringify(key)} (${path})`, {
          key,
          backend: BACKEND_NAME,
        });
      }
      // Jitter keeps processes that collided once from colliding again in lockstep.
      await sleep(backoff * (0.5 + Math.random()), signal);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  /** Creates the lock file with its content; undefined when another owner holds it. */
  async #tryCreate(path: string, content: string): Promise<HeldLock | undefined> {
    try {
      return await this.#createExclusive(path, content);
    } catch (error) {
      if (!hasCode(error, 'ENOENT')) throw error;
      // The locks directory went missing (someone cleaned `.stowage`): recreate it and retry.
      await this.#layout.ensureInternalDirectory(this.#layout.locksDir);
      return this.#createExclusive(path, content);
    }
  }

  /**
   * Creates `path` holding `content`, atomically: written to a pending file of its own and linked
   * into place, so that `path` never exists empty. Undefined when `path` exists.
   */
  async #createExclusive(path: string, content: string): Promise<HeldLock | undefined> {
    if (this.#linksUnsupported) return createFilled(path, content);
    const pending = pendingPath(path);
    try {
      await writeFile(pending, content, { flag: 'wx' });
    } catch (error) {
      await unlink(pending).catch(() => {});
      if (hasCode(error, ...NO_ROOM)) return createFilled(path, content);
      throw error;
    }
    try {
      const stats = await lstat(pending, { bigint: true });
      await link(pending, path);
      return { path, ino: stats.ino };
    } catch (error) {
      if (hasCode(error, 'EEXIST')) return undefined;
      if (hasCode(error, ...NO_LINKS)) {
        this.#linksUnsupported = true;
        return createFilled(path, content);
      }
      throw error;
    } finally {
      await unlink(pending).catch(() => {});
    }
  }

  /** Removes the lock at `path` when its owner is gone; true when the caller should retry at once. */
  async #breakIfStale(path: string): Promise<boolean> {
    const observed = await readLockFile(path);
    if (observed === undefined) return true;
    if (this.#judge(observed.text, observed.mtimeMs, this.#timing.staleMs) === undefined) return false;
    await this.#breakObserved(path, observed);
    return true;
  }

  /**
   * Removes the lock at `path` if it is still exactly `observed` (same inode, same content), under
   * the breaker file; false when another process is breaking it or it changed.
   */
  async #breakObserved(path: string, observed: { ino: bigint; text: string }): Promise<boolean> {
    const breaker = `${path}.break`;
    const mine = await this.#tryCreate(breaker, ownerContent()).catch((error: unknown) => {
      if (hasCode(error, 'EEXIST')) return undefined;
      throw error;
    });
    if (!mine) {
      // Another process is breaking this lock; a breaker whose owner died (or that is old) is itself broken.
      const other = await readLockFile(breaker);
      if (other && this.#judge(other.text, other.mtimeMs, this.#timing.staleMs) !== undefined) await removeIfUnchanged(breaker, other);
      return false;
    }
    try {
      // Only the very file judged stale: a fresh lock taken meanwhile has another inode or token.
      return await removeIfUnchanged(path, observed);
    } finally {
      await this.#release(mine);
    }
  }

  /**
   * Why a lock (or breaker) with this content and time is abandoned, or undefined while its owner
   * may hold it: its owner is a process of this host that no longer runs, or it is older than `maxAge`.
   */
  #judge(text: string, mtimeMs: number, maxAge: number): 'owner-gone' | 'age' | undefined {
    const content = parseContent(text);
    if (content !== undefined && content.host === HOST && !isProcessAlive(content.pid)) return 'owner-gone';
    if (content !== undefined && content.host === HOST) return Date.now() - mtimeMs > this.#timing.staleMs ? 'age' : undefined;
    return Date.now() - mtimeMs > maxAge ? 'age' : undefined;
  }

  async #release(held: HeldLock): Promise<void> {
    try {
      const stats = await lstat(held.path, { bigint: true });
      // If our lock was broken as stale and someone else holds the path now, leave theirs alone.
      if (stats.ino === held.ino) await unlink(held.path);
    } catch {
      // The operation itself is done; a lock file we could not remove is broken as stale later.
    }
  }

  /**
   * Reclaims what crashed lock holders left: locks and breakers whose owner is gone (or that are
   * older than the staleness limit, or than `olderThanMs` for owners this host cannot check), and
   * the pending files of owners killed between writing a lock's content and linking it. With
   * `ownerGoneOnly`, only what is certainly abandoned (the check every backend makes at its first write).
   */
  async sweep(tally: SweepTally, olderThanMs: number, ownerGoneOnly = false): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.#layout.locksDir);
    } catch (error) {
      if (hasCode(error, 'ENOENT')) return;
      throw error;
    }
    const maxAge = Math.min(olderThanMs, this.#timing.staleMs);
    for (const name of names.sort()) {
      const path = join(this.#layout.locksDir, name);
      const state = await readLockFile(path);
      if (state === undefined) continue;
      const file: LockFileState = { name, path, ...state };
      if (name.endsWith('.new')) await this.#sweepPending(tally, file, olderThanMs, ownerGoneOnly);
      else {
        const reason = this.#judge(file.text, file.mtimeMs, maxAge);
        if (reason === undefined || (ownerGoneOnly && reason !== 'owner-gone')) continue;
        const item = { kind: 'lock', id: name, size: file.size, modified: new Date(file.mtimeMs), reason } as const;
        if (name.endsWith('.break')) await tally.reclaim(item, () => removeIfUnchanged(path, file));
        else await tally.reclaim(item, () => this.#breakObserved(path, file));
      }
    }
  }

  async #sweepPending(tally: SweepTally, file: LockFileState, olderThanMs: number, ownerGoneOnly: boolean): Promise<void> {
    // `<lock>.<host tag>.<pid>.<id>.new`
    const [host, pid] = file.name.split('.').slice(-4, -2);
    const mine = host === HOST_TAG;
    const reason = mine ? (isProcessAlive(Number(pid)) ? undefined : 'owner-gone') : Date.now() - file.mtimeMs > olderThanMs ? 'age' : undefined;
    if (reason === undefined || (ownerGoneOnly && reason !== 'owner-gone')) return;
    await tally.reclaim({ kind: 'lock', id: file.name, size: file.size, modified: new Date(file.mtimeMs), reason }, () => removeIfUnchanged(file.path, file));
  }
}

/** The content of a lock this process takes. */
function ownerContent(): string {
  return JSON.stringify({ pid: process.pid, host: HOST, token: randomBytes(12).toString('hex') } satisfies LockContent);
}

/**
 * The last resort where a lock cannot be linked into place: created empty with `O_EXCL`, then
 * filled (a write that fails for want of space leaves it empty; it is then broken by age only).
 */
async function createFilled(path: string, content: string): Promise<HeldLock | undefined> {
  let handle;
  try {
    handle = await open(path, 'wx');
  } catch (error) {
    if (hasCode(error, 'EEXIST')) return undefined;
    throw error;
  }
  try {
    await handle.writeFile(content).catch((error: unknown) => {
      if (!hasCode(error, ...NO_ROOM)) throw error;
    });
    const stats = await handle.stat({ bigint: true });
    return { path, ino: stats.ino };
  } catch (error) {
    await unlink(path).catch(() => {});
    throw error;
  } finally {
    await handle.close();
  }
}

/** A lock file's inode, time, size and content; undefined when it is gone. */
async function readLockFile(path: string): Promise<Omit<LockFileState, 'name' | 'path'> | undefined> {
  try {
    const stats = await lstat(path, { bigint: true });
    return { ino: stats.ino, mtimeMs: Number(stats.mtimeMs), size: Number(stats.size), text: await readFile(path, 'utf8') };
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return undefined;
    throw error;
  }
}

/** Removes `path` if it is still the file observed (same inode and content); false when it changed or is gone. */
async function removeIfUnchanged(path: string, observed: { ino: bigint; text: string }): Promise<boolean> {
  try {
    const stats = await lstat(path, { bigint: true });
    if (stats.ino !== observed.ino || (await readFile(path, 'utf8')) !== observed.text) return false;
    await unlink(path);
    return true;
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return false;
    throw error;
  }
}
