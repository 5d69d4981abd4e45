/**
 * The Azure adapter beyond the conformance suite, against the test server: every way of opening it,
 * the registry's URLs, the requests a write sends, block uploads under concurrency, aborted and
 * cut-off uploads, signed URLs that were tampered with, the metadata on the wire, batched deletes,
 * copies with a SAS-only client, and errors that carry no secret.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { ContainerSASPermissions, ContainerClient } from '@azure/storage-blob';
import { afterEach, describe, expect, it } from 'vitest';
import { Store, isStowageError, openStore, type StowageError } from '@stowage/core';
import { AZURE_CAPABILITIES, AzureBlobBackend, adapter, optionsFromAzureUrl, withEnvironmentCredentials, type AzureBlobOptions } from '@stowage/azure';
import { startAzurite } from '@stowage/conformance/servers';
import { startProxy, type TestProxy } from './fixtures/proxy.ts';
import { adminClient, openTestBackend, randomContainer, server, settings } from './servers.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'OK';
  } catch (error) {
    if (isStowageError(error)) return error.code;
    throw error;
  }
}

async function failure(promise: Promise<unknown>): Promise<StowageError> {
  try {
    await promise;
  } catch (error) {
    if (isStowageError(error)) return error;
    throw error;
  }
  throw new Error('expected the operation to fail');
}

/** `count` blocks of `size` bytes, each filled with `seed + index`, with a turn of the event loop between. */
async function* blocks(count: number, size: number, seed: number, onBlock?: (index: number) => void): AsyncGenerator<Uint8Array> {
  for (let index = 0; index < count; index++) {
    onBlock?.(index);
    yield new Uint8Array(size).fill((seed + index) & 0xff);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function bytesOf(count: number, size: number, seed: number): Buffer {
  return Buffer.concat(Array.from({ length: count }, (_, index) => Buffer.alloc(size, (seed + index) & 0xff)));
}

/** Every string an error exposes to a logger: message, stack, inspection, and the native request and response it carries. */
function exposedText(error: unknown): string {
  const parts = [String(error), inspect(error, { depth: 12, showHidden: true })];
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    parts.push(current.message, current.stack ?? '');
    const native = current as { request?: { url?: string; headers?: { toJSON?: () => unknown } }; response?: { bodyAsText?: string }; details?: unknown };
    if (native.request) parts.push(String(native.request.url), JSON.stringify(native.request.headers?.toJSON?.() ?? {}), JSON.stringify(native.request));
    if (native.response?.bodyAsText) parts.push(native.response.bodyAsText);
    if (native.details) parts.push(JSON.stringify(native.details));
  }
  return parts.join('\n');
}

/** Runs a fixture in a child process and returns the JSON line it prints. */
async function runFixture<T>(fixture: string, args: readonly string[], env: Record<string, string | undefined> = {}): Promise<T> {
  const child = spawn(process.execPath, ['--expose-gc', '--conditions=@stowage/source', fileURLToPath(new URL(`./fixtures/${fixture}`, import.meta.url)), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  let output = '';
  child.stdout.on('data', (data: Buffer) => (output += data.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code, `${fixture} exited with ${code}: ${output}`).toBe(0);
  return JSON.parse(output) as T;
}

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function expectNoSecrets(error: unknown, secrets: readonly string[]): void {
  const text = exposedText(error);
  for (const secret of secrets) expect(text.includes(secret), `a secret (${secret.slice(0, 4)}…) appears in the error`).toBe(false);
  expect(text).not.toMatch(/[?&]sig=(?!\*\*\*)[^&\s"']+/);
  expect(text).not.toMatch(/SharedKey\s+[^:\s]+:(?!\*\*\*)[A-Za-z0-9+/=]{8,}/);
}

/** A SAS token for `container` with the given permissions. */
async function containerSas(container: string, permissions: string, expiresOn = new Date(Date.now() + 3600_000)): Promise<string> {
  const url = await (await adminClient(container)).generateSasUrl({ permissions: ContainerSASPermissions.parse(permissions), expiresOn });
  return new URL(url).search.slice(1);
}

// Generous limits: these tests talk to a real server, on machines that may be busy; speed is the benchmarks' business.
describe.skipIf(server.skip !== undefined)(`azure adapter${server.skip ? ` (${server.skip})` : ''}`, { timeout: 30_000 }, () => {
  const teardowns: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const teardown of teardowns.splice(0).reverse()) await teardown();
  });
  async function open(options: Parameters<typeof openTestBackend>[0] = {}) {
    const opened = await openTestBackend(options);
    teardowns.push(opened.teardown);
    return opened;
  }
  async function proxy(): Promise<TestProxy> {
    const started = await startProxy(settings().endpoint);
    teardowns.push(() => started.close());
    return started;
  }

  describe('opening', () => {
    it('opens with a connection string, an account name and key, a SAS token and a borrowed client', async () => {
      const { endpoint, accountName, accountKey, connectionString } = settings();
      const { container } = await open();
      const sasToken = await containerSas(container, 'racwdl');
      const forms: [string, AzureBlobOptions][] = [
        ['connection string', { container, connectionString }],
        ['account name and key', { container, accountName, accountKey, endpoint }],
        ['SAS token', { container, sasToken, endpoint }],
        ['borrowed client', { client: await adminClient(container) }],
      ];
      for (const [label, options] of forms) {
        const store = new Store(await AzureBlobBackend.open(options));
        await store.health();
        await store.write(`${label}.txt`, label, { metadata: { form: label.replaceAll(' ', '-') } });
        expect(await store.readText(`${label}.txt`), label).toBe(label);
        expect((await store.stat(`${label}.txt`)).metadata, label).toEqual({ form: label.replaceAll(' ', '-') });
        expect(store.capabilities.signedUrl, label).toBe(label !== 'SAS token');
        await store.close();
      }
      const all = new Store(await AzureBlobBackend.open({ container, connectionString }));
      expect((await all.list()).items.map((item) => item.key).sort()).toEqual(forms.map(([label]) => `${label}.txt`).sort());
    });

    it('never closes a borrowed client, and returns it from unwrap()', async () => {
      const { container } = await open();
      const client = await adminClient(container);
      const backend = await AzureBlobBackend.open({ client, prefix: 'borrowed' });
      expect(backend.unwrap()).toBe(client);
      await new Store(backend).write('a.txt', 'a');
      await backend.close();
      expect(await client.getBlobClient('borrowed/a.txt').exists()).toBe(true);
    });

    it('a SAS-only store declares no signed URLs and refuses signUrl before any request', async () => {
      const { endpoint } = settings();
      const { container } = await open();
      const store = new Store(await AzureBlobBackend.open({ container, endpoint, sasToken: await containerSas(container, 'racwdl') }));
      expect(store.capabilities).toEqual({ ...AZURE_CAPABILITIES, signedUrl: false });
      expect(await codeOf(store.signUrl('a.txt' as never))).toBe('CAPABILITY_NOT_SUPPORTED');
      // Copies still work: the client's own SAS URL lets the copy engine read the source.
      await store.write('src.txt', 'copied with a SAS');
      await store.copy('src.txt', 'dst.txt');
      expect(await store.readText('dst.txt')).toBe('copied with a SAS');
    });

    it('refuses contradictory and malformed options with INVALID_ARGUMENT, naming the problem and no secret', async () => {
      const { endpoint, accountKey, connectionString } = settings();
      const cases: [AzureBlobOptions, RegExp][] = [
        [{ container: 'c-one' }, /give one of connectionString/],
        [{ container: 'c-one', connectionString, accountKey, endpoint }, /only one of.*connectionString, accountKey/],
        [{ container: 'Bad_Name', connectionString }, /container must be/],
        [{ container: 'c-one', accountKey }, /accountName or endpoint/],
        [{ container: 'c-one', endpoint: 'ftp://x', accountKey }, /http\(s\)/],
        [{ container: 'c-one', endpoint: `${endpoint}?sig=abc`, accountKey }, /must not carry credentials/],
        [{ container: 'c-one', endpoint, sasToken: 'sv=2020-01-01' }, /sig= parameter/],
        [{ container: 'c-one', endpoint, accountKey, blockSize: 10 }, /blockSize must be/],
        [{ container: 'c-one', endpoint, accountKey, concurrency: 0 }, /concurrency must be/],
        [{ container: 'c-one', endpoint, accountKey, prefix: '../x' }, /invalid root/],
        [{ container: 'c-one', connectionString: 'AccountName=x;AccountKey=;DefaultEndpointsProtocol=https' }, /connection string cannot be used/],
      ];
      for (const [options, message] of cases) {
        const error = await failure(AzureBlobBackend.open(options));
        expect(error.code === 'INVALID_ARGUMENT' || error.code === 'INVALID_PATH', error.message).toBe(true);
        expect(error.message).toMatch(message);
        expectNoSecrets(error, [accountKey]);
      }
    });

    it('creates a missing container with createContainer, and names a missing one otherwise', async () => {
      const { endpoint, accountKey } = settings();
      const container = randomContainer();
      const missing = new Store(await AzureBlobBackend.open({ container, endpoint, accountKey }));
      const error = await failure(missing.health());
      expect(error.code).toBe('NOT_FOUND');
      expect(error.message).toContain(`the container "${container}" does not exist`);
      const created = await AzureBlobBackend.open({ container, endpoint, accountKey, createContainer: true });
      teardowns.push(async () => void (await created.unwrap().deleteIfExists()));
      await new Store(created).health();
      await missing.write('now.txt', 'the container exists');
    });
  });

  describe('Microsoft Entra ID', () => {
    it.skipIf(!hasOpenssl())('works with a TokenCredential on Azurite in OAuth mode: reads, writes, copies, and user delegation SAS URLs', { timeout: 60_000 }, async () => {
      const directory = await mkdtemp(join(tmpdir(), 'stowage-azure-tls-'));
      teardowns.push(() => rm(directory, { recursive: true, force: true }));
      const cert = join(directory, 'cert.pem');
      const key = join(directory, 'key.pem');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
      const oauth = await startAzurite({ resolveFrom: import.meta.url, tls: { cert, key }, oauth: true });
      teardowns.push(() => oauth.stop());
      const result = await runFixture<Record<string, unknown>>('entra-child.ts', [oauth.endpoint, randomContainer()], { NODE_EXTRA_CA_CERTS: cert });
      expect(result).toMatchObject({
        signedUrl: true,
        read: 'signed in with a token',
        metadata: { who: 'entra ✓' },
        copy: 'signed in with a token',
        getStatus: 200,
        fetched: 'signed in with a token',
        tamperedStatus: 403,
        putStatus: 201,
        afterPut: 'uploaded through a user delegation SAS',
        left: 0,
        forged: 'PERMISSION_DENIED',
      });
      expect(result.tokenRequests).toBeGreaterThan(0);
    });
  });

  describe('registry', () => {
    it('opens az:// and azure:// URLs through openStore, with the prefix from the path', async () => {
      const { endpoint, accountKey, connectionString } = settings();
      const { container } = await open();
      const url = `az://${container}/tenant 7?endpoint=${encodeURIComponent(endpoint)}`;
      const store = await openStore({ url, options: { accountKey } });
      expect(store.backendName).toBe('azure');
      await store.write('hello.txt', 'from az://');
      const admin = await adminClient(container);
      expect(await admin.getBlobClient('tenant 7/hello.txt').exists()).toBe(true);
      expect((await store.list()).items.map((item) => item.key)).toEqual(['hello.txt']);
      // azure:// with the credential from the environment, as Azure's tools read it.
      const saved = process.env.AZURE_STORAGE_CONNECTION_STRING;
      process.env.AZURE_STORAGE_CONNECTION_STRING = connectionString;
      try {
        const fromEnvironment = await openStore(`azure://${container}/tenant 7`);
        expect(await fromEnvironment.readText('hello.txt')).toBe('from az://');
      } finally {
        if (saved === undefined) delete process.env.AZURE_STORAGE_CONNECTION_STRING;
        else process.env.AZURE_STORAGE_CONNECTION_STRING = saved;
      }
    });

    it('parses the URL forms and their parameters, and refuses credentials in a URL', () => {
      expect(optionsFromAzureUrl(new URL('az://files/a/b?account=acct&blockSize=1048576&concurrency=2&createContainer=true'))).toEqual({
        container: 'files',
        prefix: 'a/b',
        accountName: 'acct',
        blockSize: 1048576,
        concurrency: 2,
        createContainer: true,
      });
      expect(optionsFromAzureUrl(new URL('azure://files@acct/p'))).toEqual({ container: 'files', accountName: 'acct', prefix: 'p' });
      expect(optionsFromAzureUrl(new URL('az://files@acct.blob.core.usgovcloudapi.net'))).toEqual({ container: 'files', endpoint: 'https://acct.blob.core.usgovcloudapi.net' });
      expect(() => optionsFromAzureUrl(new URL('az://files:secret@acct/p'))).toThrow(/carries no credentials/);
      expect(() => optionsFromAzureUrl(new URL('az://files?blockSize=big'))).toThrow(/blockSize parameter of a az: URL must be an integer/);
      expect(adapter.schemes).toEqual(['az', 'azure']);
    });

    it('takes the credential from the environment only when the options give none', async () => {
      const env = { AZURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true', AZURE_STORAGE_ACCOUNT: 'acct', AZURE_STORAGE_KEY: 'a2V5' };
      expect(await withEnvironmentCredentials({ container: 'c', sasToken: 'sig=x' }, env)).toEqual({ container: 'c', sasToken: 'sig=x' });
      expect(await withEnvironmentCredentials({ container: 'c' }, env)).toEqual({ container: 'c', connectionString: 'UseDevelopmentStorage=true' });
      expect(await withEnvironmentCredentials({ container: 'c', accountName: 'other' }, env)).toEqual({ container: 'c', accountName: 'other', accountKey: 'a2V5' });
      expect(await withEnvironmentCredentials({ container: 'c' }, { AZURE_STORAGE_ACCOUNT: 'acct', AZURE_STORAGE_SAS_TOKEN: 'sv=1&sig=2' })).toEqual({
        container: 'c',
        accountName: 'acct',
        sasToken: 'sv=1&sig=2',
      });
      await expect(withEnvironmentCredentials({ container: 'c' }, {})).rejects.toThrow(/needs an account/);
      // Neither key nor SAS: Microsoft Entra ID through @azure/identity (a devDependency here).
      const entra = await withEnvironmentCredentials({ container: 'c', accountName: 'acct' }, {});
      expect(typeof (entra.credential as { getToken?: unknown }).getToken).toBe('function');
    });

    it('masks the key of a failing registry open, and the key and signature of a refused request', async () => {
      const { endpoint } = settings();
      const wrongKey = randomBytes(64).toString('base64');
      const store = await openStore({ url: `az://${randomContainer()}?endpoint=${encodeURIComponent(endpoint)}`, options: { accountKey: wrongKey } });
      const error = await failure(store.health());
      expect(error.code).toBe('PERMISSION_DENIED');
      expectNoSecrets(error, [wrongKey]);
    });
  });

  describe('writes', () => {
    it('sends a body that fits one block in one request, and a larger one as staged blocks and one commit', async () => {
      const recorder = await proxy();
      const { container } = await open();
      const { accountKey } = settings();
      const store = new Store(await AzureBlobBackend.open({ container, endpoint: recorder.endpoint, accountKey, blockSize: 64 * KiB, concurrency: 2 }));
      const uploads = (): string[] =>
        recorder.requests.splice(0).filter((request) => request.method === 'PUT').map((request) => new URL(request.url, 'http://x').searchParams.get('comp') ?? 'put');
      await store.write('small.txt', 'hello');
      expect(uploads()).toEqual(['put']);
      await store.write('exact.bin', blocks(4, 16 * KiB, 1));
      expect(uploads(), 'a streamed body of exactly one block').toEqual(['put']);
      await store.write('empty.bin', new Uint8Array(0));
      expect(uploads()).toEqual(['put']);
      await store.write('large.bin', blocks(9, 16 * KiB, 2));
      expect(uploads(), '144 KiB in 64 KiB blocks').toEqual(['block', 'block', 'block', 'blocklist']);
      expect(Buffer.from(await store.readBytes('large.bin')).equals(bytesOf(9, 16 * KiB, 2))).toBe(true);
      expect((await store.stat('large.bin')).size).toBe(9 * 16 * KiB);
      // Bytes are in memory already: one request, as the SDK's uploadData sends them (up to 256 MiB).
      await store.write('bytes.bin', bytesOf(9, 16 * KiB, 5));
      expect(uploads(), 'bytes larger than a block').toEqual(['put']);
      expect(Buffer.from(await store.readBytes('bytes.bin')).equals(bytesOf(9, 16 * KiB, 5))).toBe(true);
      // A stream of known size is read ahead while its chunks are views of one buffer: one request if
      // they all are, staged blocks (with the chunks read ahead) as soon as one is not.
      const shared = bytesOf(9, 16 * KiB, 6);
      const slices = async function* (copyAt: number) {
        for (let offset = 0; offset < shared.byteLength; offset += 16 * KiB) {
          const slice = shared.subarray(offset, offset + 16 * KiB);
          yield offset === copyAt ? Buffer.from(slice) : slice;
        }
      };
      await store.write('views.bin', slices(-1), { size: shared.byteLength });
      expect(uploads(), 'views of one buffer').toEqual(['put']);
      await store.write('mixed.bin', slices(5 * 16 * KiB), { size: shared.byteLength });
      expect(uploads(), 'a copy breaks the run').toEqual(['block', 'block', 'block', 'blocklist']);
      for (const key of ['views.bin', 'mixed.bin']) expect(Buffer.from(await store.readBytes(key)).equals(shared), key).toBe(true);
    });

    it('keeps the metadata under the very names it was given and ASCII values on the wire, and returns it exactly', async () => {
      const { store, container } = await open();
      const metadata = { author: 'Zoë', x_custom: 'a  b', _0digit: ' padded ', snake_case: '100%', empty: '' };
      await store.write('m.txt', 'm', { metadata });
      expect((await store.stat('m.txt')).metadata).toEqual(metadata);
      const raw = (await (await adminClient(container)).getBlobClient('m.txt').getProperties()).metadata ?? {};
      expect(Object.keys(raw).sort()).toEqual([...Object.keys(metadata), 'stowage_sha256'].sort());
      for (const value of Object.values(raw)) {
        expect(value).toMatch(/^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/);
        expect(value).not.toContain('%');
      }
      expect(raw.author).toBe('b64:Wm_Dqw');
      expect(raw.snake_case).toBe('b64:MTAwJQ');
      expect(raw.stowage_sha256).toMatch(/^[0-9a-f]{64}$/);
    });

    it('refuses a metadata key Azure cannot carry with INVALID_ARGUMENT before any request, naming the key and the rule', async () => {
      const recorder = await proxy();
      const { container, store: direct } = await open();
      const store = new Store(await AzureBlobBackend.open({ container, endpoint: recorder.endpoint, accountKey: settings().accountKey }));
      recorder.requests.splice(0);
      for (const [name, why] of [
        ['x-custom', /"x-custom" cannot be stored on azure: .*identifiers.*"x_custom"/],
        ['0digit', /"0digit" cannot be stored on azure: .*"_0digit"/],
        ['stowage_sha256', /"stowage_sha256" cannot be stored on azure: .*"stowage_".*store's own fields/],
      ] as const) {
        const error = await store.write('refused.txt', 'x', { metadata: { ok: 'yes', [name]: 'v' } }).catch((caught: unknown) => caught);
        expect(error, name).toMatchObject({ code: 'INVALID_ARGUMENT', key: 'refused.txt', backend: 'azure' });
        expect((error as Error).message, name).toMatch(why);
      }
      expect(recorder.requests, 'requests sent').toEqual([]);
      expect(await direct.exists('refused.txt')).toBe(false);
    });

    it('reads the stowage_k_ names that earlier versions wrote for keys that are no identifiers', async () => {
      const { store, container } = await open();
      const legacy = { stowage_k_x_2dcustom: 'a', stowage_k_0digit: 'b', stowage_k_stowage_5fsha256: 'c', stowage_k__2d_5f_2d: 'b64:Wm_Dqw', author: 'd' };
      await (await adminClient(container)).getBlockBlobClient('old.txt').upload('x', 1, { metadata: legacy });
      expect((await store.stat('old.txt')).metadata).toEqual({ 'x-custom': 'a', '0digit': 'b', stowage_sha256: 'c', '-_-': 'Zoë', author: 'd' });
    });

    it('reads metadata written by other tools: plain names lowercased, values as they are, unknown stowage_ names ignored', async () => {
      const { store, container } = await open();
      await (await adminClient(container)).getBlockBlobClient('foreign.txt').upload('x', 1, { metadata: { Origin: 'camera 1', hdi_isfolder: 'false', stowage_future: 'x' } });
      const info = await store.stat('foreign.txt');
      expect(info.metadata).toEqual({ origin: 'camera 1', hdi_isfolder: 'false' });
      expect(info.sha256).toBeUndefined();
      expect(info.contentType).toBe('application/octet-stream');
    });

    for (const [label, loser] of [
      ['create-only', 'ALREADY_EXISTS'],
      ['compare-and-swap', 'PRECONDITION_FAILED'],
    ] as const) {
      it(`gives exactly one of 20 concurrent ${label} writers of staged blocks the key, and the key its whole body`, async () => {
        const { container } = await open();
        const { endpoint, accountKey } = settings();
        const store = new Store(await AzureBlobBackend.open({ container, endpoint, accountKey, blockSize: 4 * KiB }));
        const condition = label === 'create-only' ? { ifNoneMatch: '*' as const } : { ifMatch: (await store.write('race.bin', 'first')).etag };
        const results = await Promise.all(Array.from({ length: 20 }, (_, index) => codeOf(store.write('race.bin', blocks(3, 4 * KiB, index * 3), condition))));
        expect(results.filter((code) => code === 'OK')).toHaveLength(1);
        expect(results.filter((code) => code === loser)).toHaveLength(19);
        const winner = results.indexOf('OK');
        expect(Buffer.from(await store.readBytes('race.bin')).equals(bytesOf(3, 4 * KiB, winner * 3))).toBe(true);
      });
    }

    it('concurrent unconditional overwrites of staged blocks leave one whole body; a writer whose blocks were discarded gets UNAVAILABLE', async () => {
      const { container } = await open();
      const { endpoint, accountKey } = settings();
      const store = new Store(await AzureBlobBackend.open({ container, endpoint, accountKey, blockSize: 4 * KiB }));
      const results = await Promise.all(Array.from({ length: 8 }, (_, index) => codeOf(store.write('over.bin', blocks(3, 4 * KiB, index * 3)))));
      expect(results.every((code) => code === 'OK' || code === 'UNAVAILABLE'), results.join()).toBe(true);
      expect(results).toContain('OK');
      const stored = Buffer.from(await store.readBytes('over.bin'));
      const matches = results.flatMap((code, index) => (code === 'OK' && stored.equals(bytesOf(3, 4 * KiB, index * 3)) ? [index] : []));
      expect(matches, 'the stored object is the whole body of one successful writer').toHaveLength(1);
    });

    it('an upload aborted midway commits nothing: the old blob stays byte-identical, only uncommitted blocks remain', async () => {
      const { container } = await open();
      const { endpoint, accountKey } = settings();
      const store = new Store(await AzureBlobBackend.open({ container, endpoint, accountKey, blockSize: 64 * KiB, concurrency: 2 }));
      const old = await store.write('keep.bin', bytesOf(3, 64 * KiB, 7), { contentType: 'application/x-old', metadata: { version: 'old' } });
      const blockBlob = (await adminClient(container)).getBlockBlobClient('keep.bin');
      const committedBefore = (await blockBlob.getBlockList('committed')).committedBlocks?.map((block) => block.name);
      const controller = new AbortController();
      const body = blocks(40, 64 * KiB, 100, (index) => {
        if (index === 10) controller.abort(new Error('stop the upload'));
      });
      expect(await codeOf(store.write('keep.bin', body, { signal: controller.signal, metadata: { version: 'new' } }))).toBe('ABORTED');
      const info = await store.stat('keep.bin');
      expect(info).toMatchObject({ etag: old.etag, size: old.size, contentType: 'application/x-old', metadata: { version: 'old' }, sha256: old.sha256 });
      expect(Buffer.from(await store.readBytes('keep.bin')).equals(bytesOf(3, 64 * KiB, 7))).toBe(true);
      const blockList = await blockBlob.getBlockList('all');
      expect(blockList.uncommittedBlocks?.length ?? 0, 'the aborted upload had staged blocks').toBeGreaterThan(0);
      expect(blockList.committedBlocks?.map((block) => block.name), 'the committed block list is the old one').toEqual(committedBefore);
      // A new key aborted the same way does not exist afterwards.
      const again = new AbortController();
      const fresh = blocks(40, 64 * KiB, 1, (index) => index === 6 && again.abort());
      expect(await codeOf(store.write('fresh.bin', fresh, { signal: again.signal }))).toBe('ABORTED');
      expect(await store.exists('fresh.bin')).toBe(false);
      expect((await store.list()).items.map((item) => item.key)).toEqual(['keep.bin']);
    });

    it('a server that vanishes mid-upload fails the write with UNAVAILABLE and leaves the old blob as it was', async () => {
      const cut = await proxy();
      const { store: direct, container } = await open();
      const { accountKey } = settings();
      const old = await direct.write('cut.bin', 'the old content');
      const store = new Store(
        await AzureBlobBackend.open({
          container,
          endpoint: cut.endpoint,
          accountKey,
          blockSize: 64 * KiB,
          concurrency: 2,
          clientOptions: { retryOptions: { maxTries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 20, tryTimeoutInMs: 5000 } },
        }),
      );
      const body = blocks(60, 64 * KiB, 3, (index) => {
        if (index === 8) void cut.vanish();
      });
      const error = await failure(store.write('cut.bin', body));
      expect(error.code).toBe('UNAVAILABLE');
      expect(error.retryable).toBe(true);
      expect(await direct.stat('cut.bin')).toMatchObject({ etag: old.etag, sha256: old.sha256 });
      expect(await direct.readText('cut.bin')).toBe('the old content');
    });

    it('a server that vanishes mid-read fails the stream with UNAVAILABLE', async () => {
      const cut = await proxy();
      const { store: direct, container } = await open();
      const { accountKey } = settings();
      // Larger than what loopback socket buffers hold, so that most of it is still to come when the server goes.
      await direct.write('read-cut.bin', randomBytes(32 * MiB));
      const store = new Store(
        await AzureBlobBackend.open({ container, endpoint: cut.endpoint, accountKey, clientOptions: { retryOptions: { maxTries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 20 } } }),
      );
      const reader = (await store.read('read-cut.bin')).getReader();
      expect((await reader.read()).done).toBe(false);
      await cut.vanish();
      let error: unknown;
      try {
        for (let next = await reader.read(); !next.done; next = await reader.read());
      } catch (caught) {
        error = caught;
      }
      expect(isStowageError(error, 'UNAVAILABLE'), String(error)).toBe(true);
    });

    it('a body that fails rejects with its own error and stores nothing; a body above the size limit gets TOO_LARGE', async () => {
      const { container } = await open();
      const { endpoint, accountKey } = settings();
      const store = new Store(await AzureBlobBackend.open({ container, endpoint, accountKey, blockSize: 4 * KiB }));
      const broken = new Error('the source broke');
      const failing = (async function* () {
        yield* blocks(3, 4 * KiB, 1);
        throw broken;
      })();
      await expect(store.write('broken.bin', failing)).rejects.toBe(broken);
      expect(await codeOf(store.write('big.bin', blocks(10, 4 * KiB, 1), { maxSize: 20 * KiB }))).toBe('TOO_LARGE');
      expect((await store.list()).items).toEqual([]);
    });

    it('refuses metadata keys that are no identifiers with INVALID_ARGUMENT before reading the body', async () => {
      const { store } = await open();
      // 600 short keys that earlier versions escaped past Azure's 8 KiB: refused now, whatever their number.
      const metadata = Object.fromEntries(Array.from({ length: 600 }, (_, index) => [`-${index.toString(36)}`, '']));
      let read = false;
      const body = (async function* () {
        read = true;
        yield new Uint8Array(1);
      })();
      const error = await failure(store.write('meta.bin', body, { metadata }));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.message).toMatch(/^metadata key "-0" cannot be stored on azure/);
      expect(read).toBe(false);
    });
  });

  describe('signed URLs', () => {
    it('refuses a signed URL whose signature, expiry, permissions, key or method were tampered with', async () => {
      const { store } = await open();
      await store.write('a.txt', 'content of a');
      await store.write('b.txt', 'content of b');
      const get = new URL(await store.signUrl('a.txt', { expiresIn: 300 }));
      const ok = await fetch(get);
      expect(ok.status).toBe(200);
      expect(await ok.text()).toBe('content of a');
      const tampered: [string, URL, RequestInit?][] = [];
      const signature = new URL(get);
      const sig = signature.searchParams.get('sig')!;
      signature.searchParams.set('sig', (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1));
      tampered.push(['signature', signature]);
      const expiry = new URL(get);
      expiry.searchParams.set('se', new Date(Date.now() + 7 * 24 * 3600_000).toISOString().replace(/\.\d+Z$/, 'Z'));
      tampered.push(['expiry', expiry]);
      const permissions = new URL(get);
      permissions.searchParams.set('sp', 'rw');
      tampered.push(['permissions', permissions, { method: 'PUT', body: 'overwritten', headers: { 'x-ms-blob-type': 'BlockBlob' } }]);
      const key = new URL(get);
      key.pathname = key.pathname.replace('a.txt', 'b.txt');
      tampered.push(['key', key]);
      tampered.push(['method', get, { method: 'PUT', body: 'overwritten', headers: { 'x-ms-blob-type': 'BlockBlob' } }]);
      const put = new URL(await store.signUrl('a.txt', { method: 'PUT', expiresIn: 300 }));
      const otherKey = new URL(put);
      otherKey.pathname = otherKey.pathname.replace('a.txt', 'b.txt');
      tampered.push(['PUT to another key', otherKey, { method: 'PUT', body: 'overwritten', headers: { 'x-ms-blob-type': 'BlockBlob' } }]);
      for (const [label, url, init] of tampered) {
        const response = await fetch(url, init);
        const text = await response.text();
        expect(response.status, label).toBe(403);
        expect(text, label).not.toContain('content of');
      }
      expect(await store.readText('a.txt')).toBe('content of a');
      expect(await store.readText('b.txt')).toBe('content of b');
    });
  });

  describe('deletes and copies', () => {
    it('deletes many keys in Blob Batch requests of at most 256, ignoring missing ones', async () => {
      const recorder = await proxy();
      const { container } = await open();
      const { accountKey } = settings();
      const store = new Store(await AzureBlobBackend.open({ container, endpoint: recorder.endpoint, accountKey }));
      const keys = Array.from({ length: 300 }, (_, index) => `k/${index}`);
      for (let index = 0; index < keys.length; index += 50) await Promise.all(keys.slice(index, index + 50).map((key) => store.write(key, '')));
      recorder.requests.splice(0);
      await store.deleteMany([...keys, 'missing-1', 'missing-2']);
      const batches = recorder.requests.filter((request) => request.method === 'POST' && request.url.includes('comp=batch'));
      expect(batches).toHaveLength(2);
      expect(recorder.requests.filter((request) => request.method === 'DELETE')).toEqual([]);
      expect((await store.list()).items).toEqual([]);
    });

    it('falls back to single deletes when the account refuses Blob Batch', async () => {
      const refusing = await proxy();
      refusing.refuse((request) => request.url.includes('comp=batch'), 400, 'FeatureNotSupported');
      const { container } = await open();
      const { accountKey } = settings();
      const store = new Store(await AzureBlobBackend.open({ container, endpoint: refusing.endpoint, accountKey }));
      const keys = Array.from({ length: 20 }, (_, index) => `k${index}`);
      await Promise.all(keys.map((key) => store.write(key, 'x')));
      await store.deleteMany([...keys, 'missing']);
      expect((await store.list()).items).toEqual([]);
      await Promise.all(keys.map((key) => store.write(key, 'x')));
      refusing.requests.splice(0);
      await store.deleteMany(keys);
      expect(refusing.requests.filter((request) => request.url.includes('comp=batch')), 'batch is not tried again').toEqual([]);
      expect(refusing.requests.filter((request) => request.method === 'DELETE')).toHaveLength(20);
    });

    it('copies small sources synchronously and large ones asynchronously, with content type, metadata and SHA-256', async () => {
      const recorder = await proxy();
      const { container } = await open();
      const { accountKey } = settings();
      for (const [label, syncCopyLimit] of [
        ['synchronous', undefined],
        ['polled', 0],
      ] as const) {
        const store = new Store(await AzureBlobBackend.open({ container, endpoint: recorder.endpoint, accountKey, syncCopyLimit, copyPollInterval: 10 }));
        const written = await store.write(`${label}.bin`, randomBytes(300 * KiB), { contentType: 'application/x-copied', metadata: { copied: 'yes ✓' } });
        recorder.requests.splice(0);
        const copied = await store.copy(`${label}.bin`, `${label}-copy.bin`);
        const copies = recorder.requests.filter((request) => request.headers.includes('x-ms-copy-source'));
        expect(copies, label).toHaveLength(1);
        // Copy Blob From URL says x-ms-requires-sync; Copy Blob (asynchronous, polled) does not.
        expect(copies[0]!.headers.includes('x-ms-requires-sync'), label).toBe(label === 'synchronous');
        expect(copied, label).toMatchObject({ key: `${label}-copy.bin`, size: written.size, contentType: 'application/x-copied', metadata: { copied: 'yes ✓' }, sha256: written.sha256 });
        expect(await store.stat(`${label}-copy.bin`), label).toMatchObject({ etag: copied.etag, sha256: written.sha256, contentType: 'application/x-copied' });
        expect(Buffer.from(await store.readBytes(`${label}-copy.bin`)).equals(Buffer.from(await store.readBytes(`${label}.bin`))), label).toBe(true);
      }
    });
  });

  describe('errors', () => {
    it('keeps the account key, SAS signatures and request signatures out of every error, message and request dump', async () => {
      const { endpoint, accountKey } = settings();
      const { container, store: admin } = await open();
      await admin.write('exists.txt', 'x');
      const readOnly = await containerSas(container, 'rl');
      const expired = await containerSas(container, 'racwdl', new Date(Date.now() - 60_000));
      const wrongKey = randomBytes(64).toString('base64');
      const scenarios: [string, AzureBlobOptions, (store: Store) => Promise<unknown>, string][] = [
        ['wrong key', { container, endpoint, accountKey: wrongKey }, (store) => store.readText('exists.txt'), 'PERMISSION_DENIED'],
        ['read-only SAS writing', { container, endpoint, sasToken: readOnly }, (store) => store.write('nope.txt', 'x'), 'PERMISSION_DENIED'],
        ['expired SAS', { container, endpoint, sasToken: expired }, (store) => store.stat('exists.txt'), 'PERMISSION_DENIED'],
        ['read-only SAS copying', { container, endpoint, sasToken: readOnly }, (store) => store.copy('exists.txt', 'copy.txt'), 'PERMISSION_DENIED'],
        ['unreachable server', { container, endpoint: 'http://127.0.0.1:1/devstoreaccount1', sasToken: readOnly, clientOptions: { retryOptions: { maxTries: 1 } } }, (store) => store.stat('a'), 'UNAVAILABLE'],
        ['create-only copy onto an existing key', { container, endpoint, accountKey }, (store) => store.copy('exists.txt', 'exists.txt', { ifNoneMatch: '*' }), 'ALREADY_EXISTS'],
      ];
      const secrets = [accountKey, wrongKey, readOnly, expired, new URLSearchParams(readOnly).get('sig')!, new URLSearchParams(expired).get('sig')!];
      for (const [label, options, run, code] of scenarios) {
        const store = new Store(await AzureBlobBackend.open(options));
        const error = await failure(run(store));
        expect(error.code, `${label}: ${error.message}`).toBe(code);
        expect(error.backend).toBe('azure');
        expectNoSecrets(error, secrets);
      }
      // A copy onto another key carries the source's SAS in x-ms-copy-source: scrubbed when it fails.
      await admin.write('other.txt', 'y');
      const error = await failure(admin.copy('exists.txt', 'other.txt', { ifNoneMatch: '*' }));
      expect(error.code).toBe('ALREADY_EXISTS');
      const request = (error.cause as { request?: { headers: { get(name: string): string | undefined } } }).request;
      expect(request?.headers.get('x-ms-copy-source')).toMatch(/sig=\*\*\*/);
      expect(request?.headers.get('authorization')).toBe('***');
      expectNoSecrets(error, secrets);
    });
  });

  describe('memory', () => {
    it('streams a 100 MiB body of unknown length up and back down with bounded memory', { timeout: 120_000 }, async () => {
      const { endpoint, accountKey } = settings();
      const { container } = await open();
      const result = await runFixture<{ write: { live: number; rss: number }; read: { live: number; rss: number }; size: number; readBytes: number; written: string; stored: string; readHash: string }>(
        'memory-child.ts',
        [endpoint, accountKey, container, 'big.bin', '100'],
      );
      expect(result.size).toBe(100 * MiB);
      expect(result.readBytes).toBe(100 * MiB);
      expect(result.stored).toBe(result.written);
      expect(result.readHash).toBe(result.written);
      // Default settings: 8 MiB blocks, 4 staged at once, one being filled: about 48 MiB live at most.
      // Holding the body would take at least 100 MiB.
      expect(result.write.live, `live memory while writing: ${JSON.stringify(result.write)}`).toBeLessThan(72);
      expect(result.write.rss, `resident set while writing: ${JSON.stringify(result.write)}`).toBeLessThan(100);
      expect(result.read.live, `live memory while reading: ${JSON.stringify(result.read)}`).toBeLessThan(32);
      expect(result.read.rss, `resident set while reading: ${JSON.stringify(result.read)}`).toBeLessThan(64);
    });
  });
});
