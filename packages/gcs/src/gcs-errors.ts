/**
 * GCS client errors mapped onto stowage's codes, with every credential kept out of the message.
 *
 * @module
 */
import {
  AbortedError,
  CapabilityNotSupportedError,
  ErrorCode,
  createError,
  isStowageError,
  maskSecrets,
  type StowageError,
} from '@stowage/core';

/** What an operation was doing when the client failed, for the message and the code. */
export interface FailureContext {
  /** The backend's name. */
  backend: string;
  /** A verb phrase: `'read'`, `'write'`, `'list'`, `'sign a URL for'`, … */
  doing: string;
  /** The key concerned, when there is one. */
  key?: string | undefined;
  /** The request carried `ifGenerationMatch: 0`: a failed precondition means the object exists. */
  createOnly?: boolean | undefined;
  /** The request carried a generation precondition: a missing object is a failed precondition too. */
  conditional?: boolean | undefined;
  /** The caller's signal: when it fired, the failure is an abort whatever the client reports. */
  signal?: AbortSignal | undefined;
  /** The operation signs a URL: a refusal is explained in terms of what signing needs. */
  signing?: boolean | undefined;
  /** Values to mask wherever they appear (a private key, a client secret). */
  secrets?: readonly string[] | undefined;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_STREAM_PREMATURE_CLOSE',
]);
const NETWORK_MESSAGE = /socket hang up|network|timed? ?out|premature close|other side closed|terminated|connection (?:reset|refused|closed)|fetch failed|aborted/i;
const MISSING_CREDENTIALS = /could not load the default credentials|could not refresh access token|invalid_grant|unauthorized_client|no access, refresh token|api key/i;
const SIGNING = /cannot sign data|client_email|signBlob|SigningError|private key|private_key/i;

// Credentials that may appear inside native messages: bearer tokens, OAuth codes and secrets,
// signatures of signed URLs, PEM private keys.
const SECRET_PATTERNS: readonly RegExp[] = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g,
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi,
  /\b(X-Goog-Signature|X-Goog-Credential|Signature|GoogleAccessId|access_token|refresh_token|client_secret|assertion|id_token|code|key)=[^&\s"']+/gi,
  /"(private_key|client_secret|refresh_token|access_token|id_token)"\s*:\s*"[^"]*"/gi,
];

/** `text` with known secrets and anything shaped like a credential replaced by `***`. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = maskSecrets(text, secrets);
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (match: string, name?: string) => {
      if (match.startsWith('-----')) return '***';
      if (name === undefined) return '***';
      if (match.startsWith('"')) return `"${name}":"***"`;
      const separator = match.charAt(name.length);
      return `${name}${separator === '=' ? '=' : ' '}***`;
    });
  }
  return out;
}

/** The HTTP status of a client error, or undefined for network and local failures. */
export function statusOf(error: unknown): number | undefined {
  const native = error as { code?: unknown; status?: unknown; response?: { status?: unknown } } | null;
  for (const candidate of [native?.code, native?.status, native?.response?.status]) {
    if (typeof candidate === 'number' && candidate >= 100 && candidate < 600) return candidate;
    if (typeof candidate === 'string' && /^[1-5][0-9][0-9]$/.test(candidate)) return Number(candidate);
  }
  return undefined;
}

function networkCodeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const native = current as { code?: unknown; errno?: unknown; cause?: unknown };
    for (const candidate of [native.code, native.errno]) if (typeof candidate === 'string' && NETWORK_CODES.has(candidate)) return candidate;
    current = native.cause;
  }
  return undefined;
}

/** The reasons the JSON API gives for an error (`errors[].reason`), such as `quotaExceeded`. */
function reasonsOf(error: unknown): string[] {
  const native = error as { errors?: unknown; response?: { data?: { error?: { errors?: unknown } } } } | null;
  const lists = [native?.errors, native?.response?.data?.error?.errors];
  const reasons: string[] = [];
  for (const list of lists) if (Array.isArray(list)) for (const entry of list) if (typeof (entry as { reason?: unknown })?.reason === 'string') reasons.push((entry as { reason: string }).reason);
  return reasons;
}

/**
 * Whether a client error says the storage is full: the bucket's or project's storage quota is used
 * up (`quotaExceeded`, which the API sends with 403; a rate limit is `rateLimitExceeded` or 429 and
 * stays transient), or the server answered 507 Insufficient Storage.
 */
export function isStorageFull(error: unknown): boolean {
  const status = statusOf(error);
  if (status === 507) return true;
  return status !== 429 && reasonsOf(error).includes('quotaExceeded');
}

