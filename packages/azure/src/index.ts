/**
 * `@stowage/azure`: a stowage backend on Azure Blob Storage, built on `@azure/storage-blob`.
 *
 * One container (optionally a prefix inside it) holds the store's objects as block blobs. Connect
 * with a connection string, an account name and key, a SAS token, a Microsoft Entra ID credential
 * (`DefaultAzureCredential` from `@azure/identity`), or a `ContainerClient` you already have.
 *
 * @example
 * ```ts
 * import { Store } from '@stowage/core'
 * import { AzureBlobBackend } from '@stowage/azure'
 *
 * const store = new Store(await AzureBlobBackend.open({ container: 'files', connectionString: process.env.AZURE_STORAGE_CONNECTION_STRING }))
 * await store.write('notes/hello.txt', 'Hello!', { metadata: { author: 'zoë' } })
 * const url = await store.signUrl('notes/hello.txt', { expiresIn: 600 })
 * ```
 *
 * @module
 */
import { InvalidArgumentError, readUrlParameters, type AdapterDefinition } from '@stowage/core';
import { AzureBlobBackend } from './backend.ts';
import type { AzureBlobOptions, TokenCredential } from './connection.ts';

export { AZURE_CAPABILITIES, AzureBlobBackend, type AzureCapabilities } from './backend.ts';
export { DEFAULT_BLOCK_SIZE, MAX_BLOCK_SIZE, MAX_SYNC_COPY, type AzureBlobOptions, type TokenCredential } from './connection.ts';

const BACKEND = 'azure';

/** The query parameters of an `az://` URL; any other is refused. */
const URL_PARAMETERS = { account: 'string', endpoint: 'string', createContainer: 'boolean', blockSize: 'integer', concurrency: 'integer' } as const;

/**
 * Options from a store URL: `az://<container>/<prefix>` or `az://<container>@<account>/<prefix>`
 * (`azure://` alike). Query parameters: `account`, `endpoint` (the account's blob endpoint, such as
 * Azurite's `http://127.0.0.1:10000/devstoreaccount1`), `createContainer`, `blockSize`,
 * `concurrency`. Credentials never come from the URL: pass them as options, or see {@link adapter}.
 */
export function optionsFromAzureUrl(url: URL): AzureBlobOptions {
  if (url.password !== '') throw new InvalidArgumentError('an az:// URL carries no credentials: pass connectionString, accountKey, sasToken or credential as options', { backend: BACKEND });
  const options: AzureBlobOptions = {};
  if (url.username !== '') {
    options.container = decodeURIComponent(url.username);
    const host = url.hostname;
    if (host.includes('.')) options.endpoint = `https://${host}`;
    else options.accountName = host;
  } else {
    options.container = url.hostname;
  }
  const prefix = decodeURIComponent(url.pathname.replace(/^\/+/, ''));
  if (prefix !== '') options.prefix = prefix;
  const { account, ...parameters } = readUrlParameters(url, URL_PARAMETERS, { backend: BACKEND }).values;
  if (account !== undefined) options.accountName = account;
  return { ...options, ...parameters };
}

/**
 * Fills in the credential from the environment when the options give none, the way Azure's tools
 * do: `AZURE_STORAGE_CONNECTION_STRING`; else `AZURE_STORAGE_ACCOUNT` (or the `account` option)
 * with `AZURE_STORAGE_KEY` or `AZURE_STORAGE_SAS_TOKEN`; else `DefaultAzureCredential` from
 * `@azure/identity` (an optional peer dependency, imported only then).
 */
export async function withEnvironmentCredentials(options: AzureBlobOptions, env: Record<string, string | undefined> = process.env): Promise<AzureBlobOptions> {
  const given = options.connectionString ?? options.accountKey ?? options.sasToken ?? options.credential ?? options.client;
  if (given !== undefined) return options;
  const connectionString = env.AZURE_STORAGE_CONNECTION_STRING;
  if (connectionString && options.accountName === undefined && options.endpoint === undefined) return { ...options, connectionString };
  const accountName = options.accountName ?? (options.endpoint === undefined ? env.AZURE_STORAGE_ACCOUNT : undefined);
  if (accountName === undefined && options.endpoint === undefined) {
    throw new InvalidArgumentError(
      'the azure adapter needs an account: set AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT, or pass connectionString, accountName or endpoint',
      { backend: BACKEND },
    );
  }
  const located = { ...options, ...(accountName === undefined ? {} : { accountName }) };
  if (env.AZURE_STORAGE_KEY) return { ...located, accountKey: env.AZURE_STORAGE_KEY };
  if (env.AZURE_STORAGE_SAS_TOKEN) return { ...located, sasToken: env.AZURE_STORAGE_SAS_TOKEN };
  let identity: { DefaultAzureCredential: new () => TokenCredential };
  try {
    identity = (await import('@azure/identity')) as unknown as typeof identity;
  } catch (cause) {
    throw new InvalidArgumentError(
      'the azure adapter found no key, SAS or connection string, and Microsoft Entra ID sign-in needs the package @azure/identity: install it (for example `npm install @azure/identity`)',
      { backend: BACKEND, cause },
    );
  }
  return { ...located, credential: new identity.DefaultAzureCredential() };
}

/**
 * The registry's entry for `az://` and `azure://` URLs and `type: 'azure'`. Without a credential in
 * the options it uses the environment ({@link withEnvironmentCredentials}).
 */
export const adapter: AdapterDefinition<AzureBlobOptions> = {
  name: BACKEND,
  schemes: ['az', 'azure'],
  create: async (options) => AzureBlobBackend.open(await withEnvironmentCredentials(options)),
  optionsFromUrl: optionsFromAzureUrl,
  secretOptions: ['connectionString', 'accountKey', 'sasToken'],
};
