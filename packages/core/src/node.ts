/**
 * Node stream helpers: `@stowage/core/node`.
 *
 * @module
 */
import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web';
import type { Store, ReadOptions } from './store.ts';
import type { Capabilities } from './capabilities.ts';

/** Converts a Web stream returned by `store.read` into a Node `Readable`. */
export function toNodeReadable(stream: ReadableStream<Uint8Array>): Readable {
  return Readable.fromWeb(stream as unknown as NodeWebReadableStream<Uint8Array>);
}

/**
 * Opens an object as a Node `Readable`, for `pipeline()` and APIs that want Node streams.
 *
 * @example
 * ```ts
 * import { pipeline } from 'node:stream/promises'
 * import { createWriteStream } from 'node:fs'
 * await pipeline(await readNode(store, 'big.bin'), createWriteStream('/tmp/big.bin'))
 * ```
 */
export async function readNode<C extends Capabilities>(store: Store<C>, key: string, options?: ReadOptions<C>): Promise<Readable> {
  return toNodeReadable(await store.read(key, options));
}

/**
 * A Web stream over a Node stream (a `Readable`, an SDK's download body), for adapters whose SDK
 * returns Node streams. It pulls one chunk per read, so nothing is buffered beyond what the reader
 * asks for; `mapError` turns the source's failures into stowage errors; cancelling destroys the
 * source.
 *
 * @example
 * ```ts
 * const response = await blobClient.download()
 * return { info, body: fromNodeStream(response.readableStreamBody!, (error) => mapSdkError(error, key)) }
 * ```
 */
export function fromNodeStream(source: NodeJS.ReadableStream, mapError: (error: unknown) => unknown = (error) => error): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Uint8Array | string>;
  const destroy = (): void => {
    (source as { destroy?: () => void }).destroy?.();
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await iterator.next();
          if (next.done) controller.close();
          else controller.enqueue(typeof next.value === 'string' ? Buffer.from(next.value) : next.value);
        } catch (error) {
          destroy();
          controller.error(mapError(error));
        }
      },
      async cancel() {
        await Promise.resolve(iterator.return?.()).catch(() => undefined);
        destroy();
      },
    },
    { highWaterMark: 0 },
  );
}

export { HOST_TAG, isOwnerGone, isProcessAlive } from './processes.ts';
