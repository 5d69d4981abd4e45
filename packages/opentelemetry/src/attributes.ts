/**
 * The attribute names both layers write, and the checks of their shared options. OpenTelemetry's
 * semantic conventions have nothing for blob storage beyond `aws.s3.*`, so stowage's own facts go
 * under `stowage.*`, named the way the conventions name theirs (`db.operation.name` →
 * `stowage.operation.name`), and the conventions' own attributes are used where they apply:
 * `error.type`, and `aws.s3.bucket` / `aws.s3.key` on the S3 backend.
 *
 * @module
 */
import type { Attributes } from '@opentelemetry/api';
import { InvalidArgumentError, describeValue, type ObservedCall, type ObservedOutcome } from '@stowage/core';

/** The attribute names the tracing and metrics layers record. */
export const ATTRIBUTES = Object.freeze({
  /** The operation: `stat`, `read`, `write`, `delete`, `deleteMany`, `list`, `copy`, `move`, `signUrl`, `sweep`, `health`. */
  operation: 'stowage.operation.name',
  /** The backend's name (`memory`, `local`, `sql-blob`, `s3`, `gcs`, `azure`, ...). */
  backend: 'stowage.backend.name',
  /** The bucket, container or table, when the layer was told it (`bucket` option). */
  bucket: 'stowage.bucket.name',
  /** The key (the source of a copy or move); only with `recordKeys`. */
  key: 'stowage.key',
  /** The destination key of a copy or move; only with `recordKeys`. */
  destination: 'stowage.destination.key',
  /** The prefix of a listing or sweep; only with `recordKeys`. */
  prefix: 'stowage.prefix',
  /** How many keys a `deleteMany` deletes (as `db.operation.batch.size` does for databases). */
  batchSize: 'stowage.batch.size',
  /** Bytes a read delivered (spans). */
  bytesRead: 'stowage.bytes.read',
  /** Bytes a write took from its body (spans). */
  bytesWritten: 'stowage.bytes.written',
  /** The stowage error code of a failure (`NOT_FOUND`, `PRECONDITION_FAILED`, ...). */
  errorCode: 'stowage.error.code',
  /** The conventions' class of the failure: the stowage code, else the error's name, else `_OTHER`. */
  errorType: 'error.type',
  /** `true` on a read whose caller cancelled its stream before the end (not an error). */
  cancelled: 'stowage.stream.cancelled',
  /** `read` or `write`, on the byte counter (as `disk.io.direction` is on `system.disk.io`). */
  direction: 'stowage.io.direction',
});

/** The options both layers share. */
export interface CommonOptions {
  /**
   * The bucket, container or table the backend works on, recorded as `stowage.bucket.name` (and
   * `aws.s3.bucket` on S3). A backend does not tell the layer, so the layer records it only when given.
   */
  bucket?: string | undefined;
  /** Attributes added to every span or measurement (for example `{ 'stowage.store.name': 'uploads' }`). */
  attributes?: Attributes | undefined;
}

/** `options` checked: an object whose fields are all in `known`. */
export function checkFields<T extends object>(options: T | undefined, known: readonly string[], what: string): T {
  if (options === undefined) return {} as T;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new InvalidArgumentError(`${what} takes an options object, got ${describeValue(options)}`);
  for (const field of Object.keys(options)) {
    if (!known.includes(field)) throw new InvalidArgumentError(`${what} has an unknown option ${JSON.stringify(field)} (known: ${known.join(', ')})`);
  }
  const { bucket, attributes } = options as CommonOptions;
  if (bucket !== undefined && (typeof bucket !== 'string' || bucket === '')) throw new InvalidArgumentError(`${what}: bucket must be a non-empty string, got ${describeValue(bucket)}`);
  if (attributes !== undefined && (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes))) {
    throw new InvalidArgumentError(`${what}: attributes must be an object of attribute values, got ${describeValue(attributes)}`);
  }
  return options;
}

/** The attributes of an operation that do not depend on its outcome, keys left out. */
export function baseAttributes(call: ObservedCall, options: CommonOptions): Attributes {
  const attributes: Attributes = { ...options.attributes, [ATTRIBUTES.operation]: call.operation, [ATTRIBUTES.backend]: call.backend };
  if (options.bucket !== undefined) {
    attributes[ATTRIBUTES.bucket] = options.bucket;
    if (call.backend === 's3') attributes['aws.s3.bucket'] = options.bucket;
  }
  return attributes;
}

/** The conventions' `error.type` of a failure: the stowage code, else the error's name, else `_OTHER`. */
export function errorType(outcome: ObservedOutcome): string {
  if (outcome.code !== undefined) return outcome.code;
  const name = (outcome.error as { name?: unknown } | null | undefined)?.name;
  return typeof name === 'string' && name !== '' && name !== 'Error' ? name : '_OTHER';
}
