import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '@stowage/core';
import { LocalBackend } from '@stowage/local';
import { createHandler, createSigner, type HmacSigner } from '@stowage/http';
import { rawGet, serve } from './server.ts';

const run = promisify(execFile);
const SECRET = 'a'.repeat(16) + randomBytes(16).toString('hex');
const OLD_SECRET = 'old-'.repeat(8) + randomBytes(8).toString('hex');

let directory: string;
let server: Awaited<ReturnType<typeof serve>>;
let signer: HmacSigner;
let store: Store;
let refused: string[];
const content = Buffer.from(Array.from({ length: 1000 }, (_, index) => index % 251));

async function curl(...args: string[]): Promise<string> {
  const { stdout } = await run('curl', ['--silent', '--show-error', ...args]);
  return stdout;
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'stowage-http-'));
  server = await serve();
  signer = createSigner({ baseUrl: `${server.origin}/files/`, secrets: [SECRET, OLD_SECRET] });
  store = new Store(new LocalBackend({ root: directory })).withSigner(signer);
  refused = [];
  server.use(createHandler(store, { signer, uploads: { maxSize: 64 * 1024 }, onError: ({ reason }) => refused.push(reason) }));
  await store.write('docs/data.bin', content, { contentType: 'application/x-data', metadata: { filename: 'Résumé 2026.bin' } });
  await store.write('docs/empty.txt', '');
});

afterAll(async () => {
  await server.close();
  await store.close();
  await rm(directory, { recursive: true, force: true });
});

const link = (key: string, options: { method?: 'GET' | 'PUT'; expiresIn?: number; contentType?: string } = {}): Promise<string> => store.signUrl(key, options);

