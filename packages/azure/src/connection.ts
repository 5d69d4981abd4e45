/**
 * How the backend reaches its container: the options, the `ContainerClient` built from them (or
 * borrowed), the secrets to keep out of messages, and how it signs URLs with the credential it has.
 *
 * @module
 */
import {
  AnonymousCredential,
  BlobSASPermissions,
  BlobServiceClient,
  ContainerClient,
  SASProtocol,
  StorageSharedKeyCredential,
  type BlobClient,
  type StoragePipelineOptions,
  type UserDelegationKey,
} from '@azure/storage-blob';
import { InvalidArgumentError, normalizeRoot } from '@stowage/core';

/**
 * A Microsoft Entra ID credential, such as `DefaultAzureCredential` from `@azure/identity`: anything
 * with `getToken(scopes)` (the `TokenCredential` interface of `@azure/core-auth`).
 */
export type TokenCredential = Exclude<ContainerClient['credential'], StorageSharedKeyCredential | AnonymousCredential>;

/**
 * Options of {@link AzureBlobBackend.open}. Give the container and exactly one way in:
 * `connectionString`, `accountName` + `accountKey`, `sasToken`, `credential`, or a borrowed `client`.
 */
export interface AzureBlobOptions {
  /** The container (3 to 63 lowercase letters, digits and `-`). Taken from `client` when one is given. */
  container?: string | undefined;
  /** Every key is stored under this folder prefix inside the container (`tenant-42/`); listings strip it. */
  prefix?: string | undefined;
  /** A storage account connection string, with an account key (`AccountKey=`) or a SAS (`SharedAccessSignature=`), or `UseDevelopmentStorage=true`. */
  connectionString?: string | undefined;
  /** The storage account's name; with `accountKey`, `sasToken` or `credential`. */
  accountName?: string | undefined;
  /** The account's shared key (base64), with `accountName`. */
  accountKey?: string | undefined;
  /** A SAS token (`sv=…&sig=…`, with or without the leading `?`) for the container or the account, with `accountName` or `endpoint`. */
  sasToken?: string | undefined;
  /** A Microsoft Entra ID credential (`new DefaultAzureCredential()` from `@azure/identity`), with `accountName` or `endpoint`. */
  credential?: TokenCredential | undefined;
  /**
   * The account's blob endpoint, when it is not `https://<accountName>.blob.core.windows.net`: a
   * sovereign cloud, a private endpoint, or Azurite (`http://127.0.0.1:10000/devstoreaccount1`).
   */
  endpoint?: string | undefined;
  /** A borrowed `ContainerClient`, used with its own credential and never closed by stowage. */
  client?: ContainerClient | undefined;
  /** Create the container at open when it does not exist (default false). */
  createContainer?: boolean | undefined;
  /** Bytes per staged block of a large upload (default 8 MiB, at most 4000 MiB). Bodies up to this size go in one request. */
  blockSize?: number | undefined;
  /** Blocks of one upload staged at once (default 4): an upload holds at most `(concurrency + 1) × blockSize` bytes. */
  concurrency?: number | undefined;
  /** Sources up to this size are copied with one synchronous request (Copy Blob From URL, default and most 256 MiB); larger ones are copied asynchronously and polled. */
  syncCopyLimit?: number | undefined;
  /** Milliseconds between polls of an asynchronous copy (default 500). */
  copyPollInterval?: number | undefined;
  /** Passed to the SDK client the backend builds (retry options, a proxy, a custom HTTP client). */
  clientOptions?: StoragePipelineOptions | undefined;
}

/** What signs URLs for one container, or nothing when the credential cannot (a SAS or anonymous client). */
export type UrlSigner = (blob: BlobClient, permissions: string, expiresOn: Date) => Promise<string>;

/** A resolved connection. */
export interface Connection {
  container: ContainerClient;
  prefix: string;
  signer: UrlSigner | undefined;
  /** Values that must never appear in a message. */
  secrets: string[];
}

const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$|^\$root$/;
const BACKEND = 'azure';

function fail(message: string): never {
  throw new InvalidArgumentError(message, { backend: BACKEND });
}

