/**
 * The GCS adapter against a bare `Storage` client of `@google-cloud/storage` doing the same calls,
 * in the same run, on the same server: put and get of 1 KiB (ops/s) and of 64 MiB (MiB/s).
 *
 * The server is `STOWAGE_TEST_GCS_URL` when set (`http://host:port` for an emulator, `gs://bucket`
 * for real GCS with Application Default Credentials), else firebase-tools' storage emulator
 * started here on loopback. That emulator stores only the first part of a chunked resumable
 * upload, so there both sides send a large body as one streamed resumable request (`chunkSize: 0`
 * for stowage, the client's own default for the bare side).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { Store } from '@stowage/core';
import { startGcsEmulator, type TestServer } from '@stowage/conformance/servers';
import { GcsBackend, type GcsOptions } from '@stowage/gcs';
import { Storage } from '@google-cloud/storage';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { bytes, drain, mibPerSecond, pieces, timed } from '../bodies.ts';
import { streamedRoundTrip } from '../streamed.ts';
import { KiB, MiB, addComparisonRows, compare, formatSize, type BenchSuite } from '../harness.ts';

interface Target {
  server: TestServer;
  bucket: string;
  apiEndpoint: string | undefined;
  projectId: string | undefined;
  description: string;
}

async function target(): Promise<Target> {
  const url = process.env.STOWAGE_TEST_GCS_URL;
  if (url?.startsWith('gs://')) {
    const bucket = new URL(url).hostname;
    const server: TestServer = { name: 'gcs', endpoint: 'https://storage.googleapis.com', settings: {}, startedHere: false, stop: async () => undefined };
    return { server, bucket, apiEndpoint: undefined, projectId: process.env.GOOGLE_CLOUD_PROJECT, description: `real GCS, bucket ${bucket}` };
  }
  if (url) {
    const endpoint = new URL(url).origin;
    const server: TestServer = { name: 'gcs', endpoint, settings: {}, startedHere: false, stop: async () => undefined };
    const response = await fetch(`${endpoint}/storage/v1/b?project=bench`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'stowage-bench' }) });
    await response.body?.cancel();
    return { server, bucket: 'stowage-bench', apiEndpoint: endpoint, projectId: 'bench', description: `the emulator at ${endpoint}` };
  }
  // firebase-tools is a devDependency of @stowage/gcs: resolve it from there.
  const server = await startGcsEmulator({ resolveFrom: import.meta.resolve('@stowage/gcs'), bucket: 'stowage-bench' });
  return {
    server,
    bucket: 'stowage-bench',
    apiEndpoint: server.settings.apiEndpoint,
    projectId: server.settings.projectId,
    description: 'the firebase-tools storage emulator on loopback (one streamed request per resumable upload on both sides)',
  };
}

/** The streamed round trip, in a child process of its own: through stowage, and through the bare SDK. */
export const childCases = {
  async 'stowage-roundtrip'(params: Record<string, unknown>): Promise<Record<string, number>> {
    const store = new Store(await GcsBackend.open(params.options as GcsOptions));
    const size = Number(params.size);
    try {
      const write = await timed(() => store.write('streamed/stowage.bin', pieces(size)));
      const read = await timed(async () => drain(await store.read('streamed/stowage.bin')));
      if (read.result !== size) throw new Error(`read ${read.result} bytes of ${size}`);
      return { 'write MiB/s': mibPerSecond(size, write.seconds), 'read MiB/s': mibPerSecond(size, read.seconds) };
    } finally {
      await store.close();
    }
  },
  async 'bare-roundtrip'(params: Record<string, unknown>): Promise<Record<string, number>> {
    const options = params.options as GcsOptions;
    const file = new Storage({ ...(options.apiEndpoint ? { apiEndpoint: options.apiEndpoint } : {}), ...(options.projectId ? { projectId: options.projectId } : {}) })
      .bucket(String(options.bucket))
      .file(`${options.prefix}/streamed/bare.bin`);
    const size = Number(params.size);
    // The same upload as stowage's: resumable, in one streamed request on the emulator, else 8 MiB chunks.
    const write = await timed(() => pipeline(Readable.from(pieces(size)), file.createWriteStream({ resumable: true, ...(options.chunkSize === 0 ? {} : { chunkSize: 8 * MiB }) })));
    const read = await timed(() => drain(file.createReadStream()));
    if (read.result !== size) throw new Error(`read ${read.result} bytes of ${size}`);
    return { 'write MiB/s': mibPerSecond(size, write.seconds), 'read MiB/s': mibPerSecond(size, read.seconds) };
  },
};

