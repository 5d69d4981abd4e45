/**
 * How an object lives in a row: the JSON kept in `extra`, the digest format, and etags for rows that
 * stowage did not write.
 *
 * @module
 */
import { createHash, randomUUID } from 'node:crypto';
import { HOST_TAG, isOwnerGone } from '@stowage/core/node';

/** Where a chunked object's bytes are: chunk rows `(key, version, seq)` of `chunkSize` bytes each (the last one shorter). */
export interface ChunkPointer {
  version: string;
  chunkSize: number;
}

/**
 * What stowage keeps in the `extra` column, under the `stowage` member (other members are left to
 * other writers). Besides the etag and the chunk pointer it holds a fingerprint of the row as stowage
 * wrote it: the object's size, the `modified_at` value as the column stored it, and a hash of the
 * key. A row whose columns no longer match its fingerprint was changed by another writer, and
 * nothing else recorded here is trusted.
 */
export interface StowageExtra {
  etag: string;
  version?: string | undefined;
  chunkSize?: number | undefined;
  /** The object's size in bytes (absent in rows written before fingerprints). */
  size?: number | undefined;
  /** The `modified_at` value as read back from the column (absent when the table has none, or before fingerprints). */
  modifiedAt?: number | undefined;
  /** {@link keyHash} of the row's key (absent before fingerprints). */
  key?: string | undefined;
}

/** What {@link formatExtra} records about a row besides its etag and chunks. */
export interface RowFingerprint {
  size: number;
  modifiedAt: number | undefined;
  key: string;
}

/** A short hash of a key, so that a row copied to another key by plain SQL is told apart from the one stowage wrote. */
export function keyHash(key: string): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 16);
}

/** A random id for etags and chunk versions. */
export function randomId(): string {
  // randomUUID draws from a cached entropy pool: far cheaper per call than randomBytes.
  return randomUUID().replaceAll('-', '');
}

/** Counts the chunk versions this process creates, so that two in one millisecond differ. */
let versionCounter = Math.floor(Math.random() * 0x1000000);
/** The largest pid a version id can name (6 hex digits); a larger one is written as unknown. */
const UNKNOWN_PID = 0xffffff;

/**
 * A chunk version id: its creation time (milliseconds, base 36, 9 digits, so that ids sort by time),
 * then its writer (this host's {@link HOST_TAG}, 8 hex digits, and its pid, 6) and a counter of the
 * process (6). The time lets a sweep tell an old writer's chunks from a young one's; the writer lets
 * the next open or write on this host reclaim at once the chunks a process that no longer runs staged.
 * The form is that of ids before writers were named (9 + 20 characters), so that a sweep of an
 * older stowage still reads the time and spares a running writer's chunks.
 */
export function newVersion(now = Date.now(), writer: { host: string; pid: number } = { host: HOST_TAG, pid: process.pid }): string {
  versionCounter = (versionCounter + 1) % 0x1000000;
  const pid = writer.pid > 0 && writer.pid < UNKNOWN_PID ? writer.pid : UNKNOWN_PID;
  return `${now.toString(36).padStart(9, '0')}${writer.host}${pid.toString(16).padStart(6, '0')}${versionCounter.toString(16).padStart(6, '0')}`;
}

/** When a chunk version was created, or undefined for ids without a time (written before versions carried one). */
export function versionTime(version: string): number | undefined {
  if (!/^[0-9a-z]{9}[0-9a-f]{20}$/.test(version)) return undefined;
  const time = Number.parseInt(version.slice(0, 9), 36);
  return Number.isSafeInteger(time) ? time : undefined;
}

/**
 * Whether the writer a chunk version names is known to be dead: a process of this host that no
 * longer runs. Ids from before writers were named hold random digits there, which name this host
 * once in 2^32 ids; such a version is then judged by its pid as if it were named.
 */
export function versionWriterGone(version: string): boolean {
  if (versionTime(version) === undefined) return false;
  const pid = Number.parseInt(version.slice(17, 23), 16);
  return pid !== UNKNOWN_PID && isOwnerGone(version.slice(9, 17), pid);
}

/** The `extra` JSON for a row stowage writes. */
export function formatExtra(etag: string, chunks: ChunkPointer | undefined, fingerprint: RowFingerprint): string {
  const stowage: StowageExtra = chunks ? { etag, version: chunks.version, chunkSize: chunks.chunkSize } : { etag };
  stowage.size = fingerprint.size;
  if (fingerprint.modifiedAt !== undefined) stowage.modifiedAt = fingerprint.modifiedAt;
  stowage.key = keyHash(fingerprint.key);
  return JSON.stringify({ stowage });
}

