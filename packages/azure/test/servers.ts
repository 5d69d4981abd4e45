/**
 * The tests' view of the Azure test server (started by global-setup.ts): its settings, fresh
 * containers that are deleted afterwards, and backends opened on them.
 */
import { randomBytes } from 'node:crypto';
import { ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { inject } from 'vitest';
import { Store } from '@stowage/core';
import { AzureBlobBackend, type AzureBlobOptions, type AzureCapabilities } from '@stowage/azure';

/** The server's settings, or the reason the tests skip. */
export const server = inject('azure');

/** Endpoint, account and key of the test server (only where it exists). */
export function settings(): { endpoint: string; accountName: string; accountKey: string; connectionString: string } {
  if (!server.settings) throw new Error(`no Azure test server: ${server.skip}`);
  return server.settings as never;
}

/** A random container name. */
export function randomContainer(): string {
  return `stowage-test-${randomBytes(6).toString('hex')}`;
}

/** A client for `container` with the account key, created when missing. */
export async function adminClient(container: string): Promise<ContainerClient> {
  const { endpoint, accountName, accountKey } = settings();
  const client = new ContainerClient(`${endpoint}/${container}`, new StorageSharedKeyCredential(accountName, accountKey));
  await client.createIfNotExists();
  return client;
}

/** A backend on a fresh container (account key), and the teardown that deletes the container. */
export async function openTestBackend(
  options: Omit<AzureBlobOptions, 'container' | 'client' | 'connectionString' | 'accountKey' | 'sasToken' | 'credential'> = {},
): Promise<{ backend: AzureBlobBackend; store: Store<AzureCapabilities>; container: string; teardown: () => Promise<void> }> {
  const { endpoint, accountKey } = settings();
  const container = randomContainer();
  const backend = await AzureBlobBackend.open({ ...options, container, endpoint, accountKey, createContainer: true });
  return {
    backend,
    store: new Store(backend),
    container,
    teardown: async () => {
      await backend.unwrap().deleteIfExists();
      await backend.close();
    },
  };
}
