/**
 * The S3 sweep on the faithful server: multipart uploads a killed writer left (started with the
 * bare SDK, never completed) are found under the store's root and aborted once old enough; younger
 * ones and those of other prefixes are left alone; a dry run removes nothing.
 */
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, ListMultipartUploadsCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '@stowage/core';
import { openTestStore, randomPrefix, rawClient, server } from './servers.ts';

const main = server('main');

describe.skipIf(main.settings === undefined)(`s3 sweep on ${main.name ?? 'no server'}`, () => {
  const settings = main.settings!;
  const bucket = settings.bucket!;
  let client: S3Client;
  let store: Store;
  let prefix: string;
  let teardown: () => Promise<void>;
  const elsewhere = randomPrefix('sweep-elsewhere');

  async function abandoned(key: string): Promise<string> {
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: Buffer.alloc(1024, 7) }));
    return UploadId!;
  }

  async function pending(under: string): Promise<string[]> {
    const response = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: under }));
    return (response.Uploads ?? []).map((upload) => upload.UploadId!).sort();
  }

  beforeAll(() => {
    client = rawClient(settings);
    ({ store, prefix, teardown } = openTestStore(settings, 'sweep'));
  });
  afterAll(async () => {
    for (const under of [prefix, elsewhere]) {
      const response = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: under }));
      for (const upload of response.Uploads ?? []) await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }));
    }
    await teardown();
    client.destroy();
  });

  it('aborts the unfinished uploads under its root once old enough, reports them, and leaves the rest', async () => {
    await store.write('kept.txt', 'an object');
    const mine = [await abandoned(`${prefix}big/one.bin`), await abandoned(`${prefix}two.bin`)].sort();
    const theirs = await abandoned(`${elsewhere}other.bin`);

    // Younger than the default day: kept, and reported as nothing found.
    const young = await store.sweep({ dryRun: true });
    expect(young.kinds.map((kind) => [kind.kind, kind.found])).toEqual([['multipart-upload', 0]]);
    expect(await pending(prefix)).toEqual(mine);

    const dry = await store.sweep({ olderThanMs: 0, dryRun: true });
    expect(dry.found).toBe(2);
    expect(dry.removed).toBe(0);
    expect(dry.items.map((item) => item.id).sort()).toEqual(mine);
    expect(dry.items.map((item) => item.key).sort()).toEqual(['big/one.bin', 'two.bin']);
    expect(dry.items.every((item) => item.reason === 'age' && item.modified instanceof Date && !item.removed)).toBe(true);
    expect(await pending(prefix)).toEqual(mine);

    const swept = await store.sweep({ olderThanMs: 0 });
    expect(swept.found).toBe(2);
    expect(swept.removed).toBe(2);
    expect(await pending(prefix)).toEqual([]);
    expect(await pending(elsewhere)).toEqual([theirs]);
    expect(await store.readText('kept.txt')).toBe('an object');

    // Nothing is left to find, and a sweep of a store rooted below sees only its own part.
    expect((await store.sweep({ olderThanMs: 0 })).found).toBe(0);
    await abandoned(`${prefix}sub/three.bin`);
    await abandoned(`${prefix}four.bin`);
    const sub = await store.at('sub').sweep({ olderThanMs: 0 });
    expect(sub.items.map((item) => item.key)).toEqual(['three.bin']);
    expect((await pending(prefix)).length).toBe(1);
  });
});