/** The stowage member of an `extra` value, when there is a valid one. */
export function parseExtra(value: unknown): StowageExtra | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  try {
    const parsed = JSON.parse(value) as { stowage?: Partial<StowageExtra> } | null;
    const stowage = parsed?.stowage;
    if (typeof stowage?.etag !== 'string') return undefined;
    if (stowage.version !== undefined && (typeof stowage.version !== 'string' || typeof stowage.chunkSize !== 'number' || stowage.chunkSize <= 0)) return undefined;
    if (stowage.size !== undefined && (typeof stowage.size !== 'number' || !Number.isSafeInteger(stowage.size) || stowage.size < 0)) return undefined;
    if (stowage.modifiedAt !== undefined && typeof stowage.modifiedAt !== 'number') return undefined;
    if (stowage.key !== undefined && typeof stowage.key !== 'string') return undefined;
    return { etag: stowage.etag, version: stowage.version, chunkSize: stowage.chunkSize, size: stowage.size, modifiedAt: stowage.modifiedAt, key: stowage.key };
  } catch {
    return undefined;
  }
}

/** The `digest` column's format: `sha256:<lowercase hex>`, self-describing should another algorithm ever be added. */
export function formatDigest(sha256: string): string {
  return `sha256:${sha256}`;
}

/** The hex SHA-256 in a `digest` value; accepts `sha256:<hex>` and bare 64-digit hex (rows written by other tools). */
export function parseDigest(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(?:sha256:)?([0-9a-fA-F]{64})$/.exec(value.trim());
  return match ? match[1]!.toLowerCase() : undefined;
}

/**
 * An etag for a row whose `extra` stowage cannot vouch for (written by plain SQL or the Python
 * backend, or changed by them since stowage wrote it): it changes whenever the size, the time, the
 * length of `data`, the digest or `extra` do.
 */
export function derivedEtag(size: number, modifiedAt: number, dataLength: number, digest: unknown, extra: unknown): string {
  const text = (value: unknown): string => (typeof value === 'string' ? value : '');
  const hash = createHash('sha256').update(`${size}:${modifiedAt}:${dataLength}:${text(digest).length}:${text(digest)}:${text(extra)}`).digest('hex');
  return `"r-${hash.slice(0, 24)}"`;
}

/** The user metadata in a `user_metadata` value (a JSON object of strings). */
export function parseMetadata(value: unknown): Record<string, string> {
  if (typeof value !== 'string' || value === '') return {};
  try {
    const parsed = JSON.parse(value) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    const metadata: Record<string, string> = {};
    for (const [name, entry] of Object.entries(parsed)) if (typeof entry === 'string') metadata[name] = entry;
    return metadata;
  } catch {
    return {};
  }
}

/** Where {@link fixedChunks} starts a buffer whose final size is not known yet. */
const FIRST_BUFFER = 16 * 1024;

/**
 * Cuts a body into Buffers of exactly `size` bytes (the last one shorter); each yielded Buffer is
 * new. Until a first full chunk is seen the buffer grows from a small one, so a 1 KiB body costs a
 * few KiB, not a whole chunk.
 */
export async function* fixedChunks(body: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Buffer> {
  let buffer: Buffer | undefined;
  let filled = 0;
  let large = false;
  for await (const piece of body) {
    let offset = 0;
    while (offset < piece.byteLength) {
      const remaining = piece.byteLength - offset;
      if (!buffer) buffer = Buffer.allocUnsafe(large ? size : Math.min(size, Math.max(remaining, FIRST_BUFFER)));
      else if (filled === buffer.byteLength) {
        const grown = Buffer.allocUnsafe(Math.min(size, Math.max(buffer.byteLength * 2, filled + remaining)));
        buffer.copy(grown, 0, 0, filled);
        buffer = grown;
      }
      const count = Math.min(buffer.byteLength - filled, remaining);
      buffer.set(piece.subarray(offset, offset + count), filled);
      filled += count;
      offset += count;
      if (filled === size) {
        yield buffer;
        buffer = undefined;
        filled = 0;
        large = true;
      }
    }
  }
  if (buffer && filled > 0) yield buffer.subarray(0, filled);
}

/** The smallest string above every string that starts with `prefix` (code point order is UTF-8 byte order), or `undefined` when there is none. */
export function prefixSuccessor(prefix: string): string | undefined {
  const points = Array.from(prefix);
  while (points.length > 0) {
    const last = points.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) {
      points.push(String.fromCodePoint(last === 0xd7ff ? 0xe000 : last + 1));
      return points.join('');
    }
  }
  return undefined;
}
