/**
 * The Azure adapter against a bare `ContainerClient` doing the same calls, on the same Azurite (or
 * the server in `STOWAGE_TEST_AZURE_URL`), in the same run: put and get of 1 KiB (ops/s) and of
 * 64 MiB (MiB/s). For 64 MiB the bare SDK is measured twice: as one request (`upload` of the whole
 * buffer, `download` drained), and in blocks (`uploadStream` in 8 MiB blocks, four at a time;
 * `downloadToBuffer`, ranges in parallel); then a 64 MiB stream of unknown length, which stowage
 * stages in blocks, against `uploadStream`, and a 1 KiB put against the bare client sending the
 * same headers as stowage.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { Store } from '@stowage/core';
import { AzureBlobBackend, DEFAULT_BLOCK_SIZE } from '@stowage/azure';
import { azuriteBlobMain, resolveAzurite, serverUrlVariable, type TestServer } from '@stowage/conformance/servers';
import { bytes, drain, mibPerSecond, pieces, timed } from '../bodies.ts';
import { streamedRoundTrip } from '../streamed.ts';
import { KiB, MiB, addComparisonRows, compare, formatSize, type BenchSuite, type Side, type SuiteContext } from '../harness.ts';

const CONCURRENCY = 4;

async function server(): Promise<TestServer> {
  // On disk: a full run writes many gigabytes, and Azurite frees overwritten data only every ten minutes.
  const resolved = await resolveAzurite({ resolveFrom: import.meta.url, persistence: 'disk' });
  if (!resolved.server) throw new Error(resolved.skip);
  return resolved.server;
}

async function measure(context: SuiteContext, found: TestServer): Promise<void> {
  const { endpoint, accountName, accountKey } = found.settings as Record<string, string>;
  const container = `bench-${Date.now().toString(36)}`;
  const client = new ContainerClient(`${endpoint}/${container}`, new StorageSharedKeyCredential(accountName!, accountKey!));
  await client.createIfNotExists();
  const store = new Store(await AzureBlobBackend.open({ client }));
  try {
    const small = context.table('Put and get of 1 KiB', ['case', 'unit', 'stowage', 'bare ContainerClient', 'stowage ÷ bare']);
    const large = context.profile.size(64 * MiB, 4 * MiB);
    const big = context.table(`Put and get of ${formatSize(large)}`, [
      'case',
      'unit',
      'stowage',
      'bare, one request',
      `bare, ${formatSize(DEFAULT_BLOCK_SIZE)} blocks × ${CONCURRENCY}`,
      'stowage ÷ one request',
      'stowage ÷ blocks',
    ]);
    for (const size of [KiB, large]) {
      const body = bytes(size);
      const unit = size === KiB ? ('ops/s' as const) : ('MiB/s' as const);
      const keys = { stowage: `stowage/${size}.bin`, bare: `bare/${size}.bin` };
      // A first write of each, so that every timed put is an overwrite and every get finds its blob.
      await store.write(keys.stowage, body);
      await client.getBlockBlobClient(keys.bare).uploadData(body);
      const bare = client.getBlockBlobClient(keys.bare);
      let version = 0;
      const changed = (): Buffer => (body.writeUInt32LE(++version, 0), body);
      const putSides: Side[] = [
        { label: 'stowage', run: () => store.write(keys.stowage, changed()) },
        { label: 'bare, one request', run: () => bare.upload(changed(), size) },
      ];
      const getSides: Side[] = [
        { label: 'stowage', run: async () => drain(await store.read(keys.stowage)) },
        { label: 'bare, one request', run: async () => drain((await bare.download()).readableStreamBody as AsyncIterable<Uint8Array>) },
      ];
      if (size !== KiB) {
        putSides.push({ label: 'bare, blocks', run: () => bare.uploadStream(Readable.from([changed()]), DEFAULT_BLOCK_SIZE, CONCURRENCY) });
        getSides.push({ label: 'bare, blocks', run: async () => (await bare.downloadToBuffer(0, undefined, { blockSize: DEFAULT_BLOCK_SIZE, concurrency: CONCURRENCY })).byteLength });
      }
      const table = size === KiB ? small : big;
      context.log(`put ${formatSize(size)}`);
      addComparisonRows(table, context, await compare({ name: `put ${formatSize(size)}`, unit, bytes: size, sides: putSides }, context.profile));
      context.log(`get ${formatSize(size)}`);
      addComparisonRows(table, context, await compare({ name: `get ${formatSize(size)}`, unit, bytes: size, sides: getSides }, context.profile));
    }
    small.notes.push('A stowage put hashes the body (SHA-256, kept in the blob metadata) and sends the content type; both sides send one Put Blob request, and a get is one GET.');
    await sameHeaders(context, store, client);
    await streamed(context, store, client, large);
    big.notes.push(
      `The body is a Buffer: stowage sends it in one Put Blob, as the SDK's uploadData does (bodies given as bytes, up to 256 MiB), and reads with one streamed GET. "One request" is the SDK's upload of the whole buffer in one Put Blob and one drained GET; "blocks" is uploadStream with stowage's default block size and concurrency, and downloadToBuffer in ranges of the same size, in parallel. A stream of unknown length is staged in blocks: see the next table.`,
    );
  } finally {
    await client.deleteIfExists();
  }
}

/** Put 1 KiB with the bare client sending what stowage sends (a content type and a 64-character metadata value): the client-side cost alone. */
async function sameHeaders(context: SuiteContext, store: Store, client: ContainerClient): Promise<void> {
  const table = context.table('Put of 1 KiB with the same headers', ['case', 'unit', 'stowage', 'bare, same headers', 'stowage ÷ bare']);
  const body = bytes(KiB);
  const bare = client.getBlockBlobClient('bare/headers.bin');
  let version = 0;
  const changed = (): Buffer => (body.writeUInt32LE(++version, 0), body);
  const result = await compare(
    {
      name: 'put 1 KiB',
      unit: 'ops/s',
      bytes: KiB,
      sides: [
        { label: 'stowage', run: () => store.write('stowage/headers.bin', changed()) },
        {
          label: 'bare, same headers',
          run: () => {
            const bytes = changed();
            return bare.upload(bytes, KiB, { blobHTTPHeaders: { blobContentType: 'application/octet-stream' }, metadata: { stowage_sha256: createHash('sha256').update(bytes).digest('hex') } });
          },
        },
      ],
    },
    context.profile,
  );
  addComparisonRows(table, context, result);
  table.notes.push('The bare side hashes the body and sends the content type and the SHA-256 in the metadata as stowage does, so the ratio is what Store and the adapter add on the client.');
}

