/**
 * `@stowage/s3`: a stowage backend on Amazon S3 and S3-compatible stores (MinIO, Cloudflare R2,
 * Backblaze B2, DigitalOcean Spaces, Ceph RGW), on `@aws-sdk/client-s3`.
 *
 * @example
 * ```ts
 * import { Store } from '@stowage/core'
 * import { S3Backend } from '@stowage/s3'
 *
 * const store = new Store(new S3Backend({ bucket: 'my-bucket', region: 'eu-west-1' }))
 * await store.write('notes/hello.txt', 'Hello!', { metadata: { author: 'ada' } })
 * ```
 *
 * @module
 */
import { InvalidArgumentError, type AdapterDefinition } from '@stowage/core';
import { S3Backend, type ConditionalOperations, type S3Options } from './backend.ts';

export {
  DEFAULT_PART_CONCURRENCY,
  DEFAULT_PART_SIZE,
  S3_CAPABILITIES,
  S3Backend,
  type ConditionalOperations,
  type S3Capabilities,
  type S3Credentials,
  type S3Options,
} from './backend.ts';

const INTEGER_PARAMETERS = ['partSize', 'partConcurrency', 'multipartCopyThreshold'] as const;
const KNOWN_PARAMETERS = new Set<string>(['region', 'endpoint', 'forcePathStyle', 'conditionalOperations', 'spoolDirectory', 'digestMultipart', ...INTEGER_PARAMETERS]);

/**
 * Options from a store URL: `s3://bucket/optional/prefix?region=eu-west-1`, with an endpoint for
 * S3-compatible servers (`?endpoint=http://127.0.0.1:9000&forcePathStyle=true`) and, optionally,
 * static credentials as the URL's user info (`s3://ACCESS_KEY:SECRET@bucket`, percent-encoded);
 * without them the SDK's provider chain applies. `partSize`, `partConcurrency`,
 * `multipartCopyThreshold`, `conditionalOperations`, `spoolDirectory` and `digestMultipart` are read as well; any other
 * parameter is refused.
 */
export function optionsFromS3Url(url: URL): S3Options {
  if (url.protocol !== 's3:') throw new InvalidArgumentError(`the s3 adapter opens s3: URLs, not ${url.protocol}`, { backend: 's3' });
  const bucket = decodeURIComponent(url.hostname);
  if (bucket === '') throw new InvalidArgumentError('an s3: URL names its bucket: s3://bucket/prefix', { backend: 's3' });
  const options: S3Options = { bucket };
  const path = decodeURIComponent(url.pathname).replace(/^\/+/, '').replace(/\/+$/, '');
  if (path !== '') options.prefix = `${path}/`;
  for (const name of url.searchParams.keys()) {
    if (!KNOWN_PARAMETERS.has(name)) throw new InvalidArgumentError(`unknown parameter ${JSON.stringify(name)} in an s3: URL (known: ${[...KNOWN_PARAMETERS].join(', ')})`, { backend: 's3' });
  }
  const region = url.searchParams.get('region');
  if (region !== null) options.region = region;
  const endpoint = url.searchParams.get('endpoint');
  if (endpoint !== null) options.endpoint = endpoint;
  for (const name of ['forcePathStyle', 'digestMultipart'] as const) {
    const flag = url.searchParams.get(name);
    if (flag === null) continue;
    if (!['true', 'false', '1', '0'].includes(flag)) throw new InvalidArgumentError(`${name} must be true or false, got ${JSON.stringify(flag)}`, { backend: 's3' });
    options[name] = flag === 'true' || flag === '1';
  }
  for (const name of INTEGER_PARAMETERS) {
    const value = url.searchParams.get(name);
    if (value === null) continue;
    const number = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(number)) throw new InvalidArgumentError(`${name} must be a positive integer, got ${JSON.stringify(value)}`, { backend: 's3' });
    options[name] = number;
  }
  const conditional = url.searchParams.get('conditionalOperations');
  if (conditional !== null) options.conditionalOperations = conditional as ConditionalOperations;
  const spool = url.searchParams.get('spoolDirectory');
  if (spool !== null) options.spoolDirectory = spool;
  if (url.username !== '' || url.password !== '') {
    if (url.username === '' || url.password === '') throw new InvalidArgumentError('credentials in an s3: URL need both parts: s3://ACCESS_KEY:SECRET@bucket', { backend: 's3' });
    options.credentials = { accessKeyId: decodeURIComponent(url.username), secretAccessKey: decodeURIComponent(url.password) };
  }
  return options;
}

/** The registry's entry for `s3:` URLs and `type: 's3'`. */
export const adapter: AdapterDefinition<S3Options> = {
  name: 's3',
  schemes: ['s3'],
  create: (options) => new S3Backend(options),
  optionsFromUrl: optionsFromS3Url,
  secretOptions: ['secretAccessKey', 'accessKeyId', 'sessionToken'],
};
