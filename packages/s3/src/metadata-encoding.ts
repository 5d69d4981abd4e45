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

/** One RFC 2047 encoded word: charset, `B` (base64) or `Q` (quoted-printable-like), text. */
const ENCODED_WORD = /=\?([^?\s]+)\?([bq])\?([^?\s]*)\?=/gi;
/** A value made only of encoded words, with optional whitespace between them (which RFC 2047 drops). */
const ENCODED_WORDS = /^=\?[^?\s]+\?[bq]\?[^?\s]*\?=(?:\s*=\?[^?\s]+\?[bq]\?[^?\s]*\?=)*$/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });
const PLAIN_VALUE = /^[\x21-\x7e](?:[\x21-\x7e]| (?! ))*$/;

/** The wire form of one metadata value. */
export function encodeValue(value: string): string {
  if (PLAIN_VALUE.test(value) && !value.startsWith('=?') && !value.endsWith(' ')) return value;
  return `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/** The bytes of one encoded word's text, or undefined for a charset it does not name as UTF-8, ASCII or Latin-1. */
function wordBytes(charset: string, encoding: string, text: string): Buffer | undefined {
  const bytes = encoding.toLowerCase() === 'b' ? Buffer.from(text, 'base64') : Buffer.from(text.replaceAll('_', ' ').replace(/=([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
  const name = charset.toLowerCase().replace(/\*.*$/, '');
  if (name === 'utf-8' || name === 'utf8' || name === 'us-ascii') return bytes;
  if (name === 'iso-8859-1' || name === 'latin1') return Buffer.from(bytes.toString('latin1'), 'utf8');
  return undefined;
}

/**
 * The value from its wire form, whoever wrote it: RFC 2047 encoded words (stowage's and AWS's
 * `=?UTF-8?B?…?=`, `Q` words, several words in a row, UTF-8, ASCII or Latin-1) are decoded; raw
 * UTF-8 bytes (what rclone and the bare AWS SDK for JavaScript send, and Node hands over as Latin-1
 * characters) become the characters they encode; anything else is taken as it is.
 */
export function decodeValue(wire: string): string {
  if (ENCODED_WORDS.test(wire)) {
    const parts: Buffer[] = [];
    for (const [, charset, encoding, text] of wire.matchAll(ENCODED_WORD)) {
      const bytes = wordBytes(charset!, encoding!, text!);
      if (bytes === undefined) return wire;
      parts.push(bytes);
    }
    try {
      return utf8.decode(Buffer.concat(parts));
    } catch {
      return wire;
    }
  }
  // Header bytes reach Node as Latin-1 characters: a value that is valid UTF-8 as bytes was sent as UTF-8.
  if (/[\x80-\xff]/.test(wire) && !/[^\x00-\xff]/.test(wire)) {
    try {
      return utf8.decode(Buffer.from(wire, 'latin1'));
    } catch {
      return wire;
    }
  }
  return wire;
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
