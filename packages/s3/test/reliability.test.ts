/**
 * The reliability checks on S3: Ceph RGW (or the server of STOWAGE_TEST_S3_URL) with every check,
 * reached through a fault proxy for the connection checks, where a cut upload must leave no
 * incomplete multipart upload behind; and s3rver, whose gaps are declared.
 */
import { describe, it } from 'vitest';
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { Store } from '@stowage/core';
import type { FaultProxy } from '@stowage/conformance/faults';
import { describeReliability, type ReliabilityCheck } from '@stowage/conformance/reliability';
import { S3Backend } from '@stowage/s3';
import { CONDITIONS, LIST_ORDER, NAME_LIMIT, RANGES } from './s3rver-gaps.ts';
import { backendOptions, openTestStore, randomPrefix, rawClient, rawClientConfig, server, type ServerName } from './servers.ts';

const PART_SIZE = 5 * 1024 * 1024;

/**
 * Stores on one fresh prefix, through the proxy and direct; the leftovers are incomplete multipart
 * uploads under it. With `sdkRetries: false` the proxied client makes one attempt per request, so
 * that a cut part fails the write (and the upload must be aborted) instead of being sent again.
 */
function faultStores(settings: Record<string, string>, sdkRetries = true) {
  return async (proxy: FaultProxy) => {
    const prefix = randomPrefix('faults');
    const endpoint = proxy.url(settings.endpoint!).replace(/\/$/, '');
    const borrowed = sdkRetries ? undefined : new S3Client({ ...rawClientConfig(settings), endpoint, maxAttempts: 1 });
    const proxied = new S3Backend(backendOptions(settings, { endpoint, partSize: PART_SIZE, client: borrowed }));
    const direct = new S3Backend(backendOptions(settings, { partSize: PART_SIZE }));
    const raw = rawClient(settings);
    const directStore = new Store(direct, { root: prefix });
    return {
      proxied: new Store(proxied, { root: prefix }),
      direct: directStore,
      leftovers: async () => {
        const listed = await raw.send(new ListMultipartUploadsCommand({ Bucket: settings.bucket, Prefix: prefix }));
        return (listed.Uploads ?? []).map((upload) => `incomplete multipart upload of ${upload.Key} (${upload.UploadId})`);
      },
      teardown: async () => {
        const keys: string[] = [];
        for await (const entry of directStore.listAll()) keys.push(entry.key);
        await directStore.deleteMany(keys);
        await proxied.close();
        await direct.close();
        borrowed?.destroy();
        raw.destroy();
      },
    };
  };
}

const IN_PLACE = 's3rver rewrites an object file in place, so a read during an overwrite can see a mix';
const S3RVER_GAPS: Partial<Record<ReliabilityCheck, string>> = {
  'races/create-only': CONDITIONS,
  'races/compare-and-swap': CONDITIONS,
  'races/overwrite': IN_PLACE,
  'keys/hostile': `${LIST_ORDER}; and ${NAME_LIMIT}`,
  'keys/metacharacters': LIST_ORDER,
  'faults/upload-cut': IN_PLACE,
  'faults/download-resumed': RANGES,
};

for (const name of ['main', 's3rver'] as ServerName[]) {
  const resolved = server(name);
  if (resolved.settings === undefined) {
    describe(`stowage reliability: s3 (${name})`, () => {
      it.skip(`reliability: ${resolved.skip}`, () => {});
    });
    continue;
  }
  const settings = resolved.settings;
  describeReliability({
    name: `s3 (${resolved.name})`,
    factory: () => openTestStore(settings, 'reliability', { partSize: PART_SIZE }),
    overrides: name === 's3rver' ? S3RVER_GAPS : {},
    keys: { timeLimitMs: 15_000 },
    faults: { target: settings.endpoint!, open: faultStores(settings), uploadSize: PART_SIZE + 1024 * 1024, downloadSize: 1024 * 1024, trials: 3 },
    secrets: [settings.secretAccessKey!, settings.accessKeyId!],
    failures: [
      () => new Store(new S3Backend(backendOptions(settings, { credentials: { accessKeyId: settings.accessKeyId!, secretAccessKey: `${settings.secretAccessKey!}-wrong` } }))).stat('x'),
      () => new Store(new S3Backend(backendOptions(settings, { bucket: 'no-such-bucket-stowage' }))).write('x', 'y'),
    ],
  });
}

// The same cuts with the SDK's own retries off: every cut fails the write, which must abort its upload.
const main = server('main');
if (main.settings !== undefined) {
  describeReliability({
    name: `s3 (${main.name}, one attempt per request)`,
    faults: { target: main.settings.endpoint!, open: faultStores(main.settings, false), uploadSize: PART_SIZE + 1024 * 1024, trials: 3 },
  });
}
