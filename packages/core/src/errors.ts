/**
 * Typed, branded errors with stable codes.
 *
 * Every error stowage throws is a {@link StowageError} with a string `code`, the `key` it concerns
 * (when there is one), the `backend` that raised it and the native error as `cause`. Use
 * {@link isStowageError} rather than `instanceof`: the brand survives two copies of `@stowage/core`
 * in one dependency tree.
 *
 * @module
 */

const BRAND: unique symbol = Symbol.for('stowage.error') as never;

/** The stable error codes. Adapters map every native error onto one of these. */
export const ErrorCode = {
  NotFound: 'NOT_FOUND',
  AlreadyExists: 'ALREADY_EXISTS',
  PreconditionFailed: 'PRECONDITION_FAILED',
  InvalidPath: 'INVALID_PATH',
  InvalidArgument: 'INVALID_ARGUMENT',
  CapabilityNotSupported: 'CAPABILITY_NOT_SUPPORTED',
  TooLarge: 'TOO_LARGE',
  RangeNotSatisfiable: 'RANGE_NOT_SATISFIABLE',
  PermissionDenied: 'PERMISSION_DENIED',
  Unavailable: 'UNAVAILABLE',
  Aborted: 'ABORTED',
  StorageFull: 'STORAGE_FULL',
} as const;

/** One of the stable error codes, such as `'NOT_FOUND'`. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** What every stowage error carries besides its message. */
export interface StowageErrorOptions {
  /** The key (relative to the store the caller used) that the failed operation concerned. */
  key?: string | undefined;
  /** The backend that raised the error, such as `'local'` or `'s3'`. */
  backend?: string | undefined;
  /** The native error (SDK, driver or filesystem), kept for debugging. */
  cause?: unknown;
}

/** The base class of every error stowage throws. Check with {@link isStowageError}. */
export class StowageError extends Error {
  /** The stable code; assert on this, never on the message. */
  readonly code: ErrorCode;
  /** The key the operation concerned, if any. */
  key: string | undefined;
  /** The backend that raised the error, if known. */
  backend: string | undefined;
  /** Whether repeating the operation later may succeed (true only for `UNAVAILABLE`). */
  readonly retryable: boolean;
  declare readonly [BRAND]: true;

  constructor(code: ErrorCode, message: string, options: StowageErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.key = options.key;
    this.backend = options.backend;
    this.retryable = code === ErrorCode.Unavailable;
    Object.defineProperty(this, BRAND, { value: true, enumerable: false });
  }

  override get name(): string {
    return ERROR_NAMES[this.code];
  }
}

const ERROR_NAMES: Record<ErrorCode, string> = {
  NOT_FOUND: 'NotFoundError',
  ALREADY_EXISTS: 'AlreadyExistsError',
  PRECONDITION_FAILED: 'PreconditionFailedError',
  INVALID_PATH: 'InvalidPathError',
  INVALID_ARGUMENT: 'InvalidArgumentError',
  CAPABILITY_NOT_SUPPORTED: 'CapabilityNotSupportedError',
  TOO_LARGE: 'TooLargeError',
  RANGE_NOT_SATISFIABLE: 'RangeNotSatisfiableError',
  PERMISSION_DENIED: 'PermissionDeniedError',
  UNAVAILABLE: 'UnavailableError',
  ABORTED: 'AbortedError',
  STORAGE_FULL: 'StorageFullError',
};

