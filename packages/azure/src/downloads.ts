/**
 * What a download response says about the object, beyond its body.
 *
 * @module
 */

/** The total size in a `Content-Range` value (`bytes 0-99/1234`), or undefined. */
export function totalFromContentRange(contentRange: string | undefined): number | undefined {
  const match = contentRange === undefined ? null : /\/(\d+)\s*$/.exec(contentRange);
  return match ? Number(match[1]) : undefined;
}

/** An empty body, for ranges of no bytes (Azure refuses an empty range). */
export function emptyBody(): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.close();
    },
  });
}
