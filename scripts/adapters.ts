/**
 * What the repository's tools must know about each adapter package that its package.json does not
 * say: the install check (its SDK, what a user adds, how to open a store) and the README's
 * capability matrix (its capability object; columns in this order). Adapters are found by
 * themselves (a publishable workspace package whose entry exports `adapter`); a new adapter joins
 * this table with one entry, and the install check fails until it does.
 *
 * Run with `--conditions=@stowage/source`: the server starters come from the conformance kit's
 * sources.
 *
 * @module
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { AZURITE_ACCOUNT_KEY, azuriteFromUrl, s3ServerFromUrl, startAzurite, startGcsEmulator, startS3rver, type TestServer } from '@stowage/conformance/servers';
import { ROOT } from './workspace.ts';

/** A server the install check talks to, found as the adapter's own tests find theirs. */
export interface SmokeServer {
  /** `STOWAGE_TEST_<NAME>_URL` points at a running one. */
  readonly name: string;
  /** The server of that URL. */
  fromUrl(url: string): Promise<TestServer>;
  /** Else a local one, started for the check and stopped after it. */
  start(): Promise<TestServer>;
  /** The adapter's options for it. */
  options(settings: Readonly<Record<string, string>>): Record<string, unknown>;
}

/** How the install check exercises an adapter in a project of its own. */
export type SmokeTarget =
  /** `openStore(url)` in the project's folder, then write, read back, list, delete. */
  | { readonly url: string }
  /**
   * `openStore({ type, options })` on the server, then write, read back, list, delete. When no server
   * can be found or started (and none is required), the adapter is only constructed from `offline`,
   * without I/O, and its declared capabilities are checked.
   */
  | { readonly server: SmokeServer; readonly offline: Record<string, unknown> };

/** One adapter's facts. */
export interface AdapterFacts {
  /** The name of the capability object the package exports (the README's capability matrix shows it). */
  readonly capabilities: string;
  /**
   * The packages that belong to this adapter: its SDK or drivers. No other adapter's install may
   * contain them. A name ending in `/` is a whole scope.
   */
  readonly sdk: readonly string[];
  /** What a user installs next to core and the adapter (a driver); the version is the adapter's devDependency range. */
  readonly alsoInstall?: readonly string[];
  /** How the install check opens a store. */
  readonly smoke: SmokeTarget;
}

/** The file of a package as installed for one workspace package (a test server among its devDependencies). */
function installedFor(workspacePackage: string, file: string): string {
  return createRequire(join(ROOT, 'packages', workspacePackage, 'package.json')).resolve(file);
}

const s3Options = (settings: Readonly<Record<string, string>>): Record<string, unknown> => ({
  bucket: settings.bucket,
  endpoint: settings.endpoint,
  region: settings.region,
  forcePathStyle: settings.forcePathStyle === 'true',
  credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
});

/** A GCS emulator given by URL (fake-gcs-server, say): its bucket is created when missing, as emulators start empty. */
async function gcsEmulatorAt(url: string): Promise<TestServer> {
  const endpoint = new URL(url).origin;
  if (!/^https?:$/.test(new URL(url).protocol)) throw new Error('the install check talks to a GCS emulator only (http://host:port)');
  const response = await fetch(`${endpoint}/storage/v1/b?project=test`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'stowage-test' }) });
  await response.body?.cancel();
  if (!response.ok && response.status !== 409) throw new Error(`creating the bucket stowage-test at ${endpoint} answered ${response.status}`);
  return { name: 'gcs', endpoint, settings: { apiEndpoint: endpoint, projectId: 'test', bucket: 'stowage-test' }, startedHere: false, stop: async () => {} };
}

/** Every adapter package of the workspace, by package name, in the capability matrix's column order. */
export const ADAPTERS: Readonly<Record<string, AdapterFacts>> = {
  '@stowage/memory': { capabilities: 'MEMORY_CAPABILITIES', sdk: [], smoke: { url: 'memory://' } },
  '@stowage/local': { capabilities: 'LOCAL_CAPABILITIES', sdk: [], smoke: { url: 'file:./data' } },
  '@stowage/sql-blob': { capabilities: 'SQL_BLOB_CAPABILITIES', sdk: ['better-sqlite3', 'pg', 'mysql2'], alsoInstall: ['better-sqlite3'], smoke: { url: 'sqlite:./store.db' } },
  '@stowage/s3': {
    capabilities: 'S3_CAPABILITIES',
    sdk: ['@aws-sdk/', '@smithy/', '@aws-crypto/'],
    smoke: {
      server: { name: 's3', fromUrl: (url) => s3ServerFromUrl(url), start: () => startS3rver({ script: join(dirname(installedFor('s3', 's3rver/package.json')), 'bin', 's3rver.js') }), options: s3Options },
      offline: { bucket: 'install-check', region: 'us-east-1', credentials: { accessKeyId: 'offline', secretAccessKey: 'offline' } },
    },
  },
  '@stowage/gcs': {
    capabilities: 'GCS_CAPABILITIES',
    sdk: ['@google-cloud/', 'google-auth-library', 'gaxios', 'gcp-metadata', 'gtoken'],
    smoke: {
      server: {
        name: 'gcs',
        fromUrl: gcsEmulatorAt,
        start: () => startGcsEmulator({ resolveFrom: join(ROOT, 'packages', 'gcs', 'package.json'), bucket: 'stowage-test' }),
        options: (settings) => ({ bucket: settings.bucket, apiEndpoint: settings.apiEndpoint, projectId: settings.projectId || 'test' }),
      },
      offline: { bucket: 'install-check', projectId: 'offline' },
    },
  },
  '@stowage/azure': {
    capabilities: 'AZURE_CAPABILITIES',
    sdk: ['@azure/', '@typespec/'],
    smoke: {
      server: {
        name: 'azure',
        fromUrl: async (url) => azuriteFromUrl(url),
        start: () => startAzurite({ resolveFrom: join(ROOT, 'packages', 'azure', 'package.json') }),
        options: (settings) => ({ container: 'install-check', endpoint: settings.endpoint, accountKey: settings.accountKey, createContainer: true }),
      },
      offline: { container: 'install-check', endpoint: 'http://127.0.0.1:9/devstoreaccount1', accountKey: AZURITE_ACCOUNT_KEY },
    },
  },
};

/** Whether an installed package is one of `sdk`'s names or scopes. */
export function belongsTo(installed: string, sdk: readonly string[]): boolean {
  return sdk.some((entry) => (entry.endsWith('/') ? installed.startsWith(entry) : installed === entry));
}
