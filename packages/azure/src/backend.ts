/**
 * The Azure Blob Storage backend: block blobs in one container, optionally under a prefix.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  BlobClient,
  BlobGetPropertiesResponse,
  ContainerClient,
  ContainerListBlobFlatSegmentResponse,
  ContainerListBlobHierarchySegmentResponse,
} from '@azure/storage-blob';
import {
  AlreadyExistsError,
  CapabilityNotSupportedError,
  ErrorCode,
  createError,
  inferContentType,
  resolveRange,
  type Backend,
  type BackendCopyOptions,
  type BackendListOptions,
  type BackendReadResult,
  type BackendWriteRequest,
  type ByteRange,
  type ListEntry,
  type ListPage,
  type ObjectInfo,
  SweepTally,
  type BackendSweepOptions,
  type OperationContext,
  type SignUrlOptions,
  type StowageError,
  type SweepResult,
} from '@stowage/core';
import { fromNodeStream } from '@stowage/core/node';
import { azureCode, azureStatus, mapAzureError, scrubError, type RequestConditions } from './azure-errors.ts';
import { MAX_BLOCK_SIZE, connect, uploadSettings, type AzureBlobOptions, type UploadSettings, type UrlSigner } from './connection.ts';
import { emptyBody, totalFromContentRange } from './downloads.ts';
import { fromAzureMetadata, toAzureMetadata } from './metadata.ts';
import { BodyFailure, MAX_BLOCKS, uploadBlockBlob } from './uploads.ts';

/** What the Azure adapter declares (`signedUrl` is computed at open: false for a SAS-only or anonymous client, which cannot sign). */
export const AZURE_CAPABILITIES: {
  readonly rangeRead: true;
  readonly conditionalWrite: true;
  readonly userMetadata: true;
  readonly listDelimiter: true;
  readonly copy: 'native';
  readonly move: 'native';
  readonly signedUrl: boolean;
  readonly multipart: true;
  readonly hierarchical: false;
  readonly maxObjectSize: number;
  readonly listOrder: 'utf16';
  readonly metadataKeys: 'identifier';
} = Object.freeze({
  rangeRead: true,
  conditionalWrite: true,
  userMetadata: true,
  listDelimiter: true,
  copy: 'native',
  // A server-side copy and a delete: Azure Blob has no rename (outside hierarchical-namespace accounts).
  move: 'native',
  signedUrl: true as boolean,
  multipart: true,
  hierarchical: false,
  // 50,000 committed blocks of at most 4000 MiB.
  maxObjectSize: MAX_BLOCKS * MAX_BLOCK_SIZE,
  // Azure compares blob names by UTF-16 code units.
  listOrder: 'utf16',
  // Azure metadata names must be C# identifiers; a key that is none is refused, never renamed.
  metadataKeys: 'identifier',
});

/** The capability type of every Azure backend. */
export type AzureCapabilities = typeof AZURE_CAPABILITIES;

/** Blobs per Blob Batch request (Azure's limit). */
const BATCH_SIZE = 256;
/** Single deletes at once where Blob Batch is not available (accounts with a hierarchical namespace). */
const DELETE_CONCURRENCY = 8;
/** A changed source during a copy is read again this many times. */
const COPY_ATTEMPTS = 3;
/** Source SAS lifetimes: a synchronous copy reads at once; an asynchronous one may take a while. */
const SYNC_SOURCE_LIFETIME_MS = 15 * 60_000;
const ASYNC_SOURCE_LIFETIME_MS = 6 * 3600_000;

function conditionsOf(request: { ifNoneMatch?: '*' | undefined; ifMatch?: string | undefined }): RequestConditions {
  if (request.ifNoneMatch === '*') return { ifNoneMatch: '*' };
  if (request.ifMatch !== undefined) return { ifMatch: request.ifMatch };
  return {};
}

/**
 * A stowage backend on one Azure Blob Storage container. Open with {@link AzureBlobBackend.open}.
 *
 * Writes are block blobs: small bodies in one request, large ones staged in blocks and committed
 * at once with their conditions, so readers see the old object or the new one. The SHA-256 and the
 * user metadata (encoded for Azure's rules) live in the blob's metadata.
 */
export class AzureBlobBackend implements Backend<AzureCapabilities> {
  readonly name = 'azure';
  readonly capabilities: AzureCapabilities;
  readonly #container: ContainerClient;
  readonly #prefix: string;
  readonly #signer: UrlSigner | undefined;
  readonly #secrets: readonly string[];
  readonly #settings: UploadSettings;
  #batchUnavailable = false;

