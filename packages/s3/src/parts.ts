/**
 * Cutting a body of unknown length into multipart-upload parts, with bounded memory.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

/** S3's smallest part (all but the last): 5 MiB. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** S3's largest part, and the largest object one PutObject or CopyObject takes: 5 GiB. */
export const MAX_SINGLE_REQUEST = 5 * 1024 * 1024 * 1024;
/** S3's largest object: 5 TiB. */
export const MAX_OBJECT_SIZE = 5 * 1024 * 1024 * 1024 * 1024;
/** S3's most parts in one upload. */
export const MAX_PARTS = 10_000;
/** Parts double in size every this many parts, so that a stream of unknown length can reach 5 TiB. */
const PARTS_PER_DOUBLING = 900;

/**
 * The size of part `number` (1-based): `base` for the first 900 parts, then twice that for the
 * next 900, and so on (capped at 5 GiB): from the 5 MiB minimum, 10,000 parts hold 9 TiB.
 */
export function partSizeFor(number: number, base: number): number {
  return Math.min(MAX_SINGLE_REQUEST, base * 2 ** Math.floor((number - 1) / PARTS_PER_DOUBLING));
}

/** The part size for an object whose size is known: the base, or more when 10,000 parts would not hold it. */
export function basePartSize(base: number, size: number | undefined): number {
  if (size === undefined) return base;
  const needed = Math.ceil(size / MAX_PARTS / (1024 * 1024)) * 1024 * 1024;
  return Math.max(base, needed);
}

/** The first buffer of a body of unknown size: small bodies are the common case, so it starts small and grows. */
const FIRST_CAPACITY = 64 * 1024;

/**
 * Yields the body as parts of exactly `sizeOf(n)` bytes (the last one shorter), each in a buffer of
 * its own, so that a part can be sent (and retried) while the next one fills. Holds at most one
 * partial part besides what the caller keeps. The first part starts at `expectedSize` (or 64 KiB)
 * and doubles as it fills, so that a 1 KiB body never costs a whole part's allocation.
 */
export async function* fixedParts(body: AsyncIterable<Uint8Array>, sizeOf: (number: number) => number, pool?: PartPool, expectedSize?: number): AsyncGenerator<Buffer> {
  const allocate = (size: number): Buffer => pool?.take(size) ?? Buffer.allocUnsafe(size);
  let number = 1;
  let target = sizeOf(number);
  let part: Buffer = Buffer.allocUnsafe(Math.min(target, Math.max(1, expectedSize ?? FIRST_CAPACITY)));
  let filled = 0;
  for await (const chunk of body) {
    let offset = 0;
    while (offset < chunk.byteLength) {
      if (filled === part.byteLength && part.byteLength < target) {
        const grown = number === 1 && part.byteLength * 2 < target ? Buffer.allocUnsafe(part.byteLength * 2) : allocate(target);
        part.copy(grown, 0, 0, filled);
        part = grown;
      }
      const take = Math.min(part.byteLength - filled, chunk.byteLength - offset);
      part.set(chunk.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      if (filled === target) {
        yield part;
        number += 1;
        target = sizeOf(number);
        part = allocate(target);
        filled = 0;
      }
    }
  }
  if (filled > 0 || number === 1) yield part.subarray(0, filled);
}

/**
 * Part buffers for reuse once their upload is done. Without it every part is a fresh multi-MiB
 * allocation, and the allocator keeps the freed ones resident: a 100 MiB stream grew the process
 * twice as much as the parts in flight.
 */
export class PartPool {
  readonly #free: Buffer[] = [];
  readonly #keep: number;

  constructor(keep: number) {
    this.#keep = keep;
  }

  /** A buffer of `size` bytes: a returned one when there is one of that size. */
  take(size: number): Buffer {
    const index = this.#free.findIndex((buffer) => buffer.byteLength === size);
    return index === -1 ? Buffer.allocUnsafe(size) : this.#free.splice(index, 1)[0]!;
  }

  /** Returns a buffer nobody reads any more (only whole parts; a last, shorter part is a view). */
  give(buffer: Buffer): void {
    if (buffer.byteOffset === 0 && buffer.byteLength === buffer.buffer.byteLength && this.#free.length < this.#keep) this.#free.push(buffer);
  }
}

/** The ETag S3 gives a multipart object: the MD5 of the parts' binary MD5s, then `-<parts>`; undefined when a part's etag is not an MD5. */
export function multipartEtag(partEtags: readonly string[]): string | undefined {
  const hash = createHash('md5');
  for (const etag of partEtags) {
    const hex = etag.replaceAll('"', '');
    if (!/^[0-9a-f]{32}$/i.test(hex)) return undefined;
    hash.update(Buffer.from(hex, 'hex'));
  }
  return `"${hash.digest('hex')}-${partEtags.length}"`;
}

/** Writes `parts` (and `more`) to a file; returns the number of bytes written. */
export async function spoolToFile(path: string, parts: readonly Buffer[], more: AsyncIterable<Buffer>): Promise<number> {
  const file = createWriteStream(path, { flags: 'wx', mode: 0o600 });
  const failed = once(file, 'error').then(([error]) => {
    throw error;
  });
  failed.catch(() => undefined);
  let size = 0;
  const write = async (buffer: Buffer): Promise<void> => {
    size += buffer.byteLength;
    if (!file.write(buffer)) await Promise.race([once(file, 'drain'), failed]);
  };
  try {
    for (const part of parts) await write(part);
    for await (const part of more) await write(part);
    file.end();
    await Promise.race([once(file, 'finish'), failed]);
    return size;
  } finally {
    file.destroy();
  }
}
