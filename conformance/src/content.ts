/**
 * Deterministic test content and the body types a write accepts.
 *
 * Content is a pseudo-random function of (seed, position), so that any slice can be generated on
 * its own, a shifted or reordered chunk never looks right by accident, and large bodies are checked
 * by SHA-256 instead of by holding copies.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

/** The 32-bit word at `index` of the pattern for `seed` (a murmur3-style finalizer: cheap, well mixed). */
function patternWord(seed: number, index: number): number {
  let x = (index + Math.imul(seed, 0x9e3779b9)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Fills `target` with the pattern bytes for `seed` starting at absolute position `offset`. */
export function fillPattern(target: Uint8Array, seed: number, offset = 0): Uint8Array {
  const length = target.length;
  let i = 0;
  // Byte by byte up to a word boundary of the pattern, then a word at a time (little-endian lanes).
  for (; i < length && (offset + i) % 4 !== 0; i++) {
    const position = offset + i;
    target[i] = (patternWord(seed, Math.floor(position / 4)) >>> ((position % 4) * 8)) & 0xff;
  }
  let index = Math.floor((offset + i) / 4);
  const words = Math.floor((length - i) / 4);
  if (LITTLE_ENDIAN && (target.byteOffset + i) % 4 === 0) {
    const view = new Uint32Array(target.buffer, target.byteOffset + i, words);
    for (let w = 0; w < words; w++) view[w] = patternWord(seed, index++);
    i += words * 4;
  } else {
    for (; i + 4 <= length; i += 4) {
      const word = patternWord(seed, index++);
      target[i] = word & 0xff;
      target[i + 1] = (word >>> 8) & 0xff;
      target[i + 2] = (word >>> 16) & 0xff;
      target[i + 3] = word >>> 24;
    }
  }
  for (; i < length; i++) {
    const position = offset + i;
    target[i] = (patternWord(seed, Math.floor(position / 4)) >>> ((position % 4) * 8)) & 0xff;
  }
  return target;
}

/** Numbers in [0, 1) that `seed` makes repeatable: the pattern's words, one after another. */
export function seededRandom(seed: number): () => number {
  let index = 0;
  return () => patternWord(seed, index++) / 4294967296;
}

/** `size` pattern bytes for `seed`, starting at `offset`. */
export function patternBytes(size: number, seed: number, offset = 0): Uint8Array {
  return fillPattern(new Uint8Array(size), seed, offset);
}

const digests = new Map<string, string>();

/**
 * SHA-256 (hex) of the first `size` pattern bytes for `seed`, computed piece by piece and
 * remembered: suites that run several times in one process hash each large body once.
 */
export function patternSha256(size: number, seed: number): string {
  const cacheKey = `${size}:${seed}`;
  const cached = digests.get(cacheKey);
  if (cached !== undefined) return cached;
  const hash = createHash('sha256');
  const piece = new Uint8Array(Math.min(size, 1024 * 1024));
  for (let offset = 0; offset < size; offset += piece.length) {
    const length = Math.min(piece.length, size - offset);
    hash.update(fillPattern(piece.subarray(0, length), seed, offset));
  }
  const digest = hash.digest('hex');
  digests.set(cacheKey, digest);
  return digest;
}

/**
 * Reads a stream and tells which of the candidate patterns it holds exactly, or undefined (with
 * the number of bytes read) when it holds none of them. Compares piece by piece, holding nothing.
 */
export async function identifyPattern(
  stream: ReadableStream<Uint8Array>,
  candidates: readonly { size: number; seed: number }[],
): Promise<{ match: { size: number; seed: number } | undefined; bytes: number }> {
  let alive = candidates.slice();
  let offset = 0;
  const reader = stream.getReader();
  try {
    while (true) {
      const next = await reader.read();
      if (next.done) break;
      const chunk = next.value;
      alive = alive.filter((candidate) => {
        if (offset + chunk.byteLength > candidate.size) return false;
        const expected = patternBytes(chunk.byteLength, candidate.seed, offset);
        return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).equals(expected);
      });
      offset += chunk.byteLength;
    }
  } finally {
    reader.releaseLock();
  }
  return { match: alive.find((candidate) => candidate.size === offset), bytes: offset };
}

/** The pattern for `seed` as an async iterable of fresh pieces of `pieceSize` bytes (the last may be shorter). */
export async function* patternChunks(size: number, seed: number, pieceSize: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < size; offset += pieceSize) {
    yield patternBytes(Math.min(pieceSize, size - offset), seed, offset);
  }
}

/**
 * A string whose UTF-8 encoding is exactly `size` bytes, mixing one- to four-byte characters so
 * that a backend or converter that counts characters instead of bytes, or splits a character
 * across chunks badly, is caught.
 */
export function textOfBytes(size: number): string {
  const unit = 'stow é ë ✓ 日本 😀\n';
  const unitBytes = Buffer.byteLength(unit);
  let text = unit.repeat(Math.floor(size / unitBytes));
  let bytes = Math.floor(size / unitBytes) * unitBytes;
  for (const char of unit) {
    const length = Buffer.byteLength(char);
    if (bytes + length > size) break;
    text += char;
    bytes += length;
  }
  return text + 'x'.repeat(size - bytes);
}

/** The body types a write accepts, as the suite names them in case ids. */
export const BODY_TYPES = ['uint8array', 'arraybuffer', 'string', 'blob', 'web-stream', 'node-readable', 'async-iterable'] as const;

/** One of {@link BODY_TYPES}. */
export type BodyType = (typeof BODY_TYPES)[number];

/** A body ready to write, and the bytes it must store. */
export interface PreparedBody {
  /** What to pass to `store.write`. */
  body: Uint8Array | ArrayBuffer | string | Blob | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;
  /** The bytes the object must hold afterwards. */
  expected: Uint8Array;
}

/**
 * Builds a body of `type` holding `size` bytes. Streams deliver it in uneven pieces (`pieceSize`
 * bytes, then the rest), as a network source would.
 */
export function prepareBody(type: BodyType, size: number, seed: number, pieceSize: number): PreparedBody {
  if (type === 'string') {
    const text = textOfBytes(size);
    return { body: text, expected: new TextEncoder().encode(text) };
  }
  const expected = patternBytes(size, seed);
  const pieces = (): Uint8Array[] => {
    const out: Uint8Array[] = [];
    for (let offset = 0; offset < size; offset += pieceSize) out.push(expected.slice(offset, Math.min(size, offset + pieceSize)));
    return out;
  };
  switch (type) {
    case 'uint8array':
      return { body: expected.slice(), expected };
    case 'arraybuffer':
      return { body: expected.slice().buffer, expected };
    case 'blob':
      return { body: new Blob([expected.slice()]), expected };
    case 'web-stream': {
      const queue = pieces();
      return {
        body: new ReadableStream<Uint8Array>({
          pull(controller) {
            const next = queue.shift();
            if (next === undefined) controller.close();
            else controller.enqueue(next);
          },
        }),
        expected,
      };
    }
    case 'node-readable': {
      const queue = pieces();
      // A byte-mode Readable, like a file or socket stream: Node may merge or split the pushed pieces.
      return {
        body: new Readable({
          read() {
            const next = queue.shift();
            this.push(next === undefined ? null : Buffer.from(next.buffer, next.byteOffset, next.byteLength));
          },
        }),
        expected,
      };
    }
    case 'async-iterable': {
      const queue = pieces();
      return {
        body: (async function* () {
          for (const piece of queue) yield piece;
        })(),
        expected,
      };
    }
  }
}
