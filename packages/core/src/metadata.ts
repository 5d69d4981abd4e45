/**
 * User metadata and content type rules, checked once in `Store`.
 *
 * @module
 */
import { InvalidArgumentError } from './errors.ts';
import { utf8Length } from './paths.ts';

/** The most user metadata one object carries: keys plus values, in UTF-8 bytes. */
export const MAX_METADATA_BYTES = 2048;

const METADATA_KEY = /^[a-z0-9_-]+$/;
const CONTENT_TYPE = /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(?:[ \t]*;[\x20-\x7e]*)?$/;

/**
 * Checks user metadata: keys lowercase `[a-z0-9-_]`, values strings (any Unicode without lone
 * surrogates), at most {@link MAX_METADATA_BYTES} in all. Returns a fresh plain object.
 */
export function validateMetadata(metadata: unknown, key?: string): Record<string, string> {
  if (metadata === undefined) return {};
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new InvalidArgumentError('metadata must be an object of string values', { key });
  }
  const out: Record<string, string> = {};
  let bytes = 0;
  for (const [name, value] of Object.entries(metadata)) {
    if (!METADATA_KEY.test(name)) {
      throw new InvalidArgumentError(`metadata key ${JSON.stringify(name)} must match [a-z0-9_-]+ (lowercase)`, { key });
    }
    if (typeof value !== 'string') {
      throw new InvalidArgumentError(`metadata value of ${JSON.stringify(name)} must be a string, got ${typeof value}`, { key });
    }
    if (!value.isWellFormed()) {
      throw new InvalidArgumentError(`metadata value of ${JSON.stringify(name)} contains a lone surrogate`, { key });
    }
    bytes += name.length + utf8Length(value);
    out[name] = value;
  }
  if (bytes > MAX_METADATA_BYTES) {
    throw new InvalidArgumentError(`metadata is ${bytes} bytes; at most ${MAX_METADATA_BYTES} bytes are allowed`, { key });
  }
  return out;
}

/** Refuses metadata keys a backend with `metadataKeys: 'identifier'` cannot carry: not an identifier, or `stowage_…`. */
export function checkIdentifierMetadataKeys(metadata: Record<string, string>, backend: string, key?: string): void {
  for (const name of Object.keys(metadata)) {
    const reserved = name.startsWith('stowage_');
    if (!reserved && /^[a-z_]\w*$/.test(name)) continue;
    const why = reserved ? 'names starting with "stowage_" are kept for the store\'s own fields' : `its metadata names must be identifiers (a letter or _ first, then letters, digits and _); use a key such as ${JSON.stringify(name.replace(/^\d/, '_$&').replaceAll('-', '_'))}`;
    throw new InvalidArgumentError(`metadata key ${JSON.stringify(name)} cannot be stored on ${backend}: ${why}`, { key, backend });
  }
}

/** Checks a content type such as `text/plain; charset=utf-8`. */
export function validateContentType(contentType: unknown, key?: string): string {
  if (typeof contentType !== 'string' || contentType.length > 255 || !CONTENT_TYPE.test(contentType)) {
    throw new InvalidArgumentError(`invalid content type ${JSON.stringify(contentType)}: expected "type/subtype"`, { key });
  }
  return contentType;
}
