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
