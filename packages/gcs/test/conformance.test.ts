/**
 * The GCS adapter against the whole conformance suite (bare and rooted) on this run's server, and
 * again with a 1 MiB resumable threshold so that bodies just above the suite's chunk size take the
 * resumable path. Skipped with the reason when no server could be found or started (a failure
 * under STOWAGE_TEST_REQUIRE_SERVERS=1).
 */
import { describe, it } from 'vitest';
import { describeConformance } from '@stowage/conformance/vitest';
import { openTestStore, server, serverOverrides } from './servers.ts';

if (server.skip !== undefined) {
  describe('gcs', () => {
    it.skip(`conformance: ${server.skip}`, () => {});
  });
} else {
  const overrides = serverOverrides();
  describeConformance({ name: `gcs (${server.server})`, overrides, factory: () => openTestStore() });
  describeConformance({
    name: `gcs (${server.server}, resumable above 1 MiB)`,
    rooted: false,
    overrides,
    factory: () => openTestStore({ resumableThreshold: 1024 * 1024 }),
  });
}
