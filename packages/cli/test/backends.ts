/**
 * The backends the end-to-end tests run every command against: how a key is written as a location
 * on each, how the command shows it, and the server each needs (PostgreSQL and MySQL/MariaDB are
 * skipped with a reason when unreachable, and fail the run under STOWAGE_TEST_REQUIRE_SERVERS; the
 * S3, GCS and Azure servers come from global-setup.ts). The cloud stores are reached the ways a
 * user would: S3 through a configured store whose credentials are `${ENV}` references, GCS through
 * `gs://` URLs with the credentials and endpoint in the environment variables its SDK reads, Azure
 * through `az://` URLs with `AZURE_STORAGE_CONNECTION_STRING`.
 */
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { inject } from 'vitest';
import { openStore, type BackendConfig } from '@stowage/core';
import type { Overrides } from '@stowage/conformance';
import { FAKE_GCS_SERVER_OVERRIDES, FIREBASE_STORAGE_EMULATOR_OVERRIDES, serverRequired, testServiceAccountKey } from '@stowage/conformance/servers';
import type { ProvidedServer } from './global-setup.ts';
import { randomName, type Workspace } from './run-binary.ts';

/** One backend as the tests address it. */
export interface TestBackend {
  name: string;
  /** The location of `key` (which may be empty or end with `/`). */
  at(key: string): string;
  /** How the command shows that location in its output. */
  shown(key: string): string;
  /** Prepares the working directory (a configuration file) and the environment the runs need. */
  setup?(workspace: Workspace): Promise<void>;
  /** The environment every run needs. */
  env?: Record<string, string> | undefined;
  /** A store URL (or configured store) to name in a doctor configuration. */
  doctorStore: { backend: string } | { config: string; name: string };
  /** Removes what the tests left on a server. */
  teardown?(): Promise<void>;
  /** Why the backend's tests are skipped. */
  skip?: string | undefined;
  /** The key the store reports for the test's `key` (the key below a URL location's random prefix). */
  storeKey?(key: string): string;
  /** Whether the backend signs URLs itself (otherwise `sign` needs the links of `stowage serve`). */
  signsNatively?: boolean | undefined;
  /** The server's declared gaps: the overrides its adapter's conformance run declares. */
  overrides?: Overrides | undefined;
  /** Headers an upload through a signed PUT URL must send besides its content type (Azure's blob type). */
  signedPutHeaders?: Record<string, string> | undefined;
}

/** The reason a check cannot be made on the backend's server, or undefined when it can. */
export function gap(backend: TestBackend, caseId: string): string | undefined {
  return backend.overrides?.[caseId];
}

/** The S3, GCS and Azure servers of this run (from global-setup.ts). */
export function cloudServer(name: 's3' | 'gcs' | 'azure'): ProvidedServer {
  return inject('cliServers')[name];
}

/** The declared gaps of a GCS server, by its name: the lists the gcs adapter's conformance run declares. */
export function gcsOverrides(server: string | undefined): Overrides {
  if (server === 'firebase-storage-emulator') return FIREBASE_STORAGE_EMULATOR_OVERRIDES;
  if (server === 'fake-gcs-server') return FAKE_GCS_SERVER_OVERRIDES;
  return {};
}

/** Deletes every object of a store (a test's prefix on a shared bucket), then closes it. */
export async function emptyStore(config: BackendConfig, root: string): Promise<void> {
  // The adapters are this package's dev dependencies: imported from here, not from core.
  const store = await openStore(config, { root, load: (specifier) => import(specifier) });
  try {
    const keys: string[] = [];
    for await (const entry of store.listAll()) keys.push(entry.key);
    await store.deleteMany(keys);
  } finally {
    await store.close();
  }
}

function unavailable(name: string, server: ProvidedServer & { skip: string }): string {
  if (serverRequired(name)) throw new Error(`${server.skip}; STOWAGE_TEST_REQUIRE_SERVERS requires it`);
  return server.skip;
}

/**
 * The environment a configured S3 store reads through `${ENV}` references (the configuration of
 * {@link S3_CONFIG}), for the server of this run and a store root.
 */
export function s3ConfigEnv(settings: Record<string, string>, root: string): Record<string, string> {
  return {
    LAKE_BUCKET: settings.bucket!,
    LAKE_ENDPOINT: settings.endpoint!,
    LAKE_REGION: settings.region!,
    LAKE_ACCESS_KEY: settings.accessKeyId!,
    LAKE_SECRET_KEY: settings.secretAccessKey!,
    LAKE_ROOT: root,
  };
}

/** A configuration with the S3 store `lake`, its bucket, endpoint, credentials and root from the environment. */
export const S3_CONFIG: string = [
  'backends:',
  '  lake:',
  '    type: s3',
  '    options:',
  '      bucket: ${LAKE_BUCKET}',
  '      endpoint: ${LAKE_ENDPOINT}',
  '      region: ${LAKE_REGION:-us-east-1}',
  '      forcePathStyle: true',
  '      credentials:',
  '        accessKeyId: ${LAKE_ACCESS_KEY}',
  '        secretAccessKey: ${LAKE_SECRET_KEY}',
  'stores:',
  '  lake:',
  '    backend: lake',
  '    root: ${LAKE_ROOT}',
  '',
].join('\n');

