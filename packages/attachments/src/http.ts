/**
 * `@stowage/attachments/http`: uploads from HTTP requests, streamed through a slot's policy.
 *
 * - {@link uploadMultipart}: the files of a `multipart/form-data` body, from a Web `Request`
 *   (Hono, Next.js route handlers, Bun, Deno, `fetch`-style servers) or a Node `IncomingMessage`
 *   (`node:http`, Express, Fastify's raw request). Each file streams into its slot as it arrives
 *   (parsed with busboy): nothing holds a whole file in memory, and an oversized file fails with
 *   `TOO_LARGE` as soon as it crosses the slot's `maxSize`, leaving nothing stored.
 * - {@link uploadRequestBody}: a raw body (`PUT /users/42/avatar` with `Content-Type: image/png`).
 * - {@link httpStatus}: the status to answer a failed upload with (413, 415, 400, ...).
 * - {@link clientError}, {@link clientMessage}, {@link errorResponse}: what to tell the client about
 *   it (a code and a generic message), never the error's own message.
 *
 * `request.formData()` would do for small forms, but it reads the whole body into memory first
 * (undici does), so these helpers parse the stream instead.
 *
 * @module
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web';
import busboy from 'busboy';
import { AbortedError, DEFAULT_CONTENT_TYPE, InvalidArgumentError, TooLargeError, byteCount, inferContentType, isStowageError, type OperationOptions } from '@stowage/core';
import type { UploadOptions } from './attachments.ts';
import { isAttachmentError, type ContentTypeNotAllowedError } from './errors.ts';
import type { Attachment } from './reference.ts';
import type { EntityRef } from './slots.ts';
import type { UnitOfWork } from './unit-of-work.ts';

/** A Web `Request` or a Node `IncomingMessage`. */
export type UploadRequest = Request | IncomingMessage;

/** Options of {@link uploadMultipart}. */
export interface MultipartOptions extends OperationOptions {
  /**
   * Which slot each file field goes to, such as `{ avatar: 'avatars', documents: 'documents' }`.
   * A file in any other field is refused (`INVALID_ARGUMENT`).
   */
  files: Readonly<Record<string, string>>;
  /**
   * The row the files belong to, for slots with per-entity keys; `field` defaults to the form
   * field's name.
   */
  entity?: (Omit<EntityRef, 'field'> & { field?: string | undefined }) | undefined;
  /** The most files in one body (default 20); more fail with `TOO_LARGE`. */
  maxFiles?: number | undefined;
  /** The most non-file fields (default 100); more fail with `TOO_LARGE`. */
  maxFields?: number | undefined;
  /** The largest non-file field value in bytes (default 64 KiB); larger fails with `TOO_LARGE`. */
  maxFieldSize?: number | undefined;
}

/** What {@link uploadMultipart} read. */
export interface MultipartResult {
  /** The non-file fields, in order (`fields.get('title')`, `fields.getAll('tag')`). */
  fields: URLSearchParams;
  /** The references of the stored files, by field, in order. */
  files: Record<string, Attachment[]>;
}

function ignore(): void {}

function isWebRequest(request: UploadRequest): request is Request {
  return typeof (request as Request).headers?.get === 'function';
}

function headersOf(request: UploadRequest): IncomingHttpHeaders {
  if (!isWebRequest(request)) return request.headers;
  const headers: IncomingHttpHeaders = {};
  request.headers.forEach((value, name) => {
    headers[name] = value;
  });
  return headers;
}

function bodyOf(request: UploadRequest): Readable {
  if (!isWebRequest(request)) return request;
  if (request.body === null) throw new InvalidArgumentError('the request has no body');
  return Readable.fromWeb(request.body as unknown as NodeWebReadableStream<Uint8Array>);
}

