/**
 * A local Google Cloud Storage test server: the storage emulator of `firebase-tools`, which serves
 * the GCS JSON API. The official `firebase emulators:start` needs Java and downloads a rules jar;
 * the GCS API needs neither, so this starts the emulator's own classes in a child Node process with
 * the security-rules runtime and rules manager replaced by no-ops (every request is an admin's).
 *
 * These are firebase-tools internals: {@link FIREBASE_TOOLS_VERSION} is the version this was written
 * and tested against, and the starter refuses to guess with another one. `firebase-tools` is not a
 * dependency of the conformance kit: it is resolved from the caller (`resolveFrom`), so the package
 * whose tests use this server lists it as a devDependency.
 *
 * The emulator's gaps, verified against the GCS client: it ignores every precondition
 * (`ifGenerationMatch`, …); a chunked resumable upload stores only its first chunk (an upload in one
 * resumable request works); signed URLs are served without checking the signature or expiry, and a
 * signed PUT gets 501; there is no bucket creation (a bucket appears on first write), no
 * `objects.move`, no batch endpoint; a listing with a delimiter returns every prefix on every page;
 * listings come in UTF-16 code-unit order; a page token is the next object's name, so a listing
 * resumed after that object was deleted starts again from the top. One routing slip is fixed here
 * instead of declared: the emulator registers `objects.patch`, `objects.rewrite` and `objects.copy`
 * only without the `/storage/v1` base path that every GCS client sends, although it implements
 * them; the starter routes the client's paths to those handlers. And its HTTP server closes idle
 * connections after Node's default 5 s, while the GCS client keeps them in its pool indefinitely:
 * a request that picks a connection the server is closing fails with "socket hang up". The starter
 * gives the server a 65 s idle timeout, as front ends of real services have.
 *
 * @module
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Overrides } from '../types.ts';
import { freePort, spawnServer, type TestServer } from './process.ts';

/** The firebase-tools version whose internals the starter uses. */
export const FIREBASE_TOOLS_VERSION = '15.34.2';

const PRECONDITIONS_IGNORED = 'the firebase storage emulator ignores ifGenerationMatch and every other precondition';

/**
 * The conformance cases this emulator cannot verify, each seen failing there with a correct adapter
 * (pass as `describeConformance({ overrides })`). Everything else the suite checks passes on it.
 */
export const FIREBASE_STORAGE_EMULATOR_OVERRIDES: Overrides = Object.freeze({
  'conditional/create-only-existing': PRECONDITIONS_IGNORED,
  'conditional/if-match-stale': PRECONDITIONS_IGNORED,
  'conditional/if-match-missing': PRECONDITIONS_IGNORED,
  'conditional/concurrent-create-only': PRECONDITIONS_IGNORED,
  'conditional/concurrent-if-match': PRECONDITIONS_IGNORED,
  'copy-move/create-only-copy': PRECONDITIONS_IGNORED,
  'copy-move/create-only-move': PRECONDITIONS_IGNORED,
  'keys/list-order': 'the firebase storage emulator lists in UTF-16 code-unit order (real GCS: UTF-8 bytes)',
  'listing/page-sizes': 'the firebase storage emulator returns every common prefix on every page, ignoring maxResults with a delimiter',
  'listing/cursor-after-folder': 'the firebase storage emulator returns every common prefix on every page, ignoring maxResults with a delimiter',
  'listing/more-than-one-page': 'the firebase storage emulator returns every common prefix on every page, ignoring maxResults with a delimiter',
  'signed-url/tampered': 'the firebase storage emulator serves signed URLs without checking the signature',
  'signed-url/expired': 'the firebase storage emulator serves signed URLs without checking the expiry',
  'signed-url/fetch-put': 'the firebase storage emulator answers a signed PUT with 501 Not Implemented',
  // Each of these also checks that an ifMatch on an etag from before another writer's change fails.
  'other-writers/overwrite-small': PRECONDITIONS_IGNORED,
  'other-writers/overwrite-chunked': PRECONDITIONS_IGNORED,
  'other-writers/delete-recreate': PRECONDITIONS_IGNORED,
  'other-writers/copy': PRECONDITIONS_IGNORED,
  'other-writers/concurrent-cas': PRECONDITIONS_IGNORED,
});

/**
 * The conformance cases fake-gcs-server (the container of the GitHub workflow and docker-compose.yml)
 * cannot verify: it accepts any signed URL, as its maintainer says (fsouza/fake-gcs-server#381,
 * #1391); its signed-URL routes go straight to the object handlers.
 */
