/**
 * Azurite, Microsoft's Azure Storage emulator, as a test server: its blob service in memory on a
 * free loopback port, or the server `STOWAGE_TEST_AZURE_URL` points at
 * (`http://127.0.0.1:10000/devstoreaccount1`, the format of docker-compose.yml).
 *
 * The `azurite` npm package is not a dependency of the conformance kit: it is resolved from the
 * caller (`resolveFrom`), so the adapter package whose tests start it lists it as a devDependency.
 *
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { resolveTestServer, spawnServer, type ResolvedServer, type TestServer } from './process.ts';

/** The account every Azurite has. */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
/** Its well-known development key (public: it is in Microsoft's documentation). */
export const AZURITE_ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** Options of {@link startAzurite} and {@link resolveAzurite}. */
export interface AzuriteOptions {
  /**
   * Where to resolve the `azurite` package from: a module URL (`import.meta.url`), a file or a
   * directory of the package that has it as a devDependency (default: the working directory).
   */
  resolveFrom?: string | URL | undefined;
  /** The in-memory store's size limit in MiB (default 1024; Azurite frees overwritten data only every ten minutes). */
  memoryLimitMiB?: number | undefined;
  /** `'memory'` (default), or `'disk'`: data in the temporary folder, for runs that write more than memory should hold (benchmarks). */
  persistence?: 'memory' | 'disk' | undefined;
  /** Serve HTTPS with this certificate and key (PEM file paths): Azurite accepts bearer tokens only over HTTPS. */
  tls?: { cert: string; key: string } | undefined;
  /**
   * Accept Microsoft Entra ID bearer tokens (`--oauth basic`, with `tls`): Azurite checks their
   * issuer, audience and lifetime, not their signature, and grants user delegation keys.
   */
  oauth?: boolean | undefined;
  /** How long to wait for it to listen (default 60 s). */
  timeoutMs?: number | undefined;
}

function settingsFor(endpoint: string, accountName: string, accountKey: string): Record<string, string> {
  return {
    endpoint,
    accountName,
    accountKey,
    connectionString: `DefaultEndpointsProtocol=${endpoint.startsWith('https:') ? 'https' : 'http'};AccountName=${accountName};AccountKey=${accountKey};BlobEndpoint=${endpoint};`,
  };
}

/** The path of Azurite's blob service entry point, resolved from `resolveFrom`; a clear error naming the package when it is missing. */
export function azuriteBlobMain(resolveFrom?: string | URL): string {
  const base = resolveFrom === undefined ? pathToFileURL(join(process.cwd(), 'package.json')) : resolveFrom;
  // createRequire wants a file: a directory gets a file name inside it, which need not exist.
  const from = typeof base === 'string' && !base.startsWith('file:') && !/\.[cm]?[jt]s$|\.json$/.test(base) ? join(base, 'package.json') : base;
  let manifest: string;
  try {
    manifest = createRequire(from).resolve('azurite/package.json');
  } catch (cause) {
    throw new Error(
      `the Azurite test server needs the npm package azurite, which cannot be resolved from ${String(from)}: add it as a devDependency of the package whose tests start it (for example \`pnpm add -D azurite\`)`,
      { cause },
    );
  }
  return join(dirname(manifest), 'dist', 'src', 'blob', 'main.js');
}

/**
 * Starts Azurite's blob service in memory (or on disk) on a free loopback port (it picks the port
 * itself and prints it), in a temporary working folder; `stop()` ends it and removes the folder.
 */
export async function startAzurite(options: AzuriteOptions = {}): Promise<TestServer> {
  const main = azuriteBlobMain(options.resolveFrom);
  const location = await mkdtemp(join(tmpdir(), 'stowage-azurite-'));
  try {
    const spawned = await spawnServer({
      name: 'azurite',
      command: process.execPath,
      args: [
        main,
        '--blobHost',
        '127.0.0.1',
        '--blobPort',
        '0',
        ...(options.persistence === 'disk' ? ['--location', location] : ['--inMemoryPersistence', '--extentMemoryLimit', String(options.memoryLimitMiB ?? 1024)]),
        ...(options.tls ? ['--cert', options.tls.cert, '--key', options.tls.key] : []),
        ...(options.oauth ? ['--oauth', 'basic'] : []),
        // Current SDKs send API versions newer than Azurite knows; without this every call gets 400.
        '--skipApiVersionCheck',
        '--disableTelemetry',
        '--silent',
      ],
      cwd: location,
      ready: /listens on (https?:\/\/127\.0\.0\.1:(\d+))/,
      timeoutMs: options.timeoutMs,
    });
    const endpoint = `${spawned.match![1]}/${AZURITE_ACCOUNT}`;
    let stopped = false;
    return {
      name: 'azure',
      endpoint,
      settings: settingsFor(endpoint, AZURITE_ACCOUNT, AZURITE_ACCOUNT_KEY),
      startedHere: true,
      async stop() {
        if (stopped) return;
        stopped = true;
        await spawned.stop();
        await rm(location, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(location, { recursive: true, force: true });
    throw error;
  }
}

/**
 * A running server from a URL: `http://127.0.0.1:10000/devstoreaccount1` (Azurite's account and
 * well-known key), or `http://<account>:<url-encoded key>@host:port/<account>` for another account.
 */
export function azuriteFromUrl(text: string): TestServer {
  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`expected an http(s) URL such as http://127.0.0.1:10000/${AZURITE_ACCOUNT}`);
  const accountName = url.pathname.split('/').find((segment) => segment !== '') ?? decodeURIComponent(url.username);
  if (!accountName) throw new Error(`the URL names no account: expected http://127.0.0.1:10000/${AZURITE_ACCOUNT}`);
  const accountKey = url.password !== '' ? decodeURIComponent(url.password) : accountName === AZURITE_ACCOUNT ? AZURITE_ACCOUNT_KEY : undefined;
  if (accountKey === undefined) throw new Error(`no key for the account ${accountName}: put it in the URL as http://${accountName}:<url-encoded key>@host/${accountName}`);
  const endpoint = `${url.protocol}//${url.host}/${accountName}`;
  return { name: 'azure', endpoint, settings: settingsFor(endpoint, accountName, accountKey), startedHere: false, stop: async () => undefined };
}

/** The Azure test server: `STOWAGE_TEST_AZURE_URL` when set, else Azurite started here (or why the tests skip). */
export function resolveAzurite(options: AzuriteOptions = {}): Promise<ResolvedServer> {
  return resolveTestServer('azure', { fromUrl: azuriteFromUrl, start: () => startAzurite(options) });
}
