/**
 * The fault harness itself: the proxy cuts at exactly the byte asked, in the direction asked,
 * refuses and stalls; the secret scanner finds a secret wherever it hides; the hostile-key oracle
 * agrees with core's key rules.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, isValidKey } from '@stowage/core';
import { startFaultProxy, type FaultProxy } from '@stowage/conformance/faults';
import { createSecretScanner, hostileKey, keyIsValid } from '@stowage/conformance/reliability';

let echo: Server;
let port: number;

beforeAll(async () => {
  // Answers every byte with the same byte, so that both directions carry what was sent.
  echo = createServer((socket) => {
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen({ host: '127.0.0.1', port: 0 }, resolve));
  port = (echo.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((resolve) => echo.close(resolve));
});

/** Sends `bytes` through the proxy and collects what comes back until the connection ends. */
function exchange(proxy: FaultProxy, bytes: Buffer): Promise<{ received: Buffer; error: string | undefined }> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ host: proxy.host, port: proxy.port });
    const parts: Buffer[] = [];
    let error: string | undefined;
    socket.on('data', (chunk: Buffer) => {
      parts.push(chunk);
      if (Buffer.concat(parts).byteLength >= bytes.byteLength) socket.end();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => resolve({ received: Buffer.concat(parts), error }));
    socket.write(bytes);
  });
}

describe('the fault proxy', () => {
  it('forwards everything untouched without faults', async () => {
    const proxy = await startFaultProxy({ target: `127.0.0.1:${port}` });
    const data = Buffer.alloc(200_000, 7);
    const { received, error } = await exchange(proxy, data);
    expect(error).toBeUndefined();
    expect(received.equals(data)).toBe(true);
    await proxy.close();
  });

  it('cuts the upload after exactly N bytes, once, and then lets new connections through', async () => {
    const proxy = await startFaultProxy({ target: `127.0.0.1:${port}`, faults: { upload: { cutAfterBytes: 1000 } } });
    const { received, error } = await exchange(proxy, Buffer.alloc(50_000, 1));
    expect(received.byteLength).toBeLessThanOrEqual(1000);
    expect(error).toBe('ECONNRESET');
    expect(proxy.stats.cuts).toBe(1);
    expect(proxy.stats.bytesUp).toBe(1000);
    const again = await exchange(proxy, Buffer.alloc(5000, 2));
    expect(again.received.byteLength).toBe(5000);
    await proxy.close();
  });

  it('cuts the download direction on its own count', async () => {
    const proxy = await startFaultProxy({ target: `127.0.0.1:${port}`, faults: { download: { cutAfterBytes: 3000, cut: 'close' } } });
    const { received } = await exchange(proxy, Buffer.alloc(50_000, 3));
    expect(received.byteLength).toBe(3000);
    await proxy.close();
  });

  it('refuses after a cut when asked, and refuses or stalls new connections', async () => {
    const proxy = await startFaultProxy({ target: `127.0.0.1:${port}`, faults: { upload: { cutAfterBytes: 10 }, afterCut: 'refuse' } });
    await exchange(proxy, Buffer.alloc(100));
    expect((await exchange(proxy, Buffer.alloc(100))).received.byteLength).toBe(0);
    expect(proxy.stats.refused).toBe(1);
    proxy.setFaults({ connect: 'refuse' });
    expect((await exchange(proxy, Buffer.alloc(100))).error).toBe('ECONNRESET');
    proxy.setFaults({ download: { stall: true } });
    const stalled = connect({ host: proxy.host, port: proxy.port });
    const got: Buffer[] = [];
    stalled.on('data', (chunk: Buffer) => got.push(chunk));
    stalled.on('error', () => {});
    stalled.write(Buffer.alloc(100));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(got).toEqual([]);
    const closed = new Promise((resolve) => stalled.on('close', resolve));
    proxy.setFaults({});
    await closed;
    await proxy.close();
  });

  it('rewrites a URL to point at itself, keeping credentials and path', async () => {
    const proxy = await startFaultProxy({ target: 'postgres://u:p@127.0.0.1:5432/db' });
    expect(proxy.url('postgres://u:p@127.0.0.1:5432/db?x=1')).toBe(`postgres://u:p@127.0.0.1:${proxy.port}/db?x=1`);
    await proxy.close();
  });
});

describe('the secret scanner', () => {
  it('finds a secret in a message, a cause, an inspected object, a log line or its URL-encoded form', () => {
    const secret = 'pa$$word/with+stuff';
    const cases: unknown[] = [
      new Error(`login failed for ${secret}`),
      new InvalidArgumentError('outer', { cause: new Error(`inner ${secret}`) }),
      { config: { nested: { password: secret } } },
      `postgres://u:${encodeURIComponent(secret)}@host/db`,
    ];
    for (const value of cases) {
      const scanner = createSecretScanner([secret]);
      scanner.record(value);
      expect(() => scanner.assertClean(), String(value)).toThrow(/no secret/);
    }
    const logged = createSecretScanner([secret]);
    const restore = logged.captureOutput();
    console.warn(`leaking ${secret}`);
    restore();
    expect(() => logged.assertClean()).toThrow(/console.warn/);
    const clean = createSecretScanner([secret]);
    clean.record(new Error('nothing to see'));
    clean.assertClean();
  });
});

describe('the hostile-key oracle', () => {
  // Bounded by its own work, not by the default 5 s, which a loaded 2-core runner exceeded.
  it("agrees with core's key rules on random hostile keys", () => {
    fc.assert(
      fc.property(hostileKey(), (key) => keyIsValid(key) === isValidKey(key)),
      { seed: 20261201, numRuns: 20_000 },
    );
  }, 30_000);
});
