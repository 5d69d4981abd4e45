/**
 * One spelling per signed link, on every store: the link exactly as the signer issued it (and with
 * `&download` appended) works; every other spelling of it (the signature padded, percent-encoded,
 * dotted, in standard base64 or with other trailing bits; the expiry with a leading zero or a plus;
 * the parameters reordered, repeated or joined by another; the path's letters percent-encoded) is
 * refused with 403, and a respelled upload link stores nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler, createSigner, type HmacSigner } from '@stowage/http';
import type { Store } from '@stowage/core';
import { serve, type TestHttpServer } from './server.ts';
import { STORES, type OpenedStore } from './stores.ts';

const SECRET = 'spelling-secret-'.repeat(3);
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Replaces the value of one query parameter in the raw query text, leaving the rest as it is. */
function withRaw(url: string, name: string, value: string): string {
  return url.replace(new RegExp(`([?&]${name}=)[^&]*`), `$1${value}`);
}

function rawValue(url: string, name: string): string {
  return new RegExp(`[?&]${name}=([^&]*)`).exec(url)![1]!;
}

/** Every way to write the same link differently that the handler must refuse. */
export function respellings(url: string): [label: string, url: string][] {
  const sig = rawValue(url, 'sig');
  const expires = rawValue(url, 'expires');
  const last = sig.at(-1)!;
  // 43 characters carry 258 bits for a 256-bit MAC: the last one's two low bits are ignored by a lenient decoder.
  const otherTail = BASE64URL[(BASE64URL.indexOf(last) & ~3) | ((BASE64URL.indexOf(last) + 1) & 3)]!;
  const standard = sig.replaceAll('-', '+').replaceAll('_', '/');
  const [path, query] = url.split('?') as [string, string];
  const parameters = query.split('&');
  const variants: [string, string][] = [
    ['sig padded with =', withRaw(url, 'sig', `${sig}=`)],
    ['sig padded with %3D', withRaw(url, 'sig', `${sig}%3D`)],
    ['sig with a percent-encoded letter', withRaw(url, 'sig', `%${sig.charCodeAt(0).toString(16).toUpperCase()}${sig.slice(1)}`)],
    ['sig with a percent-encoded letter (lowercase hex)', withRaw(url, 'sig', `${sig.slice(0, 5)}%${sig.charCodeAt(5).toString(16).toLowerCase()}${sig.slice(6)}`)],
    ['sig with a percent-encoded NUL', withRaw(url, 'sig', `${sig}%00`)],
    ['sig with a dot inside', withRaw(url, 'sig', `${sig.slice(0, 10)}.${sig.slice(10)}`)],
    ['sig with a space inside', withRaw(url, 'sig', `${sig.slice(0, 10)}+${sig.slice(10)}`)],
    ['sig in standard base64 with padding', withRaw(url, 'sig', `${standard}%3D`)],
    ['sig with other trailing bits', withRaw(url, 'sig', `${sig.slice(0, -1)}${otherTail}`)],
    ['expires with a leading zero', withRaw(url, 'expires', `0${expires}`)],
    ['expires with a plus sign', withRaw(url, 'expires', `%2B${expires}`)],
    ['expires percent-encoded', withRaw(url, 'expires', `%3${expires[0]}${expires.slice(1)}`)],
    ['method percent-encoded', withRaw(url, 'method', rawValue(url, 'method').replace(/^./, (c) => `%${c.charCodeAt(0).toString(16)}`))],
    ['kid percent-encoded', withRaw(url, 'kid', `%${rawValue(url, 'kid').charCodeAt(0).toString(16)}${rawValue(url, 'kid').slice(1)}`)],
    ['parameters reordered', `${path}?${[...parameters].reverse().join('&')}`],
    ['sig repeated', `${url}&sig=${sig}`],
    ['expires repeated', `${url}&expires=${expires}`],
    ['an extra parameter', `${url}&x=1`],
    ['an empty parameter', `${url}&`],
    ['parameters joined by ;', `${path}?${parameters.join(';')}`],
    ['download before the link', `${path}?download&${query}`],
    ['download with a value', `${url}&download=1`],
    ['a parameter name in capitals', url.replace('&sig=', '&SIG=')],
    ['a parameter name percent-encoded', url.replace('&sig=', '&%73ig=')],
    ['a path letter percent-encoded', `${path.replace(/\/files\/(.)/, (_, c: string) => `/files/%${c.charCodeAt(0).toString(16).toUpperCase()}`)}?${query}`],
    ['a path dot percent-encoded', `${path.replace(/\.([^./]*)$/, '%2E$1')}?${query}`],
    ['a fragment-free empty query part', url.replace('?', '?&')],
  ];
  if (url.includes('ct=')) variants.push(['ct with a literal slash', withRaw(url, 'ct', decodeURIComponent(rawValue(url, 'ct')))]);
  if (url.includes('%C3%A9')) variants.push(['a path escape in lowercase hex', url.replace('%C3%A9', '%c3%a9')]);
  return variants;
}