/** A body of unknown length (1 MiB pieces as a file or socket yields them): stowage against the SDK's uploadStream with the same blocks. */
async function streamed(context: SuiteContext, store: Store, client: ContainerClient, size: number): Promise<void> {
  const table = context.table(`Streamed put of ${formatSize(size)} of unknown length`, ['case', 'unit', 'stowage', `bare uploadStream, ${formatSize(DEFAULT_BLOCK_SIZE)} blocks × ${CONCURRENCY}`, 'stowage ÷ bare']);
  const bare = client.getBlockBlobClient('bare/streamed.bin');
  const result = await compare(
    {
      name: `put ${formatSize(size)}, streamed`,
      unit: 'MiB/s',
      bytes: size,
      sides: [
        { label: 'stowage', run: () => store.write('stowage/streamed.bin', pieces(size)) },
        { label: 'bare', run: () => bare.uploadStream(Readable.from(pieces(size)), DEFAULT_BLOCK_SIZE, CONCURRENCY) },
      ],
    },
    context.profile,
  );
  addComparisonRows(table, context, result);
  table.notes.push(`Both sides stage ${formatSize(DEFAULT_BLOCK_SIZE)} blocks, ${CONCURRENCY} at a time, while reading the next, and commit them at the end; memory stays bounded by the blocks in flight.`);
}

/** The Azure suite. */
function containerOf(params: Record<string, unknown>): ContainerClient {
  return new ContainerClient(String(params.url), new StorageSharedKeyCredential(String(params.accountName), String(params.accountKey)));
}

/** The streamed round trip, in a child process of its own: through stowage, and through the bare SDK. */
export const childCases = {
  async 'stowage-roundtrip'(params: Record<string, unknown>): Promise<Record<string, number>> {
    const store = new Store(await AzureBlobBackend.open({ client: containerOf(params) }));
    const size = Number(params.size);
    const write = await timed(() => store.write('streamed/stowage.bin', pieces(size)));
    const read = await timed(async () => drain(await store.read('streamed/stowage.bin')));
    if (read.result !== size) throw new Error(`read ${read.result} bytes of ${size}`);
    return { 'write MiB/s': mibPerSecond(size, write.seconds), 'read MiB/s': mibPerSecond(size, read.seconds) };
  },
  async 'bare-roundtrip'(params: Record<string, unknown>): Promise<Record<string, number>> {
    const blob = containerOf(params).getBlockBlobClient('streamed/bare.bin');
    const size = Number(params.size);
    const write = await timed(() => blob.uploadStream(Readable.from(pieces(size)), DEFAULT_BLOCK_SIZE, CONCURRENCY));
    const read = await timed(async () => drain((await blob.download()).readableStreamBody as AsyncIterable<Uint8Array>));
    if (read.result !== size) throw new Error(`read ${read.result} bytes of ${size}`);
    return { 'write MiB/s': mibPerSecond(size, write.seconds), 'read MiB/s': mibPerSecond(size, read.seconds) };
  },
};

export const suite: BenchSuite = {
  name: 'azure',
  description: 'The Azure Blob Storage adapter against a bare ContainerClient doing the same calls, on Azurite (on disk, on loopback) or the server in STOWAGE_TEST_AZURE_URL.',
  async unavailable() {
    if (process.env[serverUrlVariable('azure')]) return undefined;
    try {
      azuriteBlobMain(import.meta.url);
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  },
  async run(context) {
    const found = await server();
    try {
      context.note(found.startedHere ? `Azurite (npm, ${found.endpoint.replace(/\/[^/]*$/, '')}), data on disk.` : `The server in ${serverUrlVariable('azure')}.`);
      await measure(context, found);
      const { endpoint, accountName, accountKey } = found.settings as Record<string, string>;
      const container = `bench-streamed-${Date.now().toString(36)}`;
      const client = new ContainerClient(`${endpoint}/${container}`, new StorageSharedKeyCredential(accountName!, accountKey!));
      await client.createIfNotExists();
      try {
        const params = { url: client.url, accountName, accountKey, size: context.profile.size(1024 * MiB, 16 * MiB) };
        await streamedRoundTrip(context, 'azure', params.size, [
          { label: `stowage (${formatSize(DEFAULT_BLOCK_SIZE)} blocks × 4)`, steps: [{ name: 'stowage-roundtrip', params }] },
          { label: `bare uploadStream (${formatSize(DEFAULT_BLOCK_SIZE)} × ${CONCURRENCY}) and download`, steps: [{ name: 'bare-roundtrip', params }] },
        ]);
      } finally {
        await client.deleteIfExists();
      }
    } finally {
      await found.stop();
    }
  },
};
