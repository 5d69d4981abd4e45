/**
 * Stowage metadata on Azure's wire format, and back.
 *
 * Azure metadata names must be C# identifiers (`[A-Za-z_][A-Za-z0-9_]*`, compared without case) and
 * values travel as HTTP header values: ASCII, trimmed at both ends, folded at runs of whitespace when
 * a request is signed, and `%` is refused by some clients and tools. Stowage keys are lowercase
 * `[a-z0-9_-]` and its values any Unicode, so they are mapped here:
 *
 * - A key is stored as it is. Only identifiers that do not start with `stowage_` can be (the
 *   adapter declares `metadataKeys: 'identifier'`, and `Store` refuses any other key before any
 *   I/O), so every other tool sees the very name stowage was given. Earlier versions stored other
 *   keys as `stowage_k_` followed by the key with `_` written `_5f` and `-` written `_2d`
 *   (`x-custom` → `stowage_k_x_2dcustom`); such names are still read back as the key they encode.
 * - A value of plain ASCII (printable, no `%`, no leading, trailing or doubled space) that does not
 *   start with `b64:` is stored as it is. Any other value (Unicode, control characters, the empty
 *   string, which Azure drops) is stored as `b64:` followed by its UTF-8 bytes in base64url.
 * - The store's own fields live under `stowage_` names that no user key maps to (`stowage_sha256`).
 *
 * @module
 */
import { InvalidArgumentError } from '@stowage/core';

/** Where the SHA-256 of the content is kept. */
export const SHA256_FIELD = 'stowage_sha256';

/** Azure's limit on all metadata names and values of one blob, in characters (8 KiB). */
export const AZURE_METADATA_LIMIT = 8 * 1024;

const RESERVED = 'stowage_';
const ESCAPED_KEY = 'stowage_k_';
const ENCODED_VALUE = 'b64:';
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const STOWAGE_KEY = /^[a-z0-9_-]+$/;
// Printable ASCII without `%`, with single spaces only between other characters.
const PLAIN_VALUE = /^[!-$&-~](?: ?[!-$&-~])*$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The Azure metadata name for a stowage metadata key: the key itself. `Store` lets only
 * identifiers that do not start with `stowage_` through (capability `metadataKeys`); any other key
 * reaching here (a backend driven without `Store`) is refused rather than renamed.
 */
export function encodeKey(key: string, objectKey?: string, backend?: string): string {
  if (IDENTIFIER.test(key) && !key.startsWith(RESERVED)) return key;
  throw new InvalidArgumentError(`metadata key ${JSON.stringify(key)} cannot be stored on Azure: its metadata names must be identifiers not starting with "${RESERVED}"`, {
    key: objectKey,
    backend,
  });
}

/**
 * The stowage key of an Azure metadata name, or undefined for the store's own fields and names
 * stowage cannot represent. `stowage_k_…` names, which earlier versions wrote for keys that are no
 * identifiers, decode to the key they escape.
 */
export function decodeKey(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (lower.startsWith(ESCAPED_KEY)) {
    const escaped = lower.slice(ESCAPED_KEY.length);
    if (!/^(?:[a-z0-9]|_5f|_2d)+$/.test(escaped)) return undefined;
    return escaped.replace(/_(5f|2d)/g, (_, hex: string) => (hex === '5f' ? '_' : '-'));
  }
  if (lower.startsWith(RESERVED)) return undefined;
  return STOWAGE_KEY.test(lower) ? lower : undefined;
}

/** The Azure metadata value (ASCII, safe in a header) for a stowage metadata value. */
export function encodeValue(value: string): string {
  if (PLAIN_VALUE.test(value) && !value.startsWith(ENCODED_VALUE)) return value;
  return ENCODED_VALUE + Buffer.from(value, 'utf8').toString('base64url');
}

/**
 * The stowage value of an Azure metadata value. Raw UTF-8 bytes another client sent (the bare
 * `@azure/storage-blob` client sends characters up to U+00FF so, and Node hands them over as
 * Latin-1 characters) become the characters they encode; other values that stowage did not encode
 * come back as they are.
 */
export function decodeValue(value: string): string {
  if (/[\x80-\xff]/.test(value) && !/[^\x00-\xff]/.test(value)) {
    try {
      return utf8.decode(Buffer.from(value, 'latin1'));
    } catch {
      return value;
    }
  }
  if (!value.startsWith(ENCODED_VALUE)) return value;
  const encoded = value.slice(ENCODED_VALUE.length);
  if (!/^[A-Za-z0-9_-]*$/.test(encoded)) return value;
  const bytes = Buffer.from(encoded, 'base64url');
  try {
    return utf8.decode(bytes);
  } catch {
    return value;
  }
}

/**
 * The Azure metadata of an object: the user's metadata, encoded, and the store's SHA-256.
 * `INVALID_ARGUMENT` for a key Azure cannot carry, and when the encoded form passes Azure's 8 KiB
 * limit (which 2 KiB of stowage metadata cannot reach today; checked so that a change of the
 * value encoding can never send a request Azure refuses).
 */
export function toAzureMetadata(metadata: Record<string, string>, sha256: string | undefined, key: string, backend: string): Record<string, string> {
  const out: Record<string, string> = {};
  let size = 0;
  for (const [name, value] of Object.entries(metadata)) {
    const encodedName = encodeKey(name, key, backend);
    const encodedValue = encodeValue(value);
    out[encodedName] = encodedValue;
    size += encodedName.length + encodedValue.length;
  }
  if (sha256 !== undefined) {
    out[SHA256_FIELD] = sha256;
    size += SHA256_FIELD.length + sha256.length;
  }
  if (size > AZURE_METADATA_LIMIT) {
    throw new InvalidArgumentError(
      `the metadata of ${JSON.stringify(key)} is ${size} characters once encoded for Azure, above Azure's limit of ${AZURE_METADATA_LIMIT}`,
      { key, backend },
    );
  }
  return out;
}

/** The user metadata and SHA-256 held in an object's Azure metadata. */
export function fromAzureMetadata(metadata: Record<string, string> | undefined): { metadata: Record<string, string>; sha256: string | undefined } {
  const out: Record<string, string> = {};
  let sha256: string | undefined;
  for (const [name, value] of Object.entries(metadata ?? {})) {
    if (name.toLowerCase() === SHA256_FIELD) {
      if (SHA256_HEX.test(value)) sha256 = value;
      continue;
    }
    const key = decodeKey(name);
    if (key !== undefined) out[key] = decodeValue(value);
  }
  return { metadata: out, sha256 };
}
