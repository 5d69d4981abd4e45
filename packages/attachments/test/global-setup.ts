/**
 * Finds the database servers once per run, with the conformance kit's harness:
 * `STOWAGE_TEST_POSTGRES_URL` / `STOWAGE_TEST_MYSQL_URL` when set, else the machine's own services
 * on their default loopback ports. The tests `inject` the URL, or the reason to skip; with
 * `STOWAGE_TEST_REQUIRE_SERVERS=1` (CI) an unreachable server fails the run here.
 */
import { resolveTestServer, s3ServerFromUrl, startCephRgw, tcpAnswers, type TestServer } from '@stowage/conformance/servers';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    postgres: { url: string; skip?: undefined } | { url?: undefined; skip: string };
    mysql: { url: string; skip?: undefined } | { url?: undefined; skip: string };
    /** An S3 server's settings (`S3ServerSettings`), or why the S3 store's tests are skipped. */
    s3: { settings: Record<string, string>; skip?: undefined } | { settings?: undefined; skip: string };
  }
}

const DEFAULTS = {
  postgres: 'postgres://postgres@127.0.0.1:5432/test',
  mysql: 'mysql://root@127.0.0.1:3306/test',
} as const;

function server(name: string, url: string): TestServer {
  const parsed = new URL(url);
  return { name, endpoint: `${parsed.protocol}//${parsed.host}${parsed.pathname}`, settings: { url }, startedHere: false, stop: async () => {} };
}

async function reachable(name: 'postgres' | 'mysql', url: string): Promise<TestServer> {
  const parsed = new URL(url);
  const port = Number(parsed.port || (name === 'postgres' ? 5432 : 3306));
  if (!(await tcpAnswers(parsed.hostname, port))) throw new Error(`nothing answers at ${parsed.host}`);
  return server(name, url);
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  for (const name of ['postgres', 'mysql'] as const) {
    // No server is started here: these machines (and CI's service containers) run both databases.
    const resolved = await resolveTestServer(name, { fromUrl: (url) => reachable(name, url), start: () => reachable(name, DEFAULTS[name]) });
    project.provide(name, resolved.server ? { url: resolved.server.settings.url! } : { skip: resolved.skip });
  }
  // Blobs on S3 too: STOWAGE_TEST_S3_URL (MinIO, AWS), else a Ceph RGW cluster of this project's own.
  const s3 = await resolveTestServer('s3', { fromUrl: (url) => s3ServerFromUrl(url, 'the server of STOWAGE_TEST_S3_URL'), start: () => startCephRgw() });
  project.provide('s3', s3.server ? { settings: { ...s3.server.settings } } : { skip: s3.skip });
  return async () => {
    await s3.server?.stop();
  };
}