function accountUrl(options: AzureBlobOptions): string {
  if (options.endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(options.endpoint);
    } catch {
      fail('endpoint must be an absolute http(s) URL, such as https://myaccount.blob.core.windows.net');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') fail(`endpoint must be an http(s) URL, not ${url.protocol}`);
    if (url.search !== '' || url.username !== '' || url.password !== '') fail('endpoint must not carry credentials or a query: pass sasToken or accountKey separately');
    return url.href.replace(/\/+$/, '');
  }
  if (options.accountName === undefined) fail('give accountName or endpoint to reach the storage account');
  if (!/^[a-z0-9]{3,24}$/.test(options.accountName)) fail(`accountName must be 3 to 24 lowercase letters and digits, got ${JSON.stringify(options.accountName)}`);
  return `https://${options.accountName}.blob.core.windows.net`;
}

function protocolOf(url: string): SASProtocol {
  return url.startsWith('https:') ? SASProtocol.Https : SASProtocol.HttpsAndHttp;
}

/** Signs with the account key; a blob client inherits the shared key credential of its container client. */
const sharedKeySigner: UrlSigner = (blob, permissions, expiresOn) =>
  blob.generateSasUrl({ permissions: BlobSASPermissions.parse(permissions), expiresOn, protocol: protocolOf(blob.url) });

/** Signs with a user delegation key, fetched once and reused until an hour before it expires. */
function delegationSigner(container: ContainerClient, credential: TokenCredential, clientOptions: StoragePipelineOptions | undefined): UrlSigner {
  const serviceUrl = container.url.replace(/\?.*$/, '').replace(/\/[^/]*$/, '');
  const service = new BlobServiceClient(serviceUrl, credential, clientOptions);
  const KEY_LIFETIME_MS = 7 * 24 * 3600 * 1000 - 60_000;
  let cached: { key: UserDelegationKey; usableUntil: number } | undefined;
  return async (blob, permissions, expiresOn) => {
    const now = Date.now();
    if (!cached || cached.usableUntil < expiresOn.getTime()) {
      const startsOn = new Date(now - 5 * 60_000);
      const keyExpiry = new Date(now + KEY_LIFETIME_MS);
      const key = await service.getUserDelegationKey(startsOn, keyExpiry);
      cached = { key, usableUntil: keyExpiry.getTime() - 3600_000 };
    }
    return blob.generateUserDelegationSasUrl({ permissions: BlobSASPermissions.parse(permissions), expiresOn, protocol: protocolOf(blob.url) }, cached.key);
  };
}

function signerFor(container: ContainerClient, clientOptions: StoragePipelineOptions | undefined): UrlSigner | undefined {
  const credential = container.credential;
  // Duck-typed: a borrowed client may come from another copy of the SDK.
  if (typeof (credential as { computeHMACSHA256?: unknown }).computeHMACSHA256 === 'function') return sharedKeySigner;
  if (typeof (credential as { getToken?: unknown }).getToken === 'function') return delegationSigner(container, credential as TokenCredential, clientOptions);
  return undefined;
}

function positive(value: unknown, name: string, minimum: number, maximum: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum || value > maximum) {
    fail(`${name} must be an integer from ${minimum} to ${maximum}, got ${String(value)}`);
  }
  return value;
}

/** The tuning options, checked. */
export interface UploadSettings {
  blockSize: number;
  concurrency: number;
  syncCopyLimit: number;
  copyPollInterval: number;
}

/** The default block size: 8 MiB. */
export const DEFAULT_BLOCK_SIZE = 8 * 1024 * 1024;
/** Azure's largest block: 4000 MiB. */
export const MAX_BLOCK_SIZE = 4000 * 1024 * 1024;
/** Azure's largest synchronous copy (Copy Blob From URL): 256 MiB. */
export const MAX_SYNC_COPY = 256 * 1024 * 1024;

/** Checks the tuning options and applies their defaults. */
export function uploadSettings(options: AzureBlobOptions): UploadSettings {
  return {
    blockSize: positive(options.blockSize, 'blockSize', 1024, MAX_BLOCK_SIZE) ?? DEFAULT_BLOCK_SIZE,
    concurrency: positive(options.concurrency, 'concurrency', 1, 64) ?? 4,
    syncCopyLimit: positive(options.syncCopyLimit, 'syncCopyLimit', 0, MAX_SYNC_COPY) ?? MAX_SYNC_COPY,
    copyPollInterval: positive(options.copyPollInterval, 'copyPollInterval', 1, 60_000) ?? 500,
  };
}

