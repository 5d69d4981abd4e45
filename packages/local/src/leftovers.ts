/**
 * What crashed or failed writes leave under `.stowage`, found and reclaimed: temporary files of
 * writers that no longer run (or, for another host's, that are older than the sweep's age), and
 * metadata records of versions that are no longer at their key (a writer killed between writing the
 * record and renaming its file into place). Locks are the lock module's own (`KeyLocks.sweep`).
 *
 * @module
 */
import { lstat, readdir, readFile, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { SweepTally } from '@stowage/core';
import { inspectKey } from './confinement.ts';
import { hasCode } from './fs-errors.ts';
import { HOST_TAG, type RootLayout } from './layout.ts';
import type { KeyLocks } from './locks.ts';
import { isProcessAlive } from '@stowage/core/node';

/** The kinds of leftovers the local backend looks for, as its sweep reports them. */
export const LOCAL_SWEEP_KINDS = [
  { kind: 'temporary-file', description: 'bodies and metadata records being written, never renamed into place' },
  { kind: 'lock', description: 'per-key lock files (and lock files being created) whose owner is gone' },
  { kind: 'metadata-record', description: 'metadata records of versions that are no longer at their key' },
] as const;

async function namesIn(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (error) {
    if (hasCode(error, 'ENOENT', 'ENOTDIR')) return [];
    throw error;
  }
}

/**
 * Temporary files (`<host tag>.<pid>.<id>[.json]`) whose writer is a process of this machine that no
 * longer runs, or, for another machine's and names that are not stowage's, older than `olderThanMs`.
 * With `ownerGoneOnly`, only the former (the check every backend makes before its first write).
 */
export async function sweepTemporaries(layout: RootLayout, tally: SweepTally, olderThanMs: number, ownerGoneOnly = false): Promise<void> {
  for (const name of await namesIn(layout.tmpDir)) {
    const [host, pid] = name.split('.');
    const path = join(layout.tmpDir, name);
    const stats = await lstat(path).catch(() => undefined);
    // Renamed into place or removed by its writer meanwhile.
    if (!stats) continue;
    const reason = host === HOST_TAG ? (isProcessAlive(Number(pid)) ? undefined : 'owner-gone') : Date.now() - stats.mtimeMs > olderThanMs ? 'age' : undefined;
    if (reason === undefined || (ownerGoneOnly && reason !== 'owner-gone')) continue;
    await tally.reclaim({ kind: 'temporary-file', id: name, size: stats.size, modified: stats.mtime, reason }, async () => {
      try {
        await unlink(path);
      } catch (error) {
        if (hasCode(error, 'ENOENT')) return false;
        throw error;
      }
    });
  }
}

/**
 * Metadata records (`.stowage/meta/<h2>/<hash>/<inode>.json`) of keys starting with `prefix` whose
 * inode is no longer at the key. Each is judged again under the key's lock, which every commit holds
 * while its record exists ahead of its file, so a write in progress is never touched. A record that
 * cannot be read names no key: it goes once it is older than `olderThanMs`.
 */
export async function sweepMetadataRecords(layout: RootLayout, locks: KeyLocks, tally: SweepTally, prefix: string, olderThanMs: number): Promise<void> {
  for (const shard of await namesIn(layout.metaDir)) {
    for (const hash of await namesIn(join(layout.metaDir, shard))) {
      const dir = join(layout.metaDir, shard, hash);
      for (const name of await namesIn(dir)) {
        const path = join(dir, name);
        const record = await readRecord(path);
        if (record === 'gone') continue;
        if (record === undefined) {
          const stats = await lstat(path).catch(() => undefined);
          if (stats && Date.now() - stats.mtimeMs > olderThanMs) {
            await tally.reclaim({ kind: 'metadata-record', id: `${hash}/${name}`, size: stats.size, modified: stats.mtime, reason: 'age' }, () => removeFile(path));
          }
          continue;
        }
        const { key, ino, size } = record;
        if (!key.startsWith(prefix) || (await isCurrent(layout, key, ino))) continue;
        await tally.reclaim({ kind: 'metadata-record', id: `${hash}/${name}`, key, size, reason: 'orphan' }, () =>
          locks.withLocks([key], undefined, async () => ((await isCurrent(layout, key, ino)) ? false : removeFile(path))),
        );
      }
      // An emptied directory goes too (best effort: a commit may be filling it again).
      if (!tally.dryRun) await rmdir(dir).catch(() => {});
    }
  }
}

/** Whether the file at `key` is the version whose inode is `ino`. */
async function isCurrent(layout: RootLayout, key: string, ino: string): Promise<boolean> {
  const occupant = await inspectKey(layout, key, 'sweep').catch(() => undefined);
  return occupant?.kind === 'file' && occupant.version.ino.toString() === ino;
}

async function readRecord(path: string): Promise<{ key: string; ino: string; size: number } | undefined | 'gone'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return 'gone';
    throw error;
  }
  try {
    const record = JSON.parse(text) as { key?: unknown; ino?: unknown };
    if (typeof record.key === 'string' && typeof record.ino === 'string') return { key: record.key, ino: record.ino, size: Buffer.byteLength(text) };
  } catch {
    // damaged: named by no key
  }
  return undefined;
}

async function removeFile(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return false;
    throw error;
  }
}
