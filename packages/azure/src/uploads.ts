/**
 * Streamed block blob uploads with bounded memory.
 *
 * A body that ends within the first block goes up in one Put Blob request, and so does a body given
 * as bytes (already in memory, the chunks views of one buffer) of up to 256 MiB. A larger one is cut into
 * blocks that are staged (Put Block) a few at a time while the next block is read, then committed
 * with one Put Block List that carries the content type, the metadata and the conditions. Until that
 * commit nothing is visible: a body that fails, an abort, or a vanished server leaves only
 * uncommitted blocks, which readers and listings never see and Azure discards (at the next commit
 * on that name, or after a week). An upload holds at most `(concurrency + 1) × blockSize` bytes.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { BlobHTTPHeaders, BlobRequestConditions, BlockBlobClient } from '@azure/storage-blob';
import { TooLargeError } from '@stowage/core';
import { MAX_BLOCK_SIZE } from './connection.ts';

/** Azure's limit on the committed blocks of one blob. */
export const MAX_BLOCKS = 50_000;

/** The largest body given as bytes that goes up in one Put Blob (the SDK's `uploadData` default; Azure takes up to 5000 MiB). */
export const MAX_SINGLE_PUT = 256 * 1024 * 1024;

/** An error thrown by the body itself (its source, the size limit, the caller's abort): passed on unchanged, never mapped. */
export class BodyFailure extends Error {
  readonly original: unknown;
  constructor(original: unknown) {
    super('the body failed');
    this.original = original;
  }
}

/** Whether `chunk` continues `view` in the same buffer. */
function continues(view: Uint8Array, chunk: Uint8Array): boolean {
  return chunk.buffer === view.buffer && chunk.byteOffset === view.byteOffset + view.byteLength;
}

/**
 * The parts as one view without copying, when they lie back to back in one buffer (a body given as
 * bytes reaches the backend as consecutive slices of the caller's buffer); else undefined.
 */
function contiguousView(parts: readonly Uint8Array[], length: number): Buffer | undefined {
  let view = parts[0]!;
  for (let index = 1; index < parts.length; index++) {
    const part = parts[index]!;
    if (!continues(view, part)) return undefined;
    view = new Uint8Array(view.buffer, view.byteOffset, view.byteLength + part.byteLength);
  }
  return Buffer.from(view.buffer, view.byteOffset, length);
}

/** Cuts a stream of chunks into blocks of `size` bytes (the last one shorter), copying each byte at most once. */
class BlockReader {
  readonly #iterator: AsyncIterator<Uint8Array>;
  /** Chunks read ahead and not yet handed out (the rest of a split chunk, a peek, a read-ahead). */
  readonly #queue: Uint8Array[] = [];
  #ended = false;

  constructor(body: AsyncIterable<Uint8Array>) {
    this.#iterator = body[Symbol.asyncIterator]();
  }

  /** The next block, or undefined when the body has ended. */
  async next(size: number): Promise<Buffer | undefined> {
    const parts: Uint8Array[] = [];
    let length = 0;
    while (length < size) {
      const chunk = this.#queue.shift() ?? (this.#ended ? undefined : await this.#pull());
      if (chunk === undefined) break;
      const room = size - length;
      if (chunk.byteLength > room) {
        parts.push(chunk.subarray(0, room));
        this.#queue.unshift(chunk.subarray(room));
        length = size;
      } else {
        parts.push(chunk);
        length += chunk.byteLength;
      }
    }
    if (length === 0) return undefined;
    return contiguousView(parts, length) ?? Buffer.concat(parts, length);
  }

  /** Pulls the next chunk ahead when none is queued, so that {@link finished} knows whether the body has ended. */
  async peek(): Promise<void> {
    if (this.#ended || this.#queue.length > 0) return;
    const chunk = await this.#pull();
    if (chunk !== undefined && chunk.byteLength > 0) this.#queue.push(chunk);
  }

  /**
   * The whole body as one view of the caller's buffer, when what follows `head` continues it in the
   * same buffer to the end, within `limit` bytes in all; else undefined, and what was read ahead
   * (views, or the one chunk that broke the run) stays queued for {@link next}.
   */
  async wholeIfContiguous(head: Buffer, limit: number): Promise<Buffer | undefined> {
    let view: Uint8Array = head;
    for (let index = 0; ; index++) {
      if (index === this.#queue.length) {
        const chunk = this.#ended ? undefined : await this.#pull();
        if (chunk === undefined) break;
        this.#queue.push(chunk);
      }
      const chunk = this.#queue[index]!;
      if (!continues(view, chunk) || view.byteLength + chunk.byteLength > limit) return undefined;
      view = new Uint8Array(view.buffer, view.byteOffset, view.byteLength + chunk.byteLength);
    }
    this.#queue.length = 0;
    return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
  }

  /** The body's next chunk, or undefined at its end; its failures become {@link BodyFailure}. */
  async #pull(): Promise<Uint8Array | undefined> {
    let next: IteratorResult<Uint8Array>;
    try {
      next = await this.#iterator.next();
    } catch (error) {
      this.#ended = true;
      throw new BodyFailure(error);
    }
    if (next.done) this.#ended = true;
    return next.done ? undefined : next.value;
  }