export const FAKE_GCS_SERVER_OVERRIDES: Overrides = Object.freeze({
  'signed-url/tampered': 'fake-gcs-server serves signed URLs without checking the signature',
  'signed-url/expired': 'fake-gcs-server serves signed URLs without checking the expiry',
});

/** A Google service-account key, as a key file holds it. */
export type TestServiceAccountKey = {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
};

/**
 * A service-account key made up for tests (a fresh RSA key each call): a GCS client signs URLs
 * locally with it, which is all an emulator needs; no server knows it, so real GCS refuses it.
 */
export function testServiceAccountKey(projectId = 'demo-test'): TestServiceAccountKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  return {
    type: 'service_account',
    project_id: projectId,
    private_key_id: randomBytes(20).toString('hex'),
    private_key: privateKey,
    client_email: `stowage-test@${projectId}.iam.gserviceaccount.com`,
    client_id: '100000000000000000000',
  };
}

/** Options of {@link startGcsEmulator}. */
export interface GcsEmulatorOptions {
  /**
   * Where `firebase-tools` is resolved from: a file or directory path or `file:` URL inside the
   * package that depends on it (default: the working directory).
   */
  resolveFrom?: string | URL | undefined;
  /** The project id the emulator answers for (default `demo-test`). */
  projectId?: string | undefined;
  /** The bucket name put in `settings.bucket` (default `stowage-test`; it appears on first write). */
  bucket?: string | undefined;
  /** How long to wait for the emulator to listen (default 60 s). */
  timeoutMs?: number | undefined;
}

// Runs in the child. argv: the firebase-tools directory, the port, the project id.
const CHILD_SCRIPT = String.raw`
const [dir, portText, projectId] = process.argv.slice(1);
const http = require('node:http');
const createServer = http.createServer;
http.createServer = function (...args) {
  const server = createServer.apply(this, args);
  server.keepAliveTimeout = 65000;
  server.headersTimeout = 66000;
  return server;
};
const storage = require(dir + '/lib/emulator/storage/index.js');
const rules = require(dir + '/lib/emulator/storage/rules/runtime.js');
const cloudApi = require(dir + '/lib/emulator/storage/apis/gcloud.js');
const { EmulatorRegistry } = require(dir + '/lib/emulator/registry.js');
rules.StorageRulesRuntime.prototype.start = async function () {};
rules.StorageRulesRuntime.prototype.stop = async function () {};
storage.StorageEmulator.prototype.createRulesManager = function () {
  return { start: async () => ({ errors: [], warnings: [] }), stop: async () => {}, getRuleset: () => undefined };
};
const ROUTED = /^\/storage\/v1(\/b\/[^/?]+\/o\/[^/?]+(?:\/(?:rewriteTo|copyTo)\/b\/[^/?]+\/o\/[^/?]+)?(?:\?.*)?)$/;
const createCloudEndpoints = cloudApi.createCloudEndpoints;
cloudApi.createCloudEndpoints = function (emulator) {
  const router = createCloudEndpoints(emulator);
  return function (request, response, next) {
    const routed = ROUTED.exec(request.url);
    const isPatch = request.method === 'PATCH' && routed && !/\/(?:rewriteTo|copyTo)\//.test(routed[1]);
    const isCopy = request.method === 'POST' && routed && /\/(?:rewriteTo|copyTo)\//.test(routed[1]);
    if (isPatch || isCopy) request.url = routed[1];
    return router(request, response, next);
  };
};
const emulator = new storage.StorageEmulator({ projectId, host: '127.0.0.1', port: Number(portText), auto_download: false });
EmulatorRegistry.start(emulator).then(
  () => console.log('stowage gcs emulator listening on 127.0.0.1:' + portText),
  (error) => { console.error(error && error.stack || String(error)); process.exit(1); },
);
const stop = () => EmulatorRegistry.stopAll().finally(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
`;

/**
 * A GCS server given by URL (`STOWAGE_TEST_GCS_URL`): `http://host:port`, an emulator at that
 * endpoint, whose bucket is created when missing (emulators start empty; `server` names it for its
 * declared gaps, default `'gcs-emulator'`); or `gs://bucket`, real GCS, with Application Default
 * Credentials and the project of `GOOGLE_CLOUD_PROJECT`. Its `settings` are those of
 * {@link startGcsEmulator} (without `apiEndpoint` for real GCS).
 */
