/**
 * A third-party stowage adapter that keeps blobs in Redis: the worked example of
 * docs/writing-an-adapter.md. It depends only on the published `@stowage/core` (a peer) and on
 * ioredis.
 *
 * @module
 */
import { InvalidArgumentError, type AdapterDefinition } from '@stowage/core';
import { RedisBackend, type RedisOptions } from './backend.ts';

export { REDIS_CAPABILITIES, RedisBackend, type RedisOptions } from './backend.ts';

/** The options this adapter reads from a store URL's query: `redis://host:6379/0?keyPrefix=app:&chunkSize=262144`. */
const URL_OPTIONS = ['keyPrefix', 'chunkSize', 'stagingTtl', 'readGracePeriod'] as const;

function optionsFromUrl(url: URL): RedisOptions {
  const options: RedisOptions = {};
  const connection = new URL(url.href);
  for (const name of URL_OPTIONS) {
    const value = url.searchParams.get(name);
    if (value === null) continue;
    connection.searchParams.delete(name);
    if (name === 'keyPrefix') options.keyPrefix = value;
    else {
      const number = Number(value);
      if (!Number.isSafeInteger(number)) throw new InvalidArgumentError(`redis: the URL's ${name} must be an integer, got ${JSON.stringify(value)}`);
      options[name] = number;
    }
  }
  options.url = connection.href;
  return options;
}

/**
 * The adapter definition `stowage-conformance --module` and the registry load. Register it for
 * `redis://` URLs with `registerAdapter({ name: 'redis', schemes: ['redis', 'rediss'], module: 'stowage-redis-example' })`,
 * or open it by package name: `openStore({ type: 'stowage-redis-example', options: { url } })`.
 */
export const adapter: AdapterDefinition<RedisOptions> = {
  name: 'redis',
  schemes: ['redis', 'rediss'],
  create: (options) => RedisBackend.open(options),
  optionsFromUrl,
};
