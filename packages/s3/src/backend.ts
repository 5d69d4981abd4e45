/**
 * The S3 backend: one object per key, small bodies in one PutObject, larger ones in a multipart
 * upload with bounded memory, conditions on the request that commits.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  AlreadyExistsError,
  ErrorCode,
  InvalidArgumentError,
  NotFoundError,
  PreconditionFailedError,
  SweepTally,
  TooLargeError,
  inferContentType,
  normalizeRoot,
  resolveRange,
  type Backend,
  type BackendCopyOptions,
  type BackendListOptions,
  type BackendReadResult,
  type BackendSweepOptions,
  type BackendWriteRequest,
  type ByteRange,
  type ListPage,
  type ObjectInfo,
  type OperationContext,
  type SignUrlOptions,
  type StowageError,
  type SweepResult,
} from '@stowage/core';
import { fromWireMetadata, toWireMetadata } from './metadata-encoding.ts';
import { MAX_OBJECT_SIZE, MAX_PARTS, MAX_SINGLE_REQUEST, MIN_PART_SIZE, PartPool, basePartSize, fixedParts, multipartEtag, partSizeFor, spoolToFile } from './parts.ts';
import { mapS3Error, s3CodeOf, statusOf } from './s3-errors.ts';

/** What the S3 adapter declares. */
export const S3_CAPABILITIES: {
  readonly rangeRead: true;
  readonly conditionalWrite: true;
  readonly userMetadata: true;
  readonly listDelimiter: true;
  readonly copy: 'native';
  readonly move: 'native';
  readonly signedUrl: true;
  readonly multipart: true;
  readonly hierarchical: false;
  readonly maxObjectSize: number;
  readonly listOrder: 'utf8';
} = Object.freeze({
  rangeRead: true,
  conditionalWrite: true,
  userMetadata: true,
  listDelimiter: true,
  copy: 'native',
  move: 'native',
  signedUrl: true,
  multipart: true,
  hierarchical: false,
  maxObjectSize: MAX_OBJECT_SIZE,
  listOrder: 'utf8',
});

/** The capability type of the S3 backend. */
export type S3Capabilities = typeof S3_CAPABILITIES;

/**
 * Which requests the server applies `If-None-Match` / `If-Match` to:
 * - `'all'`: PutObject, CompleteMultipartUpload and CopyObject (AWS S3, MinIO);
 * - `'put-only'`: PutObject only (Ceph RGW 16–18, s3rver): a conditional write larger than one part
 *   is spooled to a temporary file and sent in one PutObject (at most 5 GiB), and a create-only copy
 *   streams the source through this process;
 * - `'auto'` (default): found out once, on the first conditional write that needs more than a
 *   PutObject, by a short probe on a temporary key under the prefix.
 */
export type ConditionalOperations = 'auto' | 'all' | 'put-only';

/** Static credentials, or a provider function as the SDK takes them. */
export type S3Credentials = S3ClientConfig['credentials'];

/** Options of {@link S3Backend}. */
export interface S3Options {
  /** The bucket (required). It must exist. */
  bucket: string;
  /** Every key is stored under this folder prefix (`'tenant-1/'`); default none. */
  prefix?: string | undefined;
  /** The region (default: the SDK's resolution from the environment; `us-east-1` with a custom `endpoint`). */
  region?: string | undefined;
  /** A custom endpoint for S3-compatible servers (`http://127.0.0.1:9000`, `https://<account>.r2.cloudflarestorage.com`). */
  endpoint?: string | undefined;
  /** Path-style addressing (`endpoint/bucket/key`), which MinIO, Ceph and most local servers need. */
  forcePathStyle?: boolean | undefined;
  /** Credentials; default the SDK's provider chain (environment, shared config, instance roles). */
  credentials?: S3Credentials | undefined;
  /**
   * A borrowed client, used as it is and never destroyed by stowage; `region`, `endpoint`,
   * `forcePathStyle` and `credentials` are then ignored. Configure it with
   * `requestChecksumCalculation: 'WHEN_REQUIRED'` for Ceph RGW and other servers that refuse
   * aws-chunked bodies.
   */
  client?: S3Client | undefined;
  /** Bytes per multipart part (default 8 MiB, at least 5 MiB); a body up to this size goes in one PutObject. */
  partSize?: number | undefined;
  /** Parts uploaded at once (default 4): memory stays near `(partConcurrency + 1) × partSize`. */
  partConcurrency?: number | undefined;
  /** Copies above this size use UploadPartCopy (default and at most 5 GiB, CopyObject's limit). */
  multipartCopyThreshold?: number | undefined;
  /** See {@link ConditionalOperations} (default `'auto'`). */
  conditionalOperations?: ConditionalOperations | undefined;
  /** Where a conditional write spools its body on a `'put-only'` server (default the OS temp directory). */
  spoolDirectory?: string | undefined;
  /**
   * Attach the SHA-256 to objects larger than one part (default true). It costs an in-place
   * CopyObject after each multipart upload; with false, `stat` of such objects has no `sha256`.
   */
  digestMultipart?: boolean | undefined;
}

