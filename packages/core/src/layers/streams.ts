/**
 * The one read-stream wrapper the layers share: a body passed on chunk by chunk, unchanged, with a
 * hook that may hold each chunk back (a rate limit) and one that hears, once, how the stream ended
 * (observation, a concurrency slot held for a whole read).
 *
 * @module
 */

/** How a watched stream ended: read to its end, failed (its own error or `each`'s), or cancelled by its reader. */
export type StreamEnd = 'ok' | 'error' | 'cancelled';

/** The hooks of {@link watchStream}. */
export interface StreamWatch {
  /** Before each chunk passes on; a rejection fails the stream with that error (and cancels `body`). */
  each?(chunk: Uint8Array): Promise<void> | void;
  /** Exactly once, when the stream ends, with the bytes it passed on. */
  end?(how: StreamEnd, error: unknown, delivered: number): void;
}

/** `body`, unchanged, under the watch of `hooks`. */
export function watchStream(body: ReadableStream<Uint8Array>, hooks: StreamWatch): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let delivered = 0;
  let ended = false;
  const end = (how: StreamEnd, error?: unknown): void => {
    if (ended) return;
    ended = true;
    hooks.end?.(how, error, delivered);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await reader.read();
        } catch (error) {
          end('error', error);
          controller.error(error);
          return;
        }
        if (next.done) {
          end('ok');
          controller.close();
          return;
        }
        if (hooks.each) {
          try {
            await hooks.each(next.value);
          } catch (error) {
            await reader.cancel(error).catch(() => undefined);
            end('error', error);
            controller.error(error);
            return;
          }
        }
        delivered += next.value.byteLength;
        controller.enqueue(next.value);
      },
      async cancel(reason) {
        end('cancelled');
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
