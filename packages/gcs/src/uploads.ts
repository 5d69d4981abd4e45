/**
 * Writes: a body that ends within the threshold is buffered and sent in one request (a multipart
 * upload whose MD5 GCS checks); a larger one, or one whose known size is larger, streams through a
 * resumable upload, in parts of `chunkSize` (or in one streamed request with `chunkSize: 0`), so
 * memory holds about one part whatever the size. Nothing becomes visible before the last byte is
 * accepted: a body that fails or is aborted leaves the previous object as it was.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, type BackendWriteRequest } from '@stowage/core';
import type { File, FileMetadata } from '@google-cloud/storage';
import { codeOfGcsError } from './gcs-errors.ts';
import { SHA256_METADATA_KEY, toCustomMetadata, type GenerationPreconditions } from './object-metadata.ts';

/** How one write is sent. */
export interface UploadPlan {
  /** The object to write (not pinned to a generation). */
  file: File;
  /** Preconditions on the object being replaced (`ifGenerationMatch: 0` for create-only). */
  preconditions: GenerationPreconditions | undefined;
  /** Bodies up to this many bytes go in one request. */
  resumableThreshold: number;
  /** Resumable part size; 0 for one streamed request. */
  chunkSize: number;
}

const sourceErrors = new WeakSet<object>();

/** The body, with every error it throws remembered as the caller's own. */
async function* remembered(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield* body;
  } catch (error) {
    if (typeof error === 'object' && error !== null) sourceErrors.add(error);
    throw error;
  }
}

/**
 * Whether `error` came from the body the caller gave (not from GCS): the write then rejects with
 * it unchanged, so that the caller sees its own error.
 */
export function isSourceError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && sourceErrors.has(error);
}

/** Reads up to `limit + 1` bytes, so that the caller knows whether the body ends within `limit`. */
async function bufferUpTo(iterator: AsyncIterator<Uint8Array>, limit: number): Promise<{ chunks: Uint8Array[]; size: number; ended: boolean }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size <= limit) {
    const next = await iterator.next();
    if (next.done) return { chunks, size, ended: true };
    chunks.push(next.value);
    size += next.value.byteLength;
  }
  return { chunks, size, ended: false };
}

/** The buffered chunks, then the rest of the body; releases the body when the consumer stops early. */
async function* concatenated(head: Uint8Array[], iterator: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  let finished = false;
  try {
    while (head.length > 0) yield head.shift()!;
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      yield next.value;
    }
    finished = true;
  } finally {
    if (!finished) await iterator.return?.();
  }
}

/** Transient failures worth another attempt: throttling, server errors, resets, timeouts. */
function isTransient(error: unknown): boolean {
  return codeOfGcsError(error) === ErrorCode.Unavailable && !isSourceError(error);
}

const ATTEMPTS = 3;

/** Runs `attempt` up to three times while it fails transiently (100 ms, then 400 ms apart). */
async function withRetries<T>(attempt: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (tries >= ATTEMPTS || !isTransient(error) || signal?.aborted) throw error;
      await sleep(100 * 4 ** (tries - 1));
    }
  }
}

async function sendInOneRequest(plan: UploadPlan, request: BackendWriteRequest, chunks: Uint8Array[], size: number): Promise<FileMetadata> {
  const data = Buffer.concat(chunks, size);
  const options = {
    resumable: false,
    // GCS checks the MD5 given in the metadata and refuses the upload (storing nothing) when it differs.
    validation: false,
    metadata: {
      contentType: request.contentType,
      md5Hash: createHash('md5').update(data).digest('base64'),
      metadata: toCustomMetadata(request.metadata, request.sha256()),
    },
    preconditionOpts: plan.preconditions as never,
  } as const;
  // Not `file.save()`: after one upload without preconditions it turns the client's retries off for
  // good (it clears `retryOptions.autoRetry` and never restores it). The whole body is in memory,
  // so a failed request is simply sent again.
  return withRetries(async () => {
    request.signal?.throwIfAborted();
    await pipeline(Readable.from([data]), plan.file.createWriteStream(options), { signal: request.signal });
    return plan.file.metadata;
  }, request.signal);
}

async function sendResumable(plan: UploadPlan, request: BackendWriteRequest, body: AsyncIterable<Uint8Array>): Promise<FileMetadata> {
  const destination = plan.file.createWriteStream({
    resumable: true,
    ...(plan.chunkSize > 0 ? { chunkSize: plan.chunkSize } : {}),
    // The client compares the MD5 GCS reports with what it sent (Node's native hash, cheap).
    validation: 'md5',
    metadata: { contentType: request.contentType, metadata: toCustomMetadata(request.metadata, undefined) },
    preconditionOpts: plan.preconditions as never,
  });
  await pipeline(Readable.from(body, { objectMode: false }), destination, { signal: request.signal });
  const uploaded = plan.file.metadata;
  // The SHA-256 is known only once the last byte went out, after the upload session fixed the
  // metadata, so it is added to this generation alone: if another write replaced it meanwhile,
  // that write is left as it is.
  // The upload is stored by now: a patch that keeps failing leaves it without `sha256` rather than
  // failing a write that happened.
  try {
    const [patched] = await withRetries(
      () =>
        plan.file.setMetadata(
          { metadata: { [SHA256_METADATA_KEY]: request.sha256() } },
          { ifGenerationMatch: uploaded.generation, ifMetagenerationMatch: uploaded.metageneration },
        ),
      undefined,
    );
    return patched;
  } catch {
    return uploaded;
  }
}

/** Sends the body of `request` to `plan.file`; resolves with the stored object's resource. */
export async function uploadBody(plan: UploadPlan, request: BackendWriteRequest): Promise<FileMetadata> {
  const iterator = remembered(request.body);
  if (request.size === undefined || request.size <= plan.resumableThreshold) {
    const head = await bufferUpTo(iterator, plan.resumableThreshold);
    if (head.ended) return sendInOneRequest(plan, request, head.chunks, head.size);
    return sendResumable(plan, request, concatenated(head.chunks, iterator));
  }
  return sendResumable(plan, request, concatenated([], iterator));
}
