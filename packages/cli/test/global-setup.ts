/**
 * Before the end-to-end tests: builds the `stowage` binary (and the packages it runs on) through
 * turbo, which skips what is already current (in `.ci/run` the build step just before has built it),
 * and finds or starts the cloud servers once for the whole project, stopped in the teardown:
 *
 * - S3: `STOWAGE_TEST_S3_URL` (MinIO, AWS), else a throwaway Ceph RGW cluster on loopback;
 * - GCS: `STOWAGE_TEST_GCS_URL` (an emulator at `http://host:port`, or `gs://bucket`), else
 *   firebase-tools' storage emulator on a free loopback port;
 * - Azure: `STOWAGE_TEST_AZURE_URL` (`http://127.0.0.1:10000/devstoreaccount1`), else Azurite in
 *   memory on a free loopback port.
 *
 * The tests get each server's settings, or why it is missing, through `inject('cliServers')`. A
 * server that cannot be found is a skip with its reason, or a failure under
 * `STOWAGE_TEST_REQUIRE_SERVERS`.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { gcsServerFromUrl, resolveAzurite, resolveTestServer, s3ServerFromUrl, startCephRgw, startGcsEmulator, type ResolvedServer, type TestServer } from '@stowage/conformance/servers';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** A server's settings, or why the tests that need it are skipped. */
export type ProvidedServer = { settings: Record<string, string>; skip?: undefined } | { settings?: undefined; skip: string };

/** The servers of this run. */
export interface CliServers {
  s3: ProvidedServer;
  gcs: ProvidedServer;
  azure: ProvidedServer;
}

declare module 'vitest' {
  export interface ProvidedContext {
    cliServers: CliServers;
  }
}

/** The bucket the tests work in (below random prefixes). */
const TEST_BUCKET = 'stowage-test';

function build(): void {
  try {
    execFileSync(process.execPath, [`${ROOT}node_modules/turbo/bin/turbo`, 'run', 'build', '--filter=@stowage/cli', '--output-logs=errors-only'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
    });
  } catch (error) {
    const detail = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim();
    throw new Error(`building the stowage command failed (run \`pnpm turbo run build --filter=@stowage/cli\` to see why): ${detail}`, { cause: error });
  }
  if (!existsSync(BIN)) throw new Error(`the build did not produce ${BIN}`);
}

function provided(resolved: ResolvedServer): ProvidedServer {
  return resolved.server ? { settings: { ...resolved.server.settings, endpoint: resolved.server.endpoint } } : { skip: resolved.skip };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  build();
  const started: TestServer[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.allSettled(started.map((server) => server.stop()));
  };
  try {
    // Side by side; a server that started is stopped again even when the other one fails.
    const settled = await Promise.allSettled([
      resolveTestServer('s3', { fromUrl: (url) => s3ServerFromUrl(url, 'the S3 server of STOWAGE_TEST_S3_URL'), start: () => startCephRgw({ bucket: TEST_BUCKET }) }),
      resolveTestServer('gcs', {
        fromUrl: (url) => gcsServerFromUrl(url, { bucket: TEST_BUCKET, server: process.env.STOWAGE_TEST_GCS_SERVER || undefined }),
        start: () => startGcsEmulator({ resolveFrom: import.meta.url, bucket: TEST_BUCKET }),
      }),
      resolveAzurite({ resolveFrom: import.meta.url }),
    ]);
    for (const result of settled) if (result.status === 'fulfilled' && result.value.server) started.push(result.value.server);
    const [s3, gcs, azure] = settled.map((result) => {
      if (result.status === 'rejected') throw result.reason;
      return result.value;
    }) as [ResolvedServer, ResolvedServer, ResolvedServer];
    project.provide('cliServers', { s3: provided(s3), gcs: provided(gcs), azure: provided(azure) });
  } catch (error) {
    await stopAll();
    throw error;
  }
  return stopAll;
}
