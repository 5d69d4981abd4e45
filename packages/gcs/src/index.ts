/**
 * `@stowage/gcs`: a stowage backend on Google Cloud Storage, on `@google-cloud/storage`.
 *
 * @example
 * ```ts
 * import { Store } from '@stowage/core'
 * import { GcsBackend } from '@stowage/gcs'
 *
 * // Application Default Credentials; or credentials: './key.json', or a borrowed storage: new Storage()
 * const store = new Store(await GcsBackend.open({ bucket: 'my-bucket', prefix: 'app' }))
 * await store.write('notes/hello.txt', 'Hello!', { metadata: { author: 'zoë' } })
 * const url = await store.signUrl('notes/hello.txt', { expiresIn: 600 })
 * ```
 *
 * @module
 */
import { InvalidArgumentError, readUrlParameters, type AdapterDefinition } from '@stowage/core';
import { GcsBackend } from './backend.ts';
import type { GcsOptions } from './client.ts';

export { GCS_CAPABILITIES, GCS_MAX_OBJECT_SIZE, GcsBackend, type GcsCapabilities } from './backend.ts';
export { CHUNK_GRANULARITY, DEFAULT_CHUNK_SIZE, DEFAULT_RESUMABLE_THRESHOLD, type GcsOptions, type ServiceAccountKey } from './client.ts';
export { SHA256_METADATA_KEY } from './object-metadata.ts';

/** The query parameters of a `gs://` URL; any other is refused. */
const URL_PARAMETERS = {
  projectId: 'string',
  credentials: 'string',
  apiEndpoint: 'string',
  useAuthWithCustomEndpoint: 'boolean',
  atomicMove: 'boolean',
  resumableThreshold: 'nonNegativeInteger',
  chunkSize: 'nonNegativeInteger',
  deleteConcurrency: 'nonNegativeInteger',
} as const;

function urlError(message: string): never {
  throw new InvalidArgumentError(message, { backend: 'gcs' });
}

/**
 * Options from a store URL: `gs://bucket`, `gs://bucket/prefix/inside`, with the query parameters
 * `projectId`, `credentials` (a key file path), `apiEndpoint`, `useAuthWithCustomEndpoint`,
 * `resumableThreshold`, `chunkSize`, `atomicMove` and `deleteConcurrency`.
 *
 * @example
 * ```ts
 * optionsFromGcsUrl(new URL('gs://media/uploads?apiEndpoint=http://127.0.0.1:4443'))
 * // { bucket: 'media', prefix: 'uploads', apiEndpoint: 'http://127.0.0.1:4443' }
 * ```
 */
export function optionsFromGcsUrl(url: URL): GcsOptions {
  if (url.protocol !== 'gs:') urlError(`the gcs adapter opens gs:// URLs, not ${url.protocol}`);
  if (url.username || url.password) urlError('a gs:// URL carries no credentials: use the credentials option or Application Default Credentials');
  const bucket = url.hostname;
  if (bucket === '') urlError('a gs:// URL needs a bucket: gs://bucket/optional/prefix');
  const options: GcsOptions = { bucket, ...readUrlParameters(url, URL_PARAMETERS, { backend: 'gcs' }).values };
  const path = decodeURIComponent(url.pathname).replace(/^\/+/, '');
  if (path !== '') options.prefix = path;
  return options;
}

/** The registry's entry for `gs://` URLs and `type: 'gcs'`. */
export const adapter: AdapterDefinition<GcsOptions> = {
  name: 'gcs',
  schemes: ['gs'],
  create: (options) => GcsBackend.open(options),
  optionsFromUrl: optionsFromGcsUrl,
  secretOptions: ['credentials', 'private_key', 'client_secret', 'refresh_token'],
};
