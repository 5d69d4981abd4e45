/**
 * The command across the cloud stores, through the built binary: a 50 MiB object that travels
 * SQLite → S3 → GCS → Azure → a local file with the same SHA-256 at every step; `sync` between
 * clouds, twice (the second copies nothing); Ctrl-C in the middle of a multipart upload to S3, which
 * leaves the old object and no pending upload; and the other ways a user hands over credentials (the
 * AWS SDK's environment variables, a URL's user info, a GCS key or an Azure account key in the
 * configuration), masked in every message.
 */
import { join } from 'node:path';
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServiceAccountKey } from '@stowage/conformance/servers';
import { azureContainer, cloudServer, emptyStore, gcsEnv, s3BackendConfig, s3ConfigEnv, S3_CONFIG } from './backends.ts';
import { interruptedCopy, randomName, sha256File, workspace, writeRandomFile, type Workspace } from './run-binary.ts';

const s3 = cloudServer('s3');
const gcs = cloudServer('gcs');
const azure = cloudServer('azure');
const MiB = 1024 * 1024;
const SIZE = 50 * MiB;

/**
 * The firebase emulator stores only the first part of a chunked resumable upload, so large bodies go
 * to it in one streamed request (`chunkSize=0`), as the gcs adapter's own tests do; the adapter's
 * default stays chunked.
 */
const GCS_QUERY = gcs.settings?.server === 'firebase-storage-emulator' ? '?chunkSize=0' : '';

function skipReason(...servers: { skip?: string | undefined }[]): string | undefined {
  return servers.find((server) => server.skip !== undefined)?.skip;
}

async function sha256Of(ws: Workspace, location: string, env: Record<string, string>): Promise<string> {
  const result = await ws.run(['stat', '--json', location], { env });
  expect(result).toMatchObject({ status: 0, stderr: '' });
  return (JSON.parse(result.stdout) as { sha256: string }).sha256;
}

const allSkip = skipReason(s3, gcs, azure);
describe.skipIf(allSkip !== undefined)(`across S3, GCS and Azure${allSkip ? ` (skipped: ${allSkip})` : ''}`, () => {
  let ws: Workspace;
  let env: Record<string, string>;
  let container: Awaited<ReturnType<typeof azureContainer>> | undefined;
  const root = `${randomName('cli-')}/`;
  const bucket = gcs.settings?.bucket ?? 'stowage-test';
  const gs = (key: string) => `gs://${bucket}/${root}${key}`;
  const az = (key: string) => `az://${container!.name}/${key}`;

  beforeAll(async () => {
    ws = await workspace();
    await ws.file('stowage.config.yaml', S3_CONFIG);
    container = await azureContainer(azure.settings!);
    env = {
      ...s3ConfigEnv(s3.settings!, root),
      ...(await gcsEnv(gcs.settings!, join(ws.dir, 'gcs-key.json'))),
      AZURE_STORAGE_CONNECTION_STRING: azure.settings!.connectionString!,
    };
  });
  afterAll(async () => {
    if (s3.settings) await emptyStore(s3BackendConfig(s3.settings), root);
    if (gcs.settings) await emptyStore({ type: 'gcs', options: { bucket, prefix: root, apiEndpoint: gcs.settings.apiEndpoint, projectId: gcs.settings.projectId || undefined } }, '');
    await container?.remove();
    await ws?.cleanup();
  });

  it('a 50 MiB object goes SQLite → S3 → GCS → Azure → a local file with the same SHA-256 at every step', async () => {
    const digest = await writeRandomFile(join(ws.dir, 'big.bin'), SIZE);
    const steps: [string, string][] = [
      ['big.bin', 'sqlite:./store.db/big.bin'],
      ['sqlite:./store.db/big.bin', 'lake:big.bin'],
      ['lake:big.bin', `${gs('big.bin')}${GCS_QUERY}`],
      [gs('big.bin'), az('big.bin')],
    ];
    for (const [from, to] of steps) {
      const copied = await ws.run(['cp', from, to], { env });
      expect(copied).toMatchObject({ status: 0, stderr: '' });
      expect(copied.stdout).toMatch(/ \(50\.0 MiB\)\n$/);
      expect(await sha256Of(ws, to, env)).toBe(digest);
    }
    expect((await ws.run(['cp', az('big.bin'), './back.bin'], { env })).status).toBe(0);
    expect(await sha256File(join(ws.dir, 'back.bin'))).toBe(digest);
  });

  it('sync from S3 to GCS and on to Azure copies what differs, and nothing the second time', async () => {
    await ws.file('tree/a.txt', 'alpha\n');
    await ws.file('tree/b/c.txt', 'charlie\n');
    await writeRandomFile(join(ws.dir, 'tree/b/d.bin'), 3 * MiB);
    expect((await ws.run(['sync', './tree', 'lake:mirror/'], { env })).stdout).toMatch(/^sync: 3 copied/m);
    const first = await ws.run(['sync', 'lake:mirror/', gs('mirror/')], { env });
    expect(first).toMatchObject({ status: 0, stderr: '' });
    expect(first.stdout).toMatch(/^sync: 3 copied \(3\.0 MiB\), 0 unchanged$/m);
    const second = await ws.run(['sync', 'lake:mirror/', gs('mirror/')], { env });
    expect(second).toMatchObject({ status: 0, stderr: '', stdout: 'sync: 0 copied (0 B), 3 unchanged\n' });
    expect((await ws.run(['cat', gs('mirror/b/c.txt')], { env })).stdout).toBe('charlie\n');
    for (let run = 0; run < 2; run++) {
      const onward = await ws.run(['sync', gs('mirror/'), az('mirror/')], { env });
      expect(onward).toMatchObject({ status: 0, stderr: '' });
      expect(onward.stdout).toMatch(run === 0 ? /^sync: 3 copied \(3\.0 MiB\), 0 unchanged$/m : /^sync: 0 copied \(0 B\), 3 unchanged\n$/);
    }
  });
});

