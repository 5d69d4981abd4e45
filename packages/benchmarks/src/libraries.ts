/**
 * The libraries the peer comparisons run, behind one small interface: stowage, the hardware's or
 * SDK's own path, and the peers (flydrive, unstorage, Apache OpenDAL), on a filesystem or on S3.
 * Each is used the way its documentation shows, at its best where it has a choice (buffer sizes).
 *
 * @module
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Store, type Backend } from '@stowage/core';
import { LocalBackend } from '@stowage/local';
import { S3Backend } from '@stowage/s3';
import { drain } from './bodies.ts';
import { MiB } from './harness.ts';

/** One library's put and get of whole buffers, and its streamed write from a file and read. */
export interface Library {
  readonly label: string;
  put(key: string, body: Uint8Array): Promise<unknown>;
  get(key: string): Promise<Uint8Array>;
  /** Streams the file at `source` into `key`. */
  writeFrom(key: string, source: string): Promise<unknown>;
  /** Reads `key` to its end; the number of bytes. */
  readAll(key: string): Promise<number>;
  close?(): Promise<void>;
}

/** The libraries compared on a filesystem, stowage first. */
export const FS_LIBRARIES = ['stowage', 'node:fs', 'flydrive', 'unstorage', 'opendal'] as const;
/** The libraries compared on S3, stowage first. */
export const S3_LIBRARIES = ['stowage', 'aws-sdk', 'flydrive', 'unstorage', 'opendal'] as const;

/** Where the libraries keep their objects. */
export type Place = { kind: 'fs'; root: string } | { kind: 's3'; settings: Readonly<Record<string, string>>; prefix: string };

const fromFile = (source: string): Readable => createReadStream(source, { highWaterMark: MiB });

