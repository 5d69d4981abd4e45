/**
 * The reliability checks on this run's GCS server (firebase-tools' storage emulator here, whose
 * gaps are declared), reached through a fault proxy for the connection checks.
 */
import { describe, it } from 'vitest';
import { FIREBASE_STORAGE_EMULATOR_OVERRIDES } from '@stowage/conformance/servers';
import { Store } from '@stowage/core';
import type { FaultProxy } from '@stowage/conformance/faults';
import { describeReliability, type ReliabilityCheck } from '@stowage/conformance/reliability';
import { GcsBackend } from '@stowage/gcs';
import { onFirebaseEmulator, openTestStore, server, testOptions, testServiceAccountKey } from './servers.ts';

/** Uploads above 1 MiB take the resumable path, so that the cut uploads are the streamed kind. */
const RESUMABLE_THRESHOLD = 1024 * 1024;

/** The proxied and the direct backend on one fresh prefix. GCS keeps no object of a failed upload, so nothing is left over to look for. */
async function faultStores(proxy: FaultProxy) {
  const options = testOptions({ resumableThreshold: RESUMABLE_THRESHOLD });
  const direct = await GcsBackend.open(options);
  const proxied = await GcsBackend.open({ ...options, apiEndpoint: proxy.url(options.apiEndpoint!) });
  const directStore = new Store(direct);
  return {
    proxied: new Store(proxied),
    direct: directStore,
    teardown: async () => {
      const keys: string[] = [];
      for await (const entry of directStore.listAll()) keys.push(entry.key);
      await directStore.deleteMany(keys);
      await proxied.close();
      await direct.close();
    },
  };
}

const EMULATOR_GAPS: Partial<Record<ReliabilityCheck, string>> = {
  'races/create-only': FIREBASE_STORAGE_EMULATOR_OVERRIDES['conditional/concurrent-create-only']!,
  'races/compare-and-swap': FIREBASE_STORAGE_EMULATOR_OVERRIDES['conditional/concurrent-if-match']!,
  resources:
    "the GCS client keeps idle connections in a keep-alive pool that every client of the process shares (its HTTP layer's 'forever' agent): close() cannot release them without closing other clients' connections; they hold no request and the server's idle timeout closes them",
};

if (server.skip !== undefined) {
  describe('stowage reliability: gcs', () => {
    it.skip(`reliability: ${server.skip}`, () => {});
  });
} else {
  const key = testServiceAccountKey();
  // Lines of the PEM body: a key printed in pieces still shows them.
  const pemLines = (key.private_key ?? '').split('\n').filter((line) => line.length > 40).slice(0, 3);
  describeReliability({
    name: `gcs (${server.server})`,
    factory: () => openTestStore({ resumableThreshold: RESUMABLE_THRESHOLD }),
    overrides: onFirebaseEmulator ? EMULATOR_GAPS : { resources: EMULATOR_GAPS.resources! },
    keys: { timeLimitMs: 15_000, listingOrderGap: onFirebaseEmulator ? FIREBASE_STORAGE_EMULATOR_OVERRIDES['keys/list-order'] : undefined },
    faults: server.apiEndpoint === undefined ? undefined : { target: server.apiEndpoint, open: faultStores, uploadSize: 2 * 1024 * 1024, downloadSize: 1024 * 1024, trials: 3 },
    secrets: [...pemLines, key.private_key_id ?? ''],
    failures: [
      async () => GcsBackend.open({ ...testOptions(), credentials: JSON.stringify(key).slice(0, -2) }),
    ],
  });
}
