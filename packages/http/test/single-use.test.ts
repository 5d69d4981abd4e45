/**
 * Single-use upload links and required content types, with the nonce record on every store: a
 * single-use link uploads once (of concurrent tries exactly one), a failed upload releases it, a
 * link without a nonce is refused where the signer's policy wants one, the record drops nonces
 * once their links have expired (so it stays bounded), and the handler refuses a configuration
 * that would leave links reusable or share keys with the served store.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store, isStowageError, type Backend } from '@stowage/core';
import { MemoryBackend } from '@stowage/memory';
import { NonceRecord, createHandler, createSigner, type FetchHandler, type HmacSigner } from '@stowage/http';
import { serve, type TestHttpServer } from './server.ts';
import { STORES, type OpenedStore } from './stores.ts';

const SECRET = 'single-use-secret-'.repeat(3);

async function put(url: string, body: BodyInit, contentType = 'text/plain'): Promise<number> {
  const response = await fetch(url, { method: 'PUT', body, headers: { 'content-type': contentType }, duplex: 'half' } as RequestInit);
  await response.body?.cancel();
  return response.status;
}

describe.each(STORES)('single-use upload links with the nonces on $name', (factory) => {
  let opened: OpenedStore;
  let nonceStore: Store;
  let server: TestHttpServer & { use(handler: FetchHandler): void };
  let signer: HmacSigner;
  let served: Store;
  const reasons: string[] = [];

  beforeAll(async () => {
    if (factory.skip) return;
    opened = await factory.open();
    nonceStore = opened.store.at('upload-nonces/');
    server = await serve();
    signer = createSigner({ baseUrl: `${server.origin}/files/`, secrets: SECRET, uploads: { singleUse: true } });
    served = new Store(new MemoryBackend()).withSigner(signer);
    server.use(createHandler(served, { signer, uploads: { maxSize: 1000, idleTimeoutMs: 1000, nonceStore }, onError: ({ reason }) => reasons.push(reason) }));
  });
  afterAll(async () => {
    if (factory.skip) return;
    await server.close();
    await opened.close();
  });

  it.skipIf(factory.skip !== undefined)('uploads once; the same link again gets 403 and changes nothing', async () => {
    const url = await served.signUrl('once.txt', { method: 'PUT', contentType: 'text/plain' });
    expect(new URL(url).searchParams.get('nonce')).toMatch(/^[\w-]{22}$/);
    reasons.length = 0;
    expect(await put(url, 'first')).toBe(201);
    expect(await put(url, 'second')).toBe(403);
    expect(await served.readText('once.txt')).toBe('first');
    expect(reasons).toEqual(['link refused: used']);
    // Another single-use link to the same key is a new link.
    expect(await put(await served.signUrl('once.txt', { method: 'PUT', contentType: 'text/plain' }), 'third')).toBe(201);
  });

  it.skipIf(factory.skip !== undefined)('lets exactly one of eight concurrent uploads through one link store', async () => {
    const url = await served.signUrl('race.txt', { method: 'PUT', contentType: 'text/plain' });
    const statuses = await Promise.all(Array.from({ length: 8 }, (_, index) => put(url, `writer ${index}`)));
    expect(statuses.filter((status) => status === 201)).toHaveLength(1);
    expect(statuses.filter((status) => status === 403)).toHaveLength(7);
    expect(await served.readText('race.txt')).toBe(`writer ${statuses.indexOf(201)}`);
  });

  it.skipIf(factory.skip !== undefined)('releases the link of an upload that failed (too large, stalled), so it can be tried again', async () => {
    const url = await served.signUrl('retry.txt', { method: 'PUT', contentType: 'text/plain' });
    const tooLarge = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(600));
        controller.enqueue(new Uint8Array(600));
        controller.close();
      },
    });
    expect(await put(url, tooLarge)).toBe(413);
    const stalled = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(10));
      },
    });
    expect(await put(url, stalled)).toBe(408);
    expect(await served.exists('retry.txt')).toBe(false);
    expect(await put(url, 'at last')).toBe(201);
    expect(await put(url, 'again')).toBe(403);
    expect(await served.readText('retry.txt')).toBe('at last');
  });

  it.skipIf(factory.skip !== undefined)('refuses an upload link without a nonce, and a single-use link where no nonce would be recorded', async () => {
    const plain = createSigner({ baseUrl: `${server.origin}/files/`, secrets: SECRET });
    const reusable = plain.sign('plain.txt', { method: 'PUT', expiresIn: 60, contentType: 'text/plain' });
    reasons.length = 0;
    expect(await put(reusable, 'x')).toBe(403);
    expect(reasons).toEqual(['link refused: not-single-use']);
    const elsewhere = await serve(createHandler(new Store(new MemoryBackend()).withSigner(plain), { signer: plain, uploads: { maxSize: 1000 } }));
    try {
      const singleUse = (await served.signUrl('elsewhere.txt', { method: 'PUT', contentType: 'text/plain' })).replace(server.origin, elsewhere.origin);
      expect(await put(singleUse, 'x')).toBe(403);
    } finally {
      await elsewhere.close();
    }
  });

  it.skipIf(factory.skip !== undefined)('keeps the record bounded: nonces of links expired longer than the grace period are swept, the rest and foreign keys kept', async () => {
    const record = new NonceRecord(nonceStore, { graceSeconds: 60 });
    const now = Math.floor(Date.now() / 1000);
    const nonce = (): string => randomBytes(16).toString('base64url');
    const old = Array.from({ length: 5 }, (_, index) => ({ nonce: nonce(), expires: now - 3600 - index }));
    const recent = { nonce: nonce(), expires: now - 10 };
    const live = { nonce: nonce(), expires: now + 600 };
    for (const entry of [...old, recent, live]) expect(await record.claim(entry.nonce, entry.expires)).toBe(true);
    expect(await record.claim(live.nonce, live.expires)).toBe(false);
    await nonceStore.write('zz-not-a-nonce.txt', 'kept');
    expect(await record.sweep()).toBe(5);
    const keys = [];
    for await (const entry of nonceStore.listAll()) keys.push(entry.key);
    expect(keys.some((key) => old.some((entry) => key.endsWith(entry.nonce)))).toBe(false);
    expect(keys.some((key) => key.endsWith(recent.nonce))).toBe(true);
    expect(keys.some((key) => key.endsWith(live.nonce))).toBe(true);
    expect(keys).toContain('zz-not-a-nonce.txt');
    // A later sweep, once the grace period has passed for them too.
    expect(await record.sweep(Date.now() + 3600_000)).toBe(2 + (keys.length - 3));
    const left = [];
    for await (const entry of nonceStore.listAll()) left.push(entry.key);
    expect(left).toEqual(['zz-not-a-nonce.txt']);
    await nonceStore.delete('zz-not-a-nonce.txt');
  });

  it.skipIf(factory.skip !== undefined)('sweeps the record as uploads come (one sweep at a time, at most once a minute)', async () => {
    const record = new NonceRecord(nonceStore);
    const expired = randomBytes(16).toString('base64url');
    expect(await record.claim(expired, Math.floor(Date.now() / 1000) - 3600)).toBe(true);
    const isolated = await serve();
    try {
      const isolatedSigner = createSigner({ baseUrl: `${isolated.origin}/files/`, secrets: SECRET, uploads: { singleUse: true } });
      const store = new Store(new MemoryBackend()).withSigner(isolatedSigner);
      isolated.use(createHandler(store, { signer: isolatedSigner, uploads: { maxSize: 1000, nonceStore } }));
      expect(await put(await store.signUrl('swept.txt', { method: 'PUT', contentType: 'text/plain' }), 'x')).toBe(201);
      let remaining = true;
      for (let attempt = 0; attempt < 50 && remaining; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        remaining = false;
        for await (const entry of nonceStore.listAll()) if (entry.key.endsWith(expired)) remaining = true;
      }
      expect(remaining).toBe(false);
    } finally {
      await isolated.close();
    }
  });
});

describe('required content types', () => {
  let server: TestHttpServer & { use(handler: FetchHandler): void };
  let signer: HmacSigner;
  let store: Store;

  beforeAll(async () => {
    server = await serve();
    signer = createSigner({ baseUrl: `${server.origin}/`, secrets: SECRET, uploads: { requireContentType: true } });
    store = new Store(new MemoryBackend()).withSigner(signer);
    server.use(createHandler(store, { signer, uploads: { maxSize: 1000 } }));
  });
  afterAll(() => server.close());

  it('signs no upload link without a content type, and refuses one made elsewhere', async () => {
    await expect(store.signUrl('typed.png', { method: 'PUT' })).rejects.toSatisfy((error: unknown) => isStowageError(error, 'INVALID_ARGUMENT'));
    const untyped = createSigner({ baseUrl: `${server.origin}/`, secrets: SECRET }).sign('typed.png', { method: 'PUT', expiresIn: 60 });
    expect(await put(untyped, 'x', 'image/png')).toBe(403);
    const typed = await store.signUrl('typed.png', { method: 'PUT', contentType: 'image/png' });
    expect(await put(typed, 'x', 'text/html')).toBe(403);
    expect(await put(typed, 'x', 'image/png')).toBe(201);
    expect((await store.stat('typed.png')).contentType).toBe('image/png');
    // Downloads need no content type.
    expect((await fetch(await store.signUrl('typed.png'))).status).toBe(200);
  });
});

describe('the handler refuses a configuration that would leave single-use links reusable', () => {
  it('needs a nonce store for a single-use signer, a single-use signer for a nonce store, and a store of its own for the nonces', () => {
    const singleUse = createSigner({ baseUrl: 'http://127.0.0.1/', secrets: SECRET, uploads: { singleUse: true } });
    const plain = createSigner({ baseUrl: 'http://127.0.0.1/', secrets: SECRET });
    const served = new Store(new MemoryBackend());
    expect(() => createHandler(served, { signer: singleUse, uploads: { maxSize: 1 } })).toThrow(/give uploads\.nonceStore/);
    expect(() => createHandler(served, { signer: plain, uploads: { maxSize: 1, nonceStore: new Store(new MemoryBackend()) } })).toThrow(/is for single-use links/);
    expect(() => createHandler(served, { signer: singleUse, uploads: { maxSize: 1, nonceStore: served } })).toThrow(/shares keys with the served store/);
    expect(() => createHandler(served, { signer: singleUse, uploads: { maxSize: 1, nonceStore: served.at('nonces/') } })).toThrow(/shares keys with the served store/);
    const rooted = served.at('public/');
    const rootedSigner = createSigner({ baseUrl: 'http://127.0.0.1/', secrets: SECRET, root: 'public/', uploads: { singleUse: true } });
    expect(() => createHandler(rooted, { signer: rootedSigner, uploads: { maxSize: 1, nonceStore: served.at('nonces/') } })).not.toThrow();
    const memory = new MemoryBackend();
    const noConditions = Object.create(memory, { capabilities: { value: { ...memory.capabilities, conditionalWrite: false } } }) as Backend;
    expect(() => createHandler(served, { signer: singleUse, uploads: { maxSize: 1, nonceStore: new Store(noConditions) } })).toThrow(/create-only writes/);
  });
});
