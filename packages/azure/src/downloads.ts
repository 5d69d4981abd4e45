/**
 * Downloads as Web streams: the SDK's Node stream (which resumes a broken download from where it
 * stopped, on the same etag) read one chunk per pull, so nothing is buffered beyond what the
 * consumer asks for, and its errors mapped to stowage errors.
 *
 * @module
 */

/** The total size in a `Content-Range` value (`bytes 0-99/1234`), or undefined. */
export function totalFromContentRange(contentRange: string | undefined): number | undefined {
  const match = contentRange === undefined ? null : /\/(\d+)\s*$/.exec(contentRange);
  return match ? Number(match[1]) : undefined;
}

/** A Web `ReadableStream` over a Node stream, pulled chunk by chunk; `mapError` turns its failures into stowage errors. */
export function webStreamOf(source: NodeJS.ReadableStream | undefined, mapError: (error: unknown) => unknown): ReadableStream<Uint8Array> {
  if (source === undefined) {
    return new ReadableStream<Uint8Array>({
      start(controller) {
        controller.close();
      },
    });
  }
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const release = (): void => {
    (source as { destroy?: () => void }).destroy?.();
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await iterator.next();
          if (next.done) {
            controller.close();
            return;
          }
          const chunk = next.value;
          controller.enqueue(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
        } catch (error) {
          release();
          controller.error(mapError(error));
        }
      },
      async cancel() {
        await Promise.resolve(iterator.return?.()).catch(() => undefined);
        release();
      },
    },
    { highWaterMark: 0 },
  );
}