/** The options of a backend on this run's S3 server. */
export function s3BackendConfig(settings: Record<string, string>): BackendConfig {
  return {
    type: 's3',
    options: {
      bucket: settings.bucket,
      endpoint: settings.endpoint,
      region: settings.region,
      forcePathStyle: true,
      credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
    },
  };
}

function s3Backend(): TestBackend {
  const server = cloudServer('s3');
  const root = `${randomName('cli-')}/`;
  const base = {
    name: 'S3 (a configured store, credentials from ${ENV})',
    at: (key: string) => `lake:${key}`,
    shown: (key: string) => `lake:${key}`,
    doctorStore: { config: 'stowage.config.yaml', name: 'lake' },
    signsNatively: true,
    overrides: {},
  };
  if (server.skip !== undefined) return { ...base, skip: unavailable('s3', server) };
  return {
    ...base,
    env: s3ConfigEnv(server.settings, root),
    async setup(workspace) {
      await workspace.file('stowage.config.yaml', S3_CONFIG);
    },
    teardown: () => emptyStore(s3BackendConfig(server.settings), root),
  };
}

/**
 * The environment the GCS client reads (the emulator's endpoint, the project, a key file to sign
 * with) for the server of this run; the key file is written to `keyFile`. On real GCS, Application
 * Default Credentials apply as they are.
 */
export async function gcsEnv(settings: Record<string, string>, keyFile: string): Promise<Record<string, string>> {
  // The Google auth library must never probe the metadata server's address.
  const env: Record<string, string> = { METADATA_SERVER_DETECTION: 'none' };
  if (settings.projectId) env.GOOGLE_CLOUD_PROJECT = settings.projectId;
  if (settings.apiEndpoint !== undefined) {
    env.STORAGE_EMULATOR_HOST = settings.apiEndpoint;
    await writeFile(keyFile, JSON.stringify(testServiceAccountKey(settings.projectId || undefined)));
    env.GOOGLE_APPLICATION_CREDENTIALS = keyFile;
  }
  return env;
}

/** The locations of a store URL's keys below the test's own random prefix (which the store reports as part of each key). */
function belowPrefix(storeUrl: string, prefix: string): Pick<TestBackend, 'at' | 'shown' | 'storeKey' | 'doctorStore'> {
  return {
    at: (key) => `${storeUrl}/${prefix}${key}`,
    shown: (key) => `${storeUrl}/${prefix}${key}`,
    storeKey: (key) => `${prefix}${key}`,
    doctorStore: { backend: storeUrl },
  };
}

function gcsBackend(): TestBackend {
  const server = cloudServer('gcs');
  const prefix = `${randomName('cli-')}/`;
  const bucket = server.settings?.bucket ?? 'stowage-test';
  const base = {
    name: "GCS (gs:// URLs, credentials and endpoint from the SDK's environment variables)",
    ...belowPrefix(`gs://${bucket}`, prefix),
    signsNatively: true,
    overrides: gcsOverrides(server.settings?.server),
  };
  if (server.skip !== undefined) return { ...base, skip: unavailable('gcs', server) };
  const { settings } = server;
  const env: Record<string, string> = {};
  return {
    ...base,
    env,
    async setup(workspace) {
      Object.assign(env, await gcsEnv(settings, join(workspace.dir, 'gcs-key.json')));
    },
    teardown: () => emptyStore({ type: 'gcs', options: { bucket, prefix, apiEndpoint: settings.apiEndpoint, projectId: settings.projectId || undefined } }, ''),
  };
}

