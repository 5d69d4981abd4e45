/**
 * Finds or starts the GCS server for the whole `gcs` project, once: `STOWAGE_TEST_GCS_URL` when set
 * (`http://host:port`, an emulator such as fake-gcs-server; `gs://bucket`, real GCS with Application
 * Default Credentials), else firebase-tools' storage emulator on a free loopback port, stopped in
 * the teardown. The tests get the settings through `inject('gcsServer')`.
 */
import type { TestProject } from 'vitest/node';
import { gcsServerFromUrl, resolveTestServer, startGcsEmulator } from '@stowage/conformance/servers';
import type { GcsTestServer } from './servers.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    gcsServer: GcsTestServer;
  }
}

const TEST_BUCKET = 'stowage-test';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const resolved = await resolveTestServer('gcs', {
    fromUrl: (url) => gcsServerFromUrl(url, { bucket: TEST_BUCKET, server: process.env.STOWAGE_TEST_GCS_SERVER || undefined }),
    start: () => startGcsEmulator({ resolveFrom: import.meta.url, bucket: TEST_BUCKET }),
  });
  project.provide('gcsServer', resolved.server ? ({ ...resolved.server.settings, endpoint: resolved.server.endpoint } as GcsTestServer) : { skip: resolved.skip });
  return async () => {
    await resolved.server?.stop();
  };
}
