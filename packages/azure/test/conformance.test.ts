/**
 * The whole conformance suite against Azurite (or STOWAGE_TEST_AZURE_URL), with no override: on a
 * container of its own (bare and rooted), then under a backend prefix with 256 KiB blocks (the
 * suite's chunk size, so that its boundary bodies cross the one-request/staged-blocks boundary) and
 * every copy done asynchronously (Copy Blob, polled) instead of with Copy Blob From URL.
 */
import { describe, it } from 'vitest';
import { describeConformance } from '@stowage/conformance/vitest';
import { openTestBackend, server } from './servers.ts';

const BLOCK = 256 * 1024;

if (server.skip !== undefined) {
  describe('azure', () => {
    it.skip(`conformance: ${server.skip}`, () => {});
  });
} else {
  describeConformance({ name: 'azure (Azurite)', factory: () => openTestBackend() });
  describeConformance({
    name: 'azure (Azurite, prefix, 256 KiB blocks, polled copies)',
    rooted: false,
    chunkSize: BLOCK,
    factory: () => openTestBackend({ prefix: 'under/a prefix', blockSize: BLOCK, concurrency: 3, syncCopyLimit: 0, copyPollInterval: 20 }),
  });
}
