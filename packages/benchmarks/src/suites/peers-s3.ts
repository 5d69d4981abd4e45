/**
 * The S3 adapter against the bare AWS SDK and the peer libraries (flydrive's s3 driver, unstorage's
 * s3 driver, Apache OpenDAL's s3 service) on the same server in the same run: a Ceph RGW cluster
 * started here, or the server of `STOWAGE_TEST_S3_URL`.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Store } from '@stowage/core';
import { S3Backend } from '@stowage/s3';
import { pieces } from '../bodies.ts';
import { s3Unavailable, startS3Server } from '../s3-server.ts';
import { MiB, type BenchSuite } from '../harness.ts';
import { S3_LIBRARIES, libraryChildCases, openLibrary, type Place } from '../libraries.ts';
import { putGetTable, streamedTable } from '../peers.ts';

async function removeObject(settings: Readonly<Record<string, string>>, where: Place, key: string): Promise<void> {
  if (where.kind !== 's3') return;
  const store = new Store(new S3Backend({ bucket: settings.bucket!, endpoint: settings.endpoint, region: settings.region, forcePathStyle: true, credentials: { accessKeyId: settings.accessKeyId!, secretAccessKey: settings.secretAccessKey! }, prefix: where.prefix }));
  try {
    await store.delete(key);
  } finally {
    await store.close();
  }
}

/** Cases that run in a child process of their own, for peak RSS. */
export const childCases = libraryChildCases;

export const suite: BenchSuite = {
  name: 'peers-s3',
  description: 'stowage against the bare AWS SDK, flydrive, unstorage and OpenDAL on the same S3 server (Ceph RGW here, or STOWAGE_TEST_S3_URL).',
  unavailable: s3Unavailable,
  async run(context) {
    const server = await startS3Server();
    const directory = await mkdtemp(join(tmpdir(), 'stowage-bench-peers-s3-'));
    const run = randomBytes(4).toString('hex');
    const place = (name: string, part: string): Place => ({ kind: 's3', settings: server.settings, prefix: `peers-${run}/${part}/${name}/` });
    try {
      context.note(`Server: ${server.name} at ${server.endpoint}.`);
      const libraries = await Promise.all(S3_LIBRARIES.map((name) => openLibrary(name, place(name, 'small'))));
      try {
        await putGetTable(context, 'Put and get through each library', libraries, context.profile.size(64 * MiB, 2 * MiB), 'A stowage put stores the SHA-256 with the object (a 64 MiB put is a multipart upload plus the copy that attaches it).');
      } finally {
        for (const library of libraries) await library.close?.();
      }
      const size = context.profile.size(1024 * MiB, 16 * MiB);
      const source = join(directory, 'source.bin');
      await pipeline(Readable.from(pieces(size)), createWriteStream(source));
      await streamedTable(
        context,
        'peers-s3',
        S3_LIBRARIES.map((name) => ({
          name,
          place: place(name, 'big'),
          // Every library keeps its object at <its prefix>big/object.bin: removed through stowage.
          cleanup: () => removeObject(server.settings, place(name, 'big'), 'big/object.bin'),
        })),
        source,
        size,
      );
    } finally {
      await rm(directory, { recursive: true, force: true });
      await server.stop();
    }
  },
};
