/**
 * The conformance suite on s3rver: fast and local, but partial. Its gaps are declared once, below,
 * and reported as "not verifiable on this server"; the suite on Ceph RGW (or MinIO) checks them.
 */
import { describe, it } from 'vitest';
import { describeConformance } from '@stowage/conformance/vitest';
import { openTestStore, server } from './servers.ts';
import { S3RVER_OVERRIDES } from './s3rver-gaps.ts';

const PART_SIZE = 5 * 1024 * 1024;

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
