/**
 * Bodies in and out. Every accepted input becomes an `AsyncIterable<Uint8Array>` once, at the edge;
 * reads return a Web `ReadableStream<Uint8Array>`. Nothing here holds a whole body in memory unless
 * the caller asked for bytes.
 *
 * @module
 */
import { createHash, type Hash } from 'node:crypto';
import { AbortedError, InvalidArgumentError, TooLargeError, isStowageError } from './errors.ts';

/**
 * Everything a write accepts: bytes, text (stored as UTF-8), a `Blob` or `File`, a Web
 * `ReadableStream`, a Node `Readable` or any `AsyncIterable<Uint8Array>`.
 */
export type Body =
  | Uint8Array
  | ArrayBuffer
  | string
  | Blob
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array>;

/** Chunks this large are hashed while the backend writes them; smaller ones at once (nothing to overlap). */
const DEFERRED_HASH_BYTES = 64 * 1024;

/** Bodies are handed to backends in slices of at most this many bytes. */
export const SLICE_BYTES = 1024 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** A body converted for a backend: the bytes as an async iterable, and the size when known up front. */
export interface SourceBody {
  chunks: AsyncIterable<Uint8Array>;
  size: number | undefined;
}

async function* slices(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += SLICE_BYTES) {
    yield bytes.subarray(offset, Math.min(bytes.byteLength, offset + SLICE_BYTES));
  }
}

