/**
 * The Fetch API handler: `(Request) => Promise<Response>`, serving one store read-only by default,
 * streaming end to end, with ranges, ETags and conditional requests, and signed links verified.
 *
 * @module
 */
import { byteCount, isStowageError, keyProblem, type ErrorCode, type ObjectInfo, type Store, type StoredObject } from '@stowage/core';
import { parseRange } from './ranges.ts';
import { HmacSigner, LINK_PARAMETERS, type LinkProblem, type VerifiedLink } from './signer.ts';
import { guardBody, resolveUploads, type ResolvedUploads, type UploadOptions } from './upload-limits.ts';
import { pathToKey } from './url-keys.ts';

/** A handler for any Fetch API server: Hono, Bun, Deno, Next.js route handlers, or Node through `@stowage/http/node`. */
export type FetchHandler = (request: Request) => Promise<Response>;

/** Options of {@link createHandler}. */
export interface HandlerOptions {
  /** Verifies signed links (and signs them, through `store.withSigner(signer)`). */
  signer?: HmacSigner | undefined;
  /**
   * `'signed'` (the default when a signer is given): every request needs a valid link.
   * `'public'`: anyone may read every object of the store; signed links still work, and uploads
   * still need one.
   */
  access?: 'signed' | 'public' | undefined;
  /** The path the handler is mounted at (default: the signer's base URL path, else `/`). */
  basePath?: string | undefined;
  /**
   * Accept `PUT` through links signed for `PUT` (off by default), streamed into the store with a
   * size limit, cut when they stall or take too long, and at most so many at once: see
   * {@link UploadOptions}.
   */
  uploads?: UploadOptions | undefined;
  /** A `Cache-Control` header for objects served (none by default). */
  cacheControl?: string | undefined;
  /** `Content-Security-Policy: sandbox` on every object, so that stored HTML cannot run script on your origin (default true). */
  sandbox?: boolean | undefined;
  /** CORS: the origins allowed to read and upload from a browser (`'*'` for any). None by default. */
  cors?: { origins: '*' | readonly string[] } | undefined;
  /** Told about every refused link (with why) and every unexpected error; responses never carry either. */
  onError?: ((event: { request: Request; status: number; reason: string; error?: unknown }) => void) | undefined;
}

const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  INVALID_PATH: 400,
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  PERMISSION_DENIED: 403,
  TOO_LARGE: 413,
  RANGE_NOT_SATISFIABLE: 416,
  PRECONDITION_FAILED: 412,
  ALREADY_EXISTS: 409,
  UNAVAILABLE: 503,
  STORAGE_FULL: 507,
};

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  416: 'Range Not Satisfiable',
  499: 'Client Closed Request',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  507: 'Insufficient Storage',
};

/** An ETag as HTTP wants it: quoted (stowage's etags are opaque strings, usually quoted already). */
function httpEtag(etag: string): string {
  return /^(W\/)?".*"$/.test(etag) ? etag : `"${etag.replaceAll('"', '')}"`;
}

