/**
 * The reliability checks on Azurite (or STOWAGE_TEST_AZURE_URL), reached through a fault proxy for
 * the connection checks. A cut upload leaves uncommitted blocks on the name, which no read or
 * listing sees and Azure discards (at the next commit on that name, or after a week); the checks
 * prove the old blob is untouched and nothing partial is ever visible.
 */
import { randomBytes } from 'node:crypto';
import { describe, it } from 'vitest';
import { Store } from '@stowage/core';
import type { FaultProxy } from '@stowage/conformance/faults';
import { describeReliability } from '@stowage/conformance/reliability';
import { AzureBlobBackend } from '@stowage/azure';
import { openTestBackend, randomContainer, server, settings } from './servers.ts';

const BLOCK = 256 * 1024;

/**
 * The proxied and the direct backend on one fresh container. With `sdkRetries: false` the proxied
 * client makes one attempt per request, so that a cut block fails the write instead of being sent again.
 */
function faultStores(sdkRetries: boolean) {
  return async (proxy: FaultProxy) => {
    const { endpoint, accountKey } = settings();
    const container = randomContainer();
    const direct = await AzureBlobBackend.open({ container, endpoint, accountKey, createContainer: true, blockSize: BLOCK });
    const clientOptions = sdkRetries ? undefined : { retryOptions: { maxTries: 1 } };
    const proxied = await AzureBlobBackend.open({ container, endpoint: proxy.url(endpoint).replace(/\/$/, ''), accountKey, blockSize: BLOCK, clientOptions });
    return {
      proxied: new Store(proxied),
      direct: new Store(direct),
      teardown: async () => {
        await proxied.close();
        await direct.unwrap().deleteIfExists();
        await direct.close();
      },
    };
  };
}

if (server.skip !== undefined) {
  describe('stowage reliability: azure', () => {
    it.skip(`reliability: ${server.skip}`, () => {});
  });
} else {
  const { endpoint, accountKey, connectionString } = settings();
  const wrongKey = randomBytes(64).toString('base64');
  describeReliability({
    name: 'azure (Azurite)',
    factory: () => openTestBackend({ blockSize: BLOCK }),
    overrides: {
      resources:
        'the Azure SDK gives every client of the process one shared HTTP client (its cached default), whose keep-alive pool close() cannot release without closing other clients’ connections; they hold no request and the server’s idle timeout closes them',
    },
    races: { bodySize: 3 * BLOCK + 1 },
    keys: {
      timeLimitMs: 15_000,
      excludedKeys: { pattern: /[\ufffe\uffff]/, reason: 'Azurite answers a listing that would hold a name with U+FFFE or U+FFFF (not representable in XML) with 500' },
    },
    faults: { target: endpoint, open: faultStores(true), uploadSize: 3 * BLOCK + 1, downloadSize: 1024 * 1024, trials: 3 },
    secrets: [accountKey, wrongKey, connectionString],
    failures: [
      async () => new Store(await AzureBlobBackend.open({ container: randomContainer(), endpoint, accountKey: wrongKey, clientOptions: { retryOptions: { maxTries: 1 } } })).stat('x'),
      async () =>
        new Store(await AzureBlobBackend.open({ container: randomContainer(), connectionString: connectionString.replace(accountKey, wrongKey), clientOptions: { retryOptions: { maxTries: 1 } } })).write('x', 'y'),
    ],
  });
}

// The same cuts with the SDK's own retries off: every cut fails the write, and the old blob must stay.
if (server.skip === undefined) {
  describeReliability({
    name: 'azure (Azurite, one attempt per request)',
    faults: { target: settings().endpoint, open: faultStores(false), uploadSize: 3 * BLOCK + 1, trials: 3 },
  });
}