async function* fromReadableStream(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  let done = false;
  try {
    while (true) {
      const next = await reader.read();
      if (next.done) {
        done = true;
        return;
      }
      yield next.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

function isReadableStream(value: unknown): value is ReadableStream<Uint8Array> {
  return typeof value === 'object' && value !== null && typeof (value as ReadableStream).getReader === 'function';
}

/** Converts any accepted body to an async iterable of byte chunks; `InvalidArgumentError` for anything else. */
export function toSource(body: Body, key?: string): SourceBody {
  if (typeof body === 'string') {
    const bytes = encoder.encode(body);
    return { chunks: slices(bytes), size: bytes.byteLength };
  }
  if (body instanceof Uint8Array) return { chunks: slices(body), size: body.byteLength };
  if (body instanceof ArrayBuffer) return { chunks: slices(new Uint8Array(body)), size: body.byteLength };
  if (ArrayBuffer.isView(body)) {
    const view = body as ArrayBufferView;
    return { chunks: slices(new Uint8Array(view.buffer, view.byteOffset, view.byteLength)), size: view.byteLength };
  }
  if (typeof Blob !== 'undefined' && body instanceof Blob) {
    return { chunks: fromReadableStream(body.stream() as ReadableStream<Uint8Array>), size: body.size };
  }
  // Web streams are async iterable in Node, but reading through a reader is faster and portable.
  if (isReadableStream(body)) return { chunks: fromReadableStream(body), size: undefined };
  if (isAsyncIterable(body)) return { chunks: body as AsyncIterable<Uint8Array>, size: undefined };
  const kind = body === null ? 'null' : typeof body === 'object' ? ((body as object).constructor?.name ?? 'object') : typeof body;
  throw new InvalidArgumentError(
    `unsupported body type ${kind}: pass a Uint8Array, string, Blob, ReadableStream, Node Readable or AsyncIterable<Uint8Array>`,
    { key },
  );
}

/** Counts, hashes and limits a body as it flows. */
export interface MeteredBody {
  chunks: AsyncIterable<Uint8Array>;
  /** Bytes yielded so far. */
  bytes(): number;
  /** SHA-256 (lowercase hex) of everything yielded; valid once iteration has finished. */
  sha256(): string;
}

/** Options of {@link meterBody}. */
export interface MeterOptions {
  maxSize?: number | undefined;
  signal?: AbortSignal | undefined;
  key?: string | undefined;
  backend?: string | undefined;
}

/**
 * Marks a write request whose body is held in memory (bytes, a string, an `ArrayBuffer`): each pull
 * of it answers at once, so nothing has to race it against a clock. A symbol, so that it survives
 * the layers' `{ ...request }` copies and is no field of the contract.
 */
export const HELD_IN_MEMORY: unique symbol = Symbol('stowage.heldInMemory');

/** Whether `body` is held in memory whole (a `Blob` may be read from a file, a stream from anywhere). */
export function isHeldInMemory(body: unknown): boolean {
  return typeof body === 'string' || body instanceof ArrayBuffer || ArrayBuffer.isView(body);
}

/** The `AbortedError` of an operation on `key` that `signal` ended. */
export function abortedError(signal: AbortSignal, key?: string, backend?: string): AbortedError {
  return new AbortedError(`operation aborted${key === undefined ? '' : ` on ${JSON.stringify(key)}`}`, { key, backend, cause: signal.reason });
}

/** Throws `AbortedError` when `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, key?: string, backend?: string): void {
  if (signal?.aborted) throw abortedError(signal, key, backend);
}

/**
 * Wraps a source so that it counts bytes, computes SHA-256, fails with `TooLargeError` as soon as
 * `maxSize` is crossed (before the offending chunk reaches the backend), and with `AbortedError` when
 * the signal fires. A chunk that is not a `Uint8Array` fails with `InvalidArgumentError`.
 */
export function meterBody(source: AsyncIterable<Uint8Array>, options: MeterOptions = {}): MeteredBody {
  const hash: Hash = createHash('sha256');
  let count = 0;
  let digest: string | undefined;
  const { maxSize, signal, key, backend } = options;
  // A chunk of DEFERRED_HASH_BYTES or more is hashed while the backend sends or writes it: on the
  // next turn of the event loop (the backend's write is then in flight on another thread or socket,
  // and only reads the chunk), and at the latest before the next chunk is pulled, so the source
  // never sees its chunk still in use.
  let unhashed: Uint8Array | undefined;
  let unhashedLength = 0;
  let immediate: ReturnType<typeof setImmediate> | undefined;
  let detached = false;
  const hashPending = (): void => {
    if (immediate !== undefined) clearImmediate(immediate);
    immediate = undefined;
    if (unhashed === undefined) return;
    // A consumer that transferred the chunk's buffer (a Web byte stream does) leaves nothing to hash.
    if (unhashed.byteLength !== unhashedLength) detached = true;
    else hash.update(unhashed);
    unhashed = undefined;
  };
  const checkHashed = (): void => {
    hashPending();
    if (detached) {
      throw new Error(`the backend${backend === undefined ? '' : ` ${backend}`} detached a body chunk it was given, so its SHA-256 cannot be computed`);
    }
  };
  async function* run(): AsyncGenerator<Uint8Array> {
    throwIfAborted(signal, key, backend);
    const iterator = source[Symbol.asyncIterator]();
    let finished = false;
    try {
      while (true) {
        checkHashed();
        // Race each pull against the signal, so that an abort ends a write whose source has stalled.
        const next = signal
          ? await raceSignal(iterator.next(), signal, () => abortedError(signal, key, backend))
          : await iterator.next();
        if (next.done) {
          finished = true;
          break;
        }
        const chunk = next.value as unknown;
        throwIfAborted(signal, key, backend);
        if (!(chunk instanceof Uint8Array)) {
          throw new InvalidArgumentError(
            `body stream yielded ${typeof chunk === 'string' ? 'a string' : typeof chunk}; streams must yield Uint8Array chunks`,
            { key, backend },
          );
        }
        if (chunk.byteLength === 0) continue;
        count += chunk.byteLength;
        if (maxSize !== undefined && count > maxSize) {
          throw new TooLargeError(maxSize, `body of ${JSON.stringify(key ?? '')} exceeds the limit of ${maxSize} bytes`, { key, backend });
        }
        if (chunk.byteLength < DEFERRED_HASH_BYTES) hash.update(chunk);
        else {
          unhashed = chunk;
          unhashedLength = chunk.byteLength;
          immediate = setImmediate(hashPending);
        }
        yield chunk;
      }
    } finally {
      if (!finished) {
        if (immediate !== undefined) clearImmediate(immediate);
        unhashed = undefined;
        // Release the source (close the file, cancel the stream) when the write ends early.
        void Promise.resolve(iterator.return?.()).catch(() => {});
      }
    }
    checkHashed();
    throwIfAborted(signal, key, backend);
    digest = hash.digest('hex');
  }
  return {
    chunks: run(),
    bytes: () => count,
    sha256: () => {
      if (digest === undefined) throw new Error('sha256() called before the body was fully read');
      return digest;
    },
  };
}

/**
 * `promise`'s outcome, or a rejection with `reason()` (by default the signal's reason) as soon as
 * `signal` fires, whichever comes first. Nothing is cancelled: the abandoned promise runs on, and a
 * late rejection of it is swallowed. For calls that take no signal of their own.
 */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined, reason: () => unknown = () => signal?.reason): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      promise.catch(() => {});
      reject(reason());
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Reads a whole stream into one `Uint8Array` (a stream of one chunk gives that chunk). */
export async function streamToBytes(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  // A reader of its own rather than an async iterator over it: two promises less per chunk.
  const reader = stream.getReader();
  let first: Uint8Array | undefined;
  let parts: Uint8Array[] | undefined;
  let total = 0;
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      const chunk = next.value;
      total += chunk.byteLength;
      if (first === undefined) first = chunk;
      else (parts ??= [first]).push(chunk);
    }
  } finally {
    reader.releaseLock();
  }
  if (parts === undefined) return first ?? new Uint8Array(0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** Decodes UTF-8 bytes; `InvalidArgumentError` when they are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array, key?: string): string {
  try {
    return decoder.decode(bytes);
  } catch (cause) {
    throw new InvalidArgumentError(`content of ${JSON.stringify(key ?? '')} is not valid UTF-8`, { key, cause });
  }
}

/** An empty byte stream. */
export function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.close();
    },
  });
}

