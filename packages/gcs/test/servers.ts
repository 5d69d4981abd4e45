/**
 * What the tests know about the GCS server of this run (from global-setup.ts), how they open a
 * backend on it, and the server's declared gaps.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { Store } from '@stowage/core';
import type { Overrides } from '@stowage/conformance';
import { FAKE_GCS_SERVER_OVERRIDES, FIREBASE_STORAGE_EMULATOR_OVERRIDES, testServiceAccountKey as makeServiceAccountKey } from '@stowage/conformance/servers';
import { GcsBackend, type GcsCapabilities, type GcsOptions, type ServiceAccountKey } from '@stowage/gcs';

/** The settings global-setup.ts provides, or why the server is missing. */
export type GcsTestServer =
  | { skip?: undefined; endpoint: string; apiEndpoint?: string; projectId: string; bucket: string; server: string }
  | { skip: string };

/** The server of this run. */
export const server: GcsTestServer = inject('gcsServer');

/** Whether the run talks to firebase-tools' storage emulator (started here). */
export const onFirebaseEmulator = server.skip === undefined && server.server === 'firebase-storage-emulator';

let key: ServiceAccountKey | undefined;

/** A service-account key made for the tests: signing works locally with it; no server knows it. */
export function testServiceAccountKey(): ServiceAccountKey {
  key ??= makeServiceAccountKey();
  return key;
}

/**
 * Options for a backend on this run's server below a fresh random prefix. On the firebase emulator,
 * resumable uploads go in one streamed request (`chunkSize: 0`): it stores only the first part of a
 * chunked one. On real GCS and other emulators the defaults apply.
 */
export function testOptions(extra: Partial<GcsOptions> = {}): GcsOptions {
  if (server.skip !== undefined) throw new Error(server.skip);
  const options: GcsOptions = { bucket: server.bucket, prefix: `stowage-${randomBytes(6).toString('hex')}` };
  if (server.apiEndpoint !== undefined) options.apiEndpoint = server.apiEndpoint;
  if (server.projectId) options.projectId = server.projectId;
  // Signing needs a key; on real GCS the run's own credentials sign.
  if (server.apiEndpoint !== undefined) options.credentials = testServiceAccountKey();
  if (onFirebaseEmulator) options.chunkSize = 0;
  return { ...options, ...extra };
}

/** A store on a fresh backend (see {@link testOptions}); its objects are deleted by `teardown`. */
export async function openTestStore(extra: Partial<GcsOptions> = {}): Promise<{ store: Store<GcsCapabilities>; backend: GcsBackend; teardown: () => Promise<void> }> {
  const backend = await GcsBackend.open(testOptions(extra));
  const store = new Store(backend);
  return {
    store,
    backend,
    teardown: async () => {
      const keys: string[] = [];
      for await (const entry of store.listAll()) keys.push(entry.key);
      await store.deleteMany(keys);
      await store.close();
    },
  };
}

/** The declared gaps of this run's server (none on real GCS). */
export function serverOverrides(): Overrides {
  if (server.skip !== undefined) return {};
  if (server.server === 'firebase-storage-emulator') return FIREBASE_STORAGE_EMULATOR_OVERRIDES;
  if (server.server === 'fake-gcs-server') return FAKE_GCS_SERVER_OVERRIDES;
  return {};
}
