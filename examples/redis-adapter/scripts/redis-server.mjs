/**
 * Finds the Redis the certification and the tests run against, with stowage's test-server harness
 * (`@stowage/conformance/servers`): `STOWAGE_TEST_REDIS_URL` when set, else a `redis-server` started
 * here on a free loopback port (nothing kept on disk), stopped by `stop()`. When neither works the
 * caller skips with the reason, unless `STOWAGE_TEST_REQUIRE_SERVERS` is `1` or names `redis`: then
 * this throws, so that CI fails instead of skipping.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { freePort, resolveTestServer, spawnServer } from '@stowage/conformance/servers';

/** Connects, asks for the server's version and disconnects; throws when nothing answers. */
async function versionOf(url) {
  const client = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 5000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const info = await client.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } finally {
    client.disconnect();
  }
}

/**
 * The Redis to use: `{ url, version, stop }`, or `{ skip: reason }`.
 * @returns {Promise<{ url: string, version: string, stop(): Promise<void> } | { skip: string }>}
 */
export async function resolveRedis() {
  const resolved = await resolveTestServer('redis', {
    fromUrl: async (url) => {
      const version = await versionOf(url);
      return { name: 'redis', endpoint: new URL(url).host, settings: { url, version }, startedHere: false, stop: async () => {} };
    },
    start: async () => {
      const port = await freePort();
      const child = await spawnServer({
        name: 'redis-server',
        command: 'redis-server',
        args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        ready: /Ready to accept connections/,
      });
      const url = `redis://127.0.0.1:${port}/0`;
      return { name: 'redis', endpoint: `127.0.0.1:${port}`, settings: { url, version: await versionOf(url) }, startedHere: true, stop: () => child.stop() };
    },
  });
  if (!resolved.server) return { skip: resolved.skip };
  const { settings, stop } = resolved.server;
  return { url: settings.url, version: settings.version, stop };
}

/** A key prefix nobody else uses, so that runs share one Redis without seeing each other. */
export function randomKeyPrefix(label) {
  return `stowage-${label}-${randomBytes(6).toString('hex')}:`;
}

/**
 * Every Redis key under `prefix` with its remaining time to live in ms (-1: none), then, with
 * `{ remove: true }`, deletes them.
 * @returns {Promise<Map<string, number>>}
 */
export async function keysUnder(url, prefix, { remove = false } = {}) {
  const client = new Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  await client.connect();
  try {
    const found = new Map();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) found.set(key, await client.pttl(key));
    } while (cursor !== '0');
    if (remove && found.size > 0) await client.unlink(...found.keys());
    return found;
  } finally {
    client.disconnect();
  }
}
