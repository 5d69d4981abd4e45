/**
 * The adapter's options and how they become a GCS `Storage` client and `Bucket`: opened here, or
 * borrowed from the caller (and then never closed).
 *
 * @module
 */
import { InvalidArgumentError, normalizeRoot } from '@stowage/core';
import { Storage, type Bucket, type StorageOptions } from '@google-cloud/storage';

/** A service-account key as the Google Cloud console downloads it (other credential JSON is passed on as it is). */
export interface ServiceAccountKey {
  type?: string | undefined;
  project_id?: string | undefined;
  private_key_id?: string | undefined;
  private_key?: string | undefined;
  client_email?: string | undefined;
  client_id?: string | undefined;
  [field: string]: unknown;
}

/** Options of {@link GcsBackend.open}. Give `bucket`, and either what to connect with or a borrowed `storage`. */
export interface GcsOptions {
  /** The bucket's name, or a borrowed `Bucket` (its `Storage` is borrowed with it). */
  bucket: string | Bucket;
  /** Every key is stored below this folder prefix (`'tenant-1'` and `'tenant-1/'` are the same); listings never see anything else. */
  prefix?: string | undefined;
  /** The Google Cloud project (default: from the credentials or the environment). */
  projectId?: string | undefined;
  /**
   * A service-account key: the path of its JSON file, its JSON text, or the parsed object. Without it
   * the client uses Application Default Credentials (`GOOGLE_APPLICATION_CREDENTIALS`, `gcloud auth
   * application-default login`, or the metadata server on Google Cloud).
   */
  credentials?: string | ServiceAccountKey | undefined;
  /**
   * Another endpoint, such as an emulator's `http://127.0.0.1:4443` (`STORAGE_EMULATOR_HOST` does the
   * same). The client sends no credentials to it unless `useAuthWithCustomEndpoint` is set.
   */
  apiEndpoint?: string | undefined;
  /** Authenticate requests to `apiEndpoint` too (a regional or Private Service Connect endpoint of real GCS). */
  useAuthWithCustomEndpoint?: boolean | undefined;
  /** A borrowed client, never closed by stowage; then `projectId`, `credentials` and `apiEndpoint` are its own. */
  storage?: Storage | undefined;
  /** Bodies up to this many bytes are buffered and sent in one request; larger ones use a resumable upload (default 8 MiB). */
  resumableThreshold?: number | undefined;
  /**
   * The part size of resumable uploads, a multiple of 256 KiB (default 8 MiB): each part is one
   * request, retried on its own, and memory holds about one part. `0` sends the whole upload in one
   * streamed request instead (no per-part retry; memory bounded by the stream's buffers).
   */
  chunkSize?: number | undefined;
  /**
   * Move with GCS's atomic `objects.move` (buckets with hierarchical namespace enabled). Otherwise
   * (the default) a move is a server-side rewrite and a delete of the source.
   */
  atomicMove?: boolean | undefined;
  /** How many deletes `deleteMany` runs at once (default 16): the GCS client has no batch requests. */
  deleteConcurrency?: number | undefined;
}

/** The default `resumableThreshold`: 8 MiB. */
export const DEFAULT_RESUMABLE_THRESHOLD = 8 * 1024 * 1024;
/** The default `chunkSize`: 8 MiB. */
export const DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024;
/** The granularity GCS requires of resumable upload parts. */
export const CHUNK_GRANULARITY = 256 * 1024;
const DEFAULT_DELETE_CONCURRENCY = 16;

/** Bucket names as GCS allows them: 3 to 63 characters per dot-separated part, 222 in all. */
const BUCKET_NAME = /^(?=.{3,222}$)[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$/;

/** What the backend works with after the options are checked. */
export interface OpenedClient {
  storage: Storage;
  bucket: Bucket;
  prefix: string;
  borrowed: boolean;
  resumableThreshold: number;
  chunkSize: number;
  atomicMove: boolean;
  deleteConcurrency: number;
  /** Secret values of the credentials, masked in every message. */
  secrets: string[];
}

// Shapes rather than `instanceof`: a client from another copy of @google-cloud/storage is as good.
function isBucket(value: unknown): value is Bucket {
  const shape = value as Partial<Bucket> | null;
  return typeof shape === 'object' && shape !== null && typeof shape.file === 'function' && typeof shape.name === 'string' && typeof shape.storage === 'object';
}

function isStorage(value: unknown): value is Storage {
  const shape = value as Partial<Storage> | null;
  return typeof shape === 'object' && shape !== null && typeof shape.bucket === 'function' && typeof shape.getBuckets === 'function';
}

function fail(message: string): never {
  throw new InvalidArgumentError(message, { backend: 'gcs' });
}

function nonNegativeInteger(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) fail(`${name} must be a non-negative integer, got ${String(value)}`);
  return value;
}

function secretsOf(credentials: ServiceAccountKey): string[] {
  const out: string[] = [];
  for (const field of ['private_key', 'client_secret', 'refresh_token']) {
    const value = credentials[field];
    if (typeof value === 'string' && value.length >= 8) out.push(value);
  }
  return out;
}

