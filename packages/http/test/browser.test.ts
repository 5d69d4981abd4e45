/**
 * A real browser as the client: headless Chromium (Debian's `chromium`) loads a page that shows an
 * image and plays a sound through signed links (Chromium's media stack asks for ranges), reads a
 * range with fetch, and fails to load a tampered link.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { crc32, deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '@stowage/core';
import { serverRequired } from '@stowage/conformance/servers';
import { SqlBlobBackend } from '@stowage/sql-blob';
import { createHandler, createSigner } from '@stowage/http';
import { toNodeListener } from '@stowage/http/node';

const run = promisify(execFile);
const CHROMIUM = process.env.STOWAGE_TEST_CHROMIUM ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && serverRequired('chromium')) throw new Error(`${CHROMIUM} is missing (install Debian's chromium package); STOWAGE_TEST_REQUIRE_SERVERS requires it`);

/** A PNG of `width` × `height` opaque red pixels. */
function png(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const framed = Buffer.alloc(body.byteLength + 8);
    framed.writeUInt32BE(data.byteLength, 0);
    body.copy(framed, 4);
    framed.writeUInt32BE(crc32(body), body.byteLength + 4);
    return framed;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const rows = Buffer.concat(Array.from({ length: height }, () => Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, Buffer.from([255, 0, 0]))])));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

/** Two seconds of 8 kHz, 8-bit mono PCM as a WAV file. */
function wav(): Buffer {
  const samples = Buffer.from(Array.from({ length: 16_000 }, (_, index) => 128 + Math.round(60 * Math.sin(index / 4))));
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + samples.byteLength, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(8000, 24);
  header.writeUInt32LE(8000, 28);
  header.writeUInt16LE(1, 32);
  header.writeUInt16LE(8, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(samples.byteLength, 40);
  return Buffer.concat([header, samples]);
}

let directory: string;
let server: Server;
let origin: string;
let store: Store;
let page = '';

beforeAll(async () => {
  if (!available) return;
  directory = await mkdtemp(join(tmpdir(), 'stowage-http-browser-'));
  server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const signer = createSigner({ baseUrl: `${origin}/files/`, secrets: 'browser-test-secret-'.repeat(2) });
  store = new Store(await SqlBlobBackend.open({ url: `sqlite:${join(directory, 'files.db')}` })).withSigner(signer);
  const files = toNodeListener(createHandler(store, { signer }));
  server.on('request', (request, response) => {
    if (request.url === '/page.html') response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    else files(request, response);
  });
  await store.write('media/red.png', png(3, 2));
  await store.write('media/tone.wav', wav());
  await store.write('media/numbers.bin', new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
});

afterAll(async () => {
  if (!available) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await store.close();
  await rm(directory, { recursive: true, force: true });
});

describe.skipIf(!available)('in headless Chromium', () => {
  it('shows an image, plays a sound and reads a range through signed links, and refuses a tampered one', async () => {
    const image = await store.signUrl('media/red.png');
    const tampered = image.replace('red.png', 'tone.wav');
    const sound = await store.signUrl('media/tone.wav');
    const numbers = await store.signUrl('media/numbers.bin');
    page = `<!doctype html><html><body><pre id="result">pending</pre><script>
      (async () => {
        const out = {};
        const load = (src) => new Promise((resolve) => { const img = new Image(); img.onload = () => resolve(img.naturalWidth + 'x' + img.naturalHeight); img.onerror = () => resolve('refused'); img.src = src; });
        out.image = await load(${JSON.stringify(image)});
        out.tampered = await load(${JSON.stringify(tampered)});
        const audio = document.createElement('audio');
        audio.preload = 'auto';
        out.audio = await new Promise((resolve) => { audio.onloadedmetadata = () => resolve(String(audio.duration)); audio.onerror = () => resolve('error ' + (audio.error && audio.error.code)); audio.src = ${JSON.stringify(sound)}; });
        const response = await fetch(${JSON.stringify(numbers)}, { headers: { range: 'bytes=2-5' } });
        out.range = response.status + ' ' + Array.from(new Uint8Array(await response.arrayBuffer())).join(',');
        document.getElementById('result').textContent = JSON.stringify(out);
      })();
    </script></body></html>`;
    const profile = await mkdtemp(join(tmpdir(), 'stowage-chromium-'));
    try {
      const { stdout } = await run(
        CHROMIUM,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--autoplay-policy=no-user-gesture-required',
          `--user-data-dir=${profile}`,
          '--virtual-time-budget=10000',
          '--dump-dom',
          `${origin}/page.html`,
        ],
        { timeout: 60_000 },
      );
      const result = /<pre id="result">(.*?)<\/pre>/s.exec(stdout)?.[1] ?? stdout;
      expect(JSON.parse(result.replaceAll('&quot;', '"'))).toEqual({ image: '3x2', tampered: 'refused', audio: '2', range: '206 2,3,4,5' });
    } finally {
      await rm(profile, { recursive: true, force: true });
    }
  });
});