export const suite: BenchSuite = {
  name: 'gcs',
  description: 'The GCS adapter against a bare @google-cloud/storage client doing the same calls on the same server.',
  async run(context) {
    const { server, bucket, apiEndpoint, projectId, description } = await target();
    const onFirebase = server.settings.server === 'firebase-storage-emulator';
    const prefix = `bench-${randomBytes(4).toString('hex')}`;
    const options: GcsOptions = { bucket, prefix, ...(apiEndpoint ? { apiEndpoint } : {}), ...(projectId ? { projectId } : {}), ...(onFirebase ? { chunkSize: 0 } : {}) };
    const store = new Store(await GcsBackend.open(options));
    const bare = new Storage({ ...(apiEndpoint ? { apiEndpoint } : {}), ...(projectId ? { projectId } : {}) }).bucket(bucket);
    context.note(`Server: ${description}; @google-cloud/storage on both sides.`);
    try {
      const large = context.profile.size(64 * MiB, 2 * MiB);
      const table = context.table(`Put and get of 1 KiB and ${formatSize(large)}: stowage against a bare Storage client`, ['case', 'unit', 'stowage', 'bare Storage client', 'stowage ÷ bare']);
      for (const size of [KiB, large]) {
        const body = bytes(size);
        const key = `objects/${size}.bin`;
        const bareFile = bare.file(`${prefix}/bare/${size}.bin`);
        await store.write(key, body);
        await bareFile.save(body, { resumable: size > KiB });
        const unit = size === KiB ? ('ops/s' as const) : ('MiB/s' as const);
        context.log(`gcs: put and get ${formatSize(size)}`);
        const put = await compare(
          {
            name: `put ${formatSize(size)}`,
            unit,
            bytes: size,
            sides: [
              { label: 'stowage', run: () => store.write(key, body) },
              // The same requests as stowage: a multipart upload for the small body, a resumable one for the large.
              { label: 'bare', run: () => bareFile.save(body, { resumable: size > KiB }) },
            ],
          },
          context.profile,
        );
        addComparisonRows(table, context, put);
        const get = await compare(
          {
            name: `get ${formatSize(size)}`,
            unit,
            bytes: size,
            sides: [
              { label: 'stowage', run: () => store.readBytes(key) },
              { label: 'bare', run: () => bareFile.download() },
            ],
          },
          context.profile,
        );
        addComparisonRows(table, context, get);
      }
      const streamedSize = context.profile.size(1024 * MiB, 16 * MiB);
      const params = { options: { ...options, prefix: `${prefix}/streamed` }, size: streamedSize };
      await streamedRoundTrip(context, 'gcs', streamedSize, [
        { label: 'stowage (resumable upload)', steps: [{ name: 'stowage-roundtrip', params }] },
        { label: 'bare createWriteStream and createReadStream', steps: [{ name: 'bare-roundtrip', params }] },
      ]);
      table.notes.push(
        'A stowage put also hashes the body (SHA-256, and MD5 for one-request uploads, which GCS checks) and, after a resumable upload, patches the SHA-256 into the metadata (one more request); for its resumable uploads the bare client computes a CRC32C in JavaScript by default, where stowage has the client check an MD5 (Node\'s native hash). A stowage get is two requests sent at once, the metadata and the bytes, checked to be of the same generation so that both always belong together; the bare download is one request.',
      );
    } finally {
      const keys: string[] = [];
      for await (const entry of store.listAll()) keys.push(entry.key);
      await store.deleteMany(keys).catch(() => undefined);
      await bare.deleteFiles({ prefix: `${prefix}/bare/` }).catch(() => undefined);
      await store.close();
      await server.stop();
    }
  },
};
