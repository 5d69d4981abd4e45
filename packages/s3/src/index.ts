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
import { InvalidArgumentError, readUrlParameters, type AdapterDefinition } from '@stowage/core';
import { S3Backend, type S3Options } from './backend.ts';

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

/** The query parameters of an `s3:` URL; any other is refused. */
const URL_PARAMETERS = {
  region: 'string',
  endpoint: 'string',
  forcePathStyle: 'boolean',
  digestMultipart: 'boolean',
  conditionalOperations: ['auto', 'all', 'put-only'],
  spoolDirectory: 'string',
  partSize: 'nonNegativeInteger',
  partConcurrency: 'nonNegativeInteger',
  multipartCopyThreshold: 'nonNegativeInteger',
} as const satisfies Record<string, unknown>;

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
  const options: S3Options = { bucket, ...readUrlParameters(url, URL_PARAMETERS, { backend: 's3' }).values };
  const path = decodeURIComponent(url.pathname).replace(/^\/+/, '').replace(/\/+$/, '');
  if (path !== '') options.prefix = `${path}/`;
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