  /** Whether the body has ended (nothing is queued either). */
  get finished(): boolean {
    return this.#ended && this.#queue.length === 0;
  }

  /** Releases the body's source when the upload stops early. */
  async release(): Promise<void> {
    if (!this.#ended) {
      this.#ended = true;
      await Promise.resolve(this.#iterator.return?.()).catch(() => undefined);
    }
  }
}

/** What an upload commits along with the bytes; built once the body has ended, so that the SHA-256 is known. */
export interface CommitDetails {
  blobHTTPHeaders: BlobHTTPHeaders;
  metadata: Record<string, string>;
  conditions: BlobRequestConditions;
}

/** Options of {@link uploadBlockBlob}. */
export interface UploadOptions {
  body: AsyncIterable<Uint8Array>;
  /** The exact size, when known: large bodies then get blocks large enough to stay within Azure's block count. */
  size: number | undefined;
  blockSize: number;
  concurrency: number;
  signal: AbortSignal | undefined;
  /** Called once the body has ended. */
  details(): CommitDetails;
  key: string;
  backend: string;
}

/** What the committed blob reports. */
export interface UploadResult {
  etag: string;
  lastModified: Date;
}

/** A block size for a body of `size` bytes: the configured one, or larger when that would need more than {@link MAX_BLOCKS} blocks. */
export function blockSizeFor(size: number | undefined, configured: number): number {
  if (size === undefined || size <= configured * MAX_BLOCKS) return configured;
  const mebibyte = 1024 * 1024;
  return Math.min(MAX_BLOCK_SIZE, Math.ceil(size / MAX_BLOCKS / mebibyte) * mebibyte);
}

/** The block ids of one upload: the SDK's own format (a UUID and a six-digit index, base64), so that every id has the same length. */
function blockId(upload: string, index: number): string {
  return Buffer.from(`${upload}${String(index).padStart(6, '0')}`).toString('base64');
}

/**
 * Uploads `body` to `blob` as described in the module comment. Errors of the body are thrown as
 * {@link BodyFailure}; errors of the SDK as they come.
 */
export async function uploadBlockBlob(blob: BlockBlobClient, options: UploadOptions): Promise<UploadResult> {
  const blockSize = blockSizeFor(options.size, options.blockSize);
  const reader = new BlockReader(options.body);
  const first = await reader.next(blockSize);
  await reader.peek();
  // A body given as bytes is in memory already: up to MAX_SINGLE_PUT it goes in one request, as the SDK's uploadData sends it.
  const whole = reader.finished ? first : first && options.size !== undefined && options.size <= MAX_SINGLE_PUT ? await reader.wholeIfContiguous(first, MAX_SINGLE_PUT) : undefined;
  if (reader.finished) {
    const bytes = whole ?? Buffer.alloc(0);
    const details = options.details();
    const response = await blob.upload(bytes, bytes.byteLength, { ...details, abortSignal: options.signal });
    return { etag: response.etag!, lastModified: response.lastModified! };
  }

  // Staging stops at the first failure: the in-flight stages are aborted and nothing is committed.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const upload = randomUUID();
  const ids: string[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const stage = (block: Buffer, id: string): void => {
    const staging: Promise<void> = blob
      .stageBlock(id, block, block.byteLength, { abortSignal: signal })
      .then(
        () => undefined,
        (error: unknown) => {
          failure ??= { error };
          stop.abort();
        },
      )
      .finally(() => inFlight.delete(staging));
    inFlight.add(staging);
  };
  try {
    let block: Buffer | undefined = first;
    while (block !== undefined && failure === undefined) {
      if (ids.length === MAX_BLOCKS) {
        throw new BodyFailure(
          new TooLargeError(blockSize * MAX_BLOCKS, `body of ${JSON.stringify(options.key)} needs more than ${MAX_BLOCKS} blocks of ${blockSize} bytes: raise blockSize or pass the size`, {
            key: options.key,
            backend: options.backend,
          }),
        );
      }
      const id = blockId(upload, ids.length);
      ids.push(id);
      stage(block, id);
      block = undefined;
      while (inFlight.size >= options.concurrency && failure === undefined) await Promise.race(inFlight);
      if (failure === undefined) block = await reader.next(blockSize);
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure.error;
  } catch (error) {
    stop.abort();
    await reader.release();
    await Promise.allSettled(inFlight);
    throw error;
  }
  const response = await blob.commitBlockList(ids, { ...options.details(), abortSignal: options.signal });
  return { etag: response.etag!, lastModified: response.lastModified! };
}