/** A part's declared type: browsers send `application/octet-stream` for types they do not know, so then the file name decides. */
function partType(mimeType: string, filename: string | null): string {
  if (mimeType !== DEFAULT_CONTENT_TYPE || !filename) return mimeType;
  return inferContentType(filename);
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer, got ${String(value)}`);
  return value;
}

/**
 * Streams the files of a `multipart/form-data` request into their slots, through the unit of work
 * (so that they are deleted if the transaction rolls back), and returns the other fields.
 *
 * When anything fails (a file over its slot's `maxSize`, a refused type, a file in an unexpected
 * field, a malformed body, too many parts), the files this call stored are deleted again before it
 * throws, and the rest of the body is left unread: answer with {@link errorResponse} (or
 * {@link httpStatus} and `Connection: close`).
 *
 * @example
 * ```ts
 * // A Hono / Next.js / Bun handler
 * export async function POST(request: Request) {
 *   const files = attachments.begin()
 *   try {
 *     const { fields, files: uploaded } = await uploadMultipart(files, request, { files: { documents: 'documents' } })
 *     // ... then write the row in a transaction bound to `files`
 *   } catch (error) {
 *     await files.rollback()
 *     return errorResponse(error) // a code and a generic message: never String(error), which names keys and slots
 *   }
 * }
 * ```
 */
export async function uploadMultipart(work: UnitOfWork, request: UploadRequest, options: MultipartOptions): Promise<MultipartResult> {
  if (typeof options?.files !== 'object' || options.files === null) throw new InvalidArgumentError('uploadMultipart needs { files: { field: slot } }');
  for (const slot of Object.values(options.files)) work.attachments.slot(slot);
  const maxFiles = positive(options.maxFiles, 20, 'maxFiles');
  const maxFields = positive(options.maxFields, 100, 'maxFields');
  const maxFieldSize = positive(options.maxFieldSize, 64 * 1024, 'maxFieldSize');
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: headersOf(request), limits: { files: maxFiles, fields: maxFields, fieldSize: maxFieldSize, parts: maxFiles + maxFields } });
  } catch (cause) {
    throw new InvalidArgumentError(`not a multipart/form-data request: ${(cause as Error).message}`, { cause });
  }
  const source = bodyOf(request);
  const fields = new URLSearchParams();
  const uploads: Promise<[string, Attachment]>[] = [];

  const outcome = await new Promise<{ error?: unknown }>((resolve) => {
    let settled = false;
    const onAbort = (): void => finish(new AbortedError('the upload was aborted', { cause: options.signal!.reason }));
    const finish = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      if (error !== undefined) {
        // The uploads have seen the error already; what the teardown raises has no one to go to.
        source.on('error', ignore);
        parser.on('error', ignore);
        // The rest of the body is left unread, not cancelled: the server answers and closes the
        // connection (cancelling a Request's stream mid-body trips undici on bodies it generates).
        source.unpipe(parser);
        parser.destroy();
      }
      resolve(error === undefined ? {} : { error });
    };
    parser.on('file', (name, stream, info) => {
      if (settled) {
        stream.resume();
        return;
      }
      // Errors reach the upload through its iteration; the stream's own event needs a listener.
      stream.on('error', ignore);
      const slot = options.files[name];
      if (slot === undefined) {
        stream.resume();
        finish(new InvalidArgumentError(`unexpected file field ${JSON.stringify(name)} (expected: ${Object.keys(options.files).join(', ')})`));
        return;
      }
      const filename = info.filename ? info.filename : null;
      const uploadOptions: UploadOptions = { filename, contentType: partType(info.mimeType, filename), signal: options.signal };
      if (options.entity) uploadOptions.entity = { model: options.entity.model, id: options.entity.id, field: options.entity.field ?? name };
      const upload = work.upload(slot, stream, uploadOptions).then((reference): [string, Attachment] => [name, reference]);
      uploads.push(upload);
      upload.catch((error: unknown) => {
        stream.resume();
        finish(error);
      });
    });
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) finish(new TooLargeError(maxFieldSize, `the form field ${JSON.stringify(name)} is longer than ${byteCount(maxFieldSize)}`));
      else fields.append(name, value);
    });
    parser.on('filesLimit', () => finish(new TooLargeError(maxFiles, `the form has more than ${maxFiles} files`)));
    parser.on('fieldsLimit', () => finish(new TooLargeError(maxFields, `the form has more than ${maxFields} fields`)));
    parser.on('partsLimit', () => finish(new TooLargeError(maxFiles + maxFields, `the form has more than ${maxFiles + maxFields} parts`)));
    parser.on('error', (cause: unknown) => finish(isStowageError(cause) ? cause : new InvalidArgumentError(`malformed multipart body: ${(cause as Error).message}`, { cause })));
    parser.on('close', () => finish());
    source.on('error', (cause: unknown) => finish(isStowageError(cause) ? cause : new InvalidArgumentError(`the request body failed: ${(cause as Error).message}`, { cause })));
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    source.pipe(parser);
  });

  const settled = await Promise.allSettled(uploads);
  const error = outcome.error ?? settled.find((result) => result.status === 'rejected')?.reason;
  if (error !== undefined) {
    for (const result of settled) if (result.status === 'fulfilled') await work.discard(result.value[1]);
    throw error;
  }
  const files: Record<string, Attachment[]> = {};
  for (const result of settled) {
    if (result.status !== 'fulfilled') continue;
    const [name, reference] = result.value;
    (files[name] ??= []).push(reference);
  }
  return { fields, files };
}

/** Options of {@link uploadRequestBody}. */
export interface RequestBodyOptions extends Omit<UploadOptions, 'contentType' | 'size'> {
  /** The declared type (default: the request's `Content-Type`). */
  contentType?: string | undefined;
}

/**
 * Streams a request's raw body into a slot, through the unit of work: for clients that `PUT` a file
 * as the whole body. The `Content-Type` header is the declared type; a `Content-Length` over the
 * slot's `maxSize` is refused before a byte is read.
 */
export async function uploadRequestBody(work: UnitOfWork, slot: string, request: UploadRequest, options: RequestBodyOptions = {}): Promise<Attachment> {
  const headers = headersOf(request);
  const single = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);
  const contentType = options.contentType ?? single(headers['content-type']);
  const length = single(headers['content-length']);
  const encoded = single(headers['content-encoding']);
  // With a content encoding the length counts encoded bytes, not the file's.
  const size = length !== undefined && /^\d+$/.test(length) && (encoded === undefined || encoded === 'identity') ? Number(length) : undefined;
  const uploadOptions: UploadOptions = { ...options, contentType, size };
  // The Web stream itself, not a Node wrapper: nothing is read before the size and type checks.
  const body = isWebRequest(request) ? request.body : request;
  if (body === null) throw new InvalidArgumentError('the request has no body');
  return work.upload(slot, body as ReadableStream<Uint8Array> | IncomingMessage, uploadOptions);
}

/**
 * The HTTP status for a failed upload: 413 for `TOO_LARGE`, 415 for a refused content type, 400 for
 * other bad input, 409 for `ALREADY_EXISTS`, 404, 403, 503 for `UNAVAILABLE`, else 500.
 */
export function httpStatus(error: unknown): number {
  if (isAttachmentError(error, 'CONTENT_TYPE_NOT_ALLOWED')) return 415;
  if (!isStowageError(error)) return 500;
  switch (error.code) {
    case 'TOO_LARGE':
      return 413;
    case 'INVALID_ARGUMENT':
    case 'INVALID_PATH':
    case 'ABORTED':
      return 400;
    case 'ALREADY_EXISTS':
      return 409;
    case 'NOT_FOUND':
      return 404;
    case 'PERMISSION_DENIED':
      return 403;
    case 'UNAVAILABLE':
      return 503;
    default:
      return 500;
  }
}

/** What a client may be told about a failed upload: see {@link clientError}. */
export interface ClientError {
  /** The HTTP status, as {@link httpStatus} gives it. */
  status: number;
  /**
   * A stable code: stowage's error code (`TOO_LARGE`, `INVALID_ARGUMENT`, ...), the attachment kind
   * `CONTENT_TYPE_NOT_ALLOWED`, or `INTERNAL` for anything that is not a stowage error.
   */
  code: string;
  /** A generic sentence for the code, fit to show an end user. */
  message: string;
}

const CLIENT_MESSAGES: Record<string, string> = {
  TOO_LARGE: 'The upload is too large.',
  CONTENT_TYPE_NOT_ALLOWED: 'This type of file is not accepted here.',
  INVALID_ARGUMENT: 'The upload is not valid.',
  INVALID_PATH: 'The upload is not valid.',
  ABORTED: 'The upload was interrupted.',
  ALREADY_EXISTS: 'A file of that name exists already.',
  NOT_FOUND: 'Not found.',
  PERMISSION_DENIED: 'Not allowed.',
  UNAVAILABLE: 'The storage is unavailable; try again later.',
  STORAGE_FULL: 'The storage is full.',
};

/**
 * What to tell the client about a failed upload: the status, a stable code and a generic message
 * for that code. Never the error's own message, which names keys, slots, stores and backends the
 * client has no business seeing (log `error` itself on the server). A refused type also lists the
 * slot's accepted types, which the uploader needs to pick another file.
 *
 * @example
 * ```ts
 * catch (error) {
 *   console.error(error) // the full story, for the server's log
 *   const { status, code, message } = clientError(error) // 413, 'TOO_LARGE', 'The upload is too large.'
 * }
 * ```
 */
export function clientError(error: unknown): ClientError {
  const status = httpStatus(error);
  if (isAttachmentError(error, 'CONTENT_TYPE_NOT_ALLOWED')) {
    const allowed = (error as ContentTypeNotAllowedError).allowed.filter((type) => type !== '*');
    const message = CLIENT_MESSAGES.CONTENT_TYPE_NOT_ALLOWED!;
    return { status, code: error.kind, message: allowed.length > 0 ? `${message.slice(0, -1)} (accepted: ${allowed.join(', ')}).` : message };
  }
  if (!isStowageError(error)) return { status, code: 'INTERNAL', message: 'The upload failed.' };
  const message = CLIENT_MESSAGES[error.code] ?? 'The upload failed.';
  return { status, code: error.code, message };
}

/** {@link clientError}'s message alone: a generic sentence for the error's code, never its own message. */
export function clientMessage(error: unknown): string {
  return clientError(error).message;
}

/**
 * The response for a failed upload: {@link clientError} as JSON (`{ "error": { "code", "message" } }`)
 * with its status and `Connection: close` (the rest of a refused body is left unread).
 *
 * @example
 * ```ts
 * } catch (error) {
 *   if (files.state === 'open') await files.rollback()
 *   return errorResponse(error)
 * }
 * ```
 */
export function errorResponse(error: unknown): Response {
  const { status, code, message } = clientError(error);
  return Response.json({ error: { code, message } }, { status, headers: { connection: 'close' } });
}
