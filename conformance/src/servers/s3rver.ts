/**
 * s3rver (npm) as a local S3 server: fast to start, in a temporary directory removed when it stops.
 * It is partial: it ignores `If-None-Match`, accepts any signature, lists in path-segment order,
 * ignores the page size together with a delimiter, and gives multipart uploads a plain MD5 etag.
 * Declare those as overrides when running the suite on it.
 *
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnServer, type TestServer } from './process.ts';
import { DEFAULT_TEST_BUCKET, type S3ServerSettings } from './s3-endpoint.ts';

/** Options of {@link startS3rver}. */
export interface S3rverOptions {
  /** The path of s3rver's `bin/s3rver.js` in the caller's installation. */
  script: string;
  /** The bucket to create (default `stowage-test`). */
  bucket?: string | undefined;
  /** How long to wait for it (default 30 s). */
  timeoutMs?: number | undefined;
}

/** Starts s3rver on a free loopback port with one bucket; `settings` are {@link S3ServerSettings}. */
export async function startS3rver(options: S3rverOptions): Promise<TestServer> {
  const directory = await mkdtemp(join(tmpdir(), 'stowage-s3rver-'));
  const bucket = options.bucket ?? DEFAULT_TEST_BUCKET;
  try {
    const spawned = await spawnServer({
      name: 's3rver',
      command: process.execPath,
      args: [options.script, '-d', directory, '-a', '127.0.0.1', '-p', '0', '--configure-bucket', bucket, '--no-vhost-buckets'],
      // Without the legacy provider its continuation tokens (an old cipher) fail with 500 on OpenSSL 3.
      env: { NODE_OPTIONS: [process.env.NODE_OPTIONS, '--openssl-legacy-provider'].filter(Boolean).join(' ') },
      ready: /S3rver listening on 127\.0\.0\.1:(\d+)/,
      timeoutMs: options.timeoutMs ?? 30_000,
    });
    const endpoint = `http://127.0.0.1:${spawned.match![1]}`;
    const settings: S3ServerSettings = { endpoint, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', region: 'us-east-1', bucket, forcePathStyle: 'true' };
    return {
      name: 's3rver',
      endpoint,
      settings: { ...settings },
      startedHere: true,
      stop: async () => {
        await spawned.stop(2000);
        await rm(directory, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}
