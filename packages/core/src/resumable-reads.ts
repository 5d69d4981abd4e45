/**
 * Reads that survive a connection lost midway: the stream resumes from the last byte it delivered
 * with a range request, and refuses to splice when the object changed in between.
 *
 * @module
 */
import type { BackendReadResult } from './backend.ts';
import { PreconditionFailedError, UnavailableError, byteCount, isStowageError, type StowageError } from './errors.ts';
import { isRetryable, pause, retryDelay, type ResolvedRetryPolicy } from './retry.ts';

/** What {@link resumableStream} needs to pick a read up again. */
export interface ResumeOptions {
  /** The read as the backend first opened it. */
  first: BackendReadResult;
  /** Opens the same object again at an absolute byte range; `undefined` when the backend has no `rangeRead`. */
  reopen: ((range: { offset: number; length: number }) => Promise<BackendReadResult>) | undefined;
  policy: ResolvedRetryPolicy;
  /** The caller's signal: an abort ends the waiting and is never retried. */
  signal: AbortSignal | undefined;
  key: string;
  backend: string;
}

function asFailure(error: unknown, key: string, backend: string, delivered: number): StowageError {
  if (isStowageError(error)) return error;
  return new UnavailableError(`read of ${JSON.stringify(key)} failed after ${byteCount(delivered)}`, { key, backend, cause: error });
}

/**
 * The first read's bytes, continued by range reads of what is left each time the stream fails with
 * `UNAVAILABLE` (at most `policy.attempts - 1` times in a row without progress, within
 * `policy.deadlineMs` of the failure). The resumed read must have the first one's etag: otherwise
 * the stream fails with `PRECONDITION_FAILED`. Without `reopen` a failure ends the stream as
 * `UNAVAILABLE` (or its own code when it is a stowage error).
 */
export function resumableStream(options: ResumeOptions): ReadableStream<Uint8Array> {
  const { first, reopen, policy, signal, key, backend } = options;
  const start = first.range?.offset ?? 0;
  const total = first.range?.length ?? first.info.size;
  let reader = first.body.getReader();
  let delivered = 0;

  /** Opens what is left after a failure, or throws the error that ends the stream. */
  const resume = async (failure: StowageError): Promise<boolean> => {
    let error = failure;
    const began = Date.now();
    for (let attempt = 1; ; attempt++) {
      if (!reopen || !isRetryable(error) || signal?.aborted || attempt >= policy.attempts) throw error;
      const delay = retryDelay(policy, attempt);
      if (Date.now() - began + delay > policy.deadlineMs) throw error;
      await pause(delay, signal, key, backend);
      let resumed: BackendReadResult;
      try {
        resumed = await reopen({ offset: start + delivered, length: total - delivered });
      } catch (reopenError) {
        if (isStowageError(reopenError, 'NOT_FOUND')) {
          throw new PreconditionFailedError(`${JSON.stringify(key)} was deleted while it was being read (after ${byteCount(delivered)})`, { key, backend, cause: reopenError });
        }
        error = asFailure(reopenError, key, backend, delivered);
        continue;
      }
      if (resumed.info.etag !== first.info.etag) {
        await resumed.body.cancel().catch(() => undefined);
        throw new PreconditionFailedError(
          `${JSON.stringify(key)} changed while it was being read (etag ${first.info.etag}, now ${resumed.info.etag}): the read is not resumed across versions`,
          { key, backend },
        );
      }
      reader = resumed.body.getReader();
      return true;
    }
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        for (;;) {
          try {
            const next = await reader.read();
            if (next.done) {
              controller.close();
              return;
            }
            delivered += next.value.byteLength;
            controller.enqueue(next.value);
            return;
          } catch (error) {
            reader.cancel().catch(() => undefined);
            // Everything arrived; only the end of the response was lost.
            if (delivered >= total && isRetryable(asFailure(error, key, backend, delivered))) {
              controller.close();
              return;
            }
            try {
              await resume(asFailure(error, key, backend, delivered));
            } catch (final) {
              controller.error(final);
              return;
            }
          }
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
