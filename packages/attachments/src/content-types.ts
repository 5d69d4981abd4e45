/**
 * Content types: matching against a slot's allowed list, and recognizing a file from its first
 * bytes. The signature table is small on purpose: formats whose first bytes identify them
 * unambiguously (images, PDF, archives, audio and video containers, executables). Text formats
 * (plain text, CSV, JSON, SVG, HTML) have no signature; for them the declared type decides.
 *
 * @module
 */

/** How many leading bytes are read to recognize a file. */
export const SNIFF_BYTES = 64;

interface Signature {
  /** The type the bytes show. */
  type: string;
  /** Types whose files all start like this (a ZIP signature is also a DOCX, an EPUB, ...). */
  family: string;
  test(bytes: Uint8Array): boolean;
}

function startsWith(bytes: Uint8Array, prefix: readonly number[], offset = 0): boolean {
  if (bytes.byteLength < offset + prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[offset + i] !== prefix[i]) return false;
  return true;
}

function ascii(text: string): number[] {
  return Array.from(text, (char) => char.charCodeAt(0));
}

function isoBrand(bytes: Uint8Array): string | undefined {
  if (!startsWith(bytes, ascii('ftyp'), 4)) return undefined;
  return String.fromCharCode(...bytes.subarray(8, 12));
}

const SIGNATURES: readonly Signature[] = [
  { type: 'image/png', family: 'png', test: (b) => startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  { type: 'image/jpeg', family: 'jpeg', test: (b) => startsWith(b, [0xff, 0xd8, 0xff]) },
  { type: 'image/gif', family: 'gif', test: (b) => startsWith(b, ascii('GIF87a')) || startsWith(b, ascii('GIF89a')) },
  { type: 'image/webp', family: 'webp', test: (b) => startsWith(b, ascii('RIFF')) && startsWith(b, ascii('WEBP'), 8) },
  { type: 'audio/wav', family: 'wav', test: (b) => startsWith(b, ascii('RIFF')) && startsWith(b, ascii('WAVE'), 8) },
  // "BM" alone would catch text; the four reserved header bytes are zero in every bitmap.
  { type: 'image/bmp', family: 'bmp', test: (b) => startsWith(b, ascii('BM')) && startsWith(b, [0, 0, 0, 0], 6) },
  { type: 'image/tiff', family: 'tiff', test: (b) => startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a]) },
  { type: 'image/avif', family: 'isobmff', test: (b) => ['avif', 'avis'].includes(isoBrand(b) ?? '') },
  { type: 'image/heic', family: 'isobmff', test: (b) => ['heic', 'heix', 'heim', 'heis', 'mif1', 'msf1'].includes(isoBrand(b) ?? '') },
  { type: 'video/quicktime', family: 'isobmff', test: (b) => isoBrand(b) === 'qt  ' },
  { type: 'audio/mp4', family: 'isobmff', test: (b) => isoBrand(b) === 'M4A ' },
  { type: 'video/mp4', family: 'isobmff', test: (b) => isoBrand(b) !== undefined },
  { type: 'video/webm', family: 'ebml', test: (b) => startsWith(b, [0x1a, 0x45, 0xdf, 0xa3]) },
  { type: 'audio/ogg', family: 'ogg', test: (b) => startsWith(b, ascii('OggS')) },
  { type: 'audio/flac', family: 'flac', test: (b) => startsWith(b, ascii('fLaC')) },
  { type: 'audio/mpeg', family: 'mpeg-audio', test: (b) => startsWith(b, ascii('ID3')) && (b[3] ?? 0) >= 2 && (b[3] ?? 0) <= 4 },
  { type: 'application/pdf', family: 'pdf', test: (b) => startsWith(b, ascii('%PDF-')) },
  { type: 'application/zip', family: 'zip', test: (b) => startsWith(b, [0x50, 0x4b, 0x03, 0x04]) || startsWith(b, [0x50, 0x4b, 0x05, 0x06]) },
  { type: 'application/gzip', family: 'gzip', test: (b) => startsWith(b, [0x1f, 0x8b, 0x08]) },
  { type: 'application/x-7z-compressed', family: '7z', test: (b) => startsWith(b, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]) },
  { type: 'application/vnd.rar', family: 'rar', test: (b) => startsWith(b, ascii('Rar!\x1a\x07')) },
  { type: 'application/zstd', family: 'zstd', test: (b) => startsWith(b, [0x28, 0xb5, 0x2f, 0xfd]) },
  { type: 'application/wasm', family: 'wasm', test: (b) => startsWith(b, [0x00, 0x61, 0x73, 0x6d]) },
  { type: 'application/x-sqlite3', family: 'sqlite', test: (b) => startsWith(b, ascii('SQLite format 3\0')) },
  { type: 'application/x-executable', family: 'elf', test: (b) => startsWith(b, [0x7f, 0x45, 0x4c, 0x46]) },
];