  private constructor(options: AzureBlobOptions) {
    const connection = connect(options);
    this.#settings = uploadSettings(options);
    this.#container = connection.container;
    this.#prefix = connection.prefix;
    this.#signer = connection.signer;
    this.#secrets = connection.secrets;
    this.capabilities = Object.freeze({ ...AZURE_CAPABILITIES, signedUrl: this.#signer !== undefined });
  }

  /**
   * Opens the container (creating it with `createContainer: true`). Nothing is sent unless the
   * container is to be created: call `health()` to check that it answers.
   */
  static async open(options: AzureBlobOptions): Promise<AzureBlobBackend> {
    const backend = new AzureBlobBackend(options);
    if (options.createContainer === true) {
      try {
        await backend.#container.createIfNotExists();
      } catch (error) {
        throw backend.#fail(error, `creating the container ${JSON.stringify(backend.#container.containerName)}`);
      }
    }
    return backend;
  }

  #fail(error: unknown, doing: string, where: { key?: string | undefined; conditions?: RequestConditions | undefined; signal?: AbortSignal | undefined } = {}): StowageError {
    const { key, conditions, signal } = where;
    const mapped = mapAzureError(error, { backend: this.name, doing, key, conditions, signal, secrets: this.#secrets });
    if (mapped.code === ErrorCode.NotFound && azureCode(error) === 'ContainerNotFound') {
      const message = `${this.name}: ${doing}${key === undefined ? '' : ` ${JSON.stringify(key)}`} failed: the container ${JSON.stringify(this.#container.containerName)} does not exist (open with createContainer: true to create it)`;
      return createError(ErrorCode.NotFound, message, { key, backend: this.name, cause: mapped.cause });
    }
    return mapped;
  }

  #blob(key: string): BlobClient {
    return this.#container.getBlobClient(this.#prefix + key);
  }

  #info(key: string, properties: Pick<BlobGetPropertiesResponse, 'contentLength' | 'lastModified' | 'etag' | 'contentType' | 'metadata' | 'versionId'>, size?: number): ObjectInfo {
    const { metadata, sha256 } = fromAzureMetadata(properties.metadata);
    return {
      key,
      size: size ?? properties.contentLength ?? 0,
      lastModified: properties.lastModified ?? new Date(0),
      etag: quotedEtag(properties.etag),
      contentType: properties.contentType || inferContentType(key),
      metadata,
      sha256,
      versionId: properties.versionId,
    };
  }

  async stat(key: string, context: OperationContext): Promise<ObjectInfo> {
    try {
      return this.#info(key, await this.#blob(key).getProperties({ abortSignal: context.signal }));
    } catch (error) {
      throw this.#fail(error, 'stat', { key, signal: context.signal });
    }
  }

  async read(key: string, options: OperationContext & { range?: ByteRange | undefined }): Promise<BackendReadResult> {
    const blob = this.#blob(key);
    const { range, signal } = options;
    const mapStreamError = (error: unknown): unknown => this.#fail(error, 'read', { key, signal });
    const empty = (properties: BlobGetPropertiesResponse, resolved: { offset: number; length: number }): BackendReadResult => ({
      info: this.#info(key, properties),
      body: emptyBody(),
      range: resolved,
    });
    try {
      if (range === undefined) {
        const response = await blob.download(0, undefined, { abortSignal: signal });
        return { info: this.#info(key, response), body: this.#body(response.readableStreamBody, mapStreamError) };
      }
      for (let attempt = 1; ; attempt++) {
        let request: { offset: number; length: number | undefined; etag: string | undefined };
        if ('suffix' in range) {
          // Azure ranges are `start-end`: a suffix needs the size first, and the download then insists
          // on the etag the range was computed against (a change in between starts over).
          const properties = await blob.getProperties({ abortSignal: signal });
          const resolved = resolveRange(range, properties.contentLength ?? 0, { key, backend: this.name });
          if (resolved.length === 0) return empty(properties, resolved);
          request = { ...resolved, etag: properties.etag };
        } else {
          request = { offset: range.offset, length: range.length, etag: undefined };
        }
        try {
          const response = await blob.download(request.offset, request.length, {
            abortSignal: signal,
            conditions: request.etag === undefined ? undefined : { ifMatch: request.etag },
          });
          const total = totalFromContentRange(response.contentRange) ?? response.contentLength ?? 0;
          return {
            info: this.#info(key, response, total),
            body: this.#body(response.readableStreamBody, mapStreamError),
            range: resolveRange(range, total, { key, backend: this.name }),
          };
        } catch (error) {
          const status = azureStatus(error);
          if (attempt >= COPY_ATTEMPTS || (status !== 412 && status !== 416)) throw error;
          if (status === 416) {
            // Past the end, or exactly at it (an empty range, which Azure refuses): the size decides.
            const properties = await blob.getProperties({ abortSignal: signal });
            const resolved = resolveRange(range, properties.contentLength ?? 0, { key, backend: this.name });
            if (resolved.length === 0) return empty(properties, resolved);
          }
        }
      }
    } catch (error) {
      throw this.#fail(error, 'read', { key, signal });
    }
  }

  /** The SDK's download stream (which resumes a broken download on the same etag) as a Web stream pulled chunk by chunk. */
  #body(source: NodeJS.ReadableStream | undefined, mapError: (error: unknown) => unknown): ReadableStream<Uint8Array> {
    return source === undefined ? emptyBody() : fromNodeStream(source, mapError);
  }

  async write(key: string, request: BackendWriteRequest): Promise<ObjectInfo> {
    const conditions = conditionsOf(request);
    // Checked before the body is read: the SHA-256 placeholder has the length of the real one.
    toAzureMetadata(request.metadata, '0'.repeat(64), key, this.name);
    const blob = this.#container.getBlockBlobClient(this.#prefix + key);
    try {
      const result = await uploadBlockBlob(blob, {
        body: request.body,
        size: request.size,
        blockSize: this.#settings.blockSize,
        concurrency: this.#settings.concurrency,
        signal: request.signal,
        key,
        backend: this.name,
        details: () => ({
          blobHTTPHeaders: { blobContentType: request.contentType },
          metadata: toAzureMetadata(request.metadata, request.sha256(), key, this.name),
          conditions,
        }),
      });
      return {
        key,
        size: request.bytesWritten(),
        lastModified: result.lastModified,
        etag: result.etag,
        contentType: request.contentType,
        metadata: { ...request.metadata },
        sha256: request.sha256(),
      };
    } catch (error) {
      if (error instanceof BodyFailure) throw error.original;
      if (azureCode(error) === 'InvalidBlockList') throw this.#lostBlocks(error, key, conditions);
      throw this.#fail(error, 'write', { key, conditions, signal: request.signal });
    }
  }

  /**
   * The staged blocks of this upload were gone at commit: another write (or a delete) of the same
   * key committed in the meantime, which discards every uncommitted block of that blob. For a
   * conditional write that means the condition no longer holds.
   */
  #lostBlocks(error: unknown, key: string, conditions: RequestConditions): StowageError {
    scrubError(error, this.#secrets);
    const where = JSON.stringify(key);
    if (conditions.ifNoneMatch === '*') {
      return createError(ErrorCode.AlreadyExists, `${this.name}: ${where} was written by another writer while this create-only upload was staged`, { key, backend: this.name, cause: error });
    }
    if (conditions.ifMatch !== undefined) {
      return createError(ErrorCode.PreconditionFailed, `${this.name}: ${where} was written by another writer while this upload was staged`, { key, backend: this.name, cause: error });
    }
    return createError(
      ErrorCode.Unavailable,
      `${this.name}: another write of ${where} committed while this upload was staged, which discards the staged blocks; nothing of this upload was stored: write again`,
      { key, backend: this.name, cause: error },
    );
  }

  async delete(key: string, context: OperationContext): Promise<void> {
    try {
      await this.#blob(key).deleteIfExists({ deleteSnapshots: 'include', abortSignal: context.signal });
    } catch (error) {
      throw this.#fail(error, 'delete', { key, signal: context.signal });
    }
  }

  async deleteMany(keys: readonly string[], context: OperationContext): Promise<void> {
    for (let start = 0; start < keys.length; start += BATCH_SIZE) {
      const batch = keys.slice(start, start + BATCH_SIZE);
      if (!this.#batchUnavailable && batch.length > 1) {
        try {
          await this.#deleteBatch(batch, context);
          continue;
        } catch (error) {
          if (!isBatchRefusal(error)) throw this.#fail(error, 'deleteMany', { signal: context.signal });
          // Blob Batch is refused (accounts with a hierarchical namespace, some proxies): single deletes from now on.
          this.#batchUnavailable = true;
        }
      }
      await this.#deleteEach(batch, context);
    }
  }

  async #deleteBatch(keys: readonly string[], context: OperationContext): Promise<void> {
    const response = await this.#container.getBlobBatchClient().deleteBlobs(
      keys.map((key) => this.#blob(key)),
      { deleteSnapshots: 'include', abortSignal: context.signal },
    );
    for (const [index, sub] of response.subResponses.entries()) {
      if (sub.status < 300 || sub.status === 404) continue;
      const key = keys[index];
      const native = Object.assign(new Error(sub.errorCode ?? `status ${sub.status}`), { statusCode: sub.status, code: sub.errorCode });
      throw this.#fail(native, 'delete', { key });
    }
  }

