/**
 * What identifies one version of a stored file, and the etag derived from it.
 *
 * A write never changes a file in place: it renames a new file (a new inode) over the old one, and
 * stamps it with a modification time later than the version it replaces. So inode, modification
 * time in nanoseconds and size together name one version, and stat, write and list all compute the
 * same etag from them without reading anything else.
 *
 * @module
 */
import type { BigIntStats } from 'node:fs';

/** The identity of one version of a file. */
export interface FileVersion {
  /** Inode number: a rename keeps it, a new write gets another. */
  readonly ino: bigint;
  /** Size in bytes. */
  readonly size: number;
  /** Modification time in nanoseconds since the epoch. */
  readonly mtimeNs: bigint;
}

/** The version a file's stats describe. */
export function versionOf(stats: BigIntStats): FileVersion {
  return { ino: stats.ino, size: Number(stats.size), mtimeNs: stats.mtimeNs };
}

/** Whether two stats or versions describe the same version of a file. */
export function sameVersion(a: FileVersion, b: FileVersion): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs;
}

/** The etag of a version: a quoted, opaque string, identical wherever it is computed. */
export function etagOf(version: FileVersion): string {
  return `"${version.ino.toString(36)}-${version.mtimeNs.toString(36)}-${version.size.toString(36)}"`;
}

/** The version's modification time as a `Date` (millisecond precision). */
export function lastModifiedOf(version: FileVersion): Date {
  return new Date(Number(version.mtimeNs / 1_000_000n));
}

/**
 * The modification time (in seconds, for `utimes`) to stamp on a new version: now, with
 * sub-millisecond precision, and always later than the version it replaces, so that no two versions
 * of a key share an etag even when the filesystem reuses a freed inode within one clock tick.
 */
export function nextModificationTime(previous: FileVersion | undefined): number {
  // The wall clock's milliseconds, refined by the monotonic clock's microseconds (which alone drifts).
  const nowUs = BigInt(Date.now()) * 1000n + BigInt(Math.floor((performance.now() % 1) * 1000));
  // Two microseconds after the previous version: a double holds seconds here to about 0.25 µs, and
  // the conversion below drops the nanoseconds, so one microsecond of margin would not be enough.
  const afterUs = previous === undefined ? 0n : previous.mtimeNs / 1000n + 2n;
  const us = nowUs > afterUs ? nowUs : afterUs;
  return Number(us) / 1e6;
}
