/**
 * The attachment reference: what a row stores about its file, as JSON in one column.
 *
 * @module
 */
import { keyProblem } from '@stowage/core';
import { InvalidReferenceError } from './errors.ts';

/** A JSON value, for {@link Attachment.extra}. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * A reference to one stored file, kept in the row that owns it. Plain JSON: store it in a `json`,
 * `jsonb` or text column (the Drizzle column types do), send it to clients, compare it by
 * `store` + `key` ({@link sameAttachment}).
 */
export interface Attachment {
  /** The slot (policy) the file was uploaded through, such as `'avatars'`. */
  slot: string;
  /** The name of the store that holds it, in the store registry given to `Attachments`. */
  store: string;
  /** The object's key in that store. */
  key: string;
  /** Size in bytes. */
  size: number;
  /** The MIME type it was stored with (as declared, or as its first bytes showed). */
  contentType: string;
  /** The stored object's etag when it was written. */
  etag: string;
  /** Lowercase hex SHA-256 of the content. */
  sha256: string;
  /** The file name the uploader gave, or `null`. Never used in keys unless the slot says so. */
  filename: string | null;
  /** When the upload finished, as an ISO 8601 UTC timestamp. */
  createdAt: string;
  /** Free fields of the application's own (JSON). */
  extra?: { [key: string]: JsonValue } | undefined;
}

const FIELDS = new Set(['slot', 'store', 'key', 'size', 'contentType', 'etag', 'sha256', 'filename', 'createdAt', 'extra']);
const SHA256 = /^[0-9a-f]{64}$/;
const CONTENT_TYPE = /^[\w.+-]+\/[\w.+-]+(?:\s*;.*)?$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
const MAX_FILENAME = 1024;
const MAX_EXTRA_DEPTH = 16;

function fail(problem: string, where: string): never {
  throw new InvalidReferenceError(`malformed attachment reference${where}: ${problem}`);
}

function nonEmptyString(value: unknown, name: string, where: string): string {
  if (typeof value !== 'string' || value === '') fail(`'${name}' must be a non-empty string`, where);
  return value;
}

function checkJson(value: unknown, path: string, depth: number, where: string): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) fail(`${path} must be a finite number`, where);
    return;
  }
  if (depth > MAX_EXTRA_DEPTH) fail(`${path} is nested deeper than ${MAX_EXTRA_DEPTH} levels`, where);
  if (Array.isArray(value)) {
    value.forEach((item, index) => checkJson(item, `${path}[${index}]`, depth + 1, where));
    return;
  }
  if (typeof value === 'object' && (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null)) {
    for (const [name, child] of Object.entries(value)) checkJson(child, `${path}.${name}`, depth + 1, where);
    return;
  }
  fail(`${path} must be JSON (strings, numbers, booleans, null, arrays, plain objects)`, where);
}

function fromJsonText(value: unknown, what: string): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch (cause) {
    throw new InvalidReferenceError(`malformed ${what}: not JSON`, { cause });
  }
}

function validate(value: unknown, where: string): Attachment {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`expected an object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`, where);
  const input = value as Record<string, unknown>;
  for (const name of Object.keys(input)) if (!FIELDS.has(name)) fail(`unknown field '${name}' (free fields go in 'extra')`, where);
  const slot = nonEmptyString(input.slot, 'slot', where);
  const store = nonEmptyString(input.store, 'store', where);
  const key = nonEmptyString(input.key, 'key', where);
  const problem = keyProblem(key);
  if (problem) fail(`'key' ${problem}`, where);
  const size = input.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) fail(`'size' must be a non-negative integer`, where);
  const contentType = nonEmptyString(input.contentType, 'contentType', where);
  if (contentType.length > 255 || !CONTENT_TYPE.test(contentType)) fail(`'contentType' must be "type/subtype"`, where);
  const etag = nonEmptyString(input.etag, 'etag', where);
  const sha256 = input.sha256;
  if (typeof sha256 !== 'string' || !SHA256.test(sha256)) fail(`'sha256' must be 64 lowercase hex digits`, where);
  const filename = input.filename ?? null;
  if (filename !== null && (typeof filename !== 'string' || filename.length > MAX_FILENAME)) fail(`'filename' must be a string of at most ${MAX_FILENAME} characters, or null`, where);
  const createdAt = input.createdAt;
  if (typeof createdAt !== 'string' || !ISO_TIME.test(createdAt) || Number.isNaN(Date.parse(createdAt))) fail(`'createdAt' must be an ISO 8601 timestamp`, where);
  const reference: Attachment = { slot, store, key, size, contentType, etag, sha256, filename, createdAt };
  if (input.extra !== undefined) reference.extra = checkExtra(input.extra, where);
  return reference;
}

/** Checks the free fields of a reference and returns a copy; {@link InvalidReferenceError} when they are not a JSON object. */
export function checkExtra(extra: unknown, where = ''): { [key: string]: JsonValue } {
  if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) fail(`'extra' must be an object`, where);
  checkJson(extra, 'extra', 1, where);
  return structuredClone(extra as { [key: string]: JsonValue });
}

/**
 * Checks a reference read from a column (an object, or its JSON text) and returns a clean copy;
 * {@link InvalidReferenceError} when it is malformed (a missing or mistyped field, an invalid key,
 * an unknown field).
 *
 * @example
 * ```ts
 * const avatar = parseAttachment(row.avatar) // throws InvalidReferenceError on garbage
 * ```
 */
export function parseAttachment(value: unknown): Attachment {
  return validate(fromJsonText(value, 'attachment reference'), '');
}

/** {@link parseAttachment} for a column that may be `null`: `null` and `undefined` give `null`. */
export function parseOptionalAttachment(value: unknown): Attachment | null {
  return value === null || value === undefined ? null : parseAttachment(value);
}

/**
 * Checks a list of references (an array, or its JSON text) for a multi-file field; `null` and
 * `undefined` give an empty list.
 */
export function parseAttachmentList(value: unknown): Attachment[] {
  if (value === null || value === undefined) return [];
  const list = fromJsonText(value, 'attachment list');
  if (!Array.isArray(list)) throw new InvalidReferenceError(`malformed attachment list: expected an array, got ${list === null ? 'null' : typeof list}`);
  return list.map((item, index) => validate(item, ` at index ${index}`));
}

/** The reference as JSON text, after checking it. */
export function serializeAttachment(reference: Attachment): string {
  return JSON.stringify(parseAttachment(reference));
}

/** A list of references as JSON text, after checking each. */
export function serializeAttachmentList(references: readonly Attachment[]): string {
  return JSON.stringify(parseAttachmentList(references));
}

/** Whether two references point at the same stored object (same store, same key). */
export function sameAttachment(a: Attachment, b: Attachment): boolean {
  return a.store === b.store && a.key === b.key;
}
