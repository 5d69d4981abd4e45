/**
 * What this adapter promises beyond the conformance suite, on a real Redis: its staged writes and
 * read grace period, errors without credentials, borrowed clients, options. Runs on the built
 * package (`npm run build && npm test`), with Node's own test runner.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Store, isStowageError } from '@stowage/core';
import { freePort } from '@stowage/conformance/servers';
import { RedisBackend, adapter } from '../dist/index.js';
import { keysUnder, randomKeyPrefix, resolveRedis } from '../scripts/redis-server.mjs';

const redis = await resolveRedis();
const skip = 'skip' in redis ? redis.skip : false;
const CHUNK = 1024;

/** A store of its own under a fresh key prefix; the prefix's keys are removed afterwards. */
async function openStore(options = {}) {
  const keyPrefix = randomKeyPrefix('test');
  const backend = await RedisBackend.open({ url: redis.url, keyPrefix, chunkSize: CHUNK, ...options });
  return { store: new Store(backend), backend, keyPrefix };
}

const bytes = (size, seed) => Uint8Array.from({ length: size }, (_, index) => (index * 31 + seed) % 251);

describe('stowage-redis-example', { skip }, () => {
  const prefixes = [];
  const track = (opened) => {
    prefixes.push(opened.keyPrefix);
    return opened;
  };
  after(async () => {
    for (const prefix of prefixes) await keysUnder(redis.url, prefix, { remove: true });
    await redis.stop?.();
  });

  test('a writer killed mid-write leaves nothing visible, and its staged chunks expire by themselves', async () => {
    const { store, keyPrefix } = track(await openStore({ stagingTtl: 60 }));
    await store.write('kept.bin', bytes(3 * CHUNK, 1));
    const before = await store.stat('kept.bin');
    const child = spawn(process.execPath, [new URL('./fixtures/dying-writer.mjs', import.meta.url).pathname], {
      env: { ...process.env, REDIS_URL: redis.url, KEY_PREFIX: keyPrefix, CHUNK_SIZE: String(CHUNK) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise((resolve, reject) => {
      child.stdout.on('data', (data) => String(data).includes('staged') && resolve());
      child.once('exit', (code) => reject(new Error(`the writer exited (${code}) before it staged anything`)));
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    assert.equal(await store.exists('dying.bin'), false, 'the killed write is not visible');
    assert.equal((await store.stat('kept.bin')).etag, before.etag, 'the object it was overwriting is untouched');
    assert.deepEqual((await store.readBytes('kept.bin')).subarray(0, 8), bytes(3 * CHUNK, 1).subarray(0, 8));
    const keys = await keysUnder(redis.url, keyPrefix);
    const staged = [...keys].filter(([key]) => key.startsWith(`${keyPrefix}c:`) && keys.get(key) > 0);
    assert.ok(staged.length >= 2, `the killed writer's staged chunks are there (${staged.length})`);
    for (const [key, ttl] of staged) assert.ok(ttl > 0 && ttl <= 60_000, `${key} expires within stagingTtl (${ttl} ms)`);
    await store.close();
  });

  test('a read open across an overwrite finishes with the old bytes within the grace period', async () => {
    const { store } = track(await openStore({ readGracePeriod: 30 }));
    const old = bytes(4 * CHUNK, 2);
    await store.write('r.bin', old);
    const reader = (await store.read('r.bin')).getReader();
    const parts = [(await reader.read()).value];
    await store.write('r.bin', bytes(4 * CHUNK, 3));
    for (let next = await reader.read(); !next.done; next = await reader.read()) parts.push(next.value);
    assert.deepEqual(Buffer.concat(parts), Buffer.from(old));
    assert.deepEqual(await store.readBytes('r.bin'), bytes(4 * CHUNK, 3), 'a new read gets the new object');
    await store.close();
  });

  test('a read that outlasts the grace period of a deleted object fails with UNAVAILABLE, never with wrong bytes', async () => {
    const { store } = track(await openStore({ readGracePeriod: 1 }));
    await store.write('g.bin', bytes(4 * CHUNK, 4));
    const reader = (await store.read('g.bin')).getReader();
    await reader.read();
    await store.delete('g.bin');
    await sleep(1500);
    await assert.rejects(
      (async () => {
        for (let next = await reader.read(); !next.done; next = await reader.read());
      })(),
      (error) => isStowageError(error, 'UNAVAILABLE') && /expired/.test(error.message),
    );
    await store.close();
  });

  test('a Redis that does not answer is UNAVAILABLE, and no message shows the password', async () => {
    const port = await freePort();
    const error = await RedisBackend.open({ url: `redis://:s3cret-word@127.0.0.1:${port}/0` }).then(
      () => assert.fail('opened a Redis that is not there'),
      (caught) => caught,
    );
    assert.ok(isStowageError(error, 'UNAVAILABLE'), `UNAVAILABLE, got ${error}`);
    assert.ok(error.retryable);
    assert.doesNotMatch(`${error.message} ${error.stack}`, /s3cret-word/);
  });

  test('a borrowed client stays open after the store closes; one with ioredis keyPrefix is refused', async () => {
    const client = new Redis(redis.url);
    try {
      const keyPrefix = randomKeyPrefix('borrowed');
      prefixes.push(keyPrefix);
      const store = new Store(await RedisBackend.open({ client, keyPrefix }));
      await store.write('a.txt', 'borrowed');
      await store.close();
      assert.equal(await client.ping(), 'PONG', 'the borrowed client still answers');
      assert.equal(store.unwrap(), client);
      const prefixed = new Redis(redis.url, { keyPrefix: 'mine:', lazyConnect: true });
      await assert.rejects(RedisBackend.open({ client: prefixed }), (error) => isStowageError(error, 'INVALID_ARGUMENT'));
      prefixed.disconnect();
    } finally {
      client.disconnect();
    }
  });

  test('bad options are INVALID_ARGUMENT before any connection', async () => {
    for (const options of [{}, { url: 'not a url' }, { url: redis.url, chunkSize: 0 }, { url: redis.url, stagingTtl: 1.5 }, { url: redis.url, keyPrefix: 7 }]) {
      await assert.rejects(RedisBackend.open(options), (error) => isStowageError(error, 'INVALID_ARGUMENT'), JSON.stringify(options));
    }
  });

  test('a store URL carries the adapter options in its query, and only the connection reaches ioredis', () => {
    const options = adapter.optionsFromUrl(new URL('redis://user:pw@127.0.0.1:6380/2?keyPrefix=app:&chunkSize=4096&family=4'));
    assert.deepEqual(options, { keyPrefix: 'app:', chunkSize: 4096, url: 'redis://user:pw@127.0.0.1:6380/2?family=4' });
  });
});
