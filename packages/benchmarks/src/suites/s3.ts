/**
 * The S3 adapter against a bare `S3Client` making the same calls, on the same server in the same
 * run (a Ceph RGW cluster started here, or the server of `STOWAGE_TEST_S3_URL`): put and get of
 * 1 KiB (ops/s) and 64 MiB (MiB/s). For the 64 MiB put there are two references: one PutObject of
 * the whole buffer, and the multipart upload stowage makes (8 MiB parts, 4 in flight) written by hand.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { Store } from '@stowage/core';
import { DEFAULT_PART_CONCURRENCY, DEFAULT_PART_SIZE, S3Backend } from '@stowage/s3';
import { bytes, drain } from '../bodies.ts';
import { s3Unavailable, startS3Server } from '../s3-server.ts';
import { KiB, MiB, addComparisonRows, compare, formatSize, type BenchSuite } from '../harness.ts';

/** PutObject of the whole buffer in one request. */
async function putOnce(client: S3Client, bucket: string, key: string, body: Buffer): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.byteLength }));
}

/** The multipart upload stowage makes, by hand: parts of `partSize`, `concurrency` in flight. */
async function putInParts(client: S3Client, bucket: string, key: string, body: Buffer, partSize: number, concurrency: number): Promise<void> {
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const parts: CompletedPart[] = [];
  const offsets: number[] = [];
  for (let offset = 0; offset < body.byteLength; offset += partSize) offsets.push(offset);
  for (let index = 0; index < offsets.length; index += concurrency) {
    await Promise.all(
      offsets.slice(index, index + concurrency).map(async (offset, within) => {
        const number = index + within + 1;
        const part = body.subarray(offset, Math.min(body.byteLength, offset + partSize));
        const response = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: number, Body: part, ContentLength: part.byteLength }));
        parts[number - 1] = { PartNumber: number, ETag: response.ETag };
      }),
    );
  }
  await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
}

async function getBytes(client: S3Client, bucket: string, key: string): Promise<number> {
  const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return drain((response.Body as { transformToWebStream(): ReadableStream<Uint8Array> }).transformToWebStream());
}

async function deletePrefix(client: S3Client, bucket: string, prefix: string): Promise<void> {
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    const objects = (page.Contents ?? []).map((entry) => ({ Key: entry.Key }));
    if (objects.length > 0) await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

export const suite: BenchSuite = {
  name: 's3',
  description: 'The S3 adapter against a bare S3Client making the same calls, on Ceph RGW (memstore, one OSD, loopback) or the server of STOWAGE_TEST_S3_URL.',
  unavailable: s3Unavailable,
  async run(context) {
    const server = await startS3Server();
    const settings = server.settings;
    const bucket = settings.bucket!;
    const prefix = `bench-${randomBytes(4).toString('hex')}/`;
    const credentials = { accessKeyId: settings.accessKeyId!, secretAccessKey: settings.secretAccessKey! };
    // The bare client is configured exactly as the adapter configures its own.
    const client = new S3Client({
      endpoint: settings.endpoint,
      region: settings.region,
      forcePathStyle: true,
      credentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const options = { bucket, endpoint: settings.endpoint, region: settings.region, forcePathStyle: true, credentials, prefix: `${prefix}stowage/` };
    const store = new Store(new S3Backend(options));
    const undigested = new Store(new S3Backend({ ...options, digestMultipart: false }));
    context.note(`Server: ${server.name} at ${server.endpoint}. Default part size ${formatSize(DEFAULT_PART_SIZE)}, ${DEFAULT_PART_CONCURRENCY} parts in flight. stowage also computes the SHA-256 of every body, and a multipart write attaches it with an in-place CopyObject after CompleteMultipartUpload.`);
    try {
      const large = context.profile.size(64 * MiB, 16 * MiB);
      const table = context.table(`Put and get of 1 KiB and ${formatSize(large)}: stowage against a bare S3Client`, [
        'case',
        'unit',
        'stowage',
        'bare S3Client',
        'bare multipart (same parts)',
        'stowage ÷ bare',
        'stowage ÷ multipart',
      ]);
      // Rows of two-sided comparisons get a dash where the multipart reference does not apply.
      const addRows = (result: Parameters<typeof addComparisonRows>[2]): void => {
        addComparisonRows(table, context, result);
        if (result.sides.length === 2) {
          const row = table.rows.at(-1)!;
          row.splice(4, 0, '—');
          row.push('—');
        }
      };
      for (const size of [KiB, large]) {
        context.log(`s3: put/get ${formatSize(size)}`);
        const body = bytes(size);
        const key = `bench/${size}.bin`;
        const bareKey = `${prefix}bare/${key}`;
        const unit = size === KiB ? ('ops/s' as const) : ('MiB/s' as const);
        const sides = [
          { label: 'stowage', run: () => store.write(key, body) },
          { label: 'bare PutObject', run: () => putOnce(client, bucket, bareKey, body) },
        ];
        if (size > DEFAULT_PART_SIZE) sides.push({ label: 'bare multipart', run: () => putInParts(client, bucket, `${bareKey}.parts`, body, DEFAULT_PART_SIZE, DEFAULT_PART_CONCURRENCY) });
        addRows(await compare({ name: `put ${formatSize(size)}`, unit, bytes: size, sides }, context.profile));
        if (size > DEFAULT_PART_SIZE) {
          const plainSides = [{ ...sides[0]!, label: 'stowage, digestMultipart: false', run: () => undigested.write(`${key}.plain`, body) }, ...sides.slice(1)];
          addRows(await compare({ name: `put ${formatSize(size)}, digestMultipart: false`, unit, bytes: size, sides: plainSides }, context.profile));
        }
        const get = await compare(
          {
            name: `get ${formatSize(size)}`,
            unit,
            bytes: size,
            sides: [
              { label: 'stowage', run: async () => drain(await store.read(key)) },
              { label: 'bare GetObject', run: () => getBytes(client, bucket, bareKey) },
            ],
          },
          context.profile,
        );
        addRows(get);
      }
      table.notes.push('"bare S3Client" is one PutObject of the whole buffer (or one GetObject); "bare multipart" is the upload stowage makes, by hand. Ratios above 1: stowage is faster. Each 64 MiB put through stowage is a multipart upload of 8 MiB parts followed by the in-place copy that attaches its SHA-256.');
    } finally {
      await store.close();
      await undigested.close();
      await deletePrefix(client, bucket, prefix).catch(() => undefined);
      client.destroy();
      await server.stop();
    }
  },
};