/** Opens one library on a place. */
export async function openLibrary(name: string, place: Place): Promise<Library> {
  if (place.kind === 'fs') await mkdir(place.root, { recursive: true });
  const s3 = place.kind === 's3' ? place.settings : undefined;
  const credentials = s3 ? { accessKeyId: s3.accessKeyId!, secretAccessKey: s3.secretAccessKey! } : undefined;
  const prefix = place.kind === 's3' ? place.prefix : '';
  switch (`${place.kind}:${name}`) {
    case 'fs:stowage':
    case 's3:stowage': {
      const backend: Backend = place.kind === 'fs' ? new LocalBackend({ root: place.root }) : new S3Backend({ bucket: s3!.bucket!, endpoint: s3!.endpoint, region: s3!.region, forcePathStyle: true, credentials, prefix });
      const store = new Store(backend);
      return {
        label: place.kind === 'fs' ? 'stowage (@stowage/local)' : 'stowage (@stowage/s3)',
        put: (key, body) => store.write(key, body),
        get: (key) => store.readBytes(key),
        writeFrom: (key, source) => store.write(key, fromFile(source)),
        readAll: async (key) => drain(await store.read(key)),
        close: () => store.close(),
      };
    }
    case 'fs:node:fs': {
      const path = (key: string): string => join(place.kind === 'fs' ? place.root : '', key);
      return {
        label: 'node:fs (writeFile, readFile, stream.pipeline)',
        put: async (key, body) => {
          await mkdir(dirname(path(key)), { recursive: true });
          await writeFile(path(key), body);
        },
        get: (key) => readFile(path(key)),
        writeFrom: async (key, source) => {
          await mkdir(dirname(path(key)), { recursive: true });
          await pipeline(fromFile(source), createWriteStream(path(key), { highWaterMark: MiB }));
        },
        readAll: (key) => drain(createReadStream(path(key), { highWaterMark: MiB })),
      };
    }
    case 's3:aws-sdk': {
      const { GetObjectCommand, PutObjectCommand, S3Client } = await import('@aws-sdk/client-s3');
      const { Upload } = await import('@aws-sdk/lib-storage');
      const client = new S3Client({ endpoint: s3!.endpoint, region: s3!.region, forcePathStyle: true, credentials, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
      const Bucket = s3!.bucket!;
      return {
        label: 'bare @aws-sdk/client-s3 (+ lib-storage, 8 MiB parts × 4)',
        put: (key, body) => client.send(new PutObjectCommand({ Bucket, Key: prefix + key, Body: body, ContentLength: body.byteLength })),
        get: async (key) => (await client.send(new GetObjectCommand({ Bucket, Key: prefix + key }))).Body!.transformToByteArray(),
        writeFrom: (key, source) => new Upload({ client, params: { Bucket, Key: prefix + key, Body: fromFile(source) }, partSize: 8 * MiB, queueSize: 4 }).done(),
        readAll: async (key) => drain((await client.send(new GetObjectCommand({ Bucket, Key: prefix + key }))).Body!.transformToWebStream()),
        close: async () => client.destroy(),
      };
    }
    case 'fs:flydrive':
    case 's3:flydrive': {
      const { Disk } = await import('flydrive');
      let disk: InstanceType<typeof Disk>;
      if (place.kind === 'fs') {
        const { FSDriver } = await import('flydrive/drivers/fs');
        disk = new Disk(new FSDriver({ location: place.root, visibility: 'private' }));
      } else {
        const { S3Driver } = await import('flydrive/drivers/s3');
        // Without WHEN_REQUIRED, its streamed uploads of unknown length fail on S3-compatible servers.
        disk = new Disk(new S3Driver({ bucket: s3!.bucket!, endpoint: s3!.endpoint, region: s3!.region, forcePathStyle: true, credentials, visibility: 'private', supportsACL: false, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }));
      }
      return {
        label: place.kind === 'fs' ? 'flydrive (fs driver)' : 'flydrive (s3 driver)',
        put: (key, body) => disk.put(prefix + key, body),
        get: (key) => disk.getBytes(prefix + key),
        writeFrom: (key, source) => disk.putStream(prefix + key, fromFile(source)),
        readAll: async (key) => drain(await disk.getStream(prefix + key)),
      };
    }
    case 'fs:unstorage':
    case 's3:unstorage': {
      const { createStorage } = await import('unstorage');
      let storage: ReturnType<typeof createStorage>;
      if (place.kind === 'fs') {
        const { default: fsDriver } = await import('unstorage/drivers/fs');
        storage = createStorage({ driver: fsDriver({ base: place.root }) });
      } else {
        const { default: s3Driver } = await import('unstorage/drivers/s3');
        storage = createStorage({ driver: s3Driver({ accessKeyId: s3!.accessKeyId!, secretAccessKey: s3!.secretAccessKey!, endpoint: s3!.endpoint!, region: s3!.region!, bucket: s3!.bucket! }) });
      }
      // unstorage's keys use ':' as the separator.
      const keyOf = (key: string): string => (prefix + key).replaceAll('/', ':');
      return {
        label: place.kind === 'fs' ? 'unstorage (fs driver)' : 'unstorage (s3 driver)',
        put: (key, body) => storage.setItemRaw(keyOf(key), body),
        get: async (key) => (await storage.getItemRaw(keyOf(key))) as Uint8Array,
        // No streaming API: the whole file is read into memory and stored (its raw setter takes a buffer).
        writeFrom: async (key, source) => storage.setItemRaw(keyOf(key), await readFile(source)),
        readAll: async (key) => ((await storage.getItemRaw(keyOf(key))) as Uint8Array).byteLength,
        close: () => storage.dispose(),
      };
    }
    case 'fs:opendal':
    case 's3:opendal': {
      const { Operator } = await import('opendal');
      const operator =
        place.kind === 'fs'
          ? new Operator('fs', { root: place.root })
          : new Operator('s3', { bucket: s3!.bucket!, endpoint: s3!.endpoint!, region: s3!.region!, access_key_id: s3!.accessKeyId!, secret_access_key: s3!.secretAccessKey!, root: `/${prefix}` });
      return {
        label: place.kind === 'fs' ? 'opendal 0.49.2 (fs service)' : 'opendal 0.49.2 (s3 service)',
        put: (key, body) => operator.write(key, Buffer.from(body.buffer, body.byteOffset, body.byteLength)),
        get: (key) => operator.read(key),
        writeFrom: async (key, source) => {
          // Its writer's chunk size must be a bigint; 8 MiB parts like the others.
          const writer = await operator.writer(key, place.kind === 's3' ? { chunk: BigInt(8 * MiB) } : undefined);
          await pipeline(fromFile(source), writer.createWriteStream() as Writable);
        },
        // 1 MiB reads: its default of 16 KiB pieces runs at a fraction of the speed.
        readAll: async (key) => drain((await operator.reader(key)).createReadStream({ highWaterMark: MiB }) as Readable),
      };
    }
    default:
      throw new Error(`no library ${name} on ${place.kind}`);
  }
}

/** Child cases for the streamed comparisons: a file into the store, and back out, in a process of its own. */
export const libraryChildCases = {
  async write(params: Record<string, unknown>): Promise<Record<string, number>> {
    const library = await openLibrary(String(params.library), params.place as Place);
    try {
      const started = performance.now();
      await library.writeFrom('big/object.bin', String(params.source));
      return { 'MiB/s': Number(params.size) / MiB / ((performance.now() - started) / 1000) };
    } finally {
      await library.close?.();
    }
  },
  async read(params: Record<string, unknown>): Promise<Record<string, number>> {
    const library = await openLibrary(String(params.library), params.place as Place);
    try {
      const started = performance.now();
      const size = await library.readAll('big/object.bin');
      if (size !== Number(params.size)) throw new Error(`read ${size} bytes of ${String(params.size)}`);
      return { 'MiB/s': size / MiB / ((performance.now() - started) / 1000) };
    } finally {
      await library.close?.();
    }
  },
};