/** The default part size: 8 MiB. */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
/** The default number of parts in flight. */
export const DEFAULT_PART_CONCURRENCY = 4;
const DELETE_BATCH = 1000;
/** Tries to abort a failed multipart upload (see `#abortUpload`). */
const ABORT_ATTEMPTS = 4;
/** Characters of valid keys that XML 1.0 cannot hold. */
const XML_UNSENDABLE = /[\ufffe\uffff]/;

interface Conditions {
  ifNoneMatch?: '*' | undefined;
  ifMatch?: string | undefined;
}

/** What an object's HEAD or GET says, before it becomes an `ObjectInfo`. */
interface ObjectHeaders {
  ContentLength?: number | undefined;
  LastModified?: Date | undefined;
  ETag?: string | undefined;
  ContentType?: string | undefined;
  Metadata?: Record<string, string> | undefined;
  VersionId?: string | undefined;
  ContentRange?: string | undefined;
}

function positiveInteger(value: unknown, name: string, minimum = 1): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum) {
    throw new InvalidArgumentError(`${name} must be an integer of at least ${minimum}, got ${String(value)}`, { backend: 's3' });
  }
  return value;
}

function unquoted(etag: string): string {
  return etag.replace(/^W\//, '').replaceAll('"', '');
}

/** An etag in S3's quoted form, whatever form a server or a caller used. */
function quoted(etag: string): string {
  return `"${unquoted(etag)}"`;
}

/** The URL-encoded `bucket/key` that CopyObject and UploadPartCopy take. */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${encodeURIComponent(key).replaceAll('%2F', '/')}`;
}

/** Passes the body through, remembering what it throws, so that its own errors are not taken for the server's. */
async function* noting(body: AsyncIterable<Uint8Array>, failures: WeakSet<object>): AsyncGenerator<Uint8Array> {
  try {
    yield* body;
  } catch (error) {
    if (typeof error === 'object' && error !== null) failures.add(error);
    throw error;
  }
}

/** The SDK's body as a Web stream whose failures (a reset, a server that vanishes) are stowage errors. */
function bodyStream(body: unknown, mapError: (error: unknown) => Error): ReadableStream<Uint8Array> {
  const sdkBody = body as { transformToWebStream?: () => ReadableStream<Uint8Array> } | undefined;
  if (!sdkBody?.transformToWebStream) return emptyStream();
  const reader = sdkBody.transformToWebStream().getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await reader.read();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        } catch (error) {
          controller.error(mapError(error));
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}

function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (controller) => controller.close() });
}

/**
 * A stowage backend on an S3 bucket (AWS S3, MinIO, Cloudflare R2, Backblaze B2, DigitalOcean
 * Spaces, Ceph RGW, ...).
 *
 * Bodies up to `partSize` go in one PutObject; larger ones stream into a multipart upload with
 * at most `partConcurrency` parts in flight, which is aborted on the server when the write fails,
 * and the SHA-256 that `Store` computed is attached once the upload completes (an in-place
 * CopyObject, guarded by the new etag). Create-only and compare-and-swap use `If-None-Match: *` and
 * `If-Match` on the request that makes the object visible.
 */
export class S3Backend implements Backend<S3Capabilities> {
  readonly name = 's3';
  readonly capabilities: S3Capabilities = S3_CAPABILITIES;
  readonly #client: S3Client;
  readonly #borrowed: boolean;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #partSize: number;
  readonly #concurrency: number;
  readonly #copyThreshold: number;
  readonly #spoolDirectory: string | undefined;
  readonly #digestMultipart: boolean;
  readonly #secrets: string[] = [];
  #conditions: Promise<'all' | 'put-only'> | undefined;
  /** Whether the server compares `If-Match` against the unquoted etag (Ceph RGW); found on the first 412 that says so. */
  #unquotedIfMatch: boolean | undefined;
  #closed = false;

  constructor(options: S3Options) {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('the s3 adapter needs options with a bucket', { backend: 's3' });
    if (typeof options.bucket !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/.test(options.bucket)) {
      throw new InvalidArgumentError(`bucket must be a bucket name, got ${JSON.stringify(options.bucket)}`, { backend: 's3' });
    }
    this.#bucket = options.bucket;
    try {
      this.#prefix = normalizeRoot(options.prefix);
    } catch (cause) {
      throw new InvalidArgumentError(`prefix ${JSON.stringify(options.prefix)} is not a valid folder prefix: ${(cause as Error).message}`, { backend: 's3', cause });
    }
    this.#partSize = positiveInteger(options.partSize, 'partSize', MIN_PART_SIZE) ?? DEFAULT_PART_SIZE;
    if (this.#partSize > MAX_SINGLE_REQUEST) throw new InvalidArgumentError(`partSize must be at most 5 GiB, got ${this.#partSize}`, { backend: 's3' });
    this.#concurrency = positiveInteger(options.partConcurrency, 'partConcurrency') ?? DEFAULT_PART_CONCURRENCY;
    this.#copyThreshold = Math.min(positiveInteger(options.multipartCopyThreshold, 'multipartCopyThreshold', MIN_PART_SIZE) ?? MAX_SINGLE_REQUEST, MAX_SINGLE_REQUEST);
    const conditional = options.conditionalOperations ?? 'auto';
    if (conditional !== 'auto' && conditional !== 'all' && conditional !== 'put-only') {
      throw new InvalidArgumentError(`conditionalOperations must be 'auto', 'all' or 'put-only', got ${JSON.stringify(conditional)}`, { backend: 's3' });
    }
    if (conditional !== 'auto') this.#conditions = Promise.resolve(conditional);
    this.#spoolDirectory = options.spoolDirectory;
    this.#digestMultipart = options.digestMultipart !== false;
    if (options.client !== undefined) {
      if (!(options.client instanceof S3Client) && typeof (options.client as { send?: unknown }).send !== 'function') {
        throw new InvalidArgumentError('client must be an S3Client from @aws-sdk/client-s3', { backend: 's3' });
      }
      this.#client = options.client;
      this.#borrowed = true;
    } else {
      const credentials = options.credentials;
      if (credentials && typeof credentials === 'object' && 'secretAccessKey' in credentials) {
        this.#secrets.push(credentials.secretAccessKey, credentials.accessKeyId);
        if (credentials.sessionToken) this.#secrets.push(credentials.sessionToken);
      }
      const region = options.region ?? (options.endpoint === undefined ? undefined : 'us-east-1');
      this.#client = new S3Client({
        ...(region === undefined ? {} : { region }),
        ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
        ...(options.forcePathStyle === undefined ? {} : { forcePathStyle: options.forcePathStyle }),
        ...(credentials === undefined ? {} : { credentials }),
        // Bodies always go with a known length (parts are buffered), so no aws-chunked encoding:
        // Ceph RGW answers it with 411 and s3rver stores the chunk framing as content.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
      this.#borrowed = false;
    }
  }

  #key(key: string): string {
    return this.#prefix + key;
  }

  #fail(error: unknown, doing: string, key?: string, preconditionCode?: ErrorCode): StowageError {
    return mapS3Error(error, { backend: this.name, doing, key, bucket: this.#bucket, preconditionCode, secrets: this.#secrets });
  }

  #info(key: string, headers: ObjectHeaders, size?: number): ObjectInfo {
    const { metadata, sha256 } = fromWireMetadata(headers.Metadata);
    return {
      key,
      size: size ?? headers.ContentLength ?? 0,
      lastModified: headers.LastModified ?? new Date(0),
      etag: headers.ETag ? quoted(headers.ETag) : '',
      contentType: headers.ContentType || inferContentType(key),
      metadata,
      sha256,
      versionId: headers.VersionId ?? undefined,
    };
  }

  async #head(key: string, signal: AbortSignal | undefined): Promise<ObjectHeaders> {
    return this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }), { abortSignal: signal });
  }

  async stat(key: string, context: OperationContext): Promise<ObjectInfo> {
    try {
      return this.#info(key, await this.#head(key, context.signal));
    } catch (error) {
      throw this.#fail(error, 'stat', key);
    }
  }

  async read(key: string, options: OperationContext & { range?: ByteRange | undefined }): Promise<BackendReadResult> {
    const { range, signal } = options;
    let header: string | undefined;
    if (range) header = 'suffix' in range ? `bytes=-${range.suffix}` : `bytes=${range.offset}-${range.length === undefined ? '' : range.offset + range.length - 1}`;
    try {
      const response = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(key), Range: header }), { abortSignal: signal });
      const body = (): ReadableStream<Uint8Array> => bodyStream(response.Body, (error) => this.#fail(error, 'read', key));
      const match = response.ContentRange ? /^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.ContentRange) : null;
      if (!range) return { info: this.#info(key, response), body: body() };
      if (match) {
        const info = this.#info(key, response, Number(match[3]));
        return { info, body: body(), range: { offset: Number(match[1]), length: Number(match[2]) - Number(match[1]) + 1 } };
      }
      // A 200 to a range request: the server sent the whole object (it is empty, or the range covers it all).
      const info = this.#info(key, response);
      const resolved = resolveRange(range, info.size, { key, backend: this.name });
      if (resolved.offset === 0 && resolved.length === info.size) return { info, body: body(), range: resolved };
      await (response.Body as { destroy?: () => void } | undefined)?.destroy?.();
      throw new InvalidArgumentError(`the server ignored the range of a read of ${JSON.stringify(key)}`, { key, backend: this.name });
    } catch (error) {
      if (range && (s3CodeOf(error) === 'InvalidRange' || statusOf(error) === 416)) {
        // S3 refuses a range that starts at the end; stowage reads it as empty, and past the end as RANGE_NOT_SATISFIABLE.
        let info: ObjectInfo;
        try {
          info = this.#info(key, await this.#head(key, signal));
        } catch (headError) {
          throw this.#fail(headError, 'read', key);
        }
        const resolved = resolveRange(range, info.size, { key, backend: this.name });
        return { info, body: emptyStream(), range: resolved };
      }
      throw this.#fail(error, 'read', key);
    }
  }

  async write(key: string, request: BackendWriteRequest): Promise<ObjectInfo> {
    const { signal } = request;
    const conditions: Conditions = { ifNoneMatch: request.ifNoneMatch, ifMatch: request.ifMatch };
    const loserCode = request.ifNoneMatch === '*' ? ErrorCode.AlreadyExists : ErrorCode.PreconditionFailed;
    const base = basePartSize(this.#partSize, request.size);
    const bodyFailures = new WeakSet<object>();
    const pool = new PartPool(this.#concurrency + 2);
    const parts = fixedParts(noting(request.body, bodyFailures), (number) => partSizeFor(number, base), pool, request.size);
    try {
      const first = await parts.next();
      const firstPart = first.done ? Buffer.alloc(0) : first.value;
      // A known larger size means more parts follow: upload at once. Otherwise read on, which also
      // ends the body (and Store's check that it is as long as it said).
      const more = request.size !== undefined && request.size > firstPart.byteLength;
      const second = firstPart.byteLength < base || more ? undefined : await parts.next();
      if (!more && (second === undefined || second.done)) {
        const response = await this.#put(key, firstPart, request, conditions, signal);
        return this.#written(key, request, response.ETag ?? '', response.VersionId);
      }
      const ready = second && !second.done ? [firstPart, second.value] : [firstPart];
      if ((request.ifNoneMatch !== undefined || request.ifMatch !== undefined) && (await this.#conditionalOperations(signal)) === 'put-only') {
        return await this.#spooledPut(key, ready, parts, request, conditions);
      }
      return await this.#multipartWrite(key, ready, parts, pool, request, conditions);
    } catch (error) {
      await parts.return(undefined).catch(() => undefined);
      // The body's own failure (the caller's source, a size limit, an abort) is the caller's to see as it is.
      if (bodyFailures.has(error as object)) throw error;
      throw this.#fail(error, 'write', key, loserCode);
    }
  }

  #written(key: string, request: BackendWriteRequest, etag: string, versionId: string | undefined): ObjectInfo {
    return {
      key,
      size: request.bytesWritten(),
      lastModified: new Date(),
      etag: quoted(etag),
      contentType: request.contentType,
      metadata: { ...request.metadata },
      sha256: request.sha256(),
      versionId: versionId ?? undefined,
    };
  }

  /**
   * One PutObject with the conditions. Ceph RGW compares `If-Match` against the unquoted etag: a 412
   * for an etag that HEAD shows to be current is retried once unquoted, and the backend remembers.
   */
  async #put(
    key: string,
    body: Buffer | (() => Readable),
    request: BackendWriteRequest,
    conditions: Conditions,
    signal: AbortSignal | undefined,
    size?: number,
  ): Promise<{ ETag?: string | undefined; VersionId?: string | undefined }> {
    const send = (ifMatch: string | undefined) =>
      this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: this.#key(key),
          Body: Buffer.isBuffer(body) ? body : body(),
          ContentLength: Buffer.isBuffer(body) ? body.byteLength : size,
          ContentType: request.contentType,
          Metadata: toWireMetadata(request.metadata, request.sha256()),
          IfNoneMatch: conditions.ifNoneMatch,
          IfMatch: ifMatch,
        }),
        { abortSignal: signal },
      );
    const ifMatch = conditions.ifMatch;
    if (ifMatch === undefined) return send(undefined);
    try {
      return await send(this.#unquotedIfMatch ? unquoted(ifMatch) : ifMatch);
    } catch (error) {
      // AWS answers If-Match on a missing key with 404; stowage's contract says PRECONDITION_FAILED.
      if (s3CodeOf(error) === 'NoSuchKey') throw new PreconditionFailedError(`no object at ${JSON.stringify(key)} to compare the etag with`, { key, backend: this.name, cause: error });
      if (statusOf(error) !== 412 || this.#unquotedIfMatch !== undefined) throw error;
      let current: string | undefined;
      try {
        current = (await this.#head(key, signal)).ETag;
      } catch {
        throw error;
      }
      if (current === undefined || unquoted(current) !== unquoted(ifMatch)) throw error;
      const retried = await send(unquoted(ifMatch));
      this.#unquotedIfMatch = true;
      return retried;
    }
  }

  /** Which requests honour conditions: asked once, then remembered (see {@link ConditionalOperations}). */
  #conditionalOperations(signal: AbortSignal | undefined): Promise<'all' | 'put-only'> {
    this.#conditions ??= this.#probeConditions(signal).catch((error: unknown) => {
      this.#conditions = undefined;
      throw error;
    });
    return this.#conditions;
  }

  /**
   * Completes a one-byte multipart upload onto an existing temporary object with `If-None-Match: *`,
   * then another with a wrong `If-Match`, and copies onto it with `If-None-Match: *`: a server that
   * refuses all three applies conditions everywhere. The temporary objects are deleted.
   */
  async #probeConditions(signal: AbortSignal | undefined): Promise<'all' | 'put-only'> {
    const probe = this.#key(`.stowage-probe-${randomBytes(8).toString('hex')}`);
    const target = `${probe}-target`;
    const bucket = this.#bucket;
    const refused = async (attempt: () => Promise<unknown>): Promise<boolean> => {
      try {
        await attempt();
        return false;
      } catch (error) {
        const status = statusOf(error);
        if (status === 412 || status === 409) return true;
        if (status === 501 || status === 400) return false;
        throw error;
      }
    };
    const completeWith = async (conditions: Conditions): Promise<unknown> => {
      const { UploadId } = await this.#client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: probe }), { abortSignal: signal });
      try {
        const part = await this.#client.send(new UploadPartCommand({ Bucket: bucket, Key: probe, UploadId, PartNumber: 1, Body: Buffer.from('p') }), { abortSignal: signal });
        return await this.#client.send(
          new CompleteMultipartUploadCommand({ Bucket: bucket, Key: probe, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] }, IfNoneMatch: conditions.ifNoneMatch, IfMatch: conditions.ifMatch }),
          { abortSignal: signal },
        );
      } finally {
        await this.#abortUpload(probe, UploadId!);
      }
    };
    try {
      await this.#client.send(new PutObjectCommand({ Bucket: bucket, Key: probe, Body: Buffer.from('probe') }), { abortSignal: signal });
      await this.#client.send(new PutObjectCommand({ Bucket: bucket, Key: target, Body: Buffer.from('probe') }), { abortSignal: signal });
      const all =
        (await refused(() => completeWith({ ifNoneMatch: '*' }))) &&
        (await refused(() => completeWith({ ifMatch: '"00000000000000000000000000000000"' }))) &&
        (await refused(() => this.#client.send(new CopyObjectCommand({ Bucket: bucket, Key: target, CopySource: copySource(bucket, probe), IfNoneMatch: '*' }), { abortSignal: signal })));
      return all ? 'all' : 'put-only';
    } finally {
      await this.#client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: probe }, { Key: target }], Quiet: true } })).catch(() => undefined);
    }
  }

  /** A conditional write on a `'put-only'` server: the body goes to a temporary file, then into one conditional PutObject. */
  async #spooledPut(key: string, first: Buffer[], rest: AsyncGenerator<Buffer>, request: BackendWriteRequest, conditions: Conditions): Promise<ObjectInfo> {
    const directory = await mkdtemp(join(this.#spoolDirectory ?? tmpdir(), 'stowage-s3-'));
    try {
      const path = join(directory, 'body');
      const limited = async function* (parts: AsyncGenerator<Buffer>, start: number): AsyncGenerator<Buffer> {
        let size = start;
        for await (const part of parts) {
          size += part.byteLength;
          if (size > MAX_SINGLE_REQUEST) {
            throw new TooLargeError(MAX_SINGLE_REQUEST, 'a conditional write larger than 5 GiB cannot be atomic on this server (it applies conditions to PutObject only)', { key });
          }
          yield part;
        }
      };
      const size = await spoolToFile(path, first, limited(rest, first.reduce((sum, part) => sum + part.byteLength, 0)));
      const response = await this.#put(key, () => createReadStream(path), request, conditions, request.signal, size);
      return this.#written(key, request, response.ETag ?? '', response.VersionId);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }

  /** Uploads the parts with at most `partConcurrency` in flight; aborts the upload on the server when anything fails. */
  async #multipartWrite(key: string, first: Buffer[], rest: AsyncGenerator<Buffer>, pool: PartPool, request: BackendWriteRequest, conditions: Conditions): Promise<ObjectInfo> {
    const { signal } = request;
    const bucket = this.#bucket;
    const s3Key = this.#key(key);
    const created = await this.#client.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: s3Key, ContentType: request.contentType, Metadata: toWireMetadata(request.metadata, undefined) }),
      { abortSignal: signal },
    );
    const uploadId = created.UploadId!;
    const completed: CompletedPart[] = [];
    const inFlight = new Set<Promise<void>>();
    try {
      let failure: unknown;
      let number = 0;
      const start = (body: Buffer): void => {
        const partNumber = ++number;
        if (partNumber > MAX_PARTS) throw new TooLargeError(MAX_OBJECT_SIZE, `the body of ${JSON.stringify(key)} needs more than ${MAX_PARTS} parts`, { key, backend: this.name });
        const upload = this.#client
          .send(new UploadPartCommand({ Bucket: bucket, Key: s3Key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.byteLength }), { abortSignal: signal })
          .then((response) => {
            completed[partNumber - 1] = { PartNumber: partNumber, ETag: response.ETag };
            pool.give(body);
          })
          .catch((error: unknown) => {
            failure ??= error;
          })
          .finally(() => inFlight.delete(upload));
        inFlight.add(upload);
      };
      const waitForSlot = async (): Promise<void> => {
        while (inFlight.size >= this.#concurrency) await Promise.race(inFlight);
        if (failure !== undefined) throw failure;
      };
      for (const part of first) {
        await waitForSlot();
        start(part);
      }
      for await (const part of rest) {
        await waitForSlot();
        if (part.byteLength === 0) continue;
        start(part);
      }
      await Promise.all(inFlight);
      if (failure !== undefined) throw failure;
      const complete = (ifMatch: string | undefined) =>
        this.#client.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: s3Key,
            UploadId: uploadId,
            MultipartUpload: { Parts: completed },
            IfNoneMatch: conditions.ifNoneMatch,
            IfMatch: ifMatch,
          }),
          { abortSignal: signal },
        );
      let response;
      try {
        response = await complete(conditions.ifMatch);
      } catch (error) {
        if (conditions.ifMatch !== undefined && s3CodeOf(error) === 'NoSuchKey') {
          throw new PreconditionFailedError(`no object at ${JSON.stringify(key)} to compare the etag with`, { key, backend: this.name, cause: error });
        }
        throw error;
      }
      // Ceph RGW answers with an empty ETag; the one S3 gives multipart objects is computed from the parts.
      let etag = response.ETag || multipartEtag(completed.map((part) => part.ETag ?? ''));
      etag ??= (await this.#head(key, undefined)).ETag ?? '';
      return await this.#attachDigest(key, request, etag, response.VersionId);
    } catch (error) {
      // A part still in flight could land after the abort and be kept: let them settle first. And
      // never with the caller's signal: the abort must reach the server even when the caller gave up.
      await Promise.allSettled(inFlight);
      await this.#abortUpload(s3Key, uploadId);
      throw error;
    }
  }

  /**
   * Aborts a multipart upload that failed, so that its parts do not stay stored (and billed) out of
   * sight. The failure that brought us here is often the network's, and the connections the SDK
   * keeps may be the broken ones: the abort is tried a few times, whatever the client's own retry
   * setting. An upload it still cannot abort is left to the bucket's lifecycle rule.
   */
  async #abortUpload(s3Key: string, uploadId: string): Promise<void> {
    for (let attempt = 1; attempt <= ABORT_ATTEMPTS; attempt++) {
      try {
        await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: s3Key, UploadId: uploadId }));
        return;
      } catch (error) {
        if (s3CodeOf(error) === 'NoSuchUpload' || statusOf(error) === 404) return;
        if (attempt < ABORT_ATTEMPTS) await sleep(50 * 2 ** attempt);
      }
    }
  }

  /**
   * A multipart upload's metadata is fixed before its body is read, so the SHA-256 is added after it
   * completes, by an in-place copy that only applies while the object is still this write's (the
   * copy-source condition on the new etag).
   */
  async #attachDigest(key: string, request: BackendWriteRequest, etag: string, versionId: string | undefined): Promise<ObjectInfo> {
    const written = this.#written(key, request, etag, versionId);
    if (!this.#digestMultipart) return { ...written, sha256: undefined };
    const metadata = toWireMetadata(request.metadata, request.sha256());
    try {
      const copied = await this.#copy(key, key, written.size, { ContentType: request.contentType, Metadata: metadata, sourceEtag: etag }, {}, undefined);
      return { ...written, etag: quoted(copied.etag), versionId: copied.versionId ?? versionId };
    } catch (error) {
      // Replaced by another writer in between: this write happened, and is already overwritten.
      if (statusOf(error) === 412) return written;
      throw error;
    }
  }

  /**
   * Copies `from` to `to` on the server: CopyObject up to the threshold, UploadPartCopy above. With
   * `replace`, the destination gets the given content type and metadata instead of the source's.
   */
  async #copy(
    from: string,
    to: string,
    size: number,
    replace: { ContentType?: string | undefined; Metadata?: Record<string, string> | undefined; sourceEtag?: string | undefined } | undefined,
    conditions: Conditions,
    signal: AbortSignal | undefined,
  ): Promise<{ etag: string; versionId: string | undefined; lastModified: Date | undefined }> {
    const bucket = this.#bucket;
    const source = copySource(bucket, this.#key(from));
    const target = this.#key(to);
    const sourceEtag = replace?.sourceEtag;
    if (size <= this.#copyThreshold) {
      const response = await this.#client.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: target,
          CopySource: source,
          CopySourceIfMatch: sourceEtag,
          MetadataDirective: replace?.Metadata ? 'REPLACE' : 'COPY',
          ContentType: replace?.Metadata ? replace.ContentType : undefined,
          Metadata: replace?.Metadata,
          IfNoneMatch: conditions.ifNoneMatch,
        }),
        { abortSignal: signal },
      );
      return { etag: response.CopyObjectResult?.ETag ?? '', versionId: response.VersionId, lastModified: response.CopyObjectResult?.LastModified };
    }
    const head = replace?.Metadata ? undefined : await this.#head(from, signal);
    const created = await this.#client.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: target, ContentType: replace?.Metadata ? replace.ContentType : head?.ContentType, Metadata: replace?.Metadata ?? head?.Metadata }),
      { abortSignal: signal },
    );
    const uploadId = created.UploadId!;
    const guard = sourceEtag ?? head?.ETag;
    try {
      // Large ranges (S3 copies each one server-side), but never past the threshold that chose this path.
      const partSize = Math.max(basePartSize(this.#partSize, size), Math.min(this.#copyThreshold, 512 * 1024 * 1024));
      const ranges: [number, number][] = [];
      for (let offset = 0; offset < size; offset += partSize) ranges.push([offset, Math.min(size, offset + partSize) - 1]);
      const parts: CompletedPart[] = [];
      for (let index = 0; index < ranges.length; index += this.#concurrency) {
        const batch = ranges.slice(index, index + this.#concurrency);
        const results = await Promise.all(
          batch.map(([start, end], offset) =>
            this.#client.send(
              new UploadPartCopyCommand({ Bucket: bucket, Key: target, UploadId: uploadId, PartNumber: index + offset + 1, CopySource: source, CopySourceRange: `bytes=${start}-${end}`, CopySourceIfMatch: guard }),
              { abortSignal: signal },
            ),
          ),
        );
        results.forEach((result, offset) => parts.push({ PartNumber: index + offset + 1, ETag: result.CopyPartResult?.ETag }));
      }
      const response = await this.#client.send(
        new CompleteMultipartUploadCommand({ Bucket: bucket, Key: target, UploadId: uploadId, MultipartUpload: { Parts: parts }, IfNoneMatch: conditions.ifNoneMatch }),
        { abortSignal: signal },
      );
      let etag = response.ETag || multipartEtag(parts.map((part) => part.ETag ?? ''));
      etag ??= (await this.#head(to, undefined)).ETag ?? '';
      return { etag, versionId: response.VersionId, lastModified: undefined };
    } catch (error) {
      await this.#abortUpload(target, uploadId);
      throw error;
    }
  }

  async delete(key: string, context: OperationContext): Promise<void> {
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }), { abortSignal: context.signal });
    } catch (error) {
      if (s3CodeOf(error) === 'NoSuchKey') return;
      throw this.#fail(error, 'delete', key);
    }
  }

  async deleteMany(keys: readonly string[], context: OperationContext): Promise<void> {
    // DeleteObjects takes its keys in an XML body, and XML 1.0 cannot carry U+FFFE or U+FFFF (valid
    // in keys, and in the URL of a single DeleteObject): such keys are deleted one by one.
    const unsendable = keys.filter((key) => XML_UNSENDABLE.test(key));
    for (const key of unsendable) await this.delete(key, context);
    if (unsendable.length > 0) keys = keys.filter((key) => !XML_UNSENDABLE.test(key));
    for (let index = 0; index < keys.length; index += DELETE_BATCH) {
      const batch = keys.slice(index, index + DELETE_BATCH);
      let response;
      try {
        response = await this.#client.send(
          new DeleteObjectsCommand({ Bucket: this.#bucket, Delete: { Objects: batch.map((key) => ({ Key: this.#key(key) })), Quiet: true } }),
          { abortSignal: context.signal },
        );
      } catch (error) {
        throw this.#fail(error, 'delete', batch.length === 1 ? batch[0] : undefined);
      }
      const failed = (response.Errors ?? []).filter((entry) => entry.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        const entry = failed[0]!;
        const key = entry.Key?.startsWith(this.#prefix) ? entry.Key.slice(this.#prefix.length) : entry.Key;
        const native = Object.assign(new Error(entry.Message ?? entry.Code ?? 'delete failed'), { name: entry.Code ?? 'Error', Code: entry.Code });
        throw this.#fail(native, `delete (${failed.length} of ${batch.length} keys failed)`, key);
      }
    }
  }

  async list(options: BackendListOptions): Promise<ListPage> {
    const prefix = this.#key(options.prefix);
    try {
      const response = await this.#client.send(
        new ListObjectsV2Command({
          Bucket: this.#bucket,
          Prefix: prefix === '' ? undefined : prefix,
          Delimiter: options.delimiter,
          MaxKeys: options.limit,
          ContinuationToken: options.cursor,
          EncodingType: 'url',
        }),
        { abortSignal: options.signal },
      );
      // Keys come percent-encoded (XML 1.0 cannot carry every character a key may hold), unless a server ignored the request for it.
      const decode = response.EncodingType === 'url' ? (text: string) => decodeURIComponent(text.replaceAll('+', ' ')) : (text: string) => text;
      const strip = (text: string): string => decode(text).slice(this.#prefix.length);
      return {
        items: (response.Contents ?? []).map((entry) => ({
          key: strip(entry.Key ?? ''),
          size: entry.Size ?? 0,
          lastModified: entry.LastModified ?? new Date(0),
          etag: entry.ETag ? quoted(entry.ETag) : '',
        })),
        prefixes: (response.CommonPrefixes ?? []).map((entry) => strip(entry.Prefix ?? '')),
        cursor: response.IsTruncated && response.NextContinuationToken ? response.NextContinuationToken : undefined,
      };
    } catch (error) {
      throw this.#fail(error, 'list', options.prefix);
    }
  }

  async copy(from: string, to: string, options: BackendCopyOptions): Promise<ObjectInfo> {
    const { signal } = options;
    try {
      const head = await this.#head(from, signal);
      const info = this.#info(from, head);
      if (from === to) {
        if (options.ifNoneMatch === '*') throw new AlreadyExistsError(`an object exists at ${JSON.stringify(to)}`, { key: to, backend: this.name });
        return info;
      }
      if (options.ifNoneMatch === '*' && (await this.#conditionalOperations(signal)) === 'put-only') return await this.#copyThrough(from, to, head, info, signal);
      const copied = await this.#copy(from, to, info.size, { sourceEtag: head.ETag }, { ifNoneMatch: options.ifNoneMatch }, signal);
      return { ...info, key: to, etag: quoted(copied.etag), lastModified: copied.lastModified ?? new Date(), versionId: copied.versionId ?? undefined };
    } catch (error) {
      if (statusOf(error) === 404 || s3CodeOf(error) === 'NoSuchKey') {
        throw new NotFoundError(`no object at ${JSON.stringify(from)} to copy`, { key: from, backend: this.name, cause: error });
      }
      throw this.#fail(error, 'copy', from, ErrorCode.AlreadyExists);
    }
  }

  /** A create-only copy on a `'put-only'` server: the source streams through this process into one conditional PutObject. */
  async #copyThrough(from: string, to: string, head: ObjectHeaders, info: ObjectInfo, signal: AbortSignal | undefined): Promise<ObjectInfo> {
    if (info.size > MAX_SINGLE_REQUEST) {
      throw new TooLargeError(MAX_SINGLE_REQUEST, 'a create-only copy larger than 5 GiB cannot be atomic on this server (it applies conditions to PutObject only)', { key: to, backend: this.name });
    }
    const source = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(from), IfMatch: head.ETag }), { abortSignal: signal });
    const response = await this.#client.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: this.#key(to),
        Body: source.Body as Readable,
        ContentLength: info.size,
        ContentType: head.ContentType,
        Metadata: head.Metadata,
        IfNoneMatch: '*',
      }),
      { abortSignal: signal },
    );
    return { ...info, key: to, etag: quoted(response.ETag ?? ''), lastModified: new Date(), versionId: response.VersionId ?? undefined };
  }

  async move(from: string, to: string, options: BackendCopyOptions): Promise<ObjectInfo> {
    const info = await this.copy(from, to, options);
    await this.delete(from, { signal: options.signal });
    return info;
  }

  async signUrl(key: string, options: SignUrlOptions): Promise<string> {
    const command =
      options.method === 'PUT'
        ? new PutObjectCommand({ Bucket: this.#bucket, Key: this.#key(key), ContentType: options.contentType })
        : new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) });
    try {
      return await getSignedUrl(this.#client, command, { expiresIn: options.expiresIn ?? 900 });
    } catch (error) {
      throw this.#fail(error, 'signing a URL for', key);
    }
  }

  /**
   * Aborts the multipart uploads under this store's prefix (and `options.prefix`) that were started
   * more than `olderThanMs` ago and never completed nor aborted: what a writer killed mid-upload
   * leaves, holding its parts' bytes (and their cost) until a bucket lifecycle rule, if any, takes
   * them. S3 cannot tell whether the writer still runs, so age alone decides.
   */
  async sweep(options: BackendSweepOptions): Promise<SweepResult> {
    const tally = new SweepTally(options, [{ kind: 'multipart-upload', description: 'multipart uploads started and never completed nor aborted' }]);
    const cutoff = Date.now() - options.olderThanMs;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      let page;
      try {
        page = await this.#client.send(
          new ListMultipartUploadsCommand({ Bucket: this.#bucket, Prefix: this.#key(options.prefix), KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
          { abortSignal: options.signal },
        );
      } catch (error) {
        if (statusOf(error) === 501 || s3CodeOf(error) === 'NotImplemented') {
          // A server that cannot list them cannot have them swept: say so rather than fail.
          const unlisted = new SweepTally(options, [
            { kind: 'multipart-upload', description: 'multipart uploads started and never completed nor aborted', unreclaimable: 'this server does not list multipart uploads (ListMultipartUploads is not implemented): a bucket lifecycle rule, if it has them, must take them' },
          ]);
          return unlisted.result();
        }
        throw this.#fail(error, 'listing unfinished multipart uploads');
      }
      for (const upload of page.Uploads ?? []) {
        if (upload.Key === undefined || upload.UploadId === undefined) continue;
        const initiated = upload.Initiated;
        if (initiated !== undefined && initiated.getTime() > cutoff) continue;
        const s3Key = upload.Key;
        const uploadId = upload.UploadId;
        await tally.reclaim(
          { kind: 'multipart-upload', id: uploadId, key: s3Key.slice(this.#prefix.length), reason: 'age', ...(initiated === undefined ? {} : { modified: initiated }) },
          async () => {
            try {
              await this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: s3Key, UploadId: uploadId }), { abortSignal: options.signal });
            } catch (error) {
              // Completed or aborted by someone else meanwhile: not a leftover any more.
              if (s3CodeOf(error) === 'NoSuchUpload' || statusOf(error) === 404) return false;
              throw this.#fail(error, 'aborting an unfinished multipart upload', s3Key.slice(this.#prefix.length));
            }
            return true;
          },
        );
      }
      const more = page.IsTruncated === true;
      keyMarker = more ? page.NextKeyMarker : undefined;
      uploadIdMarker = more ? page.NextUploadIdMarker : undefined;
    } while (keyMarker !== undefined);
    return tally.result();
  }

  async health(context: OperationContext): Promise<void> {
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: this.#bucket }), { abortSignal: context.signal });
    } catch (error) {
      if (statusOf(error) === 404) {
        throw this.#fail(Object.assign(new Error('no such bucket'), { name: 'NoSuchBucket', Code: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } }), 'health check');
      }
      throw this.#fail(error, 'health check');
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#borrowed) this.#client.destroy();
  }

  /** The `S3Client`. */
  unwrap(): S3Client {
    return this.#client;
  }
}