/** The object does not exist. */
export class NotFoundError extends StowageError {
  constructor(message: string, options?: StowageErrorOptions) {
    super(ErrorCode.NotFound, message, options);
  }
}
/** A create-only write (`ifNoneMatch: '*'`) found an object, or a write conflicts with an existing file or folder on a hierarchical backend. */
export class AlreadyExistsError extends StowageError {
  constructor(message: string, options?: StowageErrorOptions) {
    super(ErrorCode.AlreadyExists, message, options);
  }
}
/** A compare-and-swap write (`ifMatch`) found another version, or no object. */
export class PreconditionFailedError extends StowageError {
  constructor(message: string, options?: StowageErrorOptions) {
    super(ErrorCode.PreconditionFailed, message, options);
  }
}
/** The key or prefix breaks the key rules. Nothing was sent to the backend. */
export class InvalidPathError extends StowageError {
  constructor(message: string, options?: StowageErrorOptions) {
    super(ErrorCode.InvalidPath, message, options);
  }
}
/** An option or body has the wrong type or an impossible value. Nothing was sent to the backend. */
export class InvalidArgumentError extends StowageError {
  constructor(message: string, options?: StowageErrorOptions) {
    super(ErrorCode.InvalidArgument, message, options);
  }
}
/** The backend does not declare the capability the operation needs. Raised before any I/O. */
export class CapabilityNotSupportedError extends StowageError {
  /** The capability that is missing. */
  readonly capability: string;
  constructor(capability: string, message: string, options?: StowageErrorOptions) {
    super(ErrorCode.CapabilityNotSupported, message, options);
    this.capability = capability;
  }
}
/** The body is larger than the store's or the write's `maxSize`, or than the backend can hold. Nothing was stored. */
export class TooLargeError extends StowageError {
  /** The limit that was crossed, in bytes. */
  readonly limit: number;
  constructor(limit: number, message: string, options?: StowageErrorOptions) {
    super(ErrorCode.TooLarge, message, options);
    this.limit = limit;
  }
}
/** A range read starts past the end of the object. */
export class RangeNotSatisfiableError extends StowageError {
  /** The object's size in bytes, when the backend reported it. */
  readonly size: number | undefined;
  constructor(message: string, options?: StowageErrorOptions & { size?: number | undefined }) {
    super(ErrorCode.RangeNotSatisfiable, message, options);
    this.size = options?.size;
  }
}
/** The backend refused the credentials, or the path escapes the store's confinement. */
export class PermissionDeniedError extends StowageError {
  constructor(message: string, options?: StowageErrorOptions) {
    super(ErrorCode.PermissionDenied, message, options);
  }
}
/** A transient failure (throttling, 5xx, reset, timeout, vanished server): repeating may succeed. */
export class UnavailableError extends StowageError {
  constructor(message: string, options?: StowageErrorOptions) {
    super(ErrorCode.Unavailable, message, options);
  }
}
/** The caller's `AbortSignal` fired. Nothing was stored. */
export class AbortedError extends StowageError {
  constructor(message: string, options?: StowageErrorOptions) {
    super(ErrorCode.Aborted, message, options);
  }
}

/**
 * The medium is full: a disk or filesystem without free space, an exhausted quota (disk quota, an
 * account's or bucket's storage quota), a database that cannot grow. The message says what is full.
 * Nothing of the failed write is visible; repeating it only helps once space is freed, so it is not
 * retryable.
 */
export class StorageFullError extends StowageError {
  constructor(message: string, options?: StowageErrorOptions) {
    super(ErrorCode.StorageFull, message, options);
  }
}

/** A count of bytes as a message says it: `1 byte`, `2 bytes`. */
export function byteCount(count: number): string {
  return `${count} byte${count === 1 ? '' : 's'}`;
}

/**
 * Whether `value` is an error raised by stowage, optionally with the given code. Works across
 * several copies of `@stowage/core` because it checks a global symbol brand, not the class.
 *
 * @example
 * ```ts
 * try { await store.stat('a.txt') } catch (e) { if (isStowageError(e, 'NOT_FOUND')) return null; throw e }
 * ```
 */
export function isStowageError(value: unknown, code?: ErrorCode): value is StowageError {
  if (typeof value !== 'object' || value === null) return false;
  if ((value as { [BRAND]?: unknown })[BRAND] !== true) return false;
  return code === undefined || (value as StowageError).code === code;
}

/** Builds the error for `code` with the right subclass; used by adapters that map native errors. */
export function createError(code: ErrorCode, message: string, options: StowageErrorOptions = {}): StowageError {
  switch (code) {
    case ErrorCode.NotFound:
      return new NotFoundError(message, options);
    case ErrorCode.AlreadyExists:
      return new AlreadyExistsError(message, options);
    case ErrorCode.PreconditionFailed:
      return new PreconditionFailedError(message, options);
    case ErrorCode.InvalidPath:
      return new InvalidPathError(message, options);
    case ErrorCode.InvalidArgument:
      return new InvalidArgumentError(message, options);
    case ErrorCode.CapabilityNotSupported:
      return new CapabilityNotSupportedError('unknown', message, options);
    case ErrorCode.TooLarge:
      return new TooLargeError(Number.NaN, message, options);
    case ErrorCode.RangeNotSatisfiable:
      return new RangeNotSatisfiableError(message, options);
    case ErrorCode.PermissionDenied:
      return new PermissionDeniedError(message, options);
    case ErrorCode.Unavailable:
      return new UnavailableError(message, options);
    case ErrorCode.Aborted:
      return new AbortedError(message, options);
    case ErrorCode.StorageFull:
      return new StorageFullError(message, options);
  }
}
