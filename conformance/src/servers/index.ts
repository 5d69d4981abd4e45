/**
 * `@stowage/conformance/servers`: the harness that finds or starts the servers an adapter's tests run
 * against. For each backend: `STOWAGE_TEST_<BACKEND>_URL` when set (a container, a cloud account),
 * else a local process on a free loopback port, stopped when the run ends. In CI
 * (`STOWAGE_TEST_REQUIRE_SERVERS=1`) a server that cannot be found or started fails the run.
 *
 * Starters for servers that need more than a command line live here too: {@link startGcsEmulator}
 * (Google Cloud Storage, on firebase-tools' storage emulator), and {@link mountSmallFilesystem} (a
 * small tmpfs for full-disk tests).
 *
 * @module
 */
export {
  freePort,
  httpAnswers,
  resolveTestServer,
  serverRequired,
  serverUrlVariable,
  spawnServer,
  tcpAnswers,
  type ResolveServerOptions,
  type ResolvedServer,
  type SpawnServerOptions,
  type SpawnedServer,
  type TestServer,
} from './process.ts';
export { AZURITE_ACCOUNT, AZURITE_ACCOUNT_KEY, azuriteBlobMain, azuriteFromUrl, resolveAzurite, startAzurite, type AzuriteOptions } from './azurite.ts';
export { assertCephInstalled, startCephRgw, type CephRgwOptions } from './ceph-rgw.ts';
export { createBucket, DEFAULT_TEST_BUCKET, s3ServerFromUrl, type S3ServerSettings } from './s3-endpoint.ts';
export { startS3rver, type S3rverOptions } from './s3rver.ts';
export { mountSmallFilesystem, type MountedFilesystem, type SmallFilesystem } from './small-filesystem.ts';
export {
  FAKE_GCS_SERVER_OVERRIDES,
  FIREBASE_STORAGE_EMULATOR_OVERRIDES,
  FIREBASE_TOOLS_VERSION,
  gcsServerFromUrl,
  resolveFirebaseTools,
  startGcsEmulator,
  testServiceAccountKey,
  type GcsEmulatorOptions,
  type TestServiceAccountKey,
} from './gcs-emulator.ts';