function strip(etag: string): string {
  return etag.trim().replace(/^W\//, '');
}

/** Whether an `If-None-Match` header matches the current ETag (weak comparison, RFC 9110 13.1.2). */
function noneMatchHits(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  const current = strip(etag);
  return header.split(',').some((candidate) => strip(candidate) === current);
}

/** Seconds since the epoch, as HTTP dates carry them. */
function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** The `filename` parameters of a `Content-Disposition` header (RFC 6266): an ASCII fallback and the UTF-8 name. */
function dispositionFilename(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/** Refuses a nonce record that shares keys with the served store: its records would be served, and the store's objects swept. */
function assertApart(served: Store, record: Store): void {
  if (served.backend !== record.backend) return;
  if (served.root.startsWith(record.root) || record.root.startsWith(served.root)) {
    throw new TypeError(`uploads.nonceStore shares keys with the served store (roots ${JSON.stringify(record.root)} and ${JSON.stringify(served.root)}): give it a store or root of its own, outside the served one`);
  }
}

/**
 * Serves `store` over HTTP: `GET` and `HEAD` with `Content-Type`, `Content-Length`, `ETag`,
 * `Last-Modified` and `Accept-Ranges`; single `Range` requests (206, or 416); `If-None-Match` and
 * `If-Modified-Since` (304); `If-Range`; `?download` for `Content-Disposition: attachment` with the
 * original filename (`metadata.filename`, else the key's last segment); signed links; and, when
 * enabled, signed `PUT` uploads. Keys from the URL follow the store's key rules (400 otherwise); a
 * response never carries a stack trace or an internal message.
 *
 * @example
 * ```ts
 * const signer = createSigner({ baseUrl: 'http://localhost:3000/files/', secrets: [secret] })
 * const store = (await openStore('sqlite:./files.db')).withSigner(signer)
 * const handler = createHandler(store, { signer })
 * // Hono: app.all('/files/*', (c) => handler(c.req.raw));  Node: http.createServer(toNodeListener(handler))
 * ```
 */
export function createHandler(store: Store, options: HandlerOptions = {}): FetchHandler {
  const { signer } = options;
  const access = options.access ?? (signer ? 'signed' : undefined);
  if (access === undefined) throw new TypeError("createHandler needs a signer (for signed links) or access: 'public'");
  if (access === 'signed' && !signer) throw new TypeError("access: 'signed' needs a signer");
  if (signer && !(signer instanceof HmacSigner)) throw new TypeError('signer must come from createSigner()');
  if (signer && signer.root !== store.root) {
    throw new TypeError(`the signer's root ${JSON.stringify(signer.root)} is not the served store's root ${JSON.stringify(store.root)}`);
  }
  if (options.uploads && !signer) throw new TypeError('uploads need a signer: only signed links may upload');
  const uploads = options.uploads === undefined ? undefined : resolveUploads(options.uploads);
  if (uploads && signer?.uploads.singleUse && !uploads.nonces) {
    throw new TypeError('the signer issues single-use upload links: give uploads.nonceStore, the store their nonces are recorded in');
  }
  if (uploads?.nonces && !signer?.uploads.singleUse) throw new TypeError('uploads.nonceStore is for single-use links: createSigner({ uploads: { singleUse: true } })');
  if (uploads?.nonces) assertApart(store, uploads.nonces.store);
  let uploading = 0;
  let basePath = options.basePath ?? signer?.basePath ?? '/';
  if (!basePath.startsWith('/')) basePath = `/${basePath}`;
  if (!basePath.endsWith('/')) basePath += '/';
  const sandbox = options.sandbox ?? true;
  const methods = options.uploads ? 'GET, HEAD, PUT, OPTIONS' : 'GET, HEAD, OPTIONS';

  const corsHeaders = (request: Request): Record<string, string> => {
    const origin = request.headers.get('origin');
    const allowed = options.cors?.origins;
    if (!origin || !allowed) return {};
    if (allowed !== '*' && !allowed.includes(origin)) return {};
    return {
      'access-control-allow-origin': allowed === '*' ? '*' : origin,
      'access-control-expose-headers': 'content-length, content-range, content-type, etag, last-modified, accept-ranges, content-disposition',
      ...(allowed === '*' ? {} : { vary: 'Origin' }),
    };
  };

  const plain = (request: Request, status: number, extra: Record<string, string> = {}): Response =>
    new Response(request.method === 'HEAD' ? null : `${REASONS[status] ?? 'Error'}\n`, {
      status,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...corsHeaders(request), ...extra },
    });

  const refuse = (request: Request, status: number, reason: string, error?: unknown): Response => {
    options.onError?.({ request, status, reason, error });
    return plain(request, status);
  };

  const fromError = (request: Request, error: unknown): Response => {
    if (isStowageError(error)) {
      const status = error.code === 'ABORTED' ? 499 : (STATUS_OF[error.code] ?? 500);
      return refuse(request, status, error.code, error);
    }
    return refuse(request, 500, 'unexpected error', error);
  };

  const objectHeaders = (request: Request, info: ObjectInfo, download: boolean): Record<string, string> => {
    const headers: Record<string, string> = {
      'content-type': info.contentType,
      etag: httpEtag(info.etag),
      'last-modified': info.lastModified.toUTCString(),
      'accept-ranges': store.capabilities.rangeRead ? 'bytes' : 'none',
      'x-content-type-options': 'nosniff',
      ...corsHeaders(request),
    };
    if (sandbox) headers['content-security-policy'] = 'sandbox';
    if (options.cacheControl) headers['cache-control'] = options.cacheControl;
    if (download) headers['content-disposition'] = `attachment; ${dispositionFilename(info.metadata.filename ?? info.key.slice(info.key.lastIndexOf('/') + 1))}`;
    return headers;
  };

  const notModified = (request: Request, info: ObjectInfo): boolean => {
    const noneMatch = request.headers.get('if-none-match');
    if (noneMatch !== null) return noneMatchHits(noneMatch, httpEtag(info.etag));
    const modifiedSince = request.headers.get('if-modified-since');
    if (modifiedSince === null) return false;
    const since = Date.parse(modifiedSince);
    return !Number.isNaN(since) && seconds(info.lastModified) <= Math.floor(since / 1000);
  };

  /** Whether `If-Range` lets the `Range` apply (RFC 9110 13.1.5): a strong ETag match or the exact date. */
  const rangeApplies = (request: Request, info: ObjectInfo): boolean => {
    const ifRange = request.headers.get('if-range');
    if (ifRange === null) return true;
    if (ifRange.trim().startsWith('"')) return ifRange.trim() === httpEtag(info.etag) && !httpEtag(info.etag).startsWith('W/');
    const date = Date.parse(ifRange);
    return !Number.isNaN(date) && Math.floor(date / 1000) === seconds(info.lastModified);
  };

  const read = async (request: Request, key: string, download: boolean): Promise<Response> => {
    if (request.method === 'HEAD') {
      const info = await store.stat(key, { signal: request.signal });
      if (notModified(request, info)) return new Response(null, { status: 304, headers: conditionalHeaders(info) });
      return new Response(null, { status: 200, headers: { ...objectHeaders(request, info, download), 'content-length': String(info.size) } });
    }
    let range = store.capabilities.rangeRead ? parseRange(request.headers.get('range')) : undefined;
    if (range && request.headers.has('if-range') && !rangeApplies(request, await store.stat(key, { signal: request.signal }))) range = undefined;
    let object: StoredObject;
    try {
      object = await store.get(key, range ? { range, signal: request.signal } : { signal: request.signal });
    } catch (error) {
      if (isStowageError(error, 'RANGE_NOT_SATISFIABLE')) return unsatisfiable(request, key);
      throw error;
    }
    const { info, body } = object;
    if (notModified(request, info)) {
      await body.cancel();
      return new Response(null, { status: 304, headers: conditionalHeaders(info) });
    }
    const headers = objectHeaders(request, info, download);
    if (range) {
      const served = object.range ?? { offset: 0, length: info.size };
      // HTTP has no empty range: a range starting at the end (or a zero suffix) is unsatisfiable.
      if (served.length === 0) {
        await body.cancel();
        return unsatisfiable(request, key, info.size);
      }
      headers['content-range'] = `bytes ${served.offset}-${served.offset + served.length - 1}/${info.size}`;
      headers['content-length'] = String(served.length);
      return new Response(body, { status: 206, headers });
    }
    headers['content-length'] = String(info.size);
    return new Response(body, { status: 200, headers });
  };

  const conditionalHeaders = (info: ObjectInfo): Record<string, string> => {
    const headers: Record<string, string> = { etag: httpEtag(info.etag), 'last-modified': info.lastModified.toUTCString() };
    if (options.cacheControl) headers['cache-control'] = options.cacheControl;
    return headers;
  };

  const unsatisfiable = async (request: Request, key: string, size?: number): Promise<Response> => {
    const total = size ?? (await store.stat(key, { signal: request.signal })).size;
    return plain(request, 416, { 'content-range': `bytes */${total}` });
  };

  const upload = async (request: Request, key: string, link: VerifiedLink, limits: ResolvedUploads): Promise<Response> => {
    const { contentType } = link;
    const given = request.headers.get('content-type') ?? undefined;
    if (contentType !== undefined && given?.trim() !== contentType) return refuse(request, 403, 'the upload does not send the content type its link is bound to');
    const lengthHeader = request.headers.get('content-length');
    const length = lengthHeader === null ? undefined : Number(lengthHeader);
    if (length !== undefined && !(Number.isSafeInteger(length) && length >= 0)) return refuse(request, 400, 'bad content-length');
    if (length !== undefined && length > limits.maxSize) return refuse(request, 413, `upload of ${byteCount(length)} over the limit of ${limits.maxSize}`);
    if (uploading >= limits.maxConcurrent) {
      options.onError?.({ request, status: 503, reason: `${uploading} uploads in progress, the most allowed at once` });
      return plain(request, 503, { 'retry-after': '1', connection: 'close' });
    }
    uploading += 1;
    if (link.nonce !== undefined) {
      let claimed: boolean;
      try {
        claimed = await limits.nonces!.claim(link.nonce, link.expires, request.signal);
      } catch (error) {
        uploading -= 1;
        throw error;
      }
      if (!claimed) {
        uploading -= 1;
        return refuse(request, 403, `link refused: ${'used' satisfies LinkProblem}`);
      }
      const nonces = limits.nonces!;
      if (nonces.sweepDue()) nonces.sweep().catch((error: unknown) => options.onError?.({ request, status: 500, reason: 'sweeping the nonce record failed', error }));
    }
    const body = guardBody(request.body ?? new Blob([]).stream(), limits, request.signal);
    let info: ObjectInfo | undefined;
    try {
      info = await store.write(key, body.chunks, {
        maxSize: limits.maxSize,
        size: length,
        contentType: contentType ?? given?.trim() ?? undefined,
        signal: body.signal,
      });
    } catch (error) {
      if (body.cut === undefined) throw error;
      options.onError?.({ request, status: 408, reason: body.cut, error });
      return plain(request, 408, { connection: 'close' });
    } finally {
      body.dispose();
      uploading -= 1;
      // A failed upload stored nothing: its link may be tried again.
      if (info === undefined && link.nonce !== undefined) await limits.nonces!.release(link.nonce, link.expires).catch(() => {});
    }
    return new Response(JSON.stringify({ key: info.key, size: info.size, etag: info.etag, contentType: info.contentType, sha256: info.sha256 }), {
      status: 201,
      headers: { 'content-type': 'application/json', etag: httpEtag(info.etag), ...corsHeaders(request) },
    });
  };

  return async (request: Request): Promise<Response> => {
    try {
      const method = request.method.toUpperCase();
      if (method === 'OPTIONS') {
        const cors = corsHeaders(request);
        if (!cors['access-control-allow-origin']) return new Response(null, { status: 204, headers: { allow: methods } });
        return new Response(null, {
          status: 204,
          headers: { ...cors, allow: methods, 'access-control-allow-methods': methods, 'access-control-allow-headers': 'content-type, range, if-none-match, if-modified-since, if-range, x-ms-blob-type', 'access-control-max-age': '600' },
        });
      }
      const upload_ = method === 'PUT' && uploads !== undefined;
      if (method !== 'GET' && method !== 'HEAD' && !upload_) return plain(request, 405, { allow: methods });
      const url = new URL(request.url);
      if (!url.pathname.startsWith(basePath)) return refuse(request, 404, 'outside the mount path');
      const parsed = pathToKey(url.pathname.slice(basePath.length));
      if (parsed.key === undefined) return refuse(request, 400, parsed.problem);
      const problem = keyProblem(parsed.key);
      if (problem !== undefined) return refuse(request, 400, `invalid key: ${problem}`);
      // The signed key is absolute: the served store's root plus the key in the path.
      const absolute = store.root + parsed.key;
      let link: VerifiedLink | undefined;
      if (signer && (access === 'signed' || method === 'PUT' || url.searchParams.has(LINK_PARAMETERS.signature))) {
        const verified = signer.verify({ method, key: absolute, path: url.pathname.slice(basePath.length), query: url.search.slice(1) });
        if (typeof verified === 'string') return refuse(request, 403, `link refused: ${verified satisfies LinkProblem}`);
        link = verified;
      }
      if (method === 'PUT') return await upload(request, parsed.key, link!, uploads!);
      return await read(request, parsed.key, url.searchParams.has('download'));
    } catch (error) {
      return fromError(request, error);
    }
  };
}
