/**
 * The errors this package adds to stowage's. Both are `INVALID_ARGUMENT` stowage errors (so
 * `isStowageError(error, 'INVALID_ARGUMENT')` holds and nothing new needs handling by code that
 * only knows core's codes), with a `kind` that says which refusal it was. Check with
 * {@link isAttachmentError}: like core's, the brand survives two copies of the package.
 *
 * An upload over a slot's `maxSize` fails with core's `TooLargeError` (`TOO_LARGE`), raised by
 * `Store` while the body streams.
 *
 * @module
 */
import { ErrorCode, StowageError, type StowageErrorOptions } from '@stowage/core';

const BRAND: unique symbol = Symbol.for('stowage.attachments.error') as never;

/** Which refusal an {@link AttachmentError} is. */
export type AttachmentErrorKind = 'CONTENT_TYPE_NOT_ALLOWED' | 'INVALID_REFERENCE';

/** The base of this package's errors: an `INVALID_ARGUMENT` stowage error with a `kind`. */
export class AttachmentError extends StowageError {
  /** Which refusal this is; assert on this (or on `code`), never on the message. */
  readonly kind: AttachmentErrorKind;
  declare readonly [BRAND]: true;

  constructor(kind: AttachmentErrorKind, message: string, options?: StowageErrorOptions) {
    super(ErrorCode.InvalidArgument, message, options);
    this.kind = kind;
    Object.defineProperty(this, BRAND, { value: true, enumerable: false });
  }

  override get name(): string {
    return this.kind === 'CONTENT_TYPE_NOT_ALLOWED' ? 'ContentTypeNotAllowedError' : 'InvalidReferenceError';
  }
}

/**
 * The upload's content type is not one the slot allows: the declared type (refused before a byte
 * is read), or the type its first bytes show (refused before anything is stored).
 */
export class ContentTypeNotAllowedError extends AttachmentError {
  /** The type that was refused. */
  readonly contentType: string;
  /** The slot's allowed types. */
  readonly allowed: readonly string[];
  constructor(contentType: string, allowed: readonly string[], message: string, options?: StowageErrorOptions) {
    super('CONTENT_TYPE_NOT_ALLOWED', message, options);
    this.contentType = contentType;
    this.allowed = allowed;
  }
}

/** A value read from a column (or given by the caller) is not a well-formed attachment reference. */
export class InvalidReferenceError extends AttachmentError {
  constructor(message: string, options?: StowageErrorOptions) {
    super('INVALID_REFERENCE', message, options);
  }
}

/**
 * Whether `value` is one of this package's errors, optionally of the given kind.
 *
 * @example
 * ```ts
 * if (isAttachmentError(error, 'CONTENT_TYPE_NOT_ALLOWED')) return new Response('unsupported type', { status: 415 })
 * ```
 */
export function isAttachmentError(value: unknown, kind?: AttachmentErrorKind): value is AttachmentError {
  if (typeof value !== 'object' || value === null) return false;
  if ((value as { [BRAND]?: unknown })[BRAND] !== true) return false;
  return kind === undefined || (value as AttachmentError).kind === kind;
}