describe('GET and HEAD', () => {
  it('serves the bytes with their headers', async () => {
    const response = await fetch(await link('docs/data.bin'));
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(content)).toBe(true);
    const info = await store.stat('docs/data.bin');
    expect(Object.fromEntries(['content-type', 'content-length', 'etag', 'last-modified', 'accept-ranges', 'x-content-type-options'].map((name) => [name, response.headers.get(name)]))).toEqual({
      'content-type': 'application/x-data',
      'content-length': '1000',
      etag: info.etag,
      'last-modified': info.lastModified.toUTCString(),
      'accept-ranges': 'bytes',
      'x-content-type-options': 'nosniff',
    });
    expect(response.headers.get('content-disposition')).toBeNull();
  });

  it('answers HEAD with the same headers and no body', async () => {
    const response = await fetch(await link('docs/data.bin'), { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe('1000');
    expect(await response.text()).toBe('');
  });

  it('offers the original filename for download when asked', async () => {
    const response = await fetch(`${await link('docs/data.bin')}&download`);
    expect(response.headers.get('content-disposition')).toBe(`attachment; filename="R_sum_ 2026.bin"; filename*=UTF-8''R%C3%A9sum%C3%A9%202026.bin`);
    await response.body?.cancel();
  });

  it('answers 404 for a missing key and 400 for an invalid one, with no internal detail', async () => {
    const missing = await fetch(await link('docs/missing.bin'));
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('Not Found\n');
    const invalid = await fetch(`${server.origin}/files/docs//x.bin`);
    expect(invalid.status).toBe(400);
    expect(await invalid.text()).toBe('Bad Request\n');
    const outside = await fetch(`${server.origin}/elsewhere/docs/data.bin`);
    expect(outside.status).toBe(404);
  });

  it('refuses methods it does not serve', async () => {
    const response = await fetch(await link('docs/data.bin'), { method: 'DELETE' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD, PUT, OPTIONS');
    expect((await store.stat('docs/data.bin')).size).toBe(1000);
  });
});

describe('ranges', () => {
  const ranged = async (range: string): Promise<{ status: number; contentRange: string | null; body: Buffer }> => {
    const response = await fetch(await link('docs/data.bin'), { headers: { range } });
    return { status: response.status, contentRange: response.headers.get('content-range'), body: Buffer.from(await response.arrayBuffer()) };
  };

  it('serves the start, the middle, the end, an open end and a suffix with 206', async () => {
    for (const [range, start, end] of [
      ['bytes=0-9', 0, 9],
      ['bytes=400-599', 400, 599],
      ['bytes=990-999', 990, 999],
      ['bytes=995-', 995, 999],
      ['bytes=-7', 993, 999],
      ['bytes=990-5000', 990, 999],
    ] as const) {
      const result = await ranged(range);
      expect(result.status, range).toBe(206);
      expect(result.contentRange, range).toBe(`bytes ${start}-${end}/1000`);
      expect(result.body.equals(content.subarray(start, end + 1)), range).toBe(true);
    }
  });

  it('answers 416 with the size for a range past the end, and for any range of an empty object', async () => {
    for (const [key, range, size] of [
      ['docs/data.bin', 'bytes=1000-', 1000],
      ['docs/data.bin', 'bytes=5000-6000', 1000],
      ['docs/data.bin', 'bytes=-0', 1000],
      ['docs/empty.txt', 'bytes=0-', 0],
    ] as const) {
      const response = await fetch(await link(key), { headers: { range } });
      expect(response.status, range).toBe(416);
      expect(response.headers.get('content-range'), range).toBe(`bytes */${size}`);
      await response.body?.cancel();
    }
  });

  it('serves the whole object for several ranges, other units and bad syntax', async () => {
    for (const range of ['bytes=0-1,5-6', 'items=0-1', 'bytes=9-1', 'bytes=x-']) {
      const result = await ranged(range);
      expect(result.status, range).toBe(200);
      expect(result.body.equals(content), range).toBe(true);
    }
  });

  it('honours If-Range: the range for the current ETag, the whole object otherwise', async () => {
    const { etag } = await store.stat('docs/data.bin');
    const current = await fetch(await link('docs/data.bin'), { headers: { range: 'bytes=0-3', 'if-range': etag } });
    expect(current.status).toBe(206);
    await current.body?.cancel();
    const stale = await fetch(await link('docs/data.bin'), { headers: { range: 'bytes=0-3', 'if-range': '"stale"' } });
    expect(stale.status).toBe(200);
    expect((await stale.arrayBuffer()).byteLength).toBe(1000);
  });

  it('works with curl too', async () => {
    const output = await curl('--range', '10-19', '--output', '-', await link('docs/data.bin'));
    expect(Buffer.from(output, 'latin1').equals(content.subarray(10, 20))).toBe(true);
    const status = await curl('--output', '/dev/null', '--write-out', '%{http_code}', '--range', '2000-', await link('docs/data.bin'));
    expect(status).toBe('416');
  });
});

describe('conditional requests', () => {
  it('answers 304 to a matching If-None-Match and If-Modified-Since, 200 otherwise', async () => {
    const info = await store.stat('docs/data.bin');
    const url = await link('docs/data.bin');
    const cases: [Record<string, string>, number][] = [
      [{ 'if-none-match': info.etag }, 304],
      [{ 'if-none-match': `"other", W/${info.etag}` }, 304],
      [{ 'if-none-match': '*' }, 304],
      [{ 'if-none-match': '"other"' }, 200],
      [{ 'if-modified-since': new Date(info.lastModified.getTime() + 60_000).toUTCString() }, 304],
      [{ 'if-modified-since': info.lastModified.toUTCString() }, 304],
      [{ 'if-modified-since': new Date(info.lastModified.getTime() - 60_000).toUTCString() }, 200],
      // If-None-Match wins over If-Modified-Since.
      [{ 'if-none-match': '"other"', 'if-modified-since': new Date(info.lastModified.getTime() + 60_000).toUTCString() }, 200],
    ];
    for (const [headers, status] of cases) {
      const response = await fetch(url, { headers });
      expect(response.status, JSON.stringify(headers)).toBe(status);
      const body = await response.arrayBuffer();
      expect(body.byteLength, JSON.stringify(headers)).toBe(status === 304 ? 0 : 1000);
      if (status === 304) expect(response.headers.get('etag')).toBe(info.etag);
    }
  });

  it('round-trips with curl: a second request with the ETag gets 304', async () => {
    const url = await link('docs/data.bin');
    const headers = await curl('--head', url);
    const etag = /^etag: (.*)$/im.exec(headers)?.[1]?.trim();
    expect(etag).toBe((await store.stat('docs/data.bin')).etag);
    expect(await curl('--output', '/dev/null', '--write-out', '%{http_code}', '--header', `If-None-Match: ${etag}`, url)).toBe('304');
  });
});

describe('signed links', () => {
  const status = async (url: string | URL, init?: RequestInit): Promise<number> => {
    const response = await fetch(url, init);
    await response.body?.cancel();
    return response.status;
  };

  it('refuses an unsigned, tampered, expired or wrong-method link with 403', async () => {
    refused.length = 0;
    expect(await status(`${server.origin}/files/docs/data.bin`)).toBe(403);
    const good = new URL(await link('docs/data.bin', { expiresIn: 60 }));
    expect(await status(good)).toBe(200);
    const otherKey = new URL(good);
    otherKey.pathname = '/files/docs/empty.txt';
    expect(await status(otherKey)).toBe(403);
    const longer = new URL(good);
    longer.searchParams.set('expires', String(Number(good.searchParams.get('expires')) + 3600));
    expect(await status(longer)).toBe(403);
    const asPut = new URL(good);
    asPut.searchParams.set('method', 'PUT');
    expect(await status(asPut, { method: 'PUT', body: 'x' })).toBe(403);
    expect(await status(good, { method: 'PUT', body: 'x' })).toBe(403);
    const badSignature = new URL(good);
    badSignature.searchParams.set('sig', 'A'.repeat(43));
    expect(await status(badSignature)).toBe(403);
    const expiring = await link('docs/data.bin', { expiresIn: 1 });
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect(await status(expiring)).toBe(403);
    expect(refused).toEqual([
      'link refused: unsigned',
      'link refused: bad-signature',
      'link refused: bad-signature',
      'link refused: bad-signature',
      'link refused: wrong-method',
      'link refused: bad-signature',
      'link refused: expired',
    ]);
    expect((await store.readBytes('docs/data.bin')).byteLength).toBe(1000);
  });

  it('accepts links of every secret it knows, so that a secret can be rotated', async () => {
    const oldSigner = createSigner({ baseUrl: `${server.origin}/files/`, secrets: OLD_SECRET });
    const oldLink = await new Store(store.backend).withSigner(oldSigner).signUrl('docs/data.bin');
    expect(await status(oldLink)).toBe(200);
    const stranger = createSigner({ baseUrl: `${server.origin}/files/`, secrets: 's'.repeat(40) });
    expect(await status(await new Store(store.backend).withSigner(stranger).signUrl('docs/data.bin'))).toBe(403);
  });

  it('refuses weak secrets and keys outside the served root', () => {
    expect(() => createSigner({ baseUrl: 'http://x/', secrets: 'short' })).toThrow(/at least 32 characters/);
    expect(() => createSigner({ baseUrl: 'not a url', secrets: SECRET })).toThrow(/absolute URL/);
    const rooted = createSigner({ baseUrl: 'http://x/', secrets: SECRET, root: 'public/' });
    expect(() => rooted.sign('private/a', { method: 'GET', expiresIn: 60 })).toThrow(/outside the served root/);
    expect(rooted.sign('public/a b', { method: 'GET', expiresIn: 60 })).toMatch(/^http:\/\/x\/a%20b\?method=GET&expires=\d+&kid=[\w-]+&sig=[\w-]+$/);
  });
});

describe('keys from the URL', () => {
  it('refuses traversal, encoded separators, backslashes and NUL with 400 and never serves outside the store', async () => {
    const url = new URL(await link('docs/data.bin'));
    const query = url.search;
    for (const path of ['/files/../secret', '/files/docs/../docs/data.bin', '/files/%2e%2e/x', '/files/%2E%2e/x', '/files/.%2e/x', '/files/docs%2fdata.bin', '/files/docs%2Fdata.bin', '/files/docs\\data.bin', '/files/docs%5cdata.bin', '/files/docs/data%00.bin', '/files/./docs/data.bin', '/files/%c0%ae%c0%ae/x']) {
      const response = await rawGet(server.origin, `${path}${query}`);
      expect(response.status, path).toBe(400);
      expect(response.body, path).toBe('Bad Request\n');
    }
    for (const path of ['/files/../secret', '/files/%2e%2e/%2e%2e/etc/passwd', '/files/docs%2fdata.bin', '/files/docs\\data.bin']) {
      const code = await curl('--path-as-is', '--output', '/dev/null', '--write-out', '%{http_code}', `${server.origin}${path}${query}`);
      expect(code, path).toBe('400');
    }
  });
});

describe('keys from the URL, in a Fetch runtime', () => {
  it('gets a URL the runtime has normalized: dot segments and backslashes resolve inside the mount, never outside it or the rooted store', async () => {
    // Hono, Bun, Deno and Next.js hand the handler a parsed Request, whose URL has resolved `..`,
    // `%2e%2e` and `\` already: the handler cannot refuse them, and needs not to.
    const outer = new Store(new LocalBackend({ root: directory }));
    await outer.write('secret.txt', 'outside the rooted store');
    await outer.write('public/a.txt', 'public text');
    const handler = createHandler(outer.at('public/'), { access: 'public', basePath: '/files/' });
    const get = async (path: string): Promise<{ status: number; body: string }> => {
      const response = await handler(new Request(`http://stowage.test${path}`));
      return { status: response.status, body: await response.text() };
    };
    for (const path of ['/files/../secret.txt', '/files/%2e%2e/secret.txt', '/files/.%2E/secret.txt', '/files/a/../../secret.txt', '/files\\..\\secret.txt', '/files/..\\secret.txt', '/files/%2e%2e%2fsecret.txt', '/files/..%5csecret.txt', '/files/%2e%2e%5csecret.txt']) {
      const { status, body } = await get(path);
      expect([400, 404], path).toContain(status);
      expect(body, path).not.toContain('outside');
    }
    // A spelling that resolves inside the mount names that key, as the runtime resolved it.
    expect(await get('/files/x/../a.txt')).toEqual({ status: 200, body: 'public text' });
    expect(await get('/files/x\\..\\a.txt')).toEqual({ status: 200, body: 'public text' });
    expect(await get('/files/%2e/a.txt')).toEqual({ status: 200, body: 'public text' });
    for (const key of ['secret.txt', 'public/a.txt']) await outer.delete(key);
  });
});

describe('signed uploads', () => {
  it('stores the uploaded bytes with the bound content type', async () => {
    const url = await link('uploads/photo.png', { method: 'PUT', contentType: 'image/png' });
    const body = randomBytes(5000);
    const response = await fetch(url, { method: 'PUT', body, headers: { 'content-type': 'image/png' } });
    expect(response.status).toBe(201);
    const result = (await response.json()) as { size: number; sha256: string };
    expect(result.size).toBe(5000);
    expect(Buffer.from(await store.readBytes('uploads/photo.png')).equals(body)).toBe(true);
    expect((await store.stat('uploads/photo.png')).contentType).toBe('image/png');
  });

  it('refuses another content type, and an upload over the limit, storing nothing', async () => {
    const url = await link('uploads/limited.bin', { method: 'PUT', contentType: 'application/octet-stream' });
    expect((await fetch(url, { method: 'PUT', body: 'x', headers: { 'content-type': 'text/html' } })).status).toBe(403);
    const declared = await fetch(url, { method: 'PUT', body: randomBytes(70_000), headers: { 'content-type': 'application/octet-stream' } });
    expect(declared.status).toBe(413);
    // Streamed without a length: refused as the limit is crossed.
    const streamed = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let index = 0; index < 10; index++) controller.enqueue(randomBytes(10_000));
        controller.close();
      },
    });
    const chunked = await fetch(url, { method: 'PUT', body: streamed, headers: { 'content-type': 'application/octet-stream' }, duplex: 'half' } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(await store.exists('uploads/limited.bin')).toBe(false);
  });
});

describe('CORS', () => {
  it('answers a preflight and marks responses for an allowed origin only', async () => {
    const corsServer = await serve(createHandler(store, { signer, cors: { origins: ['https://app.example'] } }));
    try {
      const url = (await link('docs/data.bin')).replace(server.origin, corsServer.origin);
      const preflight = await fetch(url, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' } });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
      const allowed = await fetch(url, { headers: { origin: 'https://app.example' } });
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
      await allowed.body?.cancel();
      const other = await fetch(url, { headers: { origin: 'https://evil.example' } });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      await other.body?.cancel();
    } finally {
      await corsServer.close();
    }
  });
});
