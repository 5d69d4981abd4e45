/**
 * Content types inferred from a key's extension, identically on every backend. The table is small on
 * purpose (core stays tiny): pass `contentType` explicitly for anything it does not know.
 *
 * @module
 */

/** The content type of an object whose type was neither given nor inferred. */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

const TYPES: Record<string, string> = {
  '7z': 'application/x-7z-compressed',
  aac: 'audio/aac',
  avif: 'image/avif',
  avro: 'application/avro',
  bin: 'application/octet-stream',
  bmp: 'image/bmp',
  bz2: 'application/x-bzip2',
  cjs: 'text/javascript',
  css: 'text/css',
  csv: 'text/csv',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  eot: 'application/vnd.ms-fontobject',
  epub: 'application/epub+zip',
  flac: 'audio/flac',
  gif: 'image/gif',
  geojson: 'application/geo+json',
  gz: 'application/gzip',
  heic: 'image/heic',
  htm: 'text/html',
  html: 'text/html',
  ico: 'image/vnd.microsoft.icon',
  ics: 'text/calendar',
  jpeg: 'image/jpeg',
  jpg: 'image/jpeg',
  js: 'text/javascript',
  json: 'application/json',
  jsonl: 'application/jsonl',
  md: 'text/markdown',
  mjs: 'text/javascript',
  mov: 'video/quicktime',
  mp3: 'audio/mpeg',
  mp4: 'video/mp4',
  mpeg: 'video/mpeg',
  ndjson: 'application/x-ndjson',
  odp: 'application/vnd.oasis.opendocument.presentation',
  ods: 'application/vnd.oasis.opendocument.spreadsheet',
  odt: 'application/vnd.oasis.opendocument.text',
  oga: 'audio/ogg',
  ogg: 'audio/ogg',
  ogv: 'video/ogg',
  otf: 'font/otf',
  parquet: 'application/vnd.apache.parquet',
  pdf: 'application/pdf',
  png: 'image/png',
  ppt: 'application/vnd.ms-powerpoint',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  rar: 'application/vnd.rar',
  rtf: 'application/rtf',
  svg: 'image/svg+xml',
  tar: 'application/x-tar',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  toml: 'application/toml',
  tsv: 'text/tab-separated-values',
  ttf: 'font/ttf',
  txt: 'text/plain',
  wasm: 'application/wasm',
  wav: 'audio/wav',
  weba: 'audio/webm',
  webm: 'video/webm',
  webmanifest: 'application/manifest+json',
  webp: 'image/webp',
  woff: 'font/woff',
  woff2: 'font/woff2',
  xhtml: 'application/xhtml+xml',
  xls: 'application/vnd.ms-excel',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  xml: 'application/xml',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  zip: 'application/zip',
  zst: 'application/zstd',
};

/**
 * The content type for `key` from its extension (case-insensitive), else `application/octet-stream`.
 *
 * @example
 * ```ts
 * inferContentType('reports/q3.PDF') // 'application/pdf'
 * ```
 */
export function inferContentType(key: string): string {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return DEFAULT_CONTENT_TYPE;
  return TYPES[name.slice(dot + 1).toLowerCase()] ?? DEFAULT_CONTENT_TYPE;
}

/** Where a type has several extensions in the table, the one written for it. */
const PREFERRED: Record<string, string> = {
  'application/octet-stream': '',
  'application/yaml': 'yaml',
  'audio/ogg': 'ogg',
  'image/jpeg': 'jpg',
  'image/tiff': 'tiff',
  'text/html': 'html',
  'text/javascript': 'js',
};

const EXTENSIONS = new Map<string, string>();
for (const [extension, type] of Object.entries(TYPES)) if (!EXTENSIONS.has(type)) EXTENSIONS.set(type, PREFERRED[type] ?? extension);

/**
 * The file extension (without the dot) for a content type (parameters ignored), the reverse of
 * {@link inferContentType}; `''` for a type it does not know and for `application/octet-stream`.
 *
 * @example
 * ```ts
 * extensionOf('image/jpeg') // 'jpg'
 * extensionOf('text/plain; charset=utf-8') // 'txt'
 * ```
 */
export function extensionOf(contentType: string): string {
  const essence = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return EXTENSIONS.get(essence) ?? '';
}
