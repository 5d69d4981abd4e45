/**
 * The Google Cloud Storage backend on `@google-cloud/storage`.
 *
 * @module
 */
import {
  AlreadyExistsError,
  PreconditionFailedError,
  resolveRange,
  type Backend,
  type BackendCopyOptions,
  type BackendListOptions,
  type BackendReadResult,
  type BackendWriteRequest,
  type ByteRange,
  type ListPage,
  type ObjectInfo,
  SweepTally,
  type BackendSweepOptions,
  type OperationContext,
  type SignUrlOptions,
  type SweepResult,
} from '@stowage/core';
import type { Bucket, File, FileMetadata, Storage } from '@google-cloud/storage';
import { openClient, type GcsOptions } from './client.ts';
import { abandonOnAbort } from './cancellation.ts';
import { emptyBody, openDownload } from './downloads.ts';
import { mapGcsError, type FailureContext } from './gcs-errors.ts';
import { listEntry, objectInfo, preconditionsOfEtag, type GenerationPreconditions } from './object-metadata.ts';
import { isSourceError, uploadBody } from './uploads.ts';

/** The largest object GCS stores: 5 TiB. */
export const GCS_MAX_OBJECT_SIZE = 5 * 1024 ** 4;

/**
 * What the GCS adapter declares. `move` is `'native'` (a server-side rewrite, then a delete of the
 * source) unless the backend is opened with `atomicMove: true`, which makes it `'atomic'`
 * (`objects.move`, for buckets with hierarchical namespace).
 */
export const GCS_CAPABILITIES: {
  readonly rangeRead: true;
  readonly conditionalWrite: true;
  readonly userMetadata: true;
  readonly listDelimiter: true;
  readonly copy: 'native';
  readonly move: 'native' | 'atomic';
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
  move: 'native' as 'native' | 'atomic',
  signedUrl: true,
  multipart: true,
  hierarchical: false,
  maxObjectSize: GCS_MAX_OBJECT_SIZE,
  listOrder: 'utf8',
});

/** The capability type of every GCS backend. */
export type GcsCapabilities = typeof GCS_CAPABILITIES;

/** How many times a pinned read retries when the generation it stat'ed was replaced before its bytes were requested. */
const READ_ATTEMPTS = 3;

/** The response of `objects.rewrite` (a copy) and of `objects.move`. */
interface RewriteResponse {
  resource?: FileMetadata | undefined;
}

/**
 * A stowage backend on one GCS bucket (optionally below a prefix). Open with {@link GcsBackend.open}.
 *
 * Etags are `"<generation>.<metageneration>"`, so `ifMatch` becomes `ifGenerationMatch` plus
 * `ifMetagenerationMatch` and compare-and-swap is decided by GCS itself; `ifNoneMatch: '*'` is
 * `ifGenerationMatch: 0`. The bytes a read returns always belong to the metadata returned with them:
 * a whole read fetches both at once and checks that the generations agree; otherwise (or for a
 * range) it stats the object and then fetches that generation.
 */
export class GcsBackend implements Backend<GcsCapabilities> {
  readonly name = 'gcs';
  readonly capabilities: GcsCapabilities;
  readonly #storage: Storage;
  readonly #bucket: Bucket;
  readonly #prefix: string;
  readonly #borrowed: boolean;
  readonly #resumableThreshold: number;
  readonly #chunkSize: number;
  readonly #atomicMove: boolean;
  readonly #deleteConcurrency: number;
  readonly #secrets: string[];
  #closed = false;

  private constructor(options: GcsOptions) {
    const opened = openClient(options);
    this.#storage = opened.storage;
    this.#bucket = opened.bucket;
    this.#prefix = opened.prefix;
    this.#borrowed = opened.borrowed;
    this.#resumableThreshold = opened.resumableThreshold;
    this.#chunkSize = opened.chunkSize;
    this.#atomicMove = opened.atomicMove;
    this.#deleteConcurrency = opened.deleteConcurrency;
    this.#secrets = opened.secrets;
    this.capabilities = Object.freeze({ ...GCS_CAPABILITIES, move: opened.atomicMove ? 'atomic' : 'native' });
  }

