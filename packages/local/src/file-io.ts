/**
 * Bytes in and out of files with bounded memory: a body streamed into a file as it arrives, a file
 * (or a range of it) streamed out as a Web `ReadableStream`, a file copied through a descriptor.
 *
 * @module
 */
import type { FileHandle } from 'node:fs/promises';
import { UnavailableError } from '@stowage/core';
import { BACKEND_NAME, toStowageError } from './fs-errors.ts';

/** Bytes read per chunk of a read stream (and per step of a copy). */
const READ_CHUNK_BYTES = 1024 * 1024;
/** Small body chunks are gathered up to this size before one write call. */
const WRITE_BUFFER_BYTES = 64 * 1024;

/** Writes all of `bytes` at the handle's current position (a write call may take fewer). */
async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.byteLength - offset);
    offset += bytesWritten;
  }
}

/**
 * Streams `body` into `handle` chunk by chunk: memory stays bounded by one chunk plus a 64 KiB
 * buffer that gathers small chunks. Errors of the body (and aborts) propagate unchanged.
 */
export async function writeBody(handle: FileHandle, body: AsyncIterable<Uint8Array>): Promise<void> {
  // Store's body already fails with AbortedError when the signal fires, even while the source stalls.
  const buffer = new Uint8Array(WRITE_BUFFER_BYTES);
  let buffered = 0;
  for await (const chunk of body) {
    if (buffered + chunk.byteLength > WRITE_BUFFER_BYTES && buffered > 0) {
      await writeAll(handle, buffer.subarray(0, buffered));
      buffered = 0;
    }
    if (chunk.byteLength >= WRITE_BUFFER_BYTES) {
      await writeAll(handle, chunk);
    } else {
      buffer.set(chunk, buffered);
      buffered += chunk.byteLength;
    }
  }
  if (buffered > 0) await writeAll(handle, buffer.subarray(0, buffered));
}

/** Copies `size` bytes from the start of `source` to the start of `target`, a chunk at a time. */
export async function copyBetween(source: FileHandle, target: FileHandle, size: number): Promise<void> {
  const chunk = new Uint8Array(Math.min(READ_CHUNK_BYTES * 4, Math.max(size, 1)));
  let position = 0;
  while (position < size) {
    const { bytesRead } = await source.read(chunk, 0, Math.min(chunk.byteLength, size - position), position);
    if (bytesRead === 0) throw new UnavailableError('the source file shrank while it was being copied', { backend: BACKEND_NAME });
    let written = 0;
    while (written < bytesRead) {
      const result = await target.write(chunk, written, bytesRead - written, position + written);
      written += result.bytesWritten;
    }
    position += bytesRead;
  }
}

/** Reads exactly `size` bytes from the start of an open file; `UnavailableError` when it is shorter. */
export async function readWhole(handle: FileHandle, size: number, key: string): Promise<Uint8Array> {
  const data = new Uint8Array(size);
  let filled = 0;
  while (filled < size) {
    const { bytesRead } = await handle.read(data, filled, size - filled, filled);
    if (bytesRead === 0) throw new UnavailableError(`${JSON.stringify(key)} shrank while it was being read`, { key, backend: BACKEND_NAME });
    filled += bytesRead;
  }
  return data;
}

/**
 * A byte stream of bytes already in memory (a small object read with its record): one chunk for a
 * default reader, copied into the reader's buffers for a BYOB reader. `data` is never handed out, so
 * a cached copy stays intact.
 */
export function bytesStream(data: Uint8Array): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    type: 'bytes',
    autoAllocateChunkSize: Math.max(1, data.byteLength),
    start(controller) {
      if (data.byteLength === 0) controller.close();
    },
    pull(controller) {
      const request = controller.byobRequest!;
      const view = request.view!;
      const length = Math.min(view.byteLength, data.byteLength - offset);
      new Uint8Array(view.buffer, view.byteOffset, length).set(data.subarray(offset, offset + length));
      offset += length;
      request.respond(length);
      if (offset >= data.byteLength) {
        controller.close();
        controller.byobRequest?.respond(0);
      }
    },
  }) as ReadableStream<Uint8Array>;
}

/**
 * A stream of `length` bytes of `handle` from `offset`. It reads only when the consumer pulls
 * (one chunk at a time), always from the descriptor it was given (so a concurrent write, which
 * renames a new file into place, never mixes versions), and closes the handle when it ends, fails
 * or is cancelled.
 */
export function fileStream(handle: FileHandle, offset: number, length: number, key: string): ReadableStream<Uint8Array> {
  let position = offset;
  const end = offset + length;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await handle.close().catch(() => {});
  };
  // A byte stream: a reader that brings its own buffer ({ mode: 'byob' }) gets the file read straight
  // into it; a default reader gets a fresh buffer of READ_CHUNK_BYTES per chunk.
  return new ReadableStream({
    type: 'bytes',
    autoAllocateChunkSize: READ_CHUNK_BYTES,
    async start(controller) {
      if (length === 0) {
        await close();
        controller.close();
      }
    },
    async pull(controller) {
      const request = controller.byobRequest!;
      try {
        const view = request.view!;
        const want = Math.min(view.byteLength, end - position);
        const { bytesRead } = await handle.read(view as Uint8Array, 0, want, position);
        if (bytesRead === 0) {
          // Only a change made behind stowage's back (truncation in place) gets here.
          throw new UnavailableError(`${JSON.stringify(key)} shrank while it was being read`, { key, backend: BACKEND_NAME });
        }
        position += bytesRead;
        request.respond(bytesRead);
        if (position >= end) {
          // Closed at once, so that a read already waiting ends now (a waiting BYOB read needs respond(0)).
          controller.close();
          controller.byobRequest?.respond(0);
          await close();
        }
      } catch (error) {
        await close();
        throw toStowageError(error, key, 'read');
      }
    },
    async cancel() {
      await close();
    },
  }) as ReadableStream<Uint8Array>;
}
