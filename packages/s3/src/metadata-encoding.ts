/**
 * User metadata on the wire. S3 carries it as `x-amz-meta-*` headers, so names and values must be
 * ASCII (Node refuses to send anything else, and Ceph RGW returns raw bytes), and every server
 * mangles something: values lose leading and trailing whitespace, a run of spaces or a tab breaks
 * the signature, an empty value may vanish, and RGW turns `_` in a name into `-`.
 *
 * - Values that are plain printable ASCII go as they are. Any other value (non-ASCII, control
 *   characters, leading, trailing or doubled spaces, empty, or one that starts with `=?`) goes as an
 *   RFC 2047 encoded word, `=?UTF-8?B?<base64>?=`, the form AWS itself uses for non-ASCII metadata;
 *   since every value starting with `=?` is encoded, decoding is unambiguous.
 * - Names keep letters, digits and `-`; each `_` becomes `..`. The store's own fields use a single
 *   `.` (`stowage.sha256`), which no user name can produce, so they never collide.
 *
 * @module
 */

/** The store's own field that holds the SHA-256 of the content. */
export const SHA256_FIELD = 'stowage.sha256';

const ENCODED_WORD = /^=\?utf-8\?b\?([A-Za-z0-9+/]*={0,2})\?=$/i;
const PLAIN_VALUE = /^[\x21-\x7e](?:[\x21-\x7e]| (?! ))*$/;

/** The wire form of one metadata value. */
export function encodeValue(value: string): string {
  if (PLAIN_VALUE.test(value) && !value.startsWith('=?') && !value.endsWith(' ')) return value;
  return `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/** The value from its wire form (an encoded word is decoded; anything else is taken as it is). */
export function decodeValue(wire: string): string {
  const match = ENCODED_WORD.exec(wire);
  return match ? Buffer.from(match[1]!, 'base64').toString('utf8') : wire;
}

/** The wire name of a user metadata key (`[a-z0-9_-]+`). */
export function encodeName(name: string): string {
  return name.replaceAll('_', '..');
}

/** The user metadata key of a wire name. */
export function decodeName(wire: string): string {
  return wire.toLowerCase().replaceAll('..', '_');
}

/** The `Metadata` map to send: the user's metadata and the store's own fields. */
export function toWireMetadata(metadata: Record<string, string>, sha256: string | undefined): Record<string, string> {
  const wire: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata)) wire[encodeName(name)] = encodeValue(value);
  if (sha256 !== undefined) wire[SHA256_FIELD] = sha256;
  return wire;
}

/** The user's metadata and the store's own fields from a `Metadata` map as the SDK returns it. */
export function fromWireMetadata(wire: Record<string, string> | undefined): { metadata: Record<string, string>; sha256: string | undefined } {
  const metadata: Record<string, string> = {};
  let sha256: string | undefined;
  for (const [name, value] of Object.entries(wire ?? {})) {
    const lower = name.toLowerCase();
    if (lower === SHA256_FIELD) {
      if (/^[0-9a-f]{64}$/.test(value)) sha256 = value;
      continue;
    }
    metadata[decodeName(lower)] = decodeValue(value);
  }
  return { metadata, sha256 };
}