  async #deleteEach(keys: readonly string[], context: OperationContext): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < keys.length) await this.delete(keys[next++]!, context);
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, keys.length) }, worker));
  }

  async list(options: BackendListOptions): Promise<ListPage> {
    const prefix = this.#prefix + options.prefix;
    const listing = { prefix, abortSignal: options.signal };
    const settings = { maxPageSize: options.limit, continuationToken: options.cursor };
    try {
      const strip = (name: string): string => name.slice(this.#prefix.length);
      if (options.delimiter === '/') {
        const page = (await this.#container.listBlobsByHierarchy('/', listing).byPage(settings).next()).value as ContainerListBlobHierarchySegmentResponse | undefined;
        return {
          items: (page?.segment.blobItems ?? []).map((item) => entry(strip(item.name), item.properties)),
          prefixes: (page?.segment.blobPrefixes ?? []).map((folder) => strip(folder.name)),
          cursor: page?.continuationToken || undefined,
        };
      }
      const page = (await this.#container.listBlobsFlat(listing).byPage(settings).next()).value as ContainerListBlobFlatSegmentResponse | undefined;
      return {
        items: (page?.segment.blobItems ?? []).map((item) => entry(strip(item.name), item.properties)),
        prefixes: [],
        cursor: page?.continuationToken || undefined,
      };
    } catch (error) {
      throw this.#fail(error, 'list', { signal: options.signal });
    }
  }

  async copy(from: string, to: string, options: BackendCopyOptions): Promise<ObjectInfo> {
    if (from === to) {
      const info = await this.stat(from, options);
      if (options.ifNoneMatch === '*') throw new AlreadyExistsError(`${this.name}: an object exists at ${JSON.stringify(to)}`, { key: to, backend: this.name });
      return info;
    }
    return (await this.#copy(from, to, options)).info;
  }

  /** A server-side copy; also returns the etag of the source version that was copied. */
  async #copy(from: string, to: string, options: BackendCopyOptions): Promise<{ info: ObjectInfo; sourceEtag: string }> {
    const source = this.#blob(from);
    const target = this.#blob(to);
    const conditions = conditionsOf(options);
    for (let attempt = 1; ; attempt++) {
      let properties: BlobGetPropertiesResponse;
      try {
        properties = await source.getProperties({ abortSignal: options.signal });
      } catch (error) {
        throw this.#fail(error, 'copy', { key: from, signal: options.signal });
      }
      const info = this.#info(to, properties);
      const sourceEtag = properties.etag!;
      // The copy insists on the version just read, so that the info returned describes what was copied.
      const sourceConditions = { ifMatch: sourceEtag };
      try {
        if (info.size <= this.#settings.syncCopyLimit) {
          const response = await target.syncCopyFromURL(await this.#sourceUrl(source, SYNC_SOURCE_LIFETIME_MS), {
            conditions,
            sourceConditions,
            abortSignal: options.signal,
          });
          return { info: { ...info, etag: response.etag!, lastModified: response.lastModified! }, sourceEtag };
        }
        const poller = await target.beginCopyFromURL(await this.#sourceUrl(source, ASYNC_SOURCE_LIFETIME_MS), {
          conditions,
          sourceConditions,
          abortSignal: options.signal,
          intervalInMs: this.#settings.copyPollInterval,
        });
        // An abort stops the polling, not the copy: aborting a pending Azure copy would leave an empty destination.
        while (!poller.isDone()) {
          await sleep(this.#settings.copyPollInterval, undefined, { signal: options.signal });
          await poller.poll({ abortSignal: options.signal });
        }
        const result = poller.getResult();
        if (result?.copyStatus !== 'success') {
          throw createError(ErrorCode.Unavailable, `${this.name}: copy of ${JSON.stringify(from)} to ${JSON.stringify(to)} ended ${result?.copyStatus ?? 'without a status'}`, {
            key: from,
            backend: this.name,
          });
        }
        const copied = await target.getProperties({ abortSignal: options.signal });
        return { info: { ...info, etag: copied.etag!, lastModified: copied.lastModified! }, sourceEtag };
      } catch (error) {
        if (azureCode(error) === 'SourceConditionNotMet' && attempt < COPY_ATTEMPTS) continue;
        throw this.#fail(error, 'copy', { key: from, conditions, signal: options.signal });
      }
    }
  }

  async move(from: string, to: string, options: BackendCopyOptions): Promise<ObjectInfo> {
    if (from === to) return this.stat(from, options);
    const { info, sourceEtag } = await this.#copy(from, to, options);
    try {
      // Only the version that was copied is deleted: a write that lands in between is kept.
      await this.#blob(from).deleteIfExists({ deleteSnapshots: 'include', abortSignal: options.signal, conditions: { ifMatch: sourceEtag } });
    } catch (error) {
      if (azureStatus(error) !== 412) throw this.#fail(error, 'move', { key: from, signal: options.signal });
    }
    return info;
  }

  /** A URL the copy engine can read the source through: a short SAS where the credential signs, else the client's own (SAS) URL. */
  async #sourceUrl(source: BlobClient, lifetimeMs: number): Promise<string> {
    if (this.#signer) return this.#signer(source, 'r', new Date(Date.now() + lifetimeMs));
    return source.url;
  }

  async signUrl(key: string, options: SignUrlOptions): Promise<string> {
    const signer = this.#signer;
    if (!signer) throw new CapabilityNotSupportedError('signedUrl', `${this.name}: this credential cannot sign URLs`, { key, backend: this.name });
    const expiresOn = new Date(Date.now() + (options.expiresIn ?? 900) * 1000);
    try {
      return await signer(this.#blob(key), options.method === 'PUT' ? 'cw' : 'r', expiresOn);
    } catch (error) {
      throw this.#fail(error, 'signing a URL for', { key });
    }
  }

  /** Reports what a failed write can leave here: nothing this adapter can or needs to remove (see the note). */
  async sweep(options: BackendSweepOptions): Promise<SweepResult> {
    options.signal?.throwIfAborted();
    const tally = new SweepTally(options, [{ kind: 'uncommitted-blocks', description: 'blocks staged on a name and never committed', unreclaimable: 'Azure discards uncommitted blocks itself a week after they were staged (and when a block list is committed on their name), so there is nothing to remove' }]);
    tally.note('nothing to reclaim: a write that fails or is killed on Azure leaves no blob behind (blocks that were never committed are not visible and are discarded by the service after a week)');
    return tally.result();
  }

  async health(context: OperationContext): Promise<void> {
    try {
      await this.#container.listBlobsFlat({ prefix: this.#prefix, abortSignal: context.signal }).byPage({ maxPageSize: 1 }).next();
    } catch (error) {
      throw this.#fail(error, 'health check', { signal: context.signal });
    }
  }

  async close(): Promise<void> {
    // The SDK keeps no connections that need closing; a borrowed client is never touched.
  }

  /** The `ContainerClient` (borrowed or built here). */
  unwrap(): ContainerClient {
    return this.#container;
  }
}

/** An etag as response headers carry it: listings return the same value without the quotes. */
function quotedEtag(etag: string | undefined): string {
  if (etag === undefined || etag === '') return '';
  return etag.startsWith('"') || etag.startsWith('W/"') ? etag : `"${etag}"`;
}

function entry(key: string, properties: { contentLength?: number | undefined; lastModified: Date; etag: string }): ListEntry {
  return { key, size: properties.contentLength ?? 0, lastModified: properties.lastModified, etag: quotedEtag(properties.etag) };
}

/** Whether a Blob Batch request was refused as a whole in a way single deletes may not be. */
function isBatchRefusal(error: unknown): boolean {
  const status = azureStatus(error);
  const code = azureCode(error);
  if (code === 'ContainerNotFound' || status === undefined) return false;
  return (status >= 400 && status < 500 && status !== 404 && status !== 408 && status !== 429) || status === 501;
}