/** Declared types whose files are recognizable, by family (more than the table's own types). */
const FAMILIES = new Map<string, string>([
  ...SIGNATURES.map((signature) => [signature.type, signature.family] as [string, string]),
  ['image/jpg', 'jpeg'],
  ['image/pjpeg', 'jpeg'],
  ['image/x-png', 'png'],
  ['audio/x-wav', 'wav'],
  ['audio/wave', 'wav'],
  ['image/heif', 'isobmff'],
  ['image/heic-sequence', 'isobmff'],
  ['image/heif-sequence', 'isobmff'],
  ['video/x-m4v', 'isobmff'],
  ['audio/x-m4a', 'isobmff'],
  ['video/3gpp', 'isobmff'],
  ['audio/webm', 'ebml'],
  ['video/x-matroska', 'ebml'],
  ['audio/x-matroska', 'ebml'],
  ['video/ogg', 'ogg'],
  ['application/ogg', 'ogg'],
  ['audio/opus', 'ogg'],
  ['audio/x-flac', 'flac'],
  ['audio/mp3', 'mpeg-audio'],
  ['application/x-pdf', 'pdf'],
  ['application/x-zip-compressed', 'zip'],
  ['application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'zip'],
  ['application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'zip'],
  ['application/vnd.openxmlformats-officedocument.presentationml.presentation', 'zip'],
  ['application/vnd.oasis.opendocument.text', 'zip'],
  ['application/vnd.oasis.opendocument.spreadsheet', 'zip'],
  ['application/vnd.oasis.opendocument.presentation', 'zip'],
  ['application/epub+zip', 'zip'],
  ['application/java-archive', 'zip'],
  ['application/x-gzip', 'gzip'],
]);

/** The type's essence: lowercase `type/subtype`, parameters dropped. */
export function essence(contentType: string): string {
  const semicolon = contentType.indexOf(';');
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}

/**
 * Whether `contentType` matches one of `patterns`: exact types (`application/pdf`), whole top-level
 * types (`image/*`) or anything (`*` or `*\/*`). Parameters and case are ignored.
 */
export function contentTypeMatches(contentType: string, patterns: readonly string[]): boolean {
  const type = essence(contentType);
  const top = type.slice(0, type.indexOf('/'));
  return patterns.some((pattern) => {
    const wanted = essence(pattern);
    return wanted === '*' || wanted === '*/*' || wanted === type || (wanted.endsWith('/*') && wanted.slice(0, -2) === top);
  });
}

/** The type the first bytes show, or `undefined` when they match no signature. */
export function sniffContentType(head: Uint8Array): string | undefined {
  return SIGNATURES.find((signature) => signature.test(head))?.type;
}

/** What the first bytes say about a declared type. */
export type SniffVerdict =
  /** The bytes agree with the declared type, or show nothing and the type has no signature: keep it. */
  | { kind: 'declared' }
  /** The bytes show another recognizable type: store it as this one. */
  | { kind: 'sniffed'; type: string }
  /** The declared type has a signature and the bytes do not carry it. */
  | { kind: 'mismatch' };

/** Compares a declared type with the file's first bytes (see the module's rules). */
export function judgeContentType(declared: string, head: Uint8Array): SniffVerdict {
  const family = FAMILIES.get(essence(declared));
  const sniffed = SIGNATURES.find((signature) => signature.test(head));
  if (sniffed) return sniffed.family === family ? { kind: 'declared' } : { kind: 'sniffed', type: sniffed.type };
  return family === undefined ? { kind: 'declared' } : { kind: 'mismatch' };
}

/** The first bytes of a body (up to `count`), and the whole body again, for the write. */
export async function peek(source: AsyncIterable<Uint8Array>, count: number): Promise<{ head: Uint8Array; body: AsyncIterable<Uint8Array>; close(): Promise<void> }> {
  const iterator = source[Symbol.asyncIterator]();
  const buffered: Uint8Array[] = [];
  let total = 0;
  let done = false;
  while (total < count) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    buffered.push(next.value);
    total += next.value.byteLength;
  }
  const head = new Uint8Array(Math.min(total, count));
  let offset = 0;
  for (const chunk of buffered) {
    if (offset >= head.byteLength) break;
    const part = chunk.subarray(0, head.byteLength - offset);
    head.set(part, offset);
    offset += part.byteLength;
  }
  async function* body(): AsyncGenerator<Uint8Array> {
    let finished = done;
    try {
      yield* buffered.splice(0);
      while (!finished) {
        const next = await iterator.next();
        if (next.done) {
          finished = true;
          break;
        }
        yield next.value;
      }
    } finally {
      if (!finished) await iterator.return?.();
    }
  }
  return { head, body: body(), close: async () => void (done ? undefined : await iterator.return?.()) };
}
