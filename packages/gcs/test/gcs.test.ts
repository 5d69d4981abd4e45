/**
 * The GCS adapter beyond the conformance suite, on this run's server: the ways to open it, the
 * registry, what it stores on GCS (encoded metadata, the SHA-256 entry, etags from generations),
 * signed URLs, memory while streaming 100 MiB, a server that vanishes mid-upload, and credentials
 * that must never reach a message.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createTcpServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { Store, isStowageError, openStore, type StowageError } from '@stowage/core';
import { Storage } from '@google-cloud/storage';
import { GcsBackend, SHA256_METADATA_KEY, adapter, optionsFromGcsUrl } from '@stowage/gcs';
import { onFirebaseEmulator, openTestStore, server, testOptions, testServiceAccountKey } from './servers.ts';

const MiB = 1024 * 1024;

async function failure(promise: Promise<unknown>): Promise<StowageError> {
  try {
    await promise;
  } catch (error) {
    if (isStowageError(error)) return error;
    throw error;
  }
  throw new Error('expected the operation to fail');
}

async function* pieces(count: number, size: number, seed: number): AsyncGenerator<Uint8Array> {
  for (let index = 0; index < count; index++) yield new Uint8Array(size).fill((seed + index) % 251);
}

describe('gcs: options and registry (no server)', () => {
  it('reads gs:// URLs: bucket, prefix and typed parameters; refuses unknown ones and credentials in the URL', () => {
    expect(optionsFromGcsUrl(new URL('gs://media'))).toEqual({ bucket: 'media' });
    expect(optionsFromGcsUrl(new URL('gs://media/a/b%20c/?projectId=p1&chunkSize=524288&atomicMove=true&apiEndpoint=http://127.0.0.1:4443'))).toEqual({
      bucket: 'media',
      prefix: 'a/b c/',
      projectId: 'p1',
      chunkSize: 524288,
      atomicMove: true,
      apiEndpoint: 'http://127.0.0.1:4443',
    });
    for (const url of ['gs://media?nope=1', 'gs://media?chunkSize=-1', 'gs://media?atomicMove=yes', 'gs://user:secret@media']) {
      expect(() => optionsFromGcsUrl(new URL(url)), url).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    expect(adapter.schemes).toEqual(['gs']);
  });

  it('refuses invalid options with INVALID_ARGUMENT before any I/O, never quoting credentials', async () => {
    const key = testServiceAccountKey();
    const cases: [string, Parameters<typeof GcsBackend.open>[0]][] = [
      ['bucket name', { bucket: 'Not A Bucket' }],
      ['chunk size', { bucket: 'ok-bucket', chunkSize: 1000 }],
      ['endpoint', { bucket: 'ok-bucket', apiEndpoint: 'ftp://127.0.0.1' }],
      ['borrowed client and credentials', { bucket: 'ok-bucket', storage: new Storage({ projectId: 'p' }), credentials: key }],
      ['broken JSON', { bucket: 'ok-bucket', credentials: `{"private_key": ${JSON.stringify(key.private_key)}` }],
      ['prefix', { bucket: 'ok-bucket', prefix: 'a//b' }],
    ];
    for (const [what, options] of cases) {
      const error = await failure(GcsBackend.open(options));
      expect(error.code, what).toBe('INVALID_ARGUMENT');
      expect(error.message, what).not.toContain('PRIVATE KEY');
    }
  });

  it('opens through openStore with a gs:// URL, and masks the key of a config in messages', async () => {
    const store = await openStore('gs://some-bucket/tenant?projectId=demo-test&apiEndpoint=http://127.0.0.1:9', { load: (name) => import(name) });
    expect(store.backendName).toBe('gcs');
    expect((store.backend as GcsBackend).prefix).toBe('tenant/');
    expect(store.capabilities).toMatchObject({ signedUrl: true, conditionalWrite: true, move: 'native', maxObjectSize: 5 * 1024 ** 4 });
    const key = testServiceAccountKey();
    const error = await failure(openStore({ type: 'gcs', options: { bucket: 'Bad Bucket', credentials: { ...key, note: key.private_key } } }, { load: (name) => import(name) }));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).not.toContain(key.private_key!.slice(40, 80));
  });
});

describe.skipIf(server.skip !== undefined)(`gcs on ${server.skip === undefined ? server.server : 'no server'}`, () => {
  const teardowns: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const teardown of teardowns.splice(0).reverse()) await teardown();
  });
  async function open(extra: Parameters<typeof openTestStore>[0] = {}) {
    const opened = await openTestStore(extra);
    teardowns.push(opened.teardown);
    return opened;
  }
  function raw(backend: GcsBackend, key: string) {
    return backend.unwrap().file(backend.prefix + key);
  }

  it('opens with a key object, its JSON text, a key file path, a borrowed Storage and a borrowed Bucket', async () => {
    const key = testServiceAccountKey();
    const directory = await mkdtemp(join(tmpdir(), 'stowage-gcs-key-'));
    teardowns.push(() => rm(directory, { recursive: true, force: true }));
    const keyFile = join(directory, 'key.json');
    await writeFile(keyFile, JSON.stringify(key), { mode: 0o600 });
    const base = testOptions();
    const storage = new Storage({ ...(base.apiEndpoint ? { apiEndpoint: base.apiEndpoint } : {}), ...(base.projectId ? { projectId: base.projectId } : {}) });
    const variants = [
      { credentials: key },
      { credentials: JSON.stringify(key) },
      { credentials: keyFile },
      { credentials: undefined, apiEndpoint: undefined, projectId: undefined, storage },
      { credentials: undefined, apiEndpoint: undefined, projectId: undefined, bucket: storage.bucket(base.bucket as string) },
    ];
    for (const [index, variant] of variants.entries()) {
      const { store, backend } = await open(variant);
      await store.health();
      await store.write(`form-${index}.txt`, `form ${index}`);
      expect(await store.readText(`form-${index}.txt`)).toBe(`form ${index}`);
      expect(backend.borrowed).toBe(index >= 3);
    }
    // Closing a store on a borrowed client leaves the client usable.
    const borrowed = new Store(await GcsBackend.open({ bucket: base.bucket as string, storage, prefix: base.prefix }));
    await borrowed.close();
    await storage.bucket(base.bucket as string).file(`${base.prefix}/after-close.txt`).save('still works', { resumable: false });
    const [after] = await storage.bucket(base.bucket as string).file(`${base.prefix}/after-close.txt`).download();
    expect(after.toString()).toBe('still works');
    await storage.bucket(base.bucket as string).file(`${base.prefix}/after-close.txt`).delete();
  });

  it('stores the SHA-256 under its own metadata entry, encodes only the values GCS could alter, and reports generation, MD5 and CRC32C', async () => {
    const { store, backend } = await open();
    const metadata = { plain: 'Zoë ✓ 日本', padded: '  spaced  ', lines: 'a\nb', encodedlike: '=?utf-8?b?WsO2w6s=?=', empty: '' };
    const written = await store.write('m.txt', 'metadata', { metadata });
    const [resource] = await raw(backend, 'm.txt').getMetadata();
    expect(resource.metadata?.[SHA256_METADATA_KEY]).toBe(createHash('sha256').update('metadata').digest('hex'));
    expect(resource.metadata?.plain).toBe('Zoë ✓ 日本');
    expect(resource.metadata?.padded).toMatch(/^=\?utf-8\?b\?/);
    expect(resource.metadata?.lines).toMatch(/^=\?utf-8\?b\?/);
    expect(resource.metadata?.encodedlike).not.toBe('=?utf-8?b?WsO2w6s=?=');
    const info = await store.stat('m.txt');
    expect(info.metadata).toEqual(metadata);
    expect(info.versionId).toBe(String(resource.generation));
    expect(info.etag).toBe(`"${resource.generation}.${resource.metageneration}"`);
    expect(info.md5).toBe(createHash('md5').update('metadata').digest('hex'));
    expect(info.crc32c).toBe(Buffer.from(String(resource.crc32c), 'base64').toString('hex'));
    expect(written.etag).toBe(info.etag);
  });

  it('a streamed body above the threshold goes through a resumable upload, and its SHA-256 is added to that generation', async () => {
    const { store, backend } = await open({ resumableThreshold: 256 * 1024 });
    const info = await store.write('resumable.bin', pieces(5, 100_000, 3));
    const expected = createHash('sha256');
    for await (const piece of pieces(5, 100_000, 3)) expected.update(piece);
    expect(info.sha256).toBe(expected.digest('hex'));
    const [resource] = await raw(backend, 'resumable.bin').getMetadata();
    expect(resource.metadata?.[SHA256_METADATA_KEY]).toBe(info.sha256);
    expect(info.etag).toBe(`"${resource.generation}.${resource.metageneration}"`);
    expect((await store.stat('resumable.bin')).etag).toBe(info.etag);
  });

  it.skipIf(onFirebaseEmulator)('a chunked resumable upload sends every part (not verifiable on the firebase emulator: it stores only the first part)', async () => {
    const { store } = await open({ resumableThreshold: 0, chunkSize: 256 * 1024 });
    const bytes = randomBytes(3 * 256 * 1024 + 1);
    const info = await store.write('chunked.bin', (async function* () {
      for (let offset = 0; offset < bytes.length; offset += 70_000) yield bytes.subarray(offset, offset + 70_000);
    })());
    expect(info.size).toBe(bytes.length);
    expect(Buffer.from(await store.readBytes('chunked.bin')).equals(bytes)).toBe(true);
  });

  it("leaves the client's retries on after writes without preconditions (file.save would turn them off for good)", async () => {
    const { store, backend } = await open();
    expect(backend.storage.retryOptions.autoRetry).toBe(true);
    await store.write('plain.txt', 'no precondition');
    await store.write('plain.txt', 'again');
    await store.write('big.bin', pieces(3, 4 * MiB, 1), { size: 12 * MiB });
    expect(backend.storage.retryOptions.autoRetry).toBe(true);
  });

  it('deletes many keys, missing ones included, and lists nothing afterwards', async () => {
    const { store } = await open({ deleteConcurrency: 4 });
    const keys = Array.from({ length: 30 }, (_, index) => `many/${index}.txt`);
    for (const key of keys) await store.write(key, key);
    await store.deleteMany([...keys, 'many/missing-1', 'never/there']);
    expect((await store.list({ prefix: 'many/' })).items).toEqual([]);
  });

  it('keeps a store below its prefix: keys outside it are neither listed nor read', async () => {
    const { store, backend } = await open();
    await backend.unwrap().file(`${backend.prefix.slice(0, -1)}-other/x.txt`).save('outside', { resumable: false });
    teardowns.push(async () => void (await backend.unwrap().file(`${backend.prefix.slice(0, -1)}-other/x.txt`).delete({ ignoreNotFound: true })));
    await store.write('inside.txt', 'inside');
    expect((await store.list()).items.map((item) => item.key)).toEqual(['inside.txt']);
    expect((await failure(store.stat('../x.txt'))).code).toBe('INVALID_PATH');
  });

  it('signs GET URLs that plain fetch reads, and PUT URLs bound to their content type', async () => {
    const { store } = await open();
    const bytes = randomBytes(50_000);
    await store.write('dir/signed file.bin', bytes);
    const url = new URL(await store.signUrl('dir/signed file.bin', { expiresIn: 120 }));
    expect(url.searchParams.get('X-Goog-Algorithm')).toBe('GOOG4-RSA-SHA256');
    expect(url.searchParams.get('X-Goog-Expires')).toBe('120');
    expect(url.searchParams.get('X-Goog-Credential')).toContain(server.skip === undefined && server.apiEndpoint ? testServiceAccountKey().client_email : '');
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true);
    const put = new URL(await store.signUrl('up.txt', { method: 'PUT', contentType: 'text/plain', expiresIn: 60 }));
    expect(put.searchParams.get('X-Goog-SignedHeaders')).toContain('content-type');
  });

  // Against real GCS (no apiEndpoint) the machine's default credentials may be able to sign.
  const realGcs = server.skip === undefined && server.apiEndpoint === undefined;
  it.skipIf(realGcs)(`without credentials that can sign, signUrl fails with PERMISSION_DENIED and says what signing needs${realGcs ? ' (not verifiable against real GCS: default credentials may sign)' : ''}`, async () => {
    const { store } = await open({ credentials: undefined });
    await store.write('s.txt', 'x');
    const error = await failure(store.signUrl('s.txt'));
    expect(error.code).toBe('PERMISSION_DENIED');
    expect(error.message).toMatch(/service-account key \(client_email and private_key\)/);
    expect(error.message).toMatch(/could not load the default credentials/i);
  });

  it('maps a missing object to NOT_FOUND, and a server without objects.move to CAPABILITY_NOT_SUPPORTED leaving both keys as they were', async () => {
    const { store } = await open({ atomicMove: true });
    expect(store.capabilities.move).toBe('atomic');
    expect((await failure(store.stat('nothing.txt'))).code).toBe('NOT_FOUND');
    expect((await failure(store.readBytes('nothing.txt'))).code).toBe('NOT_FOUND');
    await store.write('from.txt', 'moving');
    if (!onFirebaseEmulator) {
      // Real GCS moves atomically only in buckets with hierarchical namespace; elsewhere this is a 400.
      return;
    }
    const error = await failure(store.move('from.txt', 'to.txt'));
    expect(error.code).toBe('CAPABILITY_NOT_SUPPORTED');
    expect(await store.readText('from.txt')).toBe('moving');
    expect(await store.exists('to.txt')).toBe(false);
  });

  it('a server that vanishes mid-upload fails the write with UNAVAILABLE, storing nothing and keeping the old object', async () => {
    if (server.skip !== undefined || server.apiEndpoint === undefined) return;
    const target = new URL(server.apiEndpoint);
    const proxy = await startCuttingProxy(target.hostname, Number(target.port), 2 * MiB);
    teardowns.push(() => proxy.close());
    const base = testOptions();
    const direct = new Store(await GcsBackend.open(base));
    teardowns.push(async () => {
      for await (const entry of direct.listAll()) await direct.delete(entry.key);
    });
    const old = await direct.write('v.bin', 'old content');
    const cut = new Store(await GcsBackend.open({ ...base, apiEndpoint: proxy.url, resumableThreshold: MiB }));
    for (const key of ['v.bin', 'new.bin']) {
      const error = await failure(cut.write(key, pieces(8, 512 * 1024, 9)));
      expect(error.code, key).toBe('UNAVAILABLE');
      expect(error.message).not.toMatch(/PRIVATE KEY/);
    }
    expect((await direct.stat('v.bin')).etag).toBe(old.etag);
    expect(await direct.readText('v.bin')).toBe('old content');
    expect(await direct.exists('new.bin')).toBe(false);
  });

  it('keeps bearer tokens and private keys out of messages and out of the cause, also when requests carry a token', async () => {
    if (server.skip !== undefined || server.apiEndpoint === undefined) return;
    const { projectId } = server;
    const token = `ya29.${randomBytes(24).toString('hex')}`;
    const key = testServiceAccountKey();
    // A client whose every request carries a bearer token, as real GCS requests do (the emulator ignores it).
    const authClient = {
      getRequestHeaders: async () => new Headers({ authorization: `Bearer ${token}` }),
      getAccessToken: async () => ({ token }),
      getCredentials: async () => ({ client_email: key.client_email, private_key: key.private_key }),
      getProjectId: async () => projectId,
    };
    const storage = new Storage({ apiEndpoint: server.apiEndpoint, projectId: server.projectId, useAuthWithCustomEndpoint: true, authClient: authClient as never });
    const { store } = await open({ credentials: undefined, apiEndpoint: undefined, projectId: undefined, storage });
    await store.write('present.txt', 'x');
    // The hazard is real: the client's own error holds the token (in the request it answers).
    const native: unknown = await storage.bucket(server.bucket).file('missing-anywhere.txt').getMetadata().catch((error: unknown) => error);
    expect(inspect(native, { depth: 12 })).toContain(token);
    const controller = new AbortController();
    const reading = store.read('present.txt', { signal: controller.signal });
    const errors = [await failure(store.stat('missing.txt')), await failure(store.readBytes('missing.txt')), await failure(store.copy('missing.txt', 'b.txt'))];
    controller.abort();
    await (await reading).cancel().catch(() => undefined);
    for (const error of errors) {
      expect(error.code).toBe('NOT_FOUND');
      const everything = `${error.message}\n${inspect(error, { depth: 12 })}`;
      expect(everything).not.toContain(token);
      expect(everything).not.toContain(key.private_key!.slice(40, 100));
    }
  });

  it('streams 100 MiB with the resident set growing by far less than the body, and a buffered write of it does not (measured in child processes)', async () => {
    const { backend } = await open();
    const options = { ...testOptions(), prefix: backend.prefix.slice(0, -1) };
    const streamed = await runChild([JSON.stringify(options), 'big.bin', String(100 * MiB)]);
    // The control: the same write with a threshold above the body, so that the adapter buffers it whole.
    const buffered = await runChild([JSON.stringify({ ...options, resumableThreshold: 128 * MiB }), 'buffered.bin', String(100 * MiB)]);
    const growth = (result: ChildResult): number => (result.peak - result.baseline) / MiB;
    console.log(`100 MiB write: RSS +${growth(streamed).toFixed(1)} MiB streamed (${streamed.milliseconds} ms), +${growth(buffered).toFixed(1)} MiB buffered`);
    for (const result of [streamed, buffered]) {
      expect(result.size).toBe(100 * MiB);
      expect(result.sha256).toBe(result.expected);
    }
    expect(growth(streamed)).toBeLessThan(48);
    expect(growth(buffered)).toBeGreaterThan(100);
  }, 180_000);
});

interface ChildResult {
  baseline: number;
  peak: number;
  size: number;
  sha256: string;
  expected: string;
  milliseconds: number;
}

function runChild(args: string[]): Promise<ChildResult> {
  const script = fileURLToPath(new URL('./fixtures/streamed-upload.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=@stowage/source', '--expose-gc', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`the upload child exited with ${code}: ${stderr.slice(-2000)}`));
      else resolve(JSON.parse(line) as ChildResult);
    });
  });
}

/** A TCP proxy to the server that cuts every connection once `limit` bytes have gone through it, and refuses new ones after. */
async function startCuttingProxy(host: string, port: number, limit: number): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let forwarded = 0;
  let cut = false;
  const proxy = createTcpServer((client) => {
    if (cut) return void client.destroy();
    const upstream = connect(port, host);
    sockets.add(client).add(upstream);
    const cutAll = (): void => {
      cut = true;
      for (const socket of sockets) socket.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      forwarded += chunk.length;
      if (forwarded > limit) cutAll();
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    for (const socket of [client, upstream]) {
      socket.on('error', () => socket.destroy());
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()));
  const address = proxy.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        proxy.close(() => resolve());
      }),
  };
}