describe.skipIf(s3.skip !== undefined)(`S3${s3.skip ? ` (skipped: ${s3.skip})` : ''}`, () => {
  let ws: Workspace;
  const root = `${randomName('cli-')}/`;
  const settings = s3.settings!;
  let env: Record<string, string>;

  beforeAll(async () => {
    ws = await workspace();
    await ws.file('stowage.config.yaml', S3_CONFIG);
    await ws.file('old.txt', 'the old object, which must survive\n');
    env = s3ConfigEnv(settings, root);
  });
  afterAll(async () => {
    await emptyStore(s3BackendConfig(settings), root);
    await ws?.cleanup();
  });

  it('Ctrl-C in the middle of a multipart upload leaves the old object and no pending upload', async () => {
    expect((await ws.run(['cp', 'old.txt', 'lake:big.bin'], { env })).status).toBe(0);
    const client = new S3Client({
      endpoint: settings.endpoint,
      region: settings.region,
      forcePathStyle: true,
      credentials: { accessKeyId: settings.accessKeyId!, secretAccessKey: settings.secretAccessKey! },
    });
    // The whole key as the prefix: MinIO lists the uploads of one object name only.
    const pending = async () => (await client.send(new ListMultipartUploadsCommand({ Bucket: settings.bucket, Prefix: `${root}big.bin` }))).Uploads ?? [];
    try {
      // 20 MiB is more than two parts of 8 MiB: the signal comes once the upload is on the server.
      const interrupted = await interruptedCopy(ws, 'lake:big.bin', 20, {
        env,
        beforeSignal: async () => {
          for (let attempt = 0; (await pending()).length === 0; attempt++) {
            if (attempt > 200) throw new Error('no multipart upload started within 20 s');
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        },
      });
      expect(interrupted.stderr).toBe('stowage: ABORTED: interrupted by SIGINT: the object being written was not stored, its destination is as it was (lake:big.bin)\n');
      expect(interrupted.status).toBe(130);
      expect((await ws.run(['cat', 'lake:big.bin'], { env })).stdout).toBe('the old object, which must survive\n');
      expect(await pending()).toEqual([]);
      expect((await ws.run(['ls', '-r', 'lake:'], { env })).stdout).toBe('lake:big.bin\n');
    } finally {
      client.destroy();
    }
  });

  it("s3:// URLs take the AWS SDK's environment variables for credentials and endpoint; a wrong secret is PERMISSION_DENIED, masked", async () => {
    const sdkEnv = {
      AWS_ACCESS_KEY_ID: settings.accessKeyId!,
      AWS_SECRET_ACCESS_KEY: settings.secretAccessKey!,
      AWS_REGION: settings.region!,
      AWS_ENDPOINT_URL_S3: settings.endpoint!,
    };
    const location = `s3://${settings.bucket}/${root}env/old.txt`;
    expect(await ws.run(['cp', 'old.txt', location], { env: sdkEnv })).toMatchObject({ status: 0, stderr: '', stdout: `copied old.txt to ${location} (35 B)\n` });
    expect((await ws.run(['cat', location], { env: sdkEnv })).stdout).toBe('the old object, which must survive\n');
    const wrongSecret = 'wrong-secret-0123456789abcdefghij';
    const refused = await ws.run(['cat', '--verbose', location], { env: { ...sdkEnv, AWS_SECRET_ACCESS_KEY: wrongSecret } });
    expect(refused.status).toBe(7);
    expect(refused.stderr).toMatch(/^stowage: PERMISSION_DENIED: /);
    expect(refused.stderr).not.toContain(wrongSecret);
    expect(refused.stderr).not.toContain(settings.accessKeyId!);
  });

  it("credentials in an s3:// URL's user info work, and are masked in every message", async () => {
    const credentials = `${encodeURIComponent(settings.accessKeyId!)}:${encodeURIComponent(settings.secretAccessKey!)}`;
    const query = `?endpoint=${encodeURIComponent(settings.endpoint!)}&forcePathStyle=true&region=${settings.region}`;
    const location = `s3://${credentials}@${settings.bucket}/${root}url/old.txt${query}`;
    const copied = await ws.run(['cp', 'old.txt', location]);
    expect(copied).toMatchObject({ status: 0, stderr: '' });
    expect(copied.stdout).toBe(`copied old.txt to s3://${encodeURIComponent(settings.accessKeyId!)}:***@${settings.bucket}/${root}url/old.txt (35 B)\n`);
    const missing = await ws.run(['cat', '--verbose', `s3://${credentials}@${settings.bucket}/${root}url/missing.txt${query}`]);
    expect(missing.status).toBe(3);
    expect(missing.stderr).toContain(':***@');
    for (const output of [copied.stdout, missing.stderr]) expect(output).not.toContain(settings.secretAccessKey!);
  });
});

/**
 * What the Google auth library prints on standard error for a key given as the `credentials` option
 * (the gcs adapter's README says so too); a key file in GOOGLE_APPLICATION_CREDENTIALS avoids it.
 */
const CREDENTIALS_DEPRECATION = /^The `credentials` option is deprecated\. .*\n/gm;

const emulatorOnly = gcs.skip ?? (gcs.settings?.apiEndpoint === undefined ? 'real GCS refuses the made-up key of this test' : undefined);
describe.skipIf(emulatorOnly !== undefined)(`GCS through a configured store${emulatorOnly ? ` (skipped: ${emulatorOnly})` : ''}`, () => {
  let ws: Workspace;
  const prefix = randomName('cli-');
  const settings = gcs.settings!;
  const key = testServiceAccountKey(settings.projectId || undefined);

  beforeAll(async () => {
    ws = await workspace();
    await ws.file('hello.txt', 'hello from a configured GCS store\n');
    await ws.file(
      'stowage.config.json',
      JSON.stringify({
        backends: { media: { type: 'gcs', options: { bucket: '${MEDIA_BUCKET}', prefix, apiEndpoint: '${MEDIA_ENDPOINT}', projectId: '${MEDIA_PROJECT}', credentials: '${MEDIA_KEY}' } } },
        stores: { media: { backend: 'media' } },
      }),
    );
  });
  afterAll(async () => {
    await emptyStore({ type: 'gcs', options: { bucket: settings.bucket, prefix, apiEndpoint: settings.apiEndpoint, projectId: settings.projectId || undefined } }, '');
    await ws?.cleanup();
  });

  it('takes a service-account key from ${ENV}, signs with it, and never shows it', async () => {
    const env = { MEDIA_BUCKET: settings.bucket!, MEDIA_ENDPOINT: settings.apiEndpoint!, MEDIA_PROJECT: settings.projectId || 'demo-test', MEDIA_KEY: JSON.stringify(key), METADATA_SERVER_DETECTION: 'none' };
    const copied = await ws.run(['cp', 'hello.txt', 'media:docs/hello.txt'], { env });
    expect(copied).toMatchObject({ status: 0, stdout: 'copied hello.txt to media:docs/hello.txt (34 B)\n' });
    expect(copied.stderr.replace(CREDENTIALS_DEPRECATION, '')).toBe('');
    const signed = await ws.run(['sign', 'media:docs/hello.txt'], { env });
    expect(signed.status).toBe(0);
    const response = await fetch(signed.stdout.trim());
    expect(await response.text()).toBe('hello from a configured GCS store\n');
    const missing = await ws.run(['stat', '--verbose', 'media:docs/missing.txt'], { env });
    expect(missing.status).toBe(3);
    const doctor = await ws.run(['doctor', '--json'], { env });
    expect(doctor.status).toBe(0);
    for (const output of [copied.stderr, signed.stdout, missing.stderr, doctor.stdout]) {
      expect(output).not.toContain('PRIVATE KEY');
      expect(output).not.toContain(key.private_key_id);
    }
  });


});

describe.skipIf(azure.skip !== undefined)(`Azure through a configured store${azure.skip ? ` (skipped: ${azure.skip})` : ''}`, () => {
  let ws: Workspace;
  let container: Awaited<ReturnType<typeof azureContainer>>;
  const settings = azure.settings!;

  beforeAll(async () => {
    ws = await workspace();
    await ws.file('hello.txt', 'hello from a configured Azure store\n');
    container = await azureContainer(settings);
    await ws.file(
      'stowage.config.yaml',
      [
        'backends:',
        '  blobs:',
        '    type: azure',
        '    options: { container: "${BLOBS_CONTAINER}", endpoint: "${BLOBS_ENDPOINT}", accountName: "${BLOBS_ACCOUNT}", accountKey: "${BLOBS_KEY}" }',
        'stores:',
        '  blobs: { backend: blobs, root: configured/ }',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await container?.remove();
    await ws?.cleanup();
  });

  it('takes an account key from ${ENV}; a wrong one is PERMISSION_DENIED, and neither is shown', async () => {
    const env = { BLOBS_CONTAINER: container.name, BLOBS_ENDPOINT: settings.endpoint!, BLOBS_ACCOUNT: settings.accountName!, BLOBS_KEY: settings.accountKey! };
    expect(await ws.run(['cp', 'hello.txt', 'blobs:docs/hello.txt'], { env })).toMatchObject({ status: 0, stderr: '', stdout: 'copied hello.txt to blobs:docs/hello.txt (36 B)\n' });
    const signed = await ws.run(['sign', 'blobs:docs/hello.txt'], { env });
    expect(signed.status).toBe(0);
    expect(await (await fetch(signed.stdout.trim())).text()).toBe('hello from a configured Azure store\n');
    const wrongKey = Buffer.from('a wrong account key, 64 bytes long, so that it looks like one!!').toString('base64');
    const refused = await ws.run(['cat', '--verbose', 'blobs:docs/hello.txt'], { env: { ...env, BLOBS_KEY: wrongKey } });
    expect(refused.status).toBe(7);
    expect(refused.stderr).toMatch(/^stowage: PERMISSION_DENIED: .+ \(blobs:docs\/hello\.txt\)\n/);
    for (const output of [refused.stderr, signed.stderr]) {
      expect(output).not.toContain(wrongKey);
      expect(output).not.toContain(settings.accountKey!);
    }
  });
});