/** Builds (or borrows) the container client the options describe; `INVALID_ARGUMENT` for contradictory or malformed options. */
export function connect(options: AzureBlobOptions): Connection {
  if (typeof options !== 'object' || options === null) fail('options must be an object');
  const ways = (['connectionString', 'accountKey', 'sasToken', 'credential', 'client'] as const).filter((name) => options[name] !== undefined);
  if (ways.length !== 1) {
    fail(
      ways.length === 0
        ? 'give one of connectionString, accountName + accountKey, sasToken, credential or client to the azure adapter'
        : `give only one of connectionString, accountKey, sasToken, credential and client (got ${ways.join(', ')})`,
    );
  }
  const prefix = normalizeRoot(options.prefix);
  const clientOptions = options.clientOptions;
  if (options.client !== undefined) {
    const client = options.client;
    if (!(client instanceof ContainerClient) && typeof (client as { getBlockBlobClient?: unknown }).getBlockBlobClient !== 'function') {
      fail('client must be a ContainerClient from @azure/storage-blob');
    }
    if (options.container !== undefined && options.container !== client.containerName) {
      fail(`container ${JSON.stringify(options.container)} differs from the borrowed client's container ${JSON.stringify(client.containerName)}`);
    }
    const sasInUrl = new URL(client.url).searchParams.has('sig');
    return { container: client, prefix, signer: signerFor(client, clientOptions), secrets: sasInUrl ? [new URL(client.url).search.slice(1)] : [] };
  }
  const container = options.container;
  if (typeof container !== 'string' || !CONTAINER_NAME.test(container)) {
    fail(`container must be 3 to 63 lowercase letters, digits and single hyphens, got ${JSON.stringify(container)}`);
  }
  if (options.connectionString !== undefined) {
    if (typeof options.connectionString !== 'string' || options.connectionString.trim() === '') fail('connectionString must be a non-empty string');
    const secrets = connectionStringSecrets(options.connectionString);
    let client: ContainerClient;
    try {
      client = new ContainerClient(options.connectionString, container, clientOptions);
    } catch (cause) {
      // The SDK names the part it could not read; the string itself never appears.
      throw new InvalidArgumentError(`the connection string cannot be used: ${(cause as Error).message}`, { backend: BACKEND });
    }
    return { container: client, prefix, signer: signerFor(client, clientOptions), secrets };
  }
  const base = accountUrl(options);
  const containerUrl = `${base}/${container}`;
  if (options.accountKey !== undefined) {
    if (typeof options.accountKey !== 'string' || options.accountKey === '') fail('accountKey must be a non-empty string');
    const accountName = options.accountName ?? accountNameOf(base);
    if (accountName === undefined) fail('give accountName with accountKey');
    const credential = new StorageSharedKeyCredential(accountName, options.accountKey);
    const client = new ContainerClient(containerUrl, credential, clientOptions);
    return { container: client, prefix, signer: sharedKeySigner, secrets: [options.accountKey] };
  }
  if (options.sasToken !== undefined) {
    if (typeof options.sasToken !== 'string' || !/(?:^|[?&])sig=/.test(options.sasToken)) fail('sasToken must be a SAS query string with a sig= parameter');
    const token = options.sasToken.replace(/^\?/, '');
    const client = new ContainerClient(`${containerUrl}?${token}`, new AnonymousCredential(), clientOptions);
    return { container: client, prefix, signer: undefined, secrets: [token, new URLSearchParams(token).get('sig') ?? token] };
  }
  const credential = options.credential!;
  if (typeof (credential as { getToken?: unknown }).getToken !== 'function') fail('credential must be a TokenCredential (an object with getToken), such as DefaultAzureCredential from @azure/identity');
  const client = new ContainerClient(containerUrl, credential, clientOptions);
  return { container: client, prefix, signer: delegationSigner(client, credential, clientOptions), secrets: [] };
}

/** The account name in an Azurite-style URL (`http://host:port/<account>`) or a `<account>.blob.…` host. */
function accountNameOf(base: string): string | undefined {
  const url = new URL(base);
  const first = url.pathname.split('/').find((segment) => segment !== '');
  if (first !== undefined) return first;
  const host = url.hostname.split('.')[0];
  return host === undefined || host === '' ? undefined : host;
}

/** The account key and SAS of a connection string, for masking. */
function connectionStringSecrets(connectionString: string): string[] {
  const secrets = [connectionString];
  for (const part of connectionString.split(';')) {
    const equals = part.indexOf('=');
    if (equals === -1) continue;
    const name = part.slice(0, equals).trim().toLowerCase();
    const value = part.slice(equals + 1).trim();
    if ((name === 'accountkey' || name === 'sharedaccesssignature') && value !== '') {
      secrets.push(value);
      const sig = new URLSearchParams(value).get('sig');
      if (sig) secrets.push(sig, encodeURIComponent(sig));
    }
  }
  return secrets;
}
