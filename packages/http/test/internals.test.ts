/**
 * A local store nested in the folder of a served local store: its internals (`.stowage/meta`,
 * `locks`, `tmp`) are never reachable through the outer store's handler. Reads get 400, signed
 * uploads get 400 and create nothing, and no link to them can be signed.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store, isStowageError } from '@stowage/core';
import { LocalBackend } from '@stowage/local';
import { createHandler, createSigner, type HmacSigner } from '@stowage/http';
import { rawGet, serve, type TestHttpServer } from './server.ts';

let directory: string;
let outer: Store;
let inner: Store;
let signer: HmacSigner;
let server: TestHttpServer & { use(handler: (request: Request) => Promise<Response>): void };
const refused: string[] = [];

/** Every file and folder below the nested store's folder, internals included. */
async function nestedTree(): Promise<string[]> {
  return (await readdir(join(directory, 'nested'), { recursive: true })).sort();
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'stowage-http-nested-'));
  outer = new Store(new LocalBackend({ root: directory }));
  inner = new Store(new LocalBackend({ root: join(directory, 'nested') }));
  await inner.write('inner.txt', 'inner object', { metadata: { owner: 'inner' } });
  await outer.write('outer.txt', 'outer object');
  server = await serve();
  signer = createSigner({ baseUrl: `${server.origin}/files/`, secrets: 'nested-internals-secret-'.repeat(2) });
  server.use(createHandler(outer.withSigner(signer), { signer, access: 'public', uploads: { maxSize: 1024 }, onError: ({ status, reason }) => refused.push(`${status} ${reason}`) }));
});

afterAll(async () => {
  await server.close();
  await inner.close();
  await outer.close();
  await rm(directory, { recursive: true, force: true });
});

describe('a store nested in a served local store', () => {
  it('serves the nested objects as ordinary files, and none of its internals', async () => {
    expect(await (await fetch(`${server.origin}/files/nested/inner.txt`)).text()).toBe('inner object');
    const before = await nestedTree();
    const internals = before.filter((path) => /^\.stowage\/(meta|locks|tmp)\/.+/.test(path));
    expect(internals.some((path) => path.startsWith('.stowage/meta/') && path.endsWith('.json'))).toBe(true);
    refused.length = 0;
    for (const path of [...internals, '.stowage', '.stowage/meta', '.STOWAGE/meta', '.Stowage/locks']) {
      const signed = signer.sign(`nested/${path}`, { method: 'GET', expiresIn: 60 });
      for (const url of [`${server.origin}/files/nested/${path}`, signed]) {
        const response = await fetch(url);
        expect(response.status, url).toBe(400);
        expect(await response.text()).toBe('Bad Request\n');
      }
      expect((await rawGet(server.origin, `/files/nested/${path}`)).status).toBe(400);
    }
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((entry) => entry === '400 INVALID_PATH')).toBe(true);
    expect(await nestedTree()).toEqual(before);
  });

  it('refuses signed uploads into the nested internals with 400, creating nothing', async () => {
    const before = await nestedTree();
    for (const key of ['nested/.stowage/locks/planted.lock', 'nested/.stowage/meta/aa/planted.json', 'nested/.stowage/tmp/planted', 'nested/.STOWAGE/locks/planted.lock', 'nested/.stowage']) {
      const url = signer.sign(key, { method: 'PUT', expiresIn: 60 });
      const response = await fetch(url, { method: 'PUT', body: 'planted' });
      expect(response.status, key).toBe(400);
      await response.body?.cancel();
    }
    expect(await nestedTree()).toEqual(before);
    expect(await inner.readText('inner.txt')).toBe('inner object');
    expect((await inner.stat('inner.txt')).metadata).toEqual({ owner: 'inner' });
  });

  it('signs no link to them', async () => {
    const store = outer.withSigner(signer);
    for (const key of ['nested/.stowage/locks/planted.lock', 'nested/.stowage/meta/x.json']) {
      await expect(store.signUrl(key, { method: 'PUT' })).rejects.toSatisfy((error: unknown) => isStowageError(error, 'INVALID_PATH'));
    }
  });
});
