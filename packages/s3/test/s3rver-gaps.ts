/**
 * What s3rver 3.7 does not do, declared once for every suite that runs on it and reported as "not
 * verifiable on this server"; RGW and MinIO check all of it.
 */

export const LIST_ORDER = 's3rver lists in path-segment order (a/b before a-b), not UTF-8 byte order';
export const PAGES = 's3rver ignores the page size together with a delimiter, and repeats keys across pages';
export const CONDITIONS = 's3rver ignores If-None-Match and If-Match';
export const RANGES = 's3rver gets ranges wrong: bytes=0-0 returns the whole object, a suffix returns one byte too many, and a range of an empty object breaks the response';
export const NAME_LIMIT = 's3rver stores each key as a file named after it plus a suffix: a 255-byte segment exceeds the file system name limit and the server process crashes';
export const COPY_SOURCE = 's3rver decodes x-amz-copy-source with decodeURI, which leaves %2B (+) encoded: the in-place copy that attaches the SHA-256 to a multipart object whose key holds + finds no source';

/** The conformance cases s3rver cannot verify, by case id. */
export const S3RVER_OVERRIDES: Readonly<Record<string, string>> = {
  'keys/valid/segment-255-ascii': NAME_LIMIT,
  'keys/valid/segment-255-multibyte': NAME_LIMIT,
  'keys/valid/key-1024': NAME_LIMIT,
  'keys/list-order': LIST_ORDER,
  'keys/distinct/whitespace': LIST_ORDER,
  'listing/prefix': LIST_ORDER,
  'listing/prefix-inside-segment': LIST_ORDER,
  'listing/iterators': LIST_ORDER,
  'delete/only-the-key': LIST_ORDER,
  'hierarchy/flat-coexist': LIST_ORDER,
  'listing/page-sizes': PAGES,
  'listing/cursor-after-folder': PAGES,
  'listing/more-than-one-page': PAGES,
  'conditional/create-only-existing': CONDITIONS,
  'conditional/if-match-stale': CONDITIONS,
  'conditional/if-match-missing': CONDITIONS,
  'conditional/concurrent-create-only': CONDITIONS,
  'conditional/concurrent-if-match': CONDITIONS,
  'copy-move/create-only-copy': CONDITIONS,
  'copy-move/create-only-move': CONDITIONS,
  'range/offset-length': RANGES,
  'range/suffix': RANGES,
  'range/chunk-boundary': RANGES,
  'range/empty-object': RANGES,
  'atomicity/readers-during-overwrite': 's3rver rewrites an object file in place, so a read during an overwrite can see a mix',
  'atomicity/open-read-during-overwrite': 's3rver rewrites an object file in place, so a read during an overwrite can see a mix',
  'signed-url/tampered': 's3rver accepts any signature, so a tampered signed URL works',
  ...Object.fromEntries(['uint8array', 'arraybuffer', 'string', 'blob', 'web-stream', 'node-readable', 'async-iterable'].map((type) => [`bodies/${type}/chunk+1`, COPY_SOURCE])),
};
