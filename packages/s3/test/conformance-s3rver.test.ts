/**
 * The conformance suite on s3rver: fast and local, but partial. Its gaps are declared once, below,
 * and reported as "not verifiable on this server"; the suite on Ceph RGW (or MinIO) checks them.
 */
import { describe, it } from 'vitest';
import { describeConformance } from '@stowage/conformance/vitest';
import { openTestStore, server } from './servers.ts';

const PART_SIZE = 5 * 1024 * 1024;

const LIST_ORDER = 's3rver lists in path-segment order (a/b before a-b), not UTF-8 byte order';
const PAGES = 's3rver ignores the page size together with a delimiter, and repeats keys across pages';
const CONDITIONS = 's3rver ignores If-None-Match and If-Match';
const RANGES = 's3rver gets ranges wrong: bytes=0-0 returns the whole object, a suffix returns one byte too many, and a range of an empty object breaks the response';
const NAME_LIMIT = 's3rver stores each key as a file named after it plus a suffix: a 255-byte segment exceeds the file system name limit and the server process crashes';
const COPY_SOURCE = 's3rver decodes x-amz-copy-source with decodeURI, which leaves %2B (+) encoded: the in-place copy that attaches the SHA-256 to a multipart object whose key holds + finds no source';

/** What s3rver 3.7 does not do, by case id; reported as not verifiable there. RGW and MinIO check all of it. */
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

const s3rver = server('s3rver');
if (s3rver.settings === undefined) {
  describe('s3 (s3rver)', () => {
    it.skip(`conformance: ${s3rver.skip}`, () => {});
  });
} else {
  const settings = s3rver.settings;
  describeConformance({
    name: 's3 (s3rver)',
    chunkSize: PART_SIZE,
    overrides: S3RVER_OVERRIDES,
    factory: () => openTestStore(settings, 'conformance', { partSize: PART_SIZE }),
  });
}
