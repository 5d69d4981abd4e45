/**
 * Finds or starts the GCS server for the whole `gcs` project, once: `STOWAGE_TEST_GCS_URL` when set
 * (`http://host:port`, an emulator such as fake-gcs-server; `gs://bucket`, real GCS with Application
 * Default Credentials), else firebase-tools' storage emulator on a free loopback port, stopped in
 * the teardown. The tests get the settings through `inject('gcsServer')`.
 */
import type { TestProject } from 'vitest/node';
import { resolveTestServer, startGcsEmulator, type TestServer } from '@stowage/conformance/servers';
import type { GcsTestServer } from './servers.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    gcsServer: GcsTestServer;
  }
}

const TEST_BUCKET = 'stowage-test';

/** An emulator at `url`: its test bucket is created when missing (emulators start empty). */
async function emulatorAt(url: string): Promise<TestServer> {
  const endpoint = new URL(url).origin;
  const response = await fetch(`${endpoint}/storage/v1/b?project=test`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: TEST_BUCKET }),
    signal: AbortSignal.timeout(10_000),
  });
  await response.body?.cancel();
  if (!response.ok && response.status !== 409) throw new Error(`creating the bucket ${TEST_BUCKET} at ${endpoint} answered ${response.status}`);
  const server = process.env.STOWAGE_TEST_GCS_SERVER || 'gcs-emulator';
  return { name: 'gcs', endpoint, settings: { apiEndpoint: endpoint, projectId: 'test', bucket: TEST_BUCKET, server }, startedHere: false, stop: async () => undefined };
}

/** Real GCS: `gs://bucket` (credentials and project from the environment). */
function realGcs(url: URL): TestServer {
  const projectId = process.env.GOOGLE_CLOUD_PROJECT ?? '';
  return { name: 'gcs', endpoint: 'https://storage.googleapis.com', settings: { bucket: url.hostname, projectId, server: 'gcs' }, startedHere: false, stop: async () => undefined };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const resolved = await resolveTestServer('gcs', {
    fromUrl: (url) => (url.startsWith('gs://') ? realGcs(new URL(url)) : emulatorAt(url)),
    start: () => startGcsEmulator({ resolveFrom: import.meta.url, bucket: TEST_BUCKET }),
  });
  project.provide('gcsServer', resolved.server ? ({ ...resolved.server.settings, endpoint: resolved.server.endpoint } as GcsTestServer) : { skip: resolved.skip });
  return async () => {
    await resolved.server?.stop();
  };
}
