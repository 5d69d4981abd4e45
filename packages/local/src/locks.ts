/**
 * Per-key locks that hold across processes, so that a conditional write's check and its rename are
 * one step for every writer on the machine (and on a shared filesystem that honours `O_EXCL`).
 *
 * A lock is a file created with `O_CREAT | O_EXCL` in `.stowage/locks/`, named by the key's hash and
 * holding the owner's pid, host and a unique token. Within one process, callers queue in memory
 * first, so only one of them at a time polls the lock file. A lock left by a crashed process is
 * broken when its owner's pid no longer runs on this host, or when it is older than `staleMs`
 * (for owners on other hosts, or a pid that was reused). Breaking is serialized by a second
 * `O_EXCL` file (`<lock>.break`), and only removes the exact lock file (same inode, same content)
 * that was judged stale, so two breakers never remove a fresh lock.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { lstat, open, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { AbortedError, UnavailableError, raceSignal } from '@stowage/core';
import { BACKEND_NAME, hasCode } from './fs-errors.ts';
import type { RootLayout } from './layout.ts';
import { isProcessAlive } from './processes.ts';

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

/** The lock files of one root (in `.stowage/locks`). */
export class KeyLocks {
  readonly #layout: RootLayout;
  readonly #timing: LockTiming;

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
    const content = JSON.stringify({ pid: process.pid, host: HOST, token: randomBytes(12).toString('hex') } satisfies LockContent);
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

  /** Creates the lock file; undefined when another owner holds it. */
  async #tryCreate(path: string, content: string): Promise<HeldLock | undefined> {
    let handle;
    try {
      handle = await open(path, 'wx');
    } catch (error) {
      if (hasCode(error, 'EEXIST')) return undefined;
      if (hasCode(error, 'ENOENT')) {
        // The locks directory went missing (someone cleaned `.stowage`): recreate it and retry.
        await this.#layout.ensureInternalDirectory(this.#layout.locksDir);
        return this.#tryCreate(path, content);
      }
      throw error;
    }
    try {
      await handle.writeFile(content);
      const stats = await handle.stat({ bigint: true });
      return { path, ino: stats.ino };
    } catch (error) {
      await unlink(path).catch(() => {});
      throw error;
    } finally {
      await handle.close();
    }
  }

  /** Removes the lock at `path` when its owner is gone; true when the caller should retry at once. */
  async #breakIfStale(path: string): Promise<boolean> {
    let observed: { ino: bigint; mtimeMs: number; text: string };
    try {
      const stats = await lstat(path, { bigint: true });
      observed = { ino: stats.ino, mtimeMs: Number(stats.mtimeMs), text: await readFile(path, 'utf8') };
    } catch (error) {
      if (hasCode(error, 'ENOENT')) return true;
      throw error;
    }
    if (!this.#isStale(observed.text, observed.mtimeMs)) return false;
    const breaker = `${path}.break`;
    try {
      await writeFile(breaker, String(process.pid), { flag: 'wx' });
    } catch (error) {
      if (!hasCode(error, 'EEXIST')) throw error;
      // Another process is breaking this lock; a breaker that crashed midway is itself stale after a while.
      const stats = await lstat(breaker).catch(() => undefined);
      if (stats && Date.now() - stats.mtimeMs > this.#timing.staleMs) await unlink(breaker).catch(() => {});
      return false;
    }
    try {
      const stats = await lstat(path, { bigint: true });
      const text = await readFile(path, 'utf8');
      // Only the very file judged stale: a fresh lock taken meanwhile has another inode or token.
      if (stats.ino === observed.ino && text === observed.text) await unlink(path);
    } catch (error) {
      if (!hasCode(error, 'ENOENT')) throw error;
    } finally {
      await unlink(breaker).catch(() => {});
    }
    return true;
  }

  #isStale(text: string, mtimeMs: number): boolean {
    if (Date.now() - mtimeMs > this.#timing.staleMs) return true;
    const content = parseContent(text);
    return content !== undefined && content.host === HOST && !isProcessAlive(content.pid);
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
}
