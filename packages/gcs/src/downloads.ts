/**
 * Reads: the object's bytes (or a range of them) from one pinned generation, as a Web stream whose
 * errors are stowage errors.
 *
 * @module
 */
import type { Readable } from 'node:stream';
import type { File } from '@google-cloud/storage';

/** A response that is not a success: the client errors the stream right after. */
function isSuccess(response: unknown): boolean {
  const status = (response as { statusCode?: unknown; status?: unknown } | null)?.statusCode ?? (response as { status?: unknown } | null)?.status;
  return typeof status !== 'number' || (status >= 200 && status < 300);
}

/**
 * When a download stream ends in an error (a cancelled or aborted read included), the GCS client
 * destroys the HTTP agent of its response, and that agent is the keep-alive pool every request of
 * the process shares: concurrent and following requests then fail with "socket hang up". The
 * client finds the agent on the response's `request` record, so each response gets a record
 * without it; the cancelled response's own socket is still closed when its body is destroyed.
 */
function detachAgent(response: unknown): void {
  const record = response as { request?: { agent?: unknown } } | null;
  if (record?.request && typeof record.request === 'object' && record.request.agent) record.request = { ...record.request, agent: false };
}

/** An opened download: its bytes, the generation the server answered with, and how to drop it unread. */
export interface Download {
  body: ReadableStream<Uint8Array>;
  /** The `x-goog-generation` of the response, when the server sent one. */
  generation: string | undefined;
  cancel(): void;
}

/**
 * Opens `file` for reading (`start`/`end` inclusive, as HTTP ranges are) and resolves once the
 * server has answered, so that a missing object or a refused request rejects here rather than in the
 * middle of the caller's first read. Errors of the stream pass through `mapError`. `signal` destroys
 * the request when it fires, also after it answered (the body stream then fails).
 */
export async function openDownload(
  file: File,
  range: { start: number; end: number } | undefined,
  mapError: (error: unknown) => unknown,
  signal?: AbortSignal,
): Promise<Download> {
  signal?.throwIfAborted();
  const stream = file.createReadStream({
    // Stowage reports the stored size; bytes must be the stored bytes, never a decompressed version.
    decompress: false,
    ...(range ? { start: range.start, end: range.end, validation: false } : {}),
  });
  const generation = await new Promise<string | undefined>((resolve, reject) => {
    const onError = (error: unknown): void => {
      stream.off('response', onResponse);
      reject(error);
    };
    const onResponse = (response: unknown): void => {
      detachAgent(response);
      if (!isSuccess(response)) return;
      stream.off('error', onError);
      const header = (response as { headers?: Record<string, unknown> }).headers?.['x-goog-generation'];
      resolve(typeof header === 'string' && header !== '' ? header : undefined);
    };
    stream.once('error', onError);
    stream.on('response', onResponse);
    // An abort destroys the request (its socket included): before the answer it rejects here; after
    // it, the body stream ends early and its reader sees the abort. No error is emitted, so that a
    // body nobody reads yet cannot raise one with no listener.
    if (signal) {
      const onAbort = (): void => {
        stream.off('response', onResponse);
        stream.off('error', onError);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        stream.destroy();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      stream.once('close', () => signal.removeEventListener('abort', onAbort));
    }
    // The client sends the request on the first read.
    stream.read(0);
  });
  return { body: toWebStream(stream, mapError), generation, cancel: () => void stream.destroy() };
}

/** A Web stream of a Node stream's bytes; errors pass through `mapError`, cancelling destroys the source. */
function toWebStream(source: Readable, mapError: (error: unknown) => unknown): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await iterator.next();
          if (next.done) controller.close();
          else controller.enqueue(new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.byteLength));
        } catch (error) {
          controller.error(mapError(error));
        }
      },
      async cancel() {
        source.destroy();
        await iterator.return?.().catch(() => undefined);
      },
    },
    { highWaterMark: 0 },
  );
}

/** An empty stream, for reads of zero bytes (GCS refuses an empty range). */
export function emptyBody(): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.close();
    },
  });
}
