/**
 * PostgreSQL against the whole conformance suite (bare and rooted), each block on its own randomly
 * named table that is dropped afterwards; a second block uses 4 KiB chunks so that every case also
 * runs on chunked objects. Skipped with a reason when the server is unreachable, failed in CI
 * (STOWAGE_TEST_REQUIRE_SERVERS=1).
 */
import { describe, it } from 'vitest';
import { describeConformance } from '@stowage/conformance/vitest';
import { openTestBackend, serverUrl } from './servers.ts';

const server = await serverUrl('postgres');
if (server.url === undefined) {
  describe('sql-blob postgres', () => {
    it.skip(`conformance: ${server.skip}`, () => {});
  });
} else {
  const url = server.url;
  describeConformance({ name: 'sql-blob postgres', factory: () => openTestBackend('postgres', url) });
  describeConformance({ name: 'sql-blob postgres (4 KiB chunks)', rooted: false, factory: () => openTestBackend('postgres', url, { chunkSize: 4096 }) });
}