/** The stowage code for a client error. */
export function codeOfGcsError(error: unknown, context: Pick<FailureContext, 'createOnly' | 'conditional'> = {}): ErrorCode {
  const status = statusOf(error);
  const message = error instanceof Error ? `${error.name} ${error.message}` : String(error);
  if (isStorageFull(error)) return ErrorCode.StorageFull;
  if (status !== undefined) {
    if (status === 412) return context.createOnly ? ErrorCode.AlreadyExists : ErrorCode.PreconditionFailed;
    if (status === 404) return context.conditional ? ErrorCode.PreconditionFailed : ErrorCode.NotFound;
    if (status === 416) return ErrorCode.RangeNotSatisfiable;
    if (status === 401 || status === 403) return ErrorCode.PermissionDenied;
    if (status === 501) return ErrorCode.CapabilityNotSupported;
    if (status === 408 || status === 409 || status === 429 || status >= 500) return ErrorCode.Unavailable;
    if (status >= 400 && status < 500) return ErrorCode.InvalidArgument;
  }
  if (networkCodeOf(error) !== undefined) return ErrorCode.Unavailable;
  if (SIGNING.test(message) || MISSING_CREDENTIALS.test(message)) return ErrorCode.PermissionDenied;
  if (NETWORK_MESSAGE.test(message)) return ErrorCode.Unavailable;
  return ErrorCode.Unavailable;
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = statusOf(error);
  const message = error.message.split('\n')[0]!.trim();
  return status === undefined || message.startsWith(String(status)) ? message : `${status} ${message}`;
}

/**
 * A copy of a client error that is safe to keep as `cause`: its name, redacted message, status and
 * code, the API's error reasons, and its own cause likewise. The client's errors carry the request
 * and response they belong to, whose headers hold the access token (`Authorization: Bearer …`), so
 * the original never leaves the adapter: logging a stowage error prints no credential.
 */
export function sanitizeCause(error: unknown, secrets: readonly string[] = [], depth = 0): unknown {
  if (!(error instanceof Error)) return typeof error === 'string' ? redact(error, secrets) : undefined;
  const native = error as Error & { code?: unknown; status?: unknown; errors?: unknown; cause?: unknown };
  const copy = new Error(redact(native.message, secrets)) as Error & Record<string, unknown>;
  Object.defineProperty(copy, 'name', { value: native.name, enumerable: false, configurable: true });
  copy.stack = `${native.name}: ${copy.message}`;
  if (typeof native.code === 'string' || typeof native.code === 'number') copy.code = native.code;
  const status = statusOf(error);
  if (status !== undefined) copy.status = status;
  if (Array.isArray(native.errors)) {
    copy.errors = native.errors.map((entry: unknown) => {
      const { reason, message, domain } = (entry ?? {}) as { reason?: unknown; message?: unknown; domain?: unknown };
      return {
        ...(typeof reason === 'string' ? { reason } : {}),
        ...(typeof domain === 'string' ? { domain } : {}),
        ...(typeof message === 'string' ? { message: redact(message, secrets) } : {}),
      };
    });
  }
  if (native.cause !== undefined && depth < 3) copy.cause = sanitizeCause(native.cause, secrets, depth + 1);
  return copy;
}

/** Wraps a client error as a `StowageError` (an existing one passes through unchanged). */
export function mapGcsError(error: unknown, context: FailureContext): StowageError {
  if (isStowageError(error)) {
    error.backend ??= context.backend;
    return error;
  }
  const { backend, key } = context;
  const target = key === undefined ? '' : ` ${JSON.stringify(key)}`;
  const cause = sanitizeCause(error, context.secrets);
  if (context.signal?.aborted) {
    return new AbortedError(`${backend}: ${context.doing}${target} aborted`, { key, backend, cause: context.signal.reason ?? cause });
  }
  const code = codeOfGcsError(error, context);
  let detail = redact(describe(error), context.secrets);
  if (code === ErrorCode.PermissionDenied && (context.signing === true || SIGNING.test(detail))) {
    detail = `signing needs credentials that can sign: a service-account key (client_email and private_key), or Application Default Credentials of a service account allowed to call signBlob (${detail})`;
  } else if (code === ErrorCode.StorageFull) {
    detail = `the storage quota of the bucket or its project is used up, or the server is out of space: free space or raise the quota, then repeat it (${detail})`;
  } else if (code === ErrorCode.PermissionDenied && MISSING_CREDENTIALS.test(detail)) {
    detail = `no usable credentials: give a key file or key object, or set up Application Default Credentials (${detail})`;
  }
  const message = `${backend}: ${context.doing}${target} failed: ${detail}`;
  if (code === ErrorCode.CapabilityNotSupported) {
    return new CapabilityNotSupportedError(context.doing, `${message} (the server does not implement this request)`, { key, backend, cause });
  }
  return createError(code, message, { key, backend, cause });
}
