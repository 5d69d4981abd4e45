/**
 * Starts the S3 servers once for the whole `s3` vitest project and hands their settings to the tests
 * (`inject('s3Servers')`): the main server from `STOWAGE_TEST_S3_URL` (MinIO, AWS) or else a Ceph
 * RGW cluster started here, and s3rver (`STOWAGE_TEST_S3RVER_URL`, else started here). A server that
 * cannot be found is a skip with its reason, or a failure under `STOWAGE_TEST_REQUIRE_SERVERS`.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { resolveTestServer, s3ServerFromUrl, startCephRgw, startS3rver, type TestServer } from '@stowage/conformance/servers';

/** Each server's settings (`S3ServerSettings` as strings), or why its tests are skipped. */
export type ProvidedServer = { settings: Record<string, string>; name: string; skip?: undefined } | { settings?: undefined; name?: undefined; skip: string };

declare module 'vitest' {
  export interface ProvidedContext {
    s3Servers: { main: ProvidedServer; s3rver: ProvidedServer };
  }
}

function provided(resolved: { server?: TestServer | undefined; skip?: string | undefined }): ProvidedServer {
  return resolved.server ? { settings: { ...resolved.server.settings }, name: resolved.server.name } : { skip: resolved.skip! };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started: TestServer[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.allSettled(started.map((server) => server.stop()));
  };
  try {
    const main = await resolveTestServer('s3', { fromUrl: (url) => s3ServerFromUrl(url, 'the server of STOWAGE_TEST_S3_URL'), start: () => startCephRgw() });
    if (main.server) started.push(main.server);
    const script = join(dirname(createRequire(import.meta.url).resolve('s3rver/package.json')), 'bin', 's3rver.js');
    const s3rver = await resolveTestServer('s3rver', { fromUrl: (url) => s3ServerFromUrl(url, 's3rver'), start: () => startS3rver({ script }) });
    if (s3rver.server) started.push(s3rver.server);
    project.provide('s3Servers', { main: provided(main), s3rver: provided(s3rver) });
  } catch (error) {
    await stopAll();
    throw error;
  }
  return stopAll;
}
