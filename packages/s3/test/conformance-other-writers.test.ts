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
        // Node's header check refuses characters above U+00FF. Those up to it go as UTF-8 bytes when
        // the body is a string (Node sends headers and a string body in one UTF-8 write); beside a
        // buffer they go as Latin-1 bytes, which no longer match the signature (RGW: 403). So a
        // write with metadata sends its (text) body as a string, as an application writing text does.
        metadata: 'latin-1',
        write: async (Key, body, options) => {
          const Body = options?.metadata ? new TextDecoder('utf-8', { fatal: true }).decode(body) : body;
          await client.send(new PutObjectCommand({ Bucket, Key, Body, Metadata: options?.metadata }));
        },
        delete: async (Key) => void (await client.send(new DeleteObjectCommand({ Bucket, Key }))),
        copy: async (from, Key) => void (await client.send(new CopyObjectCommand({ Bucket, Key, CopySource: `${Bucket}/${encodeURIComponent(from).replaceAll('%2F', '/')}` }))),
        close: async () => client.destroy(),
      };
      return { store: opened.store, teardown: opened.teardown, otherWriter };
    },
  });
}
