/**
 * Bodies for the benchmarks: pseudo-random bytes (so that no layer can compress or deduplicate
 * them) produced piece by piece, and a consumer that counts what a stream delivers.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { MiB } from './harness.ts';

const TEMPLATE = randomBytes(MiB);

/** `size` bytes as fresh `pieceSize` pieces (each a new buffer: a consumer may keep it). */
export async function* pieces(size: number, pieceSize = MiB): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < size; offset += pieceSize) {
    const length = Math.min(pieceSize, size - offset);
    const piece = Buffer.allocUnsafe(length);
    for (let filled = 0; filled < length; filled += TEMPLATE.byteLength) TEMPLATE.copy(piece, filled, 0, Math.min(TEMPLATE.byteLength, length - filled));
    piece.writeUInt32LE(offset / pieceSize, 0);
    // A real source (a file, a socket) gives the event loop a turn between pieces; so does this one.
    await new Promise((resolve) => setImmediate(resolve));
    yield piece;
  }
}

/** `size` pseudo-random bytes in one buffer. */
export function bytes(size: number): Buffer {
  const buffer = Buffer.allocUnsafe(size);
  for (let filled = 0; filled < size; filled += TEMPLATE.byteLength) TEMPLATE.copy(buffer, filled, 0, Math.min(TEMPLATE.byteLength, size - filled));
  return buffer;
}

/** Reads a stream to its end, keeping nothing; returns the number of bytes. */
export async function drain(stream: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): Promise<number> {
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Uint8Array>) total += chunk.byteLength;
  return total;
}

/** Times an async function: its result and the seconds it took. */
export async function timed<T>(work: () => Promise<T>): Promise<{ result: T; seconds: number }> {
  const started = performance.now();
  const result = await work();
  return { result, seconds: (performance.now() - started) / 1000 };
}

/** Throughput in MiB/s of `size` bytes moved in `seconds`. */
export function mibPerSecond(size: number, seconds: number): number {
  return size / MiB / seconds;
}