  /**
   * Checks the options and opens the client (or borrows the given `Storage` or `Bucket`). Nothing is
   * sent yet: call `health()` to check that the bucket answers.
   */
  static async open(options: GcsOptions): Promise<GcsBackend> {
    return new GcsBackend(options);
  }

  /** The bucket's name. */
  get bucketName(): string {
    return this.#bucket.name;
  }

  /** The folder prefix every key is stored under (`''` for the bucket's top). */
  get prefix(): string {
    return this.#prefix;
  }

  #file(key: string, generation?: string | number): File {
    return generation === undefined ? this.#bucket.file(this.#prefix + key) : this.#bucket.file(this.#prefix + key, { generation: Number(generation) });
  }

  #relative(name: string): string {
    return name.slice(this.#prefix.length);
  }

  #fail(error: unknown, context: Omit<FailureContext, 'backend' | 'secrets'>): Error {
    return mapGcsError(error, { ...context, backend: this.name, secrets: this.#secrets });
  }

  async #metadata(key: string, context: OperationContext): Promise<FileMetadata> {
    try {
      const [metadata] = await abandonOnAbort(this.#file(key).getMetadata(), context.signal);
      return metadata;
    } catch (error) {
      throw this.#fail(error, { doing: 'stat', key, signal: context.signal });
    }
  }

  async stat(key: string, context: OperationContext): Promise<ObjectInfo> {
    return objectInfo(key, await this.#metadata(key, context));
  }

  async read(key: string, options: OperationContext & { range?: ByteRange | undefined }): Promise<BackendReadResult> {
    const { signal } = options;
    const mapError = (error: unknown): Error => this.#fail(error, { doing: 'read', key, signal });
    if (options.range === undefined) {
      // A whole read asks for the metadata and the bytes at once; when the bytes turn out to be of
      // another generation than the metadata (an overwrite in between), it reads the pinned way.
      const [metadata, download] = await Promise.allSettled([this.#metadata(key, options), openDownload(this.#file(key), undefined, mapError, signal)]);
      if (metadata.status === 'rejected') {
        if (download.status === 'fulfilled') download.value.cancel();
        throw metadata.reason;
      }
      if (download.status === 'fulfilled') {
        if (download.value.generation !== undefined && download.value.generation === String(metadata.value.generation)) {
          return { info: objectInfo(key, metadata.value), body: download.value.body };
        }
        download.value.cancel();
      }
    }
    for (let attempt = 1; ; attempt++) {
      const metadata = await this.#metadata(key, options);
      const info = objectInfo(key, metadata);
      const range = options.range === undefined ? undefined : resolveRange(options.range, info.size, { key, backend: this.name });
      if (range?.length === 0) return { info, body: emptyBody(), range };
      try {
        const download = await openDownload(
          this.#file(key, metadata.generation),
          range === undefined ? undefined : { start: range.offset, end: range.offset + range.length - 1 },
          mapError,
          signal,
        );
        return { info, body: download.body, range };
      } catch (error) {
        const mapped = mapError(error);
        // The generation just stat'ed was replaced (or deleted) before its bytes were asked for.
        if ((mapped as { code?: string }).code === 'NOT_FOUND' && attempt < READ_ATTEMPTS) continue;
        throw mapped;
      }
    }
  }

  #writePreconditions(key: string, request: Pick<BackendWriteRequest, 'ifNoneMatch' | 'ifMatch'>): GenerationPreconditions | undefined {
    if (request.ifNoneMatch === '*') return { ifGenerationMatch: 0 };
    if (request.ifMatch === undefined) return undefined;
    const preconditions = preconditionsOfEtag(request.ifMatch);
    if (!preconditions) {
      throw new PreconditionFailedError(`${this.name}: ${JSON.stringify(request.ifMatch)} is not an etag of this backend, so no version of ${JSON.stringify(key)} has it`, {
        key,
        backend: this.name,
      });
    }
    return preconditions;
  }

  async write(key: string, request: BackendWriteRequest): Promise<ObjectInfo> {
    const preconditions = this.#writePreconditions(key, request);
    try {
      const resource = await uploadBody(
        { file: this.#file(key), preconditions, resumableThreshold: this.#resumableThreshold, chunkSize: this.#chunkSize },
        request,
      );
      return objectInfo(key, resource);
    } catch (error) {
      if (isSourceError(error)) throw error;
      throw this.#fail(error, {
        doing: 'write',
        key,
        signal: request.signal,
        createOnly: request.ifNoneMatch === '*',
        conditional: request.ifMatch !== undefined,
      });
    }
  }

  async delete(key: string, context: OperationContext): Promise<void> {
    try {
      await abandonOnAbort(this.#file(key).delete({ ignoreNotFound: true }), context.signal);
    } catch (error) {
      throw this.#fail(error, { doing: 'delete', key, signal: context.signal });
    }
  }

  /** Deletes `keys` with at most `deleteConcurrency` requests in flight (the GCS client has no batch requests). */
  async deleteMany(keys: readonly string[], context: OperationContext): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < keys.length) {
        context.signal?.throwIfAborted();
        await this.delete(keys[next++]!, context);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#deleteConcurrency, keys.length) }, worker));
  }

  async list(options: BackendListOptions): Promise<ListPage> {
    const prefix = this.#prefix + options.prefix;
    try {
      // With `fields` the client hands back the raw items rather than File objects: read the response.
      const [, , response] = await abandonOnAbort(this.#bucket.getFiles({
        prefix,
        delimiter: options.delimiter,
        maxResults: options.limit,
        pageToken: options.cursor,
        autoPaginate: false,
        fields: 'items(name,size,timeCreated,updated,generation,metageneration),prefixes,nextPageToken',
      }), options.signal);
      const page = (response ?? {}) as { items?: FileMetadata[]; prefixes?: string[]; nextPageToken?: string };
      return {
        items: (page.items ?? []).map((item) => listEntry(this.#relative(String(item.name)), item)),
        prefixes: (page.prefixes ?? []).map((folder) => this.#relative(folder)),
        cursor: page.nextPageToken || undefined,
      };
    } catch (error) {
      throw this.#fail(error, { doing: 'list', key: options.prefix, signal: options.signal });
    }
  }

  /** A server-side copy (`objects.rewrite`, repeated until GCS has copied everything): content type and metadata travel with it. */
  async copy(from: string, to: string, options: BackendCopyOptions): Promise<ObjectInfo> {
    if (from === to) return this.#onItself(from, options);
    const createOnly = options.ifNoneMatch === '*';
    try {
      const [, response] = await abandonOnAbort(this.#file(from).copy(this.#file(to), createOnly ? { preconditionOpts: { ifGenerationMatch: 0 } } : {}), options.signal);
      return objectInfo(to, this.#resourceOf(response, to));
    } catch (error) {
      throw this.#fail(error, { doing: 'copy', key: from, signal: options.signal, createOnly });
    }
  }

  /**
   * With `atomicMove`: `objects.move`, one atomic rename. Otherwise a server-side rewrite of the
   * source's current generation, then a delete of that generation only (a source rewritten
   * meanwhile is left alone).
   */
  async move(from: string, to: string, options: BackendCopyOptions): Promise<ObjectInfo> {
    const createOnly = options.ifNoneMatch === '*';
    const preconditionOpts = createOnly ? { preconditionOpts: { ifGenerationMatch: 0 } } : {};
    if (this.#atomicMove) {
      try {
        // The client resolves with the destination File and the API response, whatever its types say.
        const [, response] = (await abandonOnAbort(this.#file(from).moveFileAtomic(this.#file(to), preconditionOpts), options.signal)) as unknown as [File, unknown];
        return objectInfo(to, this.#resourceOf(response, to));
      } catch (error) {
        throw this.#fail(error, { doing: 'move', key: from, signal: options.signal, createOnly });
      }
    }
    const source = await this.#metadata(from, options);
    let copied: FileMetadata;
    try {
      const [, response] = await abandonOnAbort(this.#file(from, source.generation).copy(this.#file(to), preconditionOpts), options.signal);
      copied = this.#resourceOf(response, to);
    } catch (error) {
      throw this.#fail(error, { doing: 'move', key: from, signal: options.signal, createOnly });
    }
    try {
      await abandonOnAbort(this.#file(from).delete({ ifGenerationMatch: source.generation, ignoreNotFound: true }), options.signal);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 412) throw this.#fail(error, { doing: 'delete the source of the move of', key: from, signal: options.signal });
    }
    return objectInfo(to, copied);
  }

  async #onItself(key: string, options: BackendCopyOptions): Promise<ObjectInfo> {
    const info = await this.stat(key, options);
    if (options.ifNoneMatch === '*') throw new AlreadyExistsError(`an object exists at ${JSON.stringify(key)}`, { key, backend: this.name });
    return info;
  }

  #resourceOf(response: unknown, key: string): FileMetadata {
    const resource = (response as RewriteResponse | undefined)?.resource ?? (response as FileMetadata | undefined);
    if (!resource || typeof resource.name !== 'string') throw this.#fail(new Error('the server answered without the object resource'), { doing: 'copy', key });
    return resource;
  }

  /**
   * A V4 signed URL, valid for `expiresIn` seconds. Signing needs credentials that can sign: a
   * service-account key, or Application Default Credentials of a service account allowed to call
   * `signBlob`; without them this fails with `PERMISSION_DENIED` and says so.
   */
  async signUrl(key: string, options: SignUrlOptions): Promise<string> {
    const method = options.method ?? 'GET';
    try {
      const [url] = await this.#file(key).getSignedUrl({
        version: 'v4',
        action: method === 'PUT' ? 'write' : 'read',
        expires: Date.now() + (options.expiresIn ?? 900) * 1000,
        ...(method === 'PUT' && options.contentType !== undefined ? { contentType: options.contentType } : {}),
      });
      return url;
    } catch (error) {
      throw this.#fail(error, { doing: 'sign a URL for', key, signing: true });
    }
  }

  /** Lists one key below the prefix: it needs only `storage.objects.list`, not access to the bucket's own metadata. */
  /** Reports what a failed write can leave here: nothing this adapter can or needs to remove (see the note). */
  async sweep(options: BackendSweepOptions): Promise<SweepResult> {
    options.signal?.throwIfAborted();
    const tally = new SweepTally(options, [{ kind: 'resumable-session', description: 'resumable upload sessions started and never finished', unreclaimable: 'GCS keeps no object for an unfinished session and ends the session itself a week after it began, so there is nothing to remove' }]);
    tally.note('nothing to reclaim: a write that fails or is killed on GCS leaves no object behind (single-request uploads are all-or-nothing; an unfinished resumable session expires after a week)');
    return tally.result();
  }

  async health(context: OperationContext): Promise<void> {
    try {
      await abandonOnAbort(this.#bucket.getFiles({ prefix: this.#prefix, maxResults: 1, autoPaginate: false, fields: 'nextPageToken' }), context.signal);
    } catch (error) {
      throw this.#fail(error, { doing: `reach the bucket ${JSON.stringify(this.#bucket.name)}`, signal: context.signal });
    }
  }

  /** Nothing to release: the client keeps no connections it could close; a borrowed one is never touched. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  /** The `Bucket` of `@google-cloud/storage` (its `storage` is the client). */
  unwrap(): Bucket {
    return this.#bucket;
  }

  /** Whether the client was given by the caller (and so is never closed by stowage). */
  get borrowed(): boolean {
    return this.#borrowed;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The `Storage` client. */
  get storage(): Storage {
    return this.#storage;
  }
}