describe.each(STORES)('one spelling per signed link on $name', (factory) => {
  let opened: OpenedStore;
  let server: TestHttpServer & { use(handler: (request: Request) => Promise<Response>): void };
  let signer: HmacSigner;
  let store: Store;
  let handler: (request: Request) => Promise<Response>;
  const refused: string[] = [];

  beforeAll(async () => {
    if (factory.skip) return;
    opened = await factory.open();
    server = await serve();
    signer = createSigner({ baseUrl: `${server.origin}/files/`, secrets: SECRET });
    store = opened.store.withSigner(signer);
    handler = createHandler(store, { signer, uploads: { maxSize: 1024 * 1024 }, onError: ({ reason }) => refused.push(reason) });
    server.use(handler);
    await store.write('docs/data.bin', 'the data');
    await store.write('docs/café.txt', 'the café');
  });
  afterAll(async () => {
    if (factory.skip) return;
    await server.close();
    await opened.close();
  });

  it.skipIf(factory.skip !== undefined)('accepts the link as issued, and with &download appended', async () => {
    const url = await store.signUrl('docs/data.bin', { expiresIn: 600 });
    const plain = await fetch(url);
    expect(plain.status).toBe(200);
    expect(await plain.text()).toBe('the data');
    const download = await fetch(`${url}&download`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toMatch(/^attachment; filename="data.bin"/);
    await download.body?.cancel();
    expect((await fetch(url, { method: 'HEAD' })).status).toBe(200);
    const accented = await store.signUrl('docs/café.txt', { expiresIn: 600 });
    expect(await (await fetch(accented)).text()).toBe('the café');
  });

  it.skipIf(factory.skip !== undefined)('refuses every other spelling of a download link with 403, through Node and as a Fetch handler', async () => {
    const url = await store.signUrl('docs/data.bin', { expiresIn: 600 });
    refused.length = 0;
    for (const [label, variant] of respellings(url)) {
      expect(variant, label).not.toBe(url);
      const response = await fetch(variant);
      expect(response.status, `${label}: ${variant}`).toBe(403);
      expect(await response.text(), label).toBe('Forbidden\n');
      expect((await handler(new Request(variant))).status, `${label} (Fetch)`).toBe(403);
    }
    expect((await handler(new Request(url))).status).toBe(200);
    const accented = await store.signUrl('docs/café.txt', { expiresIn: 600 });
    const variant = accented.replace('%C3%A9', '%c3%a9');
    expect(variant).not.toBe(accented);
    expect((await fetch(variant)).status).toBe(403);
    expect(refused.every((reason) => reason.startsWith('link refused: '))).toBe(true);
  });

  it.skipIf(factory.skip !== undefined)('refuses every other spelling of an upload link with 403, storing nothing', async () => {
    const url = await store.signUrl('docs/upload.bin', { method: 'PUT', contentType: 'application/x-test', expiresIn: 600 });
    for (const [label, variant] of respellings(url)) {
      expect(variant, label).not.toBe(url);
      const response = await fetch(variant, { method: 'PUT', body: 'respelled', headers: { 'content-type': 'application/x-test' } });
      expect(response.status, `${label}: ${variant}`).toBe(403);
      await response.body?.cancel();
    }
    expect(await store.exists('docs/upload.bin')).toBe(false);
    const accepted = await fetch(url, { method: 'PUT', body: 'as issued', headers: { 'content-type': 'application/x-test' } });
    expect(accepted.status).toBe(201);
    expect(await store.readText('docs/upload.bin')).toBe('as issued');
  });
});
