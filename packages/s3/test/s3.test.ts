/**
 * Adapter tests beyond the conformance suite, on the faithful server (Ceph RGW started by the global
 * setup, or STOWAGE_TEST_S3_URL): bounded memory for a 100 MiB stream, no orphan multipart uploads,
 * presigned URLs, concurrent create-only writers of multipart bodies, credentials kept out of errors,
 * borrowed clients, the registry, multipart copies and versioning.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { fileURLToPath } from 'node:url';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store, isStowageError, openStore } from '@stowage/core';
import { S3Backend } from '@stowage/s3';
import { backendOptions, openTestStore, rawClient, server } from './servers.ts';

const MiB = 1024 * 1024;
const PART_SIZE = 5 * MiB;
const main = server('main');

function patternChunks(size: number, chunk: number): AsyncGenerator<Uint8Array> {
  return (async function* () {
    for (let offset = 0; offset < size; offset += chunk) {
      const piece = new Uint8Array(Math.min(chunk, size - offset));
      piece.fill((offset / chunk) % 251);
      yield piece;
    }
  })();
}

async function sha256Of(source: AsyncIterable<Uint8Array>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of source) hash.update(chunk);
  return hash.digest('hex');
}

async function pendingUploads(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const response = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  return (response.Uploads ?? []).map((upload) => upload.Key ?? '');
}

async function* stalledAfter(size: number, onStall: () => void): AsyncGenerator<Uint8Array> {
  yield* patternChunks(size, MiB);
  onStall();
  await new Promise(() => {});
}

describe.skipIf(main.settings === undefined)(`s3 adapter on ${main.name ?? 'no server'}`, () => {
  const settings = main.settings!;
  let client: S3Client;
  let store: Store;
  let prefix: string;
  let teardown: () => Promise<void>;

  beforeAll(() => {
    client = rawClient(settings);
    ({ store, prefix, teardown } = openTestStore(settings, 'adapter', { partSize: PART_SIZE }));
  });
  afterAll(async () => {
    await teardown();
    client.destroy();
  });

  it('streams 100 MiB of unknown length through multipart upload with memory bounded by the parts in flight', async () => {
    const size = 100 * MiB;
    const key = `${prefix}memory/streamed.bin`;
    const fixture = fileURLToPath(new URL('./fixtures/streamed-upload.ts', import.meta.url));
    const child = spawn(process.execPath, ['--expose-gc', '--conditions=@stowage/source', fixture, key, String(size), String(PART_SIZE)], {
      env: { ...process.env, STOWAGE_S3_FIXTURE_SETTINGS: JSON.stringify(settings) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { baseline: number; peak: number; size: number; sha256: string };
    expect(result.size).toBe(size);
    expect(result.sha256).toBe(await sha256Of(patternChunks(size, MiB)));
    // Parts in flight: 4 × 5 MiB plus the one filling, and the SDK's own buffers (about 36 MiB
    // measured). A client that buffered the body would grow by at least its 100 MiB.
    const growth = (result.peak - result.baseline) / MiB;
    expect(growth).toBeLessThan(64);
    const info = await new Store(new S3Backend(backendOptions(settings))).stat(key);
    expect(info.size).toBe(size);
    expect(info.sha256).toBe(result.sha256);
    expect(await pendingUploads(client, settings.bucket!, `${prefix}memory/`)).toEqual([]);
  }, 120_000);

  it('an upload aborted midway, or whose source fails, leaves no object and no pending multipart upload', async () => {
    const controller = new AbortController();
    const aborted = store.write('aborted/a.bin', stalledAfter(4 * PART_SIZE, () => setTimeout(() => controller.abort(new Error('stop')), 200)), { signal: controller.signal });
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' });
    const failure = new Error('the source broke');
    const failing = (async function* () {
      yield* patternChunks(3 * PART_SIZE, MiB);
      throw failure;
    })();
    await expect(store.write('aborted/b.bin', failing)).rejects.toBe(failure);
    expect(await store.exists('aborted/a.bin')).toBe(false);
    expect(await store.exists('aborted/b.bin')).toBe(false);
    expect(await pendingUploads(client, settings.bucket!, `${prefix}aborted/`)).toEqual([]);
  }, 60_000);

  it('deleteMany deletes keys holding U+FFFE or U+FFFF, which the XML body of DeleteObjects cannot carry', async () => {
    const keys = ['nonchar/a\uffff', 'nonchar/\ufffeb', 'nonchar/plain'];
    for (const key of keys) await store.write(key, key);
    await store.deleteMany(keys);
    for (const key of keys) expect(await store.exists(key)).toBe(false);
  });

  it('presigned GET and PUT URLs work with plain fetch; a tampered signature or key is refused', async () => {
    await store.write('signed/a.txt', 'content of a');
    await store.write('signed/b.txt', 'content of b');
    const get = await store.signUrl('signed/a.txt', { expiresIn: 60 });
    expect(new URL(get).searchParams.get('X-Amz-Expires')).toBe('60');
    const response = await fetch(get);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('content of a');

    const tampered = new URL(get);
    const signature = tampered.searchParams.get('X-Amz-Signature')!;
    tampered.searchParams.set('X-Amz-Signature', `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`);
    const refused = await fetch(tampered);
    expect(refused.status).toBe(403);
    expect(await refused.text()).not.toContain('content of a');
    const otherKey = new URL(get);
    otherKey.pathname = otherKey.pathname.replace('a.txt', 'b.txt');
    const other = await fetch(otherKey);
    expect(other.status).toBe(403);
    expect(await other.text()).not.toContain('content of b');

    const put = await store.signUrl('signed/uploaded.bin', { method: 'PUT', expiresIn: 60, contentType: 'application/x-upload' });
    const uploaded = await fetch(put, { method: 'PUT', body: 'uploaded bytes', headers: { 'content-type': 'application/x-upload' } });
    expect(uploaded.status).toBe(200);
    expect(await store.readText('signed/uploaded.bin')).toBe('uploaded bytes');
    expect((await store.stat('signed/uploaded.bin')).contentType).toBe('application/x-upload');
  });

  it('20 concurrent create-only writers of multipart-sized bodies: exactly one wins, the others get ALREADY_EXISTS', async () => {
    const writers = 20;
    const results = await Promise.allSettled(
      Array.from({ length: writers }, (_, index) =>
        store.write(
          'race/large.bin',
          (async function* () {
            yield new Uint8Array(PART_SIZE).fill(index);
            yield new Uint8Array(1).fill(index);
          })(),
          { ifNoneMatch: '*' },
        ),
      ),
    );
    const winners = results.flatMap((result, index) => (result.status === 'fulfilled' ? [index] : []));
    const losers = results.filter((result) => result.status === 'rejected').map((result) => (result as PromiseRejectedResult).reason as unknown);
    expect(winners).toHaveLength(1);
    for (const reason of losers) expect(isStowageError(reason, 'ALREADY_EXISTS'), String(reason)).toBe(true);
    const bytes = await store.readBytes('race/large.bin');
    expect(bytes.byteLength).toBe(PART_SIZE + 1);
    expect(bytes.every((byte) => byte === winners[0])).toBe(true);
    expect(await pendingUploads(client, settings.bucket!, `${prefix}race/`)).toEqual([]);
  }, 120_000);

  it('wrong credentials give PERMISSION_DENIED with no key, secret or signature in the message or the error', async () => {
    const secretAccessKey = `wrong-${randomBytes(12).toString('hex')}`;
    const unknownKeyId = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
    for (const [label, accessKeyId] of [
      ['wrong secret', settings.accessKeyId!],
      ['unknown key', unknownKeyId],
    ] as const) {
      const bad = new Store(new S3Backend(backendOptions(settings, { credentials: { accessKeyId, secretAccessKey } })));
      const error = await bad.write(`${prefix}denied.txt`, 'x').then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(isStowageError(error, 'PERMISSION_DENIED'), `${label}: ${String(error)}`).toBe(true);
      const everything = `${(error as Error).message}\n${inspect(error, { depth: 8, showHidden: true })}`;
      expect(everything).not.toContain(secretAccessKey);
      expect((error as Error).message).not.toContain(accessKeyId);
      expect(everything).not.toMatch(/Signature=[0-9a-f]{64}|SignatureProvided|StringToSign/);
      await bad.close();
    }
  });

  it('a missing bucket is a clear error naming it; an unreachable endpoint is UNAVAILABLE', async () => {
    const missing = new Store(new S3Backend(backendOptions(settings, { bucket: `stowage-missing-${randomBytes(4).toString('hex')}` })));
    await expect(missing.health()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/bucket "stowage-missing-[0-9a-f]+" does not exist/) });
    await expect(missing.write('a.txt', 'x')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/does not exist/) });
    await missing.close();
    const nowhere = new Store(new S3Backend(backendOptions(settings, { endpoint: 'http://127.0.0.1:9' })));
    await expect(nowhere.health()).rejects.toMatchObject({ code: 'UNAVAILABLE', retryable: true });
    await nowhere.close();
  }, 60_000);

  it('close() leaves a borrowed client working, and unwrap() returns it', async () => {
    const borrowed = rawClient(settings);
    const backend = new S3Backend({ bucket: settings.bucket!, client: borrowed, prefix });
    const borrowedStore = new Store(backend);
    await borrowedStore.write('borrowed.txt', 'mine');
    expect(borrowedStore.unwrap()).toBe(borrowed);
    await borrowedStore.close();
    const listed = await borrowed.send(new ListObjectsV2Command({ Bucket: settings.bucket!, Prefix: `${prefix}borrowed.txt` }));
    expect(listed.Contents?.map((entry) => entry.Key)).toEqual([`${prefix}borrowed.txt`]);
    borrowed.destroy();
  });

  it('opens through the registry from an s3:// URL, credentials in its user info masked in messages', async () => {
    const endpoint = encodeURIComponent(settings.endpoint!);
    const credentials = `${encodeURIComponent(settings.accessKeyId!)}:${encodeURIComponent(settings.secretAccessKey!)}`;
    const url = `s3://${credentials}@${settings.bucket}/${prefix}registry?endpoint=${endpoint}&forcePathStyle=true&region=${settings.region}`;
    const opened = await openStore(url);
    await opened.write('hello.txt', 'from a URL');
    expect(await store.readText('registry/hello.txt')).toBe('from a URL');
    await opened.close();
    const error = await openStore(`${url}&partSize=12`).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(isStowageError(error, 'INVALID_ARGUMENT')).toBe(true);
    expect((error as Error).message).toMatch(/partSize/);
    expect((error as Error).message).not.toContain(settings.secretAccessKey!);
  });

  it('copies above the multipart threshold with UploadPartCopy, keeping content, type, metadata and SHA-256', async () => {
    const copying = new Store(new S3Backend(backendOptions(settings, { partSize: PART_SIZE, multipartCopyThreshold: PART_SIZE })), { root: prefix });
    const size = 2 * PART_SIZE + 123;
    const written = await copying.write('copy/source.bin', patternChunks(size, MiB), { contentType: 'application/x-big', metadata: { origin: 'source ✓', snake_case: 'kept' } });
    const copied = await copying.copy('copy/source.bin', 'copy/target.bin');
    const info = await copying.stat('copy/target.bin');
    expect(info).toMatchObject({ size, contentType: 'application/x-big', metadata: { origin: 'source ✓', snake_case: 'kept' }, sha256: written.sha256, etag: copied.etag });
    expect(info.etag).toMatch(/-\d+"$/);
    expect(await sha256Of(await copying.read('copy/target.bin'))).toBe(written.sha256);
    expect(await pendingUploads(client, settings.bucket!, `${prefix}copy/`)).toEqual([]);
    await copying.close();
  }, 60_000);

  it('with digestMultipart: false, a multipart object is stored exactly but carries no SHA-256', async () => {
    const plain = new Store(new S3Backend(backendOptions(settings, { partSize: PART_SIZE, digestMultipart: false })), { root: prefix });
    const size = PART_SIZE + 10;
    const written = await plain.write('no-digest.bin', patternChunks(size, MiB));
    expect(written.sha256).toBeUndefined();
    const info = await plain.stat('no-digest.bin');
    expect(info).toMatchObject({ size, etag: written.etag });
    expect(info.sha256).toBeUndefined();
    expect(await sha256Of(await plain.read('no-digest.bin'))).toBe(await sha256Of(patternChunks(size, MiB)));
    await plain.close();
  });

  it('returns the version id where the bucket keeps versions', async () => {
    const bucket = `stowage-versions-${randomBytes(4).toString('hex')}`;
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    try {
      await client.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
      const versioned = new Store(new S3Backend(backendOptions(settings, { bucket })));
      const first = await versioned.write('v.txt', 'one');
      const second = await versioned.write('v.txt', 'two');
      expect(first.versionId).toBeTruthy();
      expect(second.versionId).toBeTruthy();
      expect(second.versionId).not.toBe(first.versionId);
      expect((await versioned.stat('v.txt')).versionId).toBe(second.versionId);
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'v.txt' }));
      expect(head.VersionId).toBe(second.versionId);
      await versioned.close();
    } finally {
      const versions = await client.send(new ListObjectVersionsCommand({ Bucket: bucket }));
      const objects = [...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])].map((entry) => ({ Key: entry.Key, VersionId: entry.VersionId }));
      if (objects.length > 0) await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
      await client.send(new DeleteBucketCommand({ Bucket: bucket }));
    }
  });

  it('stores metadata names with _ and values of any shape exactly, next to its own SHA-256 field', async () => {
    const metadata = { snake_case: 'a', stowage_sha256: 'user value', 'x-y': '=?UTF-8?B?notours?=', spaced: '  two  spaces  ', tab: 'a\tb', empty: '' };
    await store.write('meta.txt', 'm', { metadata });
    const info = await store.stat('meta.txt');
    expect(info.metadata).toEqual(metadata);
    expect(info.sha256).toBe(createHash('sha256').update('m').digest('hex'));
    const head = await client.send(new HeadObjectCommand({ Bucket: settings.bucket!, Key: `${prefix}meta.txt` }));
    for (const value of Object.values(head.Metadata ?? {})) expect(value).toMatch(/^[\x20-\x7e]*$/);
  });
});
