/**
 * ioredis errors mapped onto stowage's codes.
 *
 * @module
 */
import { ErrorCode, createError, isStowageError, type StowageError } from '@stowage/core';

// Reply prefixes of a server that cannot answer now but may soon: loading its data, busy with a
// script, a replica that lost its primary, a full memory (keys with a time to live may expire).
const TRANSIENT_REPLIES = /^(?:LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|OOM)\b/;
const PERMISSION_REPLIES = /^(?:NOAUTH|WRONGPASS|NOPERM)\b/;

/** The stowage code for an ioredis error. */
export function codeOf(error: unknown): ErrorCode {
  const message = String((error as { message?: unknown } | null)?.message ?? '');
  if ((error as { name?: unknown } | null)?.name === 'ReplyError') {
    if (PERMISSION_REPLIES.test(message)) return ErrorCode.PermissionDenied;
    if (TRANSIENT_REPLIES.test(message)) return ErrorCode.Unavailable;
  }
  // Everything else is the connection: refused, reset, closed, timed out, or the offline queue
  // refusing a command while ioredis reconnects.
  return ErrorCode.Unavailable;
}

/**
 * Wraps an ioredis error as a `StowageError` (an existing one passes through). ioredis's messages
 * name hosts and commands, never the password; the URL is never put into a message.
 */
export function mapRedisError(error: unknown, backend: string, doing: string, key?: string): StowageError {
  if (isStowageError(error)) return error;
  const native = error instanceof Error ? error.message : String(error);
  return createError(codeOf(error), `${backend}: ${doing}${key === undefined ? '' : ` ${JSON.stringify(key)}`} failed: ${native}`, { key, backend, cause: error });
}