function reachable(url: string): Promise<boolean> {
  const parsed = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: parsed.hostname, port: Number(parsed.port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * The tests' own database on the server, created when missing: other suites on the same server kill
 * the idle sessions of their database to test lost connections, and must not hit these.
 */
const DATABASE = 'stowage_cli_test';

async function createDatabase(name: 'postgres' | 'mysql', url: string): Promise<void> {
  if (name === 'postgres') {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
      if (found.rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE}`).catch((error: { code?: string }) => (error.code === '42P04' || error.code === '23505' ? undefined : Promise.reject(error)));
    } finally {
      await client.end();
    }
  } else {
    const mysql = await import('mysql2/promise');
    const connection = await mysql.createConnection(url);
    try {
      await connection.query(`CREATE DATABASE IF NOT EXISTS ${DATABASE}`);
    } finally {
      await connection.end();
    }
  }
}

async function dropTables(name: 'postgres' | 'mysql', url: string, table: string): Promise<void> {
  if (name === 'postgres') {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`DROP TABLE IF EXISTS "${table}_chunks", "${table}"`);
    await client.end();
  } else {
    const mysql = await import('mysql2/promise');
    const connection = await mysql.createConnection(url);
    await connection.query(`DROP TABLE IF EXISTS \`${table}_chunks\`, \`${table}\``);
    await connection.end();
  }
}

async function databaseBackend(name: 'postgres' | 'mysql', defaultUrl: string): Promise<TestBackend> {
  const variable = name === 'postgres' ? 'STOWAGE_TEST_POSTGRES_URL' : 'STOWAGE_TEST_MYSQL_URL';
  const serverUrl = process.env[variable] || defaultUrl;
  const parsed = new URL(serverUrl);
  parsed.pathname = `/${DATABASE}`;
  const url = parsed.href.replace(/\/$/, '');
  const table = randomName('stowage_cli_');
  const base: TestBackend = {
    name,
    at: (key) => `${url}/${key}?tableName=${table}`,
    shown: (key) => `${url.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@')}/${key}`,
    doctorStore: { backend: `${url}?tableName=${table}` },
  };
  if (!(await reachable(serverUrl))) {
    const reason = `${name} is not reachable at ${parsed.host} (set ${variable})`;
    if (serverRequired(name)) throw new Error(`${reason}; STOWAGE_TEST_REQUIRE_SERVERS requires it`);
    return { ...base, skip: reason };
  }
  await createDatabase(name, serverUrl);
  return { ...base, teardown: () => dropTables(name, url, table) };
}

/**
 * A container of its own on this run's Azure server, created now; `remove` deletes it with
 * everything in it. Its blobs are reached through `options` (the connection string).
 */
export async function azureContainer(settings: Record<string, string>, name = randomName('cli-')): Promise<{ name: string; options: Record<string, unknown>; remove(): Promise<void> }> {
  const options = { container: name, connectionString: settings.connectionString, createContainer: true };
  // Opening with createContainer creates it.
  await emptyStore({ type: 'azure', options }, '');
  return {
    name,
    options,
    async remove() {
      const store = await openStore({ type: 'azure', options }, { load: (specifier) => import(specifier) });
      try {
        await (store.unwrap() as { delete(): Promise<unknown> }).delete();
      } finally {
        await store.close();
      }
    },
  };
}

function azureBackend(): TestBackend {
  const server = cloudServer('azure');
  const prefix = `${randomName('cli-')}/`;
  const container = randomName('cli-');
  const base = {
    name: 'Azure (az:// URLs, AZURE_STORAGE_CONNECTION_STRING)',
    ...belowPrefix(`az://${container}`, prefix),
    signsNatively: true,
    overrides: {},
    // Azure requires it of every Put Blob, a signed one included.
    signedPutHeaders: { 'x-ms-blob-type': 'BlockBlob' },
  };
  if (server.skip !== undefined) return { ...base, skip: unavailable('azure', server) };
  const { settings } = server;
  let remove: (() => Promise<void>) | undefined;
  return {
    ...base,
    env: { AZURE_STORAGE_CONNECTION_STRING: settings.connectionString! },
    async setup() {
      remove = (await azureContainer(settings, container)).remove;
    },
    teardown: async () => remove?.(),
  };
}

/** The backends every command runs on (the memory store, which lives in one process only, has its own tests). */
export type BackendName = 'embedded' | 'sqlite' | 'local' | 'configured' | 'postgres' | 'mysql' | 's3' | 'gcs' | 'azure';

/** One backend as the tests address it; a server that is unreachable makes it skipped, or fails when required. */
export async function testBackend(name: BackendName): Promise<TestBackend> {
  switch (name) {
    case 'embedded':
      return { name: 'the embedded default (SQLite)', at: (key) => `:${key}`, shown: (key) => `:${key}`, doctorStore: { config: 'none', name: ':' } };
    case 'sqlite':
      return { name: 'sqlite', at: (key) => `sqlite:./store.db/${key}`, shown: (key) => `sqlite:./store.db/${key}`, doctorStore: { backend: 'sqlite:./store.db' } };
    case 'local':
      return { name: 'local (file:)', at: (key) => `file:./data//${key}`, shown: (key) => `file:./data//${key}`, doctorStore: { backend: 'file:./data' } };
    case 'configured':
      return {
        name: 'a configured local store (YAML, ${ENV})',
        at: (key) => `box:${key}`,
        shown: (key) => `box:${key}`,
        env: { BOX_ROOT: 'box-data' },
        async setup(workspace) {
          await workspace.file(
            'stowage.config.yaml',
            ['backends:', '  disk:', '    type: local', '    options:', '      root: ./${BOX_ROOT}', 'stores:', '  box:', '    backend: disk', '    root: inbox/', ''].join('\n'),
          );
        },
        doctorStore: { config: 'stowage.config.yaml', name: 'box' },
      };
    case 'postgres':
      return databaseBackend('postgres', 'postgres://postgres@127.0.0.1:5432/test');
    case 'mysql':
      return databaseBackend('mysql', 'mysql://root@127.0.0.1:3306/test');
    case 's3':
      return s3Backend();
    case 'gcs':
      return gcsBackend();
    case 'azure':
      return azureBackend();
  }
}