/**
 * Wraps a read stream so that the caller's `AbortSignal` cancels the backend read and errors the
 * stream with `AbortedError`, and so that errors that are not stowage errors reach the reader as
 * `UnavailableError`-free originals (the adapter maps them).
 */
export function guardReadStream(
  stream: ReadableStream<Uint8Array>,
  signal: AbortSignal | undefined,
  key: string,
  backend: string,
): ReadableStream<Uint8Array> {
  if (!signal) return stream;
  // A byte stream stays one, each read filling the consumer's buffer; any other stream, chunk by chunk.
  const byob = byobReader(stream);
  const reader = byob ?? stream.getReader();
  let onAbort: (() => void) | undefined;
  const finish = (): void => signal.removeEventListener('abort', onAbort!);
  const source = {
    start(controller: ReadableStreamDefaultController<Uint8Array> | ReadableByteStreamController) {
      onAbort = abortOnSignal(signal, reader, controller, key, backend);
    },
    async pull(controller: ReadableStreamDefaultController<Uint8Array> | ReadableByteStreamController) {
      try {
        if (byob) {
          // With autoAllocateChunkSize there is always a request: the consumer's buffer, or one made for it.
          const request = (controller as ReadableByteStreamController).byobRequest!;
          // The view's buffer moves to the inner stream and comes back, filled, in the answer.
          const next = await byob.read(request.view as Uint8Array<ArrayBuffer>);
          if (next.done) {
            finish();
            controller.close();
            if (next.value) request.respondWithNewView(next.value);
          } else request.respondWithNewView(next.value);
        } else {
          const next = await (reader as ReadableStreamDefaultReader<Uint8Array>).read();
          if (next.done) {
            finish();
            controller.close();
          } else (controller as ReadableStreamDefaultController<Uint8Array>).enqueue(next.value);
        }
      } catch (error) {
        finish();
        if (!signal.aborted || isStowageError(error)) controller.error(error);
      }
    },
    cancel(reason: unknown) {
      finish();
      return reader.cancel(reason);
    },
  };
  if (byob) return new ReadableStream({ type: 'bytes', autoAllocateChunkSize: GUARD_CHUNK_BYTES, ...source }) as ReadableStream<Uint8Array>;
  return new ReadableStream<Uint8Array>(source, { highWaterMark: 0 });
}

/**
 * When `signal` fires (or has fired), cancels `reader` and errors `controller` with `AbortedError`.
 * Returns the listener, for the caller to remove once the stream has ended.
 */
function abortOnSignal(
  signal: AbortSignal,
  reader: { cancel(reason?: unknown): Promise<void> },
  controller: { error(reason?: unknown): void },
  key: string,
  backend: string,
): () => void {
  const onAbort = (): void => {
    const error = new AbortedError(`read of ${JSON.stringify(key)} aborted`, { key, backend, cause: signal.reason });
    reader.cancel(error).catch(() => {});
    try {
      controller.error(error);
    } catch {
      // already closed
    }
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return onAbort;
}

/**
 * A reader that fills the caller's buffers (`{ mode: 'byob' }`), when `stream` is a byte stream; or
 * `undefined`, and the stream stays unlocked. A consumer that reuses its buffers (as
 * `@stowage/http/node` does) then reads a whole object without allocating per chunk.
 */
export function byobReader(stream: ReadableStream<Uint8Array>): ReadableStreamBYOBReader | undefined {
  try {
    return stream.getReader({ mode: 'byob' });
  } catch {
    return undefined;
  }
}

/** Chunk size of a guarded byte stream read by a default reader (a BYOB reader brings its own buffers). */
const GUARD_CHUNK_BYTES = 1024 * 1024;

