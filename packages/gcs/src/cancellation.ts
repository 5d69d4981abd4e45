/**
 * Aborts for the GCS client's JSON calls. The client's metadata, listing, delete and copy requests
 * take no `AbortSignal` and hand back no request to cancel, so an abort cannot stop them: the call
 * is abandoned instead (it rejects at once; the request finishes, or times out, in the background,
 * and its outcome is ignored). Reads and writes are streams, which an abort destroys.
 *
 * @module
 */
import { raceSignal } from '@stowage/core';

/**
 * `call`'s result, or a rejection with `signal.reason` as soon as `signal` fires (the caller maps it
 * to `ABORTED`). A late rejection of the abandoned call is swallowed.
 */
export function abandonOnAbort<T>(call: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  return raceSignal(call, signal, () => (signal?.reason instanceof Error ? signal.reason : new Error('aborted')));
}
