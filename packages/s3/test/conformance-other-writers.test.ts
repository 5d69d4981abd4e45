/**
 * The conformance kit's `other-writers` group on S3: the bare AWS SDK for JavaScript (as an
 * application that does not use stowage would call it) overwrites, deletes, re-creates and copies
 * keys beside stowage, and writes user metadata as that SDK sends it.
 */
import { CopyObjectCommand, DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, it } from 'vitest';
import type { OtherWriter } from '@stowage/conformance';
import { describeOtherWriters } from '@stowage/conformance/vitest';
import { openTestStore, rawClient, server } from './servers.ts';

/**
 * Values as an application gives them to the SDK: it sends characters up to U+00FF as raw UTF-8
 * bytes and refuses the others (Node's header check), for which such applications send an RFC 2047
 * `Q` word, the mail clients' form.
 */
function asTheSdkSends(metadata: Record<string, string>): Record<string, string> {
  const wire: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata)) {
    wire[name] = /[^\x00-\xff]/.test(value) ? `=?UTF-8?Q?${[...Buffer.from(value, 'utf8')].map((byte) => (byte === 0x20 ? '_' : byte > 0x7e || byte < 0x21 || byte === 0x3d || byte === 0x3f || byte === 0x5f ? `=${byte.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(byte))).join('')}?=` : value;
  }
  return wire;
}

/** What Ceph RGW cannot be trusted with, measured with the bare SDK alone (no stowage in the loop). */
const RGW_OVERRIDES = {
  'other-writers/concurrent-cas':
    'Ceph RGW checks If-Match on PutObject when the request starts, not when the object switches: an unconditional PUT by another client that lands in between is overwritten (with the bare SDK alone, 10 of 30 conditional PUTs racing a plain PUT applied over it); AWS S3 and MinIO apply the condition atomically',
};

const main = server('main');
if (main.settings === undefined) {
  describe('s3', () => {
    it.skip(`other writers: ${main.skip}`, () => {});
  });
} else {
  const settings = main.settings;
  describeOtherWriters({
    name: `s3 (${main.name})`,
    chunkSize: 5 * 1024 * 1024,
    overrides: main.name === 'ceph-rgw' ? RGW_OVERRIDES : undefined,
    factory: () => {
      const opened = openTestStore(settings, 'other-writers', { partSize: 5 * 1024 * 1024 });
      const client = rawClient(settings);
      const Bucket = settings.bucket!;
      const otherWriter: OtherWriter = {
        name: 'the bare AWS SDK for JavaScript',
        metadata: true,
        write: async (Key, Body, options) => void (await client.send(new PutObjectCommand({ Bucket, Key, Body, Metadata: options?.metadata && asTheSdkSends(options.metadata) }))),
        delete: async (Key) => void (await client.send(new DeleteObjectCommand({ Bucket, Key }))),
        copy: async (from, Key) => void (await client.send(new CopyObjectCommand({ Bucket, Key, CopySource: `${Bucket}/${encodeURIComponent(from).replaceAll('%2F', '/')}` }))),
        close: async () => client.destroy(),
      };
      return { store: opened.store, teardown: opened.teardown, otherWriter };
    },
  });
}
