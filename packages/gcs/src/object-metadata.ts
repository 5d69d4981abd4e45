/**
 * How stowage's object fields live in GCS object resources: the etag made from the generation and
 * metageneration (so that compare-and-swap maps exactly onto GCS preconditions), the SHA-256 kept in
 * custom metadata under a name no user key can take, metadata values that GCS might alter stored
 * encoded, and the base64 checksums GCS reports turned into lowercase hex.
 *
 * @module
 */
import { inferContentType, type ListEntry, type ObjectInfo } from '@stowage/core';
import type { FileMetadata } from '@google-cloud/storage';

/**
 * The custom metadata entry that holds the SHA-256 of the content. User metadata keys are
 * `[a-z0-9_-]+`, so a name with a dot can never collide with one.
 */
export const SHA256_METADATA_KEY = 'stowage.sha256';

/** Preconditions in the form the GCS client takes them. */
export interface GenerationPreconditions {
  ifGenerationMatch?: number | string | undefined;
  ifMetagenerationMatch?: number | string | undefined;
}

/**
 * The etag of a generation: `"<generation>.<metageneration>"`. A content write makes a new
 * generation, a metadata change a new metageneration, so the etag changes whenever `stat` could
 * return something else, and `ifMatch` becomes the pair of GCS preconditions that checks exactly
 * this version.
 */
export function etagOf(generation: string | number | undefined, metageneration: string | number | undefined): string {
  return `"${String(generation ?? '0')}.${String(metageneration ?? '1')}"`;
}

const ETAG = /^"?([1-9][0-9]{0,18})\.([1-9][0-9]{0,18})"?$/;

/**
 * The preconditions that make a write succeed only on the version an etag names, or undefined when
 * the etag is none of ours (no object can have it, so the write must fail without being sent).
 */
export function preconditionsOfEtag(etag: string): GenerationPreconditions | undefined {
  const match = ETAG.exec(etag);
  if (!match) return undefined;
  return { ifGenerationMatch: match[1]!, ifMetagenerationMatch: match[2]! };
}

// Values GCS or the tools around it may not keep byte-exact: control characters, whitespace at
// either end (HTTP header folding trims it on the XML API), and values that look like our encoding.
const NEEDS_ENCODING = /[\u0000-\u001f\u007f-\u009f]|^\s|\s$|^=\?.*\?=$/s;
const ENCODED = /^=\?utf-8\?b\?([A-Za-z0-9+/]*={0,2})\?=$/;

/** A user metadata value as stored on GCS: as it is when GCS keeps it exactly, else an RFC 2047 encoded word. */
export function encodeMetadataValue(value: string): string {
  return NEEDS_ENCODING.test(value) ? `=?utf-8?b?${Buffer.from(value, 'utf8').toString('base64')}?=` : value;
}

/** The user's value of a stored metadata value. */
export function decodeMetadataValue(value: string): string {
  const match = ENCODED.exec(value);
  return match ? Buffer.from(match[1]!, 'base64').toString('utf8') : value;
}

/** Custom metadata to send: the user's (encoded where needed) and, when known, the SHA-256. */
export function toCustomMetadata(metadata: Record<string, string>, sha256: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata)) out[name] = encodeMetadataValue(value);
  if (sha256 !== undefined) out[SHA256_METADATA_KEY] = sha256;
  return out;
}

/** Lowercase hex of a base64 checksum, or undefined. */
function hexOfBase64(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  return Buffer.from(value, 'base64').toString('hex');
}

function dateOf(resource: FileMetadata): Date {
  // The generation's creation time is when its content was written; `updated` also moves when only
  // metadata changes.
  const text = resource.timeCreated ?? resource.updated;
  return text ? new Date(text) : new Date(0);
}

/** The stowage view of a GCS object resource; `key` is the key relative to the backend's prefix. */
export function objectInfo(key: string, resource: FileMetadata): ObjectInfo {
  const metadata: Record<string, string> = {};
  let sha256: string | undefined;
  for (const [name, value] of Object.entries(resource.metadata ?? {})) {
    if (value === null || value === undefined) continue;
    if (name === SHA256_METADATA_KEY) sha256 = /^[0-9a-f]{64}$/.test(String(value)) ? String(value) : undefined;
    else metadata[name] = decodeMetadataValue(String(value));
  }
  return {
    key,
    size: Number(resource.size ?? 0),
    lastModified: dateOf(resource),
    etag: etagOf(resource.generation, resource.metageneration),
    contentType: resource.contentType || inferContentType(key),
    metadata,
    sha256,
    versionId: resource.generation === undefined ? undefined : String(resource.generation),
    md5: hexOfBase64(resource.md5Hash),
    crc32c: hexOfBase64(resource.crc32c),
  };
}

/** A listing entry of a GCS object resource. */
export function listEntry(key: string, resource: FileMetadata): ListEntry {
  return {
    key,
    size: Number(resource.size ?? 0),
    lastModified: dateOf(resource),
    etag: etagOf(resource.generation, resource.metageneration),
  };
}
