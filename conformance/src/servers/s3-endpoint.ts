/**
 * What every S3 test server shares: the settings tests receive, a server given by URL
 * (`STOWAGE_TEST_S3_URL=http://key:secret@127.0.0.1:19000`), and a signed `PUT /bucket` so that a
 * starter can create its bucket without an SDK.
 *
 * @module
 */
import { createHash, createHmac } from 'node:crypto';
import type { TestServer } from './process.ts';

/** The settings an S3 test server hands to the tests (`TestServer.settings`). */
export interface S3ServerSettings {
  /** `http://127.0.0.1:<port>` (no credentials in it). */
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The region to sign for (`us-east-1` unless the URL says otherwise). */
  readonly region: string;
  /** A bucket that exists on the server, for the tests to work in. */
  readonly bucket: string;
  /** `'true'` when clients must use path-style addressing (local servers, MinIO). */
  readonly forcePathStyle: string;
}

/** The bucket the starters create, and the default for a server given by URL. */
export const DEFAULT_TEST_BUCKET = 'stowage-test';

/**
 * An S3 server given by URL: `http://ACCESS_KEY:SECRET@host:port`, optionally with `?region=` and
 * `?bucket=` (default `stowage-test`, created when missing). Credentials are percent-decoded and
 * never appear in `endpoint`.
 */
export async function s3ServerFromUrl(text: string, name = 's3'): Promise<TestServer> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error('the S3 test URL is not a URL (expected http://ACCESS_KEY:SECRET@host:port)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`the S3 test URL must be http: or https:, not ${url.protocol}`);
  if (!url.username || !url.password) throw new Error('the S3 test URL needs credentials: http://ACCESS_KEY:SECRET@host:port');
  const settings: S3ServerSettings = {
    endpoint: url.origin,
    accessKeyId: decodeURIComponent(url.username),
    secretAccessKey: decodeURIComponent(url.password),
    region: url.searchParams.get('region') ?? 'us-east-1',
    bucket: url.searchParams.get('bucket') ?? DEFAULT_TEST_BUCKET,
    forcePathStyle: 'true',
  };
  await createBucket(settings);
  return { name, endpoint: settings.endpoint, settings: { ...settings }, startedHere: false, stop: async () => undefined };
}

function sha256Hex(data: string): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/**
 * Creates `settings.bucket` with one SigV4-signed, path-style `PUT /<bucket>`; a bucket that exists
 * already (owned by the same user) is fine. Throws with the server's answer (never the secret).
 */
export async function createBucket(settings: S3ServerSettings): Promise<void> {
  const endpoint = new URL(settings.endpoint);
  const now = new Date();
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const payloadHash = sha256Hex('');
  const path = `/${encodeURIComponent(settings.bucket)}`;
  const headers: Record<string, string> = { host: endpoint.host, 'x-amz-content-sha256': payloadHash, 'x-amz-date': amzDate };
  const names = Object.keys(headers).sort();
  const canonical = ['PUT', path, '', ...names.map((header) => `${header}:${headers[header]}`), '', names.join(';'), payloadHash].join('\n');
  const scope = `${day}/${settings.region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonical)].join('\n');
  let key = hmac(`AWS4${settings.secretAccessKey}`, day);
  for (const part of [settings.region, 's3', 'aws4_request']) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  const authorization = `AWS4-HMAC-SHA256 Credential=${settings.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  const response = await fetch(`${endpoint.origin}${path}`, {
    method: 'PUT',
    headers: { 'x-amz-content-sha256': payloadHash, 'x-amz-date': amzDate, authorization },
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (response.ok || /BucketAlreadyOwnedByYou/.test(text)) return;
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? 'no error code';
  throw new Error(`creating the bucket ${JSON.stringify(settings.bucket)} at ${endpoint.origin} failed: HTTP ${response.status} (${code})`);
}
