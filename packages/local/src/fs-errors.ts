/**
 * Filesystem errors mapped onto stowage's error codes.
 *
 * @module
 */
import {
  AlreadyExistsError,
  InvalidPathError,
  NotFoundError,
  PermissionDeniedError,
  StorageFullError,
  UnavailableError,
  isStowageError,
} from '@stowage/core';

/** The backend name every error of this adapter carries. */
export const BACKEND_NAME = 'local';

/** The errno code (`'ENOENT'`, ...) of a Node system error, or undefined for anything else. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('E') ? code : undefined;
}

/** Whether `error` is a Node system error with one of the given codes. */
export function hasCode(error: unknown, ...codes: string[]): boolean {
  const code = errnoCode(error);
  return code !== undefined && codes.includes(code);
}

/**
 * Turns a filesystem error into the matching `StowageError`, with the key, the backend and the
 * native error as `cause`. Stowage errors pass through, and so does anything that is not a system
 * error (a caller's body that throws its own error gets that error back).
 *
 * `action` completes "cannot ... <key>", such as `'read'` or `'write'`; `root`, when given, is named
 * in the message of a full disk.
 */
export function toStowageError(error: unknown, key: string | undefined, action: string, root?: string): unknown {
  if (isStowageError(error)) return error;
  const code = errnoCode(error);
  // Only system errors (they name the failed syscall) are ours to map.
  if (code === undefined || typeof (error as { syscall?: unknown }).syscall !== 'string') return error;
  const subject = key === undefined ? '' : ` ${JSON.stringify(key)}`;
  const options = { key, backend: BACKEND_NAME, cause: error };
  switch (code) {
    case 'ENOENT':
      return new NotFoundError(`cannot ${action}${subject}: no such object`, options);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new PermissionDeniedError(`cannot ${action}${subject}: the filesystem denied access (${code})`, options);
    case 'ELOOP':
      return new PermissionDeniedError(`cannot ${action}${subject}: it is a symbolic link, and the local backend never follows links`, options);
    case 'ENOTDIR':
    case 'EISDIR':
    case 'EEXIST':
    case 'ENOTEMPTY':
      // A hierarchy conflict: a file stands where a folder is needed, or the reverse.
      return new AlreadyExistsError(`cannot ${action}${subject}: a file or folder is in the way (${code})`, options);
    case 'ENAMETOOLONG':
      return new InvalidPathError(`cannot ${action}${subject}: the path is too long for the filesystem`, options);
    case 'ENOSPC':
      return new StorageFullError(`cannot ${action}${subject}: no space left on the filesystem that holds ${root === undefined ? 'the store' : JSON.stringify(root)} (ENOSPC); free some and repeat it`, options);
    case 'EDQUOT':
      return new StorageFullError(`cannot ${action}${subject}: the disk quota on the filesystem that holds ${root === undefined ? 'the store' : JSON.stringify(root)} is used up (EDQUOT); free some and repeat it`, options);
    default:
      // EIO, EMFILE, ENFILE, EBUSY, EAGAIN, ESTALE, ...: the medium failed, not the request.
      return new UnavailableError(`cannot ${action}${subject}: the filesystem failed (${code})`, options);
  }
}
