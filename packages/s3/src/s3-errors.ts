/**
 * S3 errors mapped onto stowage's codes, with nothing secret left in them.
 *
 * @module
 */
import { ErrorCode, createError, isStowageError, type StowageError } from '@stowage/core';

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchVersion']);
const PERMISSION = new Set([
  'AccessDenied',
  'AllAccessDisabled',
  'SignatureDoesNotMatch',
  'InvalidAccessKeyId',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'AccountProblem',
  'InvalidObjectState',
  'CredentialsProviderError',
]);
const UNAVAILABLE = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestThrottled',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'InternalError',
  'ServiceUnavailable',
  'OperationAborted',
  'NoSuchUpload',
  'TimeoutError',
  'RequestTimeoutException',
]);
// A storage quota used up (RGW's user or bucket quota: 403 QuotaExceeded) or a server out of space
// (MinIO's XMinioStorageFull, HTTP 507 Insufficient Storage).
const FULL = new Set(['QuotaExceeded', 'XMinioStorageFull', 'XMinioAdminBucketQuotaExceeded', 'InsufficientStorage']);
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);
// Fields of SDK errors (copied from the server's XML) that quote the request's credentials or signature.
const SECRET_FIELDS = /signature|accesskey|stringtosign|canonicalrequest|credential|token|authorization/i;
const SECRET_TEXT = /(X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature|Credential)=[^\s&,"]+/gi;

/** What the SDK's errors look like, as far as the mapping needs. */
interface SdkError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The HTTP status of an SDK error, when it got a response. */
export function statusOf(error: unknown): number | undefined {
  return (error as SdkError | null)?.$metadata?.httpStatusCode;
}

/** The S3 error code (`NoSuchKey`, `PreconditionFailed`, ...) or the network error code. */
export function s3CodeOf(error: unknown): string {
  const native = error as SdkError | null;
  return native?.Code ?? (typeof native?.code === 'string' ? native.code : undefined) ?? native?.name ?? 'Error';
}

/** The stowage code for an S3 error, outside the special cases the backend handles itself. */
export function codeOf(error: unknown): ErrorCode {
  const code = s3CodeOf(error);
  const status = statusOf(error);
  if (code === 'AbortError') return ErrorCode.Aborted;
  if (NOT_FOUND.has(code)) return ErrorCode.NotFound;
  if (FULL.has(code) || status === 507) return ErrorCode.StorageFull;
  if (code === 'NoSuchBucket') return ErrorCode.InvalidArgument;
  if (code === 'PreconditionFailed' || code === 'ConditionalRequestConflict' || status === 412) return ErrorCode.PreconditionFailed;
  if (code === 'InvalidRange' || status === 416) return ErrorCode.RangeNotSatisfiable;
  if (PERMISSION.has(code) || status === 401 || status === 403) return ErrorCode.PermissionDenied;
  if (code === 'EntityTooLarge') return ErrorCode.TooLarge;
  // The backend's prefix counts towards S3's 1024 bytes, which Store cannot see.
  if (code === 'KeyTooLongError' || code === 'InvalidObjectName') return ErrorCode.InvalidPath;
  if (UNAVAILABLE.has(code) || NETWORK.has(code) || status === undefined || status >= 500 || status === 429) return ErrorCode.Unavailable;
  if (status === 404) return ErrorCode.NotFound;
  return ErrorCode.InvalidArgument;
}

/**
 * A copy of an SDK error that is safe to keep as `cause`: its name, message, S3 code and request
 * metadata, without the raw response (which reaches the request and its Authorization header) or any
 * field the server copied from the request's signature.
 */
export function sanitizedCause(error: unknown): unknown {
  if (typeof error !== 'object' || error === null) return error;
  const native = error as SdkError & Record<string, unknown>;
  const copy = new Error(typeof native.message === 'string' ? native.message.replace(SECRET_TEXT, '$1=***') : String(error));
  Object.defineProperty(copy, 'name', { value: native.name ?? 'Error', configurable: true, writable: true });
  for (const [field, value] of Object.entries(native)) {
    if (SECRET_FIELDS.test(field) || field === '$response' || field === 'message' || field === 'name') continue;
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value) || field === '$metadata') (copy as unknown as Record<string, unknown>)[field] = value;
  }
  if (typeof native.stack === 'string') copy.stack = `${copy.name}: ${copy.message}\n${native.stack.split('\n').slice(1).join('\n')}`;
  return copy;
}

/** Options of {@link mapS3Error}. */
export interface MapOptions {
  backend: string;
  /** What was being done: `'write'`, `'list'`, ... */
  doing: string;
  key?: string | undefined;
  bucket?: string | undefined;
  /** The code a 412 (or a conflicting concurrent conditional write) means here. */
  preconditionCode?: ErrorCode | undefined;
  /** Strings to mask in the message (the access key id and secret of the backend's own credentials). */
  secrets?: readonly string[] | undefined;
}

/** Wraps an SDK error as a `StowageError`; an existing one passes through unchanged. */
export function mapS3Error(error: unknown, options: MapOptions): StowageError {
  if (isStowageError(error)) {
    error.backend ??= options.backend;
    return error;
  }
  let code = codeOf(error);
  if (code === ErrorCode.PreconditionFailed && options.preconditionCode) code = options.preconditionCode;
  const s3Code = s3CodeOf(error);
  const status = statusOf(error);
  const where = options.key === undefined ? '' : ` ${JSON.stringify(options.key)}`;
  let detail = (error as SdkError | null)?.message;
  // The SDK says "UnknownError" for error responses without a body (HEAD, some 4xx of RGW).
  if (!detail || detail === 'UnknownError') detail = undefined;
  let message =
    s3Code === 'NoSuchBucket'
      ? `s3: the bucket ${JSON.stringify(options.bucket ?? '')} does not exist (create it, or check the bucket option)`
      : code === ErrorCode.StorageFull
        ? `s3: ${options.doing}${where} failed: the storage quota of the bucket ${JSON.stringify(options.bucket ?? '')} or of its owner is used up, or the server is out of space (${s3Code}${status === undefined ? '' : `, HTTP ${status}`}): free space or raise the quota, then repeat it${detail && detail !== s3Code ? ` (${detail})` : ''}`
        : `s3: ${options.doing}${where} failed: ${s3Code}${status === undefined ? '' : ` (HTTP ${status})`}${detail && detail !== s3Code ? `: ${detail}` : ''}`;
  message = message.replace(SECRET_TEXT, '$1=***');
  for (const secret of options.secrets ?? []) if (secret.length >= 3) message = message.split(secret).join('***');
  return createError(code, message, { key: options.key, backend: options.backend, cause: sanitizedCause(error) });
}
