/**
 * The whole conformance suite (bare and rooted) on the faithful S3 server: Ceph RGW started by the
 * global setup, or the server of STOWAGE_TEST_S3_URL (MinIO in CI). No overrides. The suite's chunk
 * size is the adapter's part size, so bodies of one part and one byte more cross from PutObject into
 * a multipart upload.
 */
import { describe, it } from 'vitest';
import { describeConformance } from '@stowage/conformance/vitest';
import { openTestStore, server } from './servers.ts';

const PART_SIZE = 5 * 1024 * 1024;
const main = server('main');
if (main.settings === undefined) {
  describe('s3', () => {
    it.skip(`conformance: ${main.skip}`, () => {});
  });
} else {
  const settings = main.settings;
  describeConformance({
    name: `s3 (${main.name})`,
    chunkSize: PART_SIZE,
    largeSize: 24 * 1024 * 1024,
    factory: () => openTestStore(settings, 'conformance', { partSize: PART_SIZE }),
  });
}