function credentialOptions(credentials: GcsOptions['credentials']): { options: Pick<StorageOptions, 'credentials' | 'keyFilename'>; secrets: string[] } {
  if (credentials === undefined) return { options: {}, secrets: [] };
  if (typeof credentials === 'string') {
    if (credentials.trimStart().startsWith('{')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(credentials);
      } catch {
        // The text itself is a secret: never quote it.
        fail('credentials is neither a key file path nor valid JSON');
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail('credentials JSON must be an object');
      return credentialOptions(parsed as ServiceAccountKey);
    }
    if (credentials === '') fail('credentials must not be empty');
    return { options: { keyFilename: credentials }, secrets: [] };
  }
  if (typeof credentials !== 'object' || credentials === null || Array.isArray(credentials)) {
    fail('credentials must be a key file path, its JSON text or the parsed key object');
  }
  return { options: { credentials: credentials as StorageOptions['credentials'] }, secrets: secretsOf(credentials) };
}

/** Checks the options and opens (or borrows) the client and the bucket. */
export function openClient(options: GcsOptions): OpenedClient {
  if (typeof options !== 'object' || options === null) fail('the gcs adapter needs an options object with a bucket');
  const resumableThreshold = nonNegativeInteger(options.resumableThreshold, 'resumableThreshold') ?? DEFAULT_RESUMABLE_THRESHOLD;
  const chunkSize = nonNegativeInteger(options.chunkSize, 'chunkSize') ?? DEFAULT_CHUNK_SIZE;
  if (chunkSize % CHUNK_GRANULARITY !== 0) fail(`chunkSize must be 0 or a multiple of 256 KiB (${CHUNK_GRANULARITY} bytes), got ${chunkSize}`);
  const deleteConcurrency = nonNegativeInteger(options.deleteConcurrency, 'deleteConcurrency') ?? DEFAULT_DELETE_CONCURRENCY;
  if (deleteConcurrency < 1) fail('deleteConcurrency must be at least 1');
  if (options.atomicMove !== undefined && typeof options.atomicMove !== 'boolean') fail('atomicMove must be a boolean');
  let prefix: string;
  try {
    prefix = normalizeRoot(options.prefix);
  } catch (cause) {
    throw new InvalidArgumentError(`prefix ${JSON.stringify(options.prefix)} is not a valid folder: ${(cause as Error).message}`, { backend: 'gcs', cause });
  }
  const settings = { prefix, resumableThreshold, chunkSize, atomicMove: options.atomicMove === true, deleteConcurrency };

  const connecting = options.projectId !== undefined || options.credentials !== undefined || options.apiEndpoint !== undefined || options.useAuthWithCustomEndpoint !== undefined;
  if (isBucket(options.bucket)) {
    if (connecting || options.storage !== undefined) fail('a borrowed Bucket brings its own client: give no storage, projectId, credentials or apiEndpoint with it');
    return { ...settings, storage: options.bucket.storage, bucket: options.bucket, borrowed: true, secrets: [] };
  }
  if (typeof options.bucket !== 'string' || !BUCKET_NAME.test(options.bucket)) {
    fail(`bucket must be a GCS bucket name (3-63 lowercase letters, digits, -, _ and .) or a Bucket, got ${typeof options.bucket === 'string' ? JSON.stringify(options.bucket) : typeof options.bucket}`);
  }
  if (options.storage !== undefined) {
    if (!isStorage(options.storage)) fail('storage must be a Storage client of @google-cloud/storage');
    if (connecting) fail('a borrowed Storage client brings its own settings: give no projectId, credentials or apiEndpoint with it');
    return { ...settings, storage: options.storage, bucket: options.storage.bucket(options.bucket), borrowed: true, secrets: [] };
  }
  if (options.projectId !== undefined && (typeof options.projectId !== 'string' || options.projectId === '')) fail('projectId must be a non-empty string');
  const storageOptions: StorageOptions = {};
  if (options.projectId !== undefined) storageOptions.projectId = options.projectId;
  if (options.apiEndpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(options.apiEndpoint);
    } catch {
      fail(`apiEndpoint must be an http(s) URL, got ${JSON.stringify(options.apiEndpoint)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(`apiEndpoint must be an http(s) URL, got ${JSON.stringify(options.apiEndpoint)}`);
    if (url.username || url.password) fail('apiEndpoint must not carry credentials');
    storageOptions.apiEndpoint = url.href.replace(/\/$/, '');
  }
  if (options.useAuthWithCustomEndpoint !== undefined) storageOptions.useAuthWithCustomEndpoint = options.useAuthWithCustomEndpoint === true;
  const { options: credentialSettings, secrets } = credentialOptions(options.credentials);
  Object.assign(storageOptions, credentialSettings);
  const storage = new Storage(storageOptions);
  return { ...settings, storage, bucket: storage.bucket(options.bucket), borrowed: false, secrets };
}
