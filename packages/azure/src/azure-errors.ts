/**
 * Azure errors mapped onto stowage's codes, with every credential scrubbed from what they carry.
 *
 * The SDK's `RestError` keeps the request it failed on: its URL (with a SAS token's `sig=`), its
 * headers (a Shared Key `Authorization` signature, a copy source URL with its own SAS) and the
 * response body (Azure's `AuthenticationErrorDetail` quotes the signature it received). The SDK's
 * own `inspect` output redacts these, but `error.request.url`, `JSON.stringify(error.request)` and a
 * message built from them would not, so the adapter scrubs the native error in place before it
 * becomes a `cause`.
 *
 * @module
 */
import { AbortedError, ErrorCode, createError, isStowageError, maskSecrets, type StowageError } from '@stowage/core';

/** The conditions a failed request carried: they decide what a 404, 409 or 412 means. */
export interface RequestConditions {
  ifNoneMatch?: '*' | undefined;
  ifMatch?: string | undefined;
}

interface NativeError {
  name?: unknown;
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
  stack?: unknown;
  details?: unknown;
  request?: { url?: unknown; headers?: { get(name: string): string | undefined; set(name: string, value: string): void; delete(name: string): void } } | undefined;
  response?: { bodyAsText?: unknown; request?: unknown } | undefined;
}

const NOT_FOUND = new Set(['BlobNotFound', 'ContainerNotFound', 'ResourceNotFound', 'CannotVerifyCopySource']);
const PERMISSION = new Set([
  'AuthenticationFailed',
  'AuthorizationFailure',
  'AuthorizationPermissionMismatch',
  'AuthorizationProtocolMismatch',
  'AuthorizationResourceTypeMismatch',
  'AuthorizationServiceMismatch',
  'AuthorizationSourceIPMismatch',
  'InsufficientAccountPermissions',
  'AccountIsDisabled',
  'NoAuthenticationInformation',
  'InvalidAuthenticationInfo',
]);
const TRANSIENT = new Set([
  'ServerBusy',
  'OperationTimedOut',
  'InternalError',
  'ContainerBeingDeleted',
  'BlobBeingRehydrated',
  'PendingCopyOperation',
  'ContainerBeingCreated',
  // Azurite's in-memory store is full (it frees overwritten data on a timer).
  'MemoryExtentStoreAtSizeLimit',
]);
const TOO_LARGE = new Set(['RequestBodyTooLarge', 'BlockCountExceedsLimit', 'BlockListTooLong', 'UncommittedBlockCountExceedsLimit']);
// Azure documents no Blob error code of its own for a full account; account and container quota
// errors are named `…QuotaExceeded` (StorageAccountQuotaExceeded, StorageContainerQuotaExceeded) and
// a server out of space answers 507 Insufficient Storage.
const FULL_CODE = /QuotaExceeded$|^InsufficientStorage$/;
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'REQUEST_SEND_ERROR']);

/** The Azure error code (`x-ms-error-code`), which HEAD responses carry only in `details`. */
export function azureCode(error: unknown): string | undefined {
  const native = error as NativeError | null;
  const details = native?.details as { errorCode?: unknown } | undefined;
  if (typeof details?.errorCode === 'string') return details.errorCode;
  return typeof native?.code === 'string' ? native.code : undefined;
}

