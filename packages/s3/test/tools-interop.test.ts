/**
 * Metadata between stowage and the real tools, both ways, on this run's S3 server (Ceph RGW): the
 * AWS CLI (Debian's `awscli`) and rclone (Debian's `rclone`) write non-ASCII user metadata that
 * stowage must read back as the same Unicode, and read what stowage wrote. Skipped with a reason
 * when a tool is missing, failed in CI (`bash scripts/run.sh test` installs both).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '@stowage/core';
import { openTestStore, server } from './servers.ts';

const run = promisify(execFile);
const main = server('main');

/** Debian's tool first (a pyenv shim on PATH may be another version), then PATH. */
function tool(name: string): string | undefined {
  if (existsSync(`/usr/bin/${name}`)) return `/usr/bin/${name}`;
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(join(dir, name))) return join(dir, name);
  return undefined;
}

const required = (process.env.STOWAGE_TEST_REQUIRE_SERVERS ?? '') !== '';
const aws = tool('aws');
const rclone = tool('rclone');
for (const [name, path, pkg] of [['aws', aws, 'awscli'], ['rclone', rclone, 'rclone']] as const) {
  if (path === undefined && required) throw new Error(`the interop tests need ${name} (Debian package ${pkg})`);
}

const VALUE = 'naïve café ✓ 日本語';

describe.skipIf(main.settings === undefined)(`s3 (${main.name ?? main.skip}): metadata with the AWS CLI and rclone`, () => {
  const settings = main.settings!;
  let store: Store;
  let prefix: string;
  let teardown: () => Promise<void>;
  let dir: string;
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: settings.accessKeyId,
    AWS_SECRET_ACCESS_KEY: settings.secretAccessKey,
    AWS_DEFAULT_REGION: settings.region ?? 'us-east-1',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    RCLONE_CONFIG: '/dev/null',
    // A machine-wide CA bundle for AWS tools makes rclone's S3 client fail on a plain-HTTP endpoint.
    AWS_CA_BUNDLE: '',
  };
  const remote = (key: string): string => `:s3,provider=Ceph,endpoint='${settings.endpoint}',access_key_id=${settings.accessKeyId},secret_access_key=${settings.secretAccessKey},force_path_style=true:${settings.bucket}/${prefix}${key}`;
  const awsS3api = async (...args: string[]): Promise<string> => (await run(aws!, ['s3api', ...args, '--bucket', settings.bucket!, '--endpoint-url', settings.endpoint!, '--output', 'json'], { env })).stdout;

  beforeAll(async () => {
    ({ store, prefix, teardown } = openTestStore(settings, 'tools'));
    dir = await mkdtemp(join(tmpdir(), 'stowage-tools-'));
    await writeFile(join(dir, 'body.txt'), 'written by a tool');
  });
  afterAll(async () => {
    await teardown?.();
    await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(aws === undefined)('reads what the AWS CLI wrote, and the AWS CLI reads what stowage wrote', async () => {
    // The AWS CLI refuses non-ASCII metadata ("Non ascii characters found in S3 metadata"): its users
    // give the RFC 2047 words AWS returns for such values, in Base64 or quoted-printable form.
    const refused = await awsS3api('put-object', '--key', `${prefix}refused.txt`, '--body', join(dir, 'body.txt'), '--metadata', JSON.stringify({ note: VALUE })).catch((error: Error) => error);
    expect(refused).toBeInstanceOf(Error);
    const q = `=?UTF-8?Q?${[...Buffer.from('naïve café')].map((byte) => (byte === 0x20 ? '_' : byte > 0x7e ? `=${byte.toString(16).toUpperCase()}` : String.fromCharCode(byte))).join('')}?=`;
    await awsS3api(
      'put-object',
      '--key',
      `${prefix}by-aws.txt`,
      '--body',
      join(dir, 'body.txt'),
      '--metadata',
      JSON.stringify({ note: `=?UTF-8?B?${Buffer.from(VALUE).toString('base64')}?=`, latin: q, plain: 'ascii' }),
    );
    const info = await store.stat('by-aws.txt');
    expect(info.metadata).toEqual({ note: VALUE, latin: 'naïve café', plain: 'ascii' });
    expect(await store.readText('by-aws.txt')).toBe('written by a tool');
    await store.write('by-stowage.txt', 'x', { metadata: { note: VALUE, plain: 'ascii' } });
    const head = JSON.parse(await awsS3api('head-object', '--key', `${prefix}by-stowage.txt`)) as { Metadata: Record<string, string> };
    // Plain ASCII as it is; a non-ASCII value as the RFC 2047 word AWS itself returns for one.
    expect(head.Metadata.plain).toBe('ascii');
    expect(head.Metadata.note).toBe(`=?UTF-8?B?${Buffer.from(VALUE).toString('base64')}?=`);
  }, 60_000);

  it.skipIf(rclone === undefined)('reads what rclone wrote (raw UTF-8 bytes), and rclone reads what stowage wrote', async () => {
    await run(rclone!, ['copyto', '--metadata', '--metadata-set', `note=${VALUE}`, '--metadata-set', 'plain=ascii', join(dir, 'body.txt'), remote('by-rclone.txt')], { env });
    const info = await store.stat('by-rclone.txt');
    expect(info.metadata).toMatchObject({ note: VALUE, plain: 'ascii' });
    await store.write('by-stowage-2.txt', 'x', { metadata: { note: VALUE, plain: 'ascii' } });
    const [entry] = JSON.parse((await run(rclone!, ['lsjson', '--metadata', remote('by-stowage-2.txt')], { env })).stdout) as { Metadata: Record<string, string> }[];
    expect(entry!.Metadata).toMatchObject({ plain: 'ascii', note: `=?UTF-8?B?${Buffer.from(VALUE).toString('base64')}?=` });
  }, 60_000);
});