export async function gcsServerFromUrl(text: string, options: { bucket?: string | undefined; server?: string | undefined } = {}): Promise<TestServer> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error('the GCS test URL is not a URL (expected http://host:port for an emulator or gs://bucket for real GCS)');
  }
  if (url.protocol === 'gs:') {
    const settings = { bucket: url.hostname, projectId: process.env.GOOGLE_CLOUD_PROJECT ?? '', server: 'gcs' };
    return { name: 'gcs', endpoint: 'https://storage.googleapis.com', settings, startedHere: false, stop: async () => undefined };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`the GCS test URL must be http:, https: or gs:, not ${url.protocol}`);
  const endpoint = url.origin;
  const bucket = options.bucket ?? 'stowage-test';
  const response = await fetch(`${endpoint}/storage/v1/b?project=test`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: bucket }),
    signal: AbortSignal.timeout(10_000),
  });
  await response.body?.cancel();
  if (!response.ok && response.status !== 409) throw new Error(`creating the bucket ${bucket} at ${endpoint} answered ${response.status}`);
  const settings = { apiEndpoint: endpoint, projectId: 'test', bucket, server: options.server ?? 'gcs-emulator' };
  return { name: 'gcs', endpoint, settings, startedHere: false, stop: async () => undefined };
}

/** The directory of the firebase-tools package seen from `resolveFrom`, checked against the pinned version. */
export function resolveFirebaseTools(resolveFrom: string | URL | undefined): string {
  const base = resolveFrom === undefined ? pathToFileURL(join(process.cwd(), 'package.json')) : resolveFrom instanceof URL || /^file:/.test(resolveFrom) ? new URL(resolveFrom) : pathToFileURL(resolveFrom);
  const require = createRequire(base);
  let manifest: string;
  try {
    manifest = require.resolve('firebase-tools/package.json');
  } catch (cause) {
    const from = base.protocol === 'file:' ? fileURLToPath(base) : String(base);
    throw new Error(
      `the GCS test server needs the npm package firebase-tools@${FIREBASE_TOOLS_VERSION}, which cannot be resolved from ${from}: add it as a devDependency (\`pnpm add -D firebase-tools@${FIREBASE_TOOLS_VERSION}\`)`,
      { cause },
    );
  }
  const { version } = require(manifest) as { version?: string };
  if (version !== FIREBASE_TOOLS_VERSION) {
    throw new Error(`the GCS test server uses internals of firebase-tools ${FIREBASE_TOOLS_VERSION}, but ${version ?? 'an unknown version'} is installed: install firebase-tools@${FIREBASE_TOOLS_VERSION}`);
  }
  return dirname(manifest);
}

/**
 * Starts the firebase-tools storage emulator on a free loopback port in a child process. The
 * returned server's `settings` hold `apiEndpoint` (also what `STORAGE_EMULATOR_HOST` takes),
 * `projectId`, `bucket` and `server: 'firebase-storage-emulator'`. `stop()` ends the process and
 * removes its temporary directory (where it keeps object bytes).
 */
export async function startGcsEmulator(options: GcsEmulatorOptions = {}): Promise<TestServer> {
  const directory = resolveFirebaseTools(options.resolveFrom);
  const projectId = options.projectId ?? 'demo-test';
  const bucket = options.bucket ?? 'stowage-test';
  // The emulator keeps object bytes under os.tmpdir() and logs into its working directory: a
  // private directory for both, so that parallel runs never share or delete each other's files.
  const workspace = await mkdtemp(join(tmpdir(), 'stowage-gcs-emulator-'));
  // Also when the test process ends without stopping the server (the harness kills the child then).
  const removeWorkspace = (): void => rmSync(workspace, { recursive: true, force: true });
  process.once('exit', removeWorkspace);
  // It cannot take port 0 (it falls back to its default port), so a free one is chosen first; a
  // port taken in between is retried with another.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      const spawned = await spawnServer({
        name: 'firebase storage emulator',
        command: process.execPath,
        args: ['-e', CHILD_SCRIPT, directory, String(port), projectId],
        cwd: workspace,
        env: { TMPDIR: workspace, TEMP: workspace, TMP: workspace, STORAGE_EMULATOR_DEBUG: undefined },
        ready: /stowage gcs emulator listening on 127\.0\.0\.1:(\d+)/,
        timeoutMs: options.timeoutMs,
      });
      const endpoint = `http://127.0.0.1:${port}`;
      let stopped = false;
      return {
        name: 'gcs',
        endpoint,
        settings: { apiEndpoint: endpoint, projectId, bucket, server: 'firebase-storage-emulator' },
        startedHere: true,
        async stop() {
          if (stopped) return;
          stopped = true;
          await spawned.stop();
          process.off('exit', removeWorkspace);
          await rm(workspace, { recursive: true, force: true });
        },
      };
    } catch (error) {
      lastError = error;
      if (!/EADDRINUSE/.test(String((error as Error).message))) break;
    }
  }
  process.off('exit', removeWorkspace);
  await rm(workspace, { recursive: true, force: true });
  throw lastError;
}