/** The HTTP status of a failed request, when there was a response. */
export function azureStatus(error: unknown): number | undefined {
  const status = (error as NativeError | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The stowage code for an Azure or network error, given what the request asked for. */
export function codeOf(error: unknown, conditions: RequestConditions = {}): ErrorCode {
  const code = azureCode(error) ?? '';
  const status = azureStatus(error);
  const name = (error as NativeError | null)?.name;
  if (name === 'AbortError') return ErrorCode.Aborted;
  if (NETWORK.has(code)) return ErrorCode.Unavailable;
  // A create-only write that meets an object: 409 BlobAlreadyExists on Azure, 412 from some proxies.
  if (conditions.ifNoneMatch === '*' && (status === 409 || status === 412) && !TRANSIENT.has(code)) return ErrorCode.AlreadyExists;
  // Compare-and-swap on a missing object is a failed precondition, not a missing object.
  if (conditions.ifMatch !== undefined && (status === 412 || code === 'BlobNotFound')) return ErrorCode.PreconditionFailed;
  if (FULL_CODE.test(code) || status === 507) return ErrorCode.StorageFull;
  if (NOT_FOUND.has(code) || status === 404) return ErrorCode.NotFound;
  if (code === 'BlobAlreadyExists' || code === 'ContainerAlreadyExists') return ErrorCode.AlreadyExists;
  if (code === 'InvalidRange' || status === 416) return ErrorCode.RangeNotSatisfiable;
  if (PERMISSION.has(code) || status === 401 || status === 403) return ErrorCode.PermissionDenied;
  if (TRANSIENT.has(code) || status === 408 || status === 429 || (status !== undefined && status >= 500)) return ErrorCode.Unavailable;
  if (TOO_LARGE.has(code) || status === 413) return ErrorCode.TooLarge;
  if (status === 412 || status === 409) return ErrorCode.PreconditionFailed;
  if (status !== undefined && status >= 400) return ErrorCode.InvalidArgument;
  // No response at all: a reset, a timeout, a vanished server.
  return ErrorCode.Unavailable;
}

const SIGNATURE_PATTERNS: readonly [RegExp, string][] = [
  [/([?&;]sig=)[^&\s'"<>;]*/gi, '$1***'],
  [/(SharedAccessSignature=)[^;\s'"<>]*/gi, '$1***'],
  [/(AccountKey=)[^;\s'"<>]*/gi, '$1***'],
  [/(SharedKey(?:Lite)?\s+[^:\s]+:)[A-Za-z0-9+/=]+/g, '$1***'],
  [/(Bearer\s+)[A-Za-z0-9._~+/=-]+/g, '$1***'],
  // Azure's AuthenticationErrorDetail quotes the signature it received and the string it signed.
  [/(signature found in the HTTP request ')[^']*'/gi, "$1***'"],
  [/(Server used following string to sign: ')[^']*'/gi, "$1***'"],
];

/** Removes SAS signatures, Shared Key signatures, bearer tokens, account keys and the given secrets from `text`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = maskSecrets(text, secrets);
  for (const [pattern, replacement] of SIGNATURE_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

function scrubValue(value: unknown, secrets: readonly string[], seen: Set<unknown>): unknown {
  if (typeof value === 'string') return scrub(value, secrets);
  if (typeof value === 'object' && value !== null && !seen.has(value)) {
    seen.add(value);
    for (const [name, child] of Object.entries(value)) {
      try {
        (value as Record<string, unknown>)[name] = scrubValue(child, secrets, seen);
      } catch {
        // a read-only property: left as it is
      }
    }
  }
  return value;
}

const SECRET_HEADERS = ['authorization', 'x-ms-copy-source-authorization'];
const URL_HEADERS = ['x-ms-copy-source'];

/** Scrubs a native error in place (message, stack, details, the request's URL and headers, the response body) and returns it. */
export function scrubError<T>(error: T, secrets: readonly string[]): T {
  if (typeof error !== 'object' || error === null) return error;
  const native = error as NativeError & Record<string, unknown>;
  try {
    if (typeof native.message === 'string') native.message = scrub(native.message, secrets);
    if (typeof native.stack === 'string') native.stack = scrub(native.stack, secrets);
    if (native.details !== undefined) native.details = scrubValue(native.details, secrets, new Set());
    const requests = [native.request, (native.response?.request as NativeError['request']) ?? undefined];
    for (const request of requests) {
      if (!request) continue;
      if (typeof request.url === 'string') request.url = scrub(request.url, secrets);
      const headers = request.headers;
      if (headers && typeof headers.get === 'function') {
        for (const header of SECRET_HEADERS) if (headers.get(header) !== undefined) headers.set(header, '***');
        for (const header of URL_HEADERS) {
          const value = headers.get(header);
          if (value !== undefined) headers.set(header, scrub(value, secrets));
        }
      }
    }
    if (native.response && typeof native.response.bodyAsText === 'string') native.response.bodyAsText = scrub(native.response.bodyAsText, secrets);
    if (native.cause !== undefined && native.cause !== error) scrubError(native.cause, secrets);
  } catch {
    // frozen or exotic errors keep what they have; the stowage message below is scrubbed regardless
  }
  return error;
}

/** The first line of the native message (Azure appends request ids and times on later lines). */
function nativeSummary(error: unknown): string {
  const native = error as NativeError | null;
  const message = typeof native?.message === 'string' && native.message.trim() !== '' ? native.message.trim().split('\n')[0]! : '';
  const code = azureCode(error);
  const status = azureStatus(error);
  const head = [status, code].filter((part) => part !== undefined && part !== '').join(' ');
  if (message === '') return head === '' ? String(error) : head;
  return head === '' || message.includes(code ?? '\u0000') ? message : `${head}: ${message}`;
}

/** What {@link mapAzureError} needs to know about the failed operation. */
export interface FailureContext {
  backend: string;
  /** What was being done, such as `'write'` or `'list'`. */
  doing: string;
  key?: string | undefined;
  conditions?: RequestConditions | undefined;
  /** The caller's signal: an SDK abort that it did not cause is a dropped connection, not the caller's abort. */
  signal?: AbortSignal | undefined;
  /** Secret strings (account key, SAS token, connection string) to remove from every message. */
  secrets: readonly string[];
}

/** Wraps an Azure or network error as a `StowageError` with a scrubbed message and a scrubbed native `cause`; stowage errors pass through. */
export function mapAzureError(error: unknown, context: FailureContext): StowageError {
  if (isStowageError(error)) {
    error.backend ??= context.backend;
    return error;
  }
  scrubError(error, context.secrets);
  let code = codeOf(error, context.conditions);
  if (code === ErrorCode.Aborted && context.signal?.aborted !== true) code = ErrorCode.Unavailable;
  const where = context.key === undefined ? '' : ` ${JSON.stringify(context.key)}`;
  const full = code === ErrorCode.StorageFull ? 'the storage account or container quota is used up, or the server is out of space: free space or raise the quota, then repeat it: ' : '';
  const message = scrub(`${context.backend}: ${context.doing}${where} failed: ${full}${nativeSummary(error)}`, context.secrets);
  if (code === ErrorCode.Aborted) return new AbortedError(message, { key: context.key, backend: context.backend, cause: error });
  return createError(code, message, { key: context.key, backend: context.backend, cause: error });
}
