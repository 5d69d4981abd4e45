/**
 * Slow clients are bounded: an upload whose body stalls, or trickles in past its time, is cut with
 * 408 within the configured limit and stores nothing (no object, no temporary file), on every
 * store, through `createNodeServer` and as a plain Fetch handler; slow headers, silent
 * connections, too many connections and too many uploads at once are cut too. Each limit is set to
 * about a second here; Node's own defaults would let each of these run for minutes.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Store } from '@stowage/core';
import { LocalBackend } from '@stowage/local';
import { NODE_SERVER_DEFAULTS, createNodeServer } from '@stowage/http/node';
import { UPLOAD_DEFAULTS, createHandler, createSigner, type FetchHandler, type HmacSigner } from '@stowage/http';
import { STORES, type OpenedStore } from './stores.ts';

const SECRET = 'slow-clients-secret-'.repeat(3);

/** What a raw connection saw: the bytes the server sent, and when it closed (ms after opening). */
interface Exchange {
  received: string;
  closedAfterMs: number;
}

/**
 * Opens a connection, writes `parts` (each after its delay), and waits until the server closes it,
 * failing after `patienceMs`.
 */
function converse(port: number, parts: readonly { afterMs: number; data: string | Buffer }[], patienceMs: number): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect({ host: '127.0.0.1', port });
    let received = '';
    const timers: ReturnType<typeof setTimeout>[] = [];
    const patience = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server had not closed the connection after ${patienceMs} ms; it sent: ${JSON.stringify(received.slice(0, 200))}`));
    }, patienceMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(patience);
      for (const timer of timers) clearTimeout(timer);
      resolve({ received, closedAfterMs: performance.now() - started });
    });
    socket.on('connect', () => {
      for (const part of parts) {
        timers.push(
          setTimeout(() => {
            if (!socket.destroyed) socket.write(part.data);
          }, part.afterMs),
        );
      }
    });
  });
}

function putHead(url: string, length: number | undefined, contentType = 'application/octet-stream'): string {
  const { pathname, search, host } = new URL(url);
  const framing = length === undefined ? 'transfer-encoding: chunked' : `content-length: ${length}`;
  return `PUT ${pathname}${search} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: ${contentType}\r\n${framing}\r\n\r\n`;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

const LIMITS = { idleTimeoutMs: 1000, timeoutMs: 3000 };

describe('the defaults', () => {
  it('are those of a public server, well below Node’s own', () => {
    expect(UPLOAD_DEFAULTS).toEqual({ idleTimeoutMs: 30_000, timeoutMs: 600_000, maxConcurrent: 64 });
    expect(NODE_SERVER_DEFAULTS).toEqual({ headersTimeoutMs: 20_000, requestTimeoutMs: 600_000, idleTimeoutMs: 60_000, keepAliveTimeoutMs: 5_000, maxConnections: 256 });
    const server = createNodeServer(async () => new Response('x'));
    expect([server.headersTimeout, server.requestTimeout, server.timeout, server.keepAliveTimeout, server.maxConnections]).toEqual([20_000, 600_000, 60_000, 5_000, 256]);
    expect(() => createNodeServer(async () => new Response('x'), { headersTimeoutMs: 10_000, requestTimeoutMs: 5_000 })).toThrow(/must not exceed/);
    expect(() => createNodeServer(async () => new Response('x'), { maxConnections: 0 })).toThrow(TypeError);
    const store = new Store(new LocalBackend({ root: tmpdir() }));
    const signer = createSigner({ baseUrl: 'http://127.0.0.1/', secrets: SECRET });
    expect(() => createHandler(store, { signer, uploads: { maxSize: 1, idleTimeoutMs: 0 } })).toThrow(/idleTimeoutMs must be a positive integer/);
    expect(() => createHandler(store, { signer, uploads: { maxSize: 1, maxConcurrent: 1.5 } })).toThrow(/maxConcurrent/);
  });
});

describe.each(STORES)('a stalled or trickling upload on $name', (factory) => {
  let opened: OpenedStore;
  let server: Server;
  let port: number;
  let signer: HmacSigner;
  let handler: FetchHandler;
  let store: Store;
  const reasons: string[] = [];

  beforeAll(async () => {
    if (factory.skip) return;
    opened = await factory.open();
    let current: FetchHandler = async () => new Response(null, { status: 503 });
    server = createNodeServer((request) => current(request), { headersTimeoutMs: 1000, requestTimeoutMs: 10_000, idleTimeoutMs: 5000 });
    port = await listen(server);
    signer = createSigner({ baseUrl: `http://127.0.0.1:${port}/`, secrets: SECRET });
    store = opened.store.withSigner(signer);
    handler = createHandler(store, { signer, uploads: { maxSize: 1024 * 1024, ...LIMITS }, onError: ({ status, reason }) => reasons.push(`${status} ${reason}`) });
    current = handler;
  });
  afterAll(async () => {
    if (factory.skip) return;
    await closeServer(server);
    await opened.close();
  });

  /** Nothing stored under `key`, and (on a local store) no temporary file left. */
  async function expectNothingLeft(key: string): Promise<void> {
    expect(await store.exists(key)).toBe(false);
    if (opened.directory !== undefined) expect(await readdir(join(opened.directory, '.stowage', 'tmp')).catch(() => [])).toEqual([]);
  }

  /** The upload got 408 and its connection closed once `limitMs` had passed (and well before Node's own limits), for `reason`, and left nothing. */
  async function expectCut(exchange: Exchange, limitMs: number, reason: string, key: string): Promise<void> {
    expect(exchange.received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(exchange.received).toMatch(/\r\nconnection: close\r\n/i);
    expect(exchange.closedAfterMs).toBeGreaterThanOrEqual(limitMs);
    expect(exchange.closedAfterMs).toBeLessThan(limitMs + 4000);
    expect(reasons).toEqual([`408 ${reason}`]);
    await expectNothingLeft(key);
  }

  it.skipIf(factory.skip !== undefined)('cuts a body that stalls with 408 after the idle limit, storing nothing', async () => {
    const url = await store.signUrl('stalled.bin', { method: 'PUT', contentType: 'application/octet-stream' });
    reasons.length = 0;
    const exchange = await converse(port, [{ afterMs: 0, data: putHead(url, 100_000) }, { afterMs: 50, data: Buffer.alloc(20_000, 1) }], 10_000);
    await expectCut(exchange, LIMITS.idleTimeoutMs, `the body sent nothing for ${LIMITS.idleTimeoutMs} ms`, 'stalled.bin');
  });

  it.skipIf(factory.skip !== undefined)('cuts a body that trickles in (one byte every 200 ms) with 408 after the upload limit, storing nothing', async () => {
    const url = await store.signUrl('trickled.bin', { method: 'PUT', contentType: 'application/octet-stream' });
    reasons.length = 0;
    const drip = Array.from({ length: 40 }, (_, index) => ({ afterMs: 100 + index * 200, data: '1\r\nx\r\n' }));
    const exchange = await converse(port, [{ afterMs: 0, data: putHead(url, undefined) }, ...drip], 10_000);
    await expectCut(exchange, LIMITS.timeoutMs, `the upload took longer than ${LIMITS.timeoutMs} ms`, 'trickled.bin');
  });

  it.skipIf(factory.skip !== undefined)('cuts a stalled body as a plain Fetch handler too (Bun, Deno, Hono), with no Node server involved', async () => {
    const url = await store.signUrl('fetch-stalled.bin', { method: 'PUT', contentType: 'application/octet-stream' });
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(10_000));
      },
      cancel() {
        cancelled = true;
      },
    });
    const started = performance.now();
    const response = await handler(new Request(url, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream' }, duplex: 'half' } as RequestInit));
    expect(response.status).toBe(408);
    expect(performance.now() - started).toBeLessThan(LIMITS.idleTimeoutMs + 4000);
    expect(cancelled).toBe(true);
    await expectNothingLeft('fetch-stalled.bin');
  });

  it.skipIf(factory.skip !== undefined)('still stores an upload that arrives in time, in slow pieces', async () => {
    const url = await store.signUrl('in-time.bin', { method: 'PUT', contentType: 'application/octet-stream' });
    const pieces = Array.from({ length: 4 }, (_, index) => ({ afterMs: 100 + index * 400, data: Buffer.alloc(1000, index) }));
    const exchange = await converse(port, [{ afterMs: 0, data: `${putHead(url, 4000).replace('\r\n\r\n', '\r\nconnection: close\r\n\r\n')}` }, ...pieces], 10_000);
    expect(exchange.received).toMatch(/^HTTP\/1\.1 201 Created\r\n/);
    expect((await store.stat('in-time.bin')).size).toBe(4000);
  });
});

