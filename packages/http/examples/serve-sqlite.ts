/**
 * Signed links for a SQLite store: serve it on 127.0.0.1, sign a download and an upload, use both
 * with plain fetch, then stop. Run: node --conditions=@stowage/source packages/http/examples/serve-sqlite.ts
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '@stowage/core';
import { createHandler, createSigner } from '@stowage/http';
import { toNodeListener } from '@stowage/http/node';

const directory = await mkdtemp(join(tmpdir(), 'stowage-http-example-'));
const server = createServer();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const signer = createSigner({
  baseUrl: `${origin}/files/`, // where clients reach the handler
  secrets: [process.env.LINK_SECRET ?? 'change me: at least thirty-two characters'],
});
const store = (await openStore(`sqlite:${join(directory, 'files.db')}`)).withSigner(signer);
await store.write('reports/q3.txt', 'Quarter three: all good.', { metadata: { filename: 'Q3 report.txt' } });
server.on('request', toNodeListener(createHandler(store, { signer, uploads: { maxSize: 10 * 1024 * 1024 } })));

const download = await store.signUrl('reports/q3.txt', { expiresIn: 3600 });
console.log(download);
console.log(await (await fetch(download)).text()); // Quarter three: all good.

const upload = await store.signUrl('uploads/hello.txt', { method: 'PUT', contentType: 'text/plain', expiresIn: 600 });
const response = await fetch(upload, { method: 'PUT', body: 'uploaded through a signed link', headers: { 'content-type': 'text/plain' } });
console.log(response.status, await store.readText('uploads/hello.txt')); // 201 uploaded through a signed link

const tampered = download.replace('q3.txt', 'q4.txt');
console.log((await fetch(tampered)).status); // 403

server.close();
await store.close();
await rm(directory, { recursive: true, force: true });