describe('the Node server', () => {
  let directory: string;
  let store: Store;
  let server: Server;
  let port: number;
  let signer: HmacSigner;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'stowage-http-slow-'));
    let current: FetchHandler = async () => new Response(null, { status: 503 });
    server = createNodeServer((request) => current(request), { headersTimeoutMs: 1000, requestTimeoutMs: 10_000, idleTimeoutMs: 1500, maxConnections: 3 });
    port = await listen(server);
    signer = createSigner({ baseUrl: `http://127.0.0.1:${port}/`, secrets: SECRET });
    store = new Store(new LocalBackend({ root: directory })).withSigner(signer);
    await store.write('a.txt', 'a');
    current = createHandler(store, { signer, uploads: { maxSize: 1024 * 1024, idleTimeoutMs: 5000, maxConcurrent: 1 } });
  });
  afterAll(async () => {
    await closeServer(server);
    await store.close();
    await rm(directory, { recursive: true, force: true });
  });
  // Each case starts with no connection left from the one before (they count towards maxConnections).
  beforeEach(async () => {
    expect(await connectionsDrained(5000)).toBe(true);
  });

  /** Whether the server's connections drop to none within `patienceMs`. */
  async function connectionsDrained(patienceMs: number): Promise<boolean> {
    const started = performance.now();
    while (performance.now() - started < patienceMs) {
      const open = await new Promise<number>((resolve, reject) => server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
      if (open === 0) return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return false;
  }

  it('cuts slow headers, and a connection that sends none, with 408 after headersTimeoutMs', async () => {
    const slow = await converse(port, [{ afterMs: 0, data: 'GET /a.txt HTTP/1.1\r\nhost: x\r\n' }, { afterMs: 300, data: 'x-slow: 1\r\n' }, { afterMs: 600, data: 'x-slower: 2\r\n' }], 10_000);
    expect(slow.received).toMatch(/^HTTP\/1\.1 408 /);
    // Node checks every second: the limit, plus up to one check interval.
    expect(slow.closedAfterMs).toBeLessThan(1000 + 1000 + 2000);
    // A connection that sends nothing at all: Node closes it, with or without a 408.
    const silent = await converse(port, [], 10_000);
    expect(silent.received).toMatch(/^(HTTP\/1\.1 408 .*)?$/s);
    expect(silent.closedAfterMs).toBeLessThan(1000 + 1000 + 2000);
  });

  it('closes a connection whose client stops reading a response after idleTimeoutMs', async () => {
    await store.write('large.bin', new Uint8Array(32 * 1024 * 1024));
    const url = await store.signUrl('large.bin');
    const { pathname, search } = new URL(url);
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise((resolve) => socket.once('connect', resolve));
    const started = performance.now();
    socket.write(`GET ${pathname}${search} HTTP/1.1\r\nhost: x\r\n\r\n`);
    // Read the first bytes, then stop reading: the server's writes back up and the connection goes silent.
    await new Promise((resolve) => socket.once('data', resolve));
    socket.pause();
    try {
      expect(await connectionsDrained(10_000)).toBe(true);
      const elapsed = performance.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(1500);
      expect(elapsed).toBeLessThan(1500 + 4000);
    } finally {
      socket.destroy();
    }
  });

  it('closes connections over maxConnections as they arrive', async () => {
    const held = [0, 1, 2].map(() => connect({ host: '127.0.0.1', port }));
    await Promise.all(held.map((socket) => new Promise((resolve) => socket.once('connect', resolve))));
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const extra = await converse(port, [{ afterMs: 0, data: 'GET /a.txt HTTP/1.1\r\nhost: x\r\n\r\n' }], 5000);
      expect(extra.received).toBe('');
      expect(extra.closedAfterMs).toBeLessThan(1000);
    } finally {
      for (const socket of held) socket.destroy();
    }
  });

  it('answers 503 with Retry-After to uploads over maxConcurrent, before reading them', { timeout: 15_000 }, async () => {
    const held = await store.signUrl('held.bin', { method: 'PUT', contentType: 'text/plain' });
    // The first upload sends half its body, then the rest a second later: in progress meanwhile.
    const first = converse(port, [{ afterMs: 0, data: putHead(held, 10, 'text/plain').replace('\r\n\r\n', '\r\nconnection: close\r\n\r\n') }, { afterMs: 50, data: 'first' }, { afterMs: 1000, data: ' half' }], 8000);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const second = await converse(port, [{ afterMs: 0, data: putHead(await store.signUrl('second.bin', { method: 'PUT' }), 10) }, { afterMs: 50, data: '0123456789' }], 8000);
    expect(second.received).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(second.received).toMatch(/\r\nretry-after: 1\r\n/i);
    expect((await first).received).toMatch(/^HTTP\/1\.1 201 Created\r\n/);
    expect(await store.readText('held.bin')).toBe('first half');
    expect(await store.exists('second.bin')).toBe(false);
  });
});
