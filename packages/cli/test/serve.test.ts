/**
 * `stowage serve` as a child process on a free loopback port, with `stowage sign` handing out the
 * links: a SQLite store read with plain fetch and curl (ranges, 304), tampered, expired, unsigned and
 * wrong-method links refused with 403, uploads through signed PUT links (and one over the limit,
 * which stores nothing), secrets and base URLs from the configuration with rotation, public serving
 * with CORS, the usage errors, and Ctrl-C or SIGTERM ending the server with status 0 and its port
 * closed, an upload in progress stored not at all; a stalled upload and slow headers cut within
 * their limits, with no temporary file left; a nested store's internals never reachable; single-use
 * upload links and required content types.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '@stowage/conformance/servers';
import { runBinaryBytes, sha256, workspace, writeRandomFile, type Workspace } from './run-binary.ts';
import { listening, startServe, type Serving } from './serving.ts';

const run = promisify(execFile);
const SECRET = randomBytes(32).toString('hex');
const OLD_SECRET = randomBytes(32).toString('hex');

async function curl(...args: string[]): Promise<string> {
  const { stdout } = await run('curl', ['--silent', '--show-error', ...args], { encoding: 'latin1', maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

async function statusOf(url: string | URL, init?: RequestInit): Promise<number> {
  const response = await fetch(url, init);
  await response.body?.cancel();
  return response.status;
}

describe('stowage serve', () => {
  let ws: Workspace;
  let servers: Serving[];
  let data: Buffer;
  const env = { STOWAGE_LINK_SECRET: SECRET };

  async function sign(location: string, ...options: string[]): Promise<string> {
    const signed = await ws.run(['sign', ...options, location], { env });
    expect(signed).toMatchObject({ status: 0, stderr: '' });
    return signed.stdout.trim();
  }

  beforeEach(async () => {
    ws = await workspace();
    servers = [];
    await writeRandomFile(join(ws.dir, 'data.bin'), 100_000);
    data = await readFile(join(ws.dir, 'data.bin'));
    await ws.file('note.txt', 'a note, uploaded\n');
    expect((await ws.run(['cp', 'data.bin', 'sqlite:./store.db/docs/data.bin'])).status).toBe(0);
  });
  afterEach(async () => {
    for (const server of servers) if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    await Promise.all(servers.map((server) => server.done));
    await ws.cleanup();
  });

  async function serve(args: readonly string[], extra: Record<string, string> = env): Promise<Serving> {
    const server = await startServe(ws, args, extra);
    servers.push(server);
    return server;
  }

  it('serves a SQLite store through the links of stowage sign to fetch and curl; Ctrl-C ends it with 0 and closes its port', async () => {
    const server = await serve(['--port', '0', 'sqlite:./store.db']);
    expect(server.line).toMatch(/^serving sqlite:\.\/store\.db\/ at http:\/\/127\.0\.0\.1:\d+\/ \(signed links only; read-only\)$/);
    const link = await sign('sqlite:./store.db/docs/data.bin', '--base-url', server.url);
    expect(link.startsWith(`${server.url}docs/data.bin?`)).toBe(true);

    const whole = await fetch(link);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-length')).toBe('100000');
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    const etag = whole.headers.get('etag')!;
    expect(sha256(new Uint8Array(await whole.arrayBuffer()))).toBe(sha256(data));

    const middle = await fetch(link, { headers: { range: 'bytes=1000-1999' } });
    expect(middle.status).toBe(206);
    expect(middle.headers.get('content-range')).toBe('bytes 1000-1999/100000');
    expect(Buffer.from(await middle.arrayBuffer()).equals(data.subarray(1000, 2000))).toBe(true);
    expect(await statusOf(link, { headers: { 'if-none-match': etag } })).toBe(304);

    expect(Buffer.from(await curl('--range', '0-9', '--output', '-', link), 'latin1').equals(data.subarray(0, 10))).toBe(true);
    expect(Buffer.from(await curl('--range', '99990-', '--output', '-', link), 'latin1').equals(data.subarray(99_990))).toBe(true);
    expect(await curl('--output', '/dev/null', '--write-out', '%{http_code}', '--range', '100000-', link)).toBe('416');
    expect(await curl('--output', '/dev/null', '--write-out', '%{http_code}', '--header', `If-None-Match: ${etag}`, link)).toBe('304');

    server.child.kill('SIGINT');
    const ended = await server.done;
    expect(ended).toMatchObject({ status: 0, stderr: '', stdout: `${server.line}\n` });
    expect(await listening(server.url)).toBe(false);
  });

  it('refuses tampered, expired, unsigned, wrong-method and other-key links with 403 (and says why with --verbose)', async () => {
    const server = await serve(['--port', '0', '--uploads', '--verbose', 'sqlite:./store.db']);
    const link = new URL(await sign('sqlite:./store.db/docs/data.bin', '--base-url', server.url));
    expect(await statusOf(link)).toBe(200);

    const tampered = new URL(link);
    const signature = tampered.searchParams.get('sig')!;
    // The first character: all of its bits count (the last one of base64 carries padding bits).
    tampered.searchParams.set('sig', `${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`);
    expect(await statusOf(tampered)).toBe(403);
    const later = new URL(link);
    later.searchParams.set('expires', String(Number(link.searchParams.get('expires')) + 3600));
    expect(await statusOf(later)).toBe(403);
    const otherKey = new URL(link);
    otherKey.pathname = '/docs/other.bin';
    expect(await statusOf(otherKey)).toBe(403);
    expect(await statusOf(`${server.url}docs/data.bin`)).toBe(403);
    expect(await statusOf(link, { method: 'PUT', body: 'overwrite' })).toBe(403);

    const expiring = await sign('sqlite:./store.db/docs/data.bin', '--base-url', server.url, '--expires', '1');
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect(await statusOf(expiring)).toBe(403);
    // None of it changed the object.
    expect(sha256(runBinaryBytes(['cat', 'sqlite:./store.db/docs/data.bin'], ws.dir).stdout)).toBe(sha256(data));
    server.child.kill('SIGINT');
    const { status, stderr } = await server.done;
    expect(status).toBe(0);
    // One line per refusal, with the path and why; never the link's query.
    expect(stderr.trimEnd().split('\n')).toEqual([
      'stowage serve: 403 GET /docs/data.bin: link refused: bad-signature',
      'stowage serve: 403 GET /docs/data.bin: link refused: bad-signature',
      'stowage serve: 403 GET /docs/other.bin: link refused: bad-signature',
      'stowage serve: 403 GET /docs/data.bin: link refused: unsigned',
      'stowage serve: 403 PUT /docs/data.bin: link refused: wrong-method',
      'stowage serve: 403 GET /docs/data.bin: link refused: expired',
    ]);
  });

  it('stores uploads through signed PUT links (fetch and curl -T), and refuses one over the limit, storing nothing', async () => {
    const server = await serve(['--port', '0', '--uploads', '--max-upload-size', '1MiB', 'sqlite:./store.db']);
    expect(server.line).toMatch(/\(signed links only; uploads through signed PUT links up to 1\.0 MiB\)$/);
    const put = await sign('sqlite:./store.db/up/note.txt', '--base-url', server.url, '--method', 'PUT', '--content-type', 'text/plain');
    const uploaded = await fetch(put, { method: 'PUT', body: 'a note, uploaded\n', headers: { 'content-type': 'text/plain' } });
    expect(uploaded.status).toBe(201);
    expect(await uploaded.json()).toMatchObject({ key: 'up/note.txt', size: 17, sha256: sha256('a note, uploaded\n') });
    expect(await ws.run(['cat', 'sqlite:./store.db/up/note.txt'])).toMatchObject({ status: 0, stdout: 'a note, uploaded\n' });
    expect(JSON.parse((await ws.run(['stat', '--json', 'sqlite:./store.db/up/note.txt'])).stdout)).toMatchObject({ contentType: 'text/plain' });

    const curlPut = await sign('sqlite:./store.db/up/data.bin', '--base-url', server.url, '--method', 'PUT');
    expect(await curl('--output', '/dev/null', '--write-out', '%{http_code}', '--upload-file', join(ws.dir, 'data.bin'), curlPut)).toBe('201');
    expect(JSON.parse((await ws.run(['stat', '--json', 'sqlite:./store.db/up/data.bin'])).stdout)).toMatchObject({ size: 100_000, sha256: sha256(data) });

    const tooLarge = await sign('sqlite:./store.db/up/big.bin', '--base-url', server.url, '--method', 'PUT');
    expect(await statusOf(tooLarge, { method: 'PUT', body: new Uint8Array(2 * 1024 * 1024) })).toBe(413);
    expect((await ws.run(['stat', 'sqlite:./store.db/up/big.bin'])).status).toBe(3);
    // A GET link does not upload.
    expect(await statusOf(await sign('sqlite:./store.db/up/other.txt', '--base-url', server.url), { method: 'PUT', body: 'x' })).toBe(403);
  });

  it('SIGTERM ends it with 0 too, and an upload in progress at that moment stores nothing', async () => {
    const server = await serve(['--port', '0', '--uploads', 'sqlite:./store.db']);
    const put = new URL(await sign('sqlite:./store.db/up/slow.bin', '--base-url', server.url, '--method', 'PUT'));
    // Half of the declared body, then nothing: the upload is in progress when the signal comes.
    const upload = new Promise<string>((resolve) => {
      const request = httpRequest(put, { method: 'PUT', headers: { 'content-length': '200000' } }, (response) => {
        response.resume();
        resolve(`answered ${response.statusCode}`);
      });
      request.once('error', (error) => resolve(`cut: ${(error as NodeJS.ErrnoException).code ?? error.message}`));
      request.write(Buffer.alloc(100_000, 1));
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    server.child.kill('SIGTERM');
    expect(await server.done).toMatchObject({ status: 0, stderr: '' });
    expect(await upload).toMatch(/^cut: /);
    expect(await listening(server.url)).toBe(false);
    expect((await ws.run(['stat', 'sqlite:./store.db/up/slow.bin'])).status).toBe(3);
    expect((await ws.run(['ls', '-r', 'sqlite:./store.db'])).stdout).toBe('sqlite:./store.db/docs/data.bin\n');
  });

  it('cuts a stalled upload on a file: store with 408 within --upload-idle-timeout, leaving no temporary file, and slow headers within --headers-timeout', async () => {
    await ws.file('folder/kept.txt', 'kept');
    const server = await serve(['--port', '0', '--uploads', '--upload-idle-timeout', '1', '--headers-timeout', '1s', '--verbose', 'file:./folder//']);
    const put = new URL(await sign('file:./folder//up/stalled.bin', '--base-url', server.url, '--method', 'PUT'));
    // A tenth of the declared body, then nothing.
    const started = performance.now();
    const outcome = await new Promise<{ status: number | undefined; afterMs: number }>((resolve, reject) => {
      const request = httpRequest(put, { method: 'PUT', headers: { 'content-length': '200000' } }, (response) => {
        response.resume();
        response.once('end', () => resolve({ status: response.statusCode, afterMs: performance.now() - started }));
      });
      request.once('error', reject);
      request.write(Buffer.alloc(20_000, 1));
      setTimeout(() => reject(new Error('the stalled upload was not cut within 10 s')), 10_000).unref();
    });
    expect(outcome.status).toBe(408);
    expect(outcome.afterMs).toBeGreaterThanOrEqual(1000);
    expect(outcome.afterMs).toBeLessThan(1000 + 4000);
    expect(await readdir(join(ws.dir, 'folder', '.stowage', 'tmp')).catch(() => [])).toEqual([]);
    expect((await ws.run(['ls', '-r', 'file:./folder//'])).stdout).toBe('file:./folder//kept.txt\n');

    const slowHeaders = await new Promise<{ received: string; afterMs: number }>((resolve) => {
      const { hostname, port } = new URL(server.url);
      const socket = connect({ host: hostname, port: Number(port) });
      const opened = performance.now();
      let received = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => (received += chunk));
      socket.on('error', () => {});
      socket.once('close', () => resolve({ received, afterMs: performance.now() - opened }));
      socket.write('GET /kept.txt HTTP/1.1\r\nhost: x\r\n');
      setTimeout(() => socket.destroy(), 10_000).unref();
    });
    expect(slowHeaders.received).toMatch(/^HTTP\/1\.1 408 /);
    expect(slowHeaders.afterMs).toBeLessThan(1000 + 1000 + 2000);
    server.child.kill('SIGINT');
    const { status, stderr } = await server.done;
    expect(status).toBe(0);
    expect(stderr).toBe('stowage serve: 408 PUT /up/stalled.bin: the body sent nothing for 1000 ms\n');
  });

  it('never reaches the internals of a store nested in a served folder', async () => {
    // The nested store: a store of its own in outer/nested, with its internals in outer/nested/.stowage.
    expect((await ws.run(['cp', 'note.txt', 'file:./outer/nested//inner.txt'])).status).toBe(0);
    const internals = (await readdir(join(ws.dir, 'outer', 'nested', '.stowage'), { recursive: true })).sort();
    expect(internals.some((path) => path.startsWith('meta/'))).toBe(true);
    const server = await serve(['--port', '0', '--public', '--uploads', 'file:./outer//']);
    for (const path of internals.filter((path) => path.endsWith('.json')).map((path) => `nested/.stowage/${path}`)) {
      expect(await statusOf(`${server.url}${path}`), path).toBe(400);
    }
    const planted = await ws.run(['sign', '--base-url', server.url, '--method', 'PUT', 'file:./outer//nested/.stowage/locks/planted.lock'], { env });
    expect(planted.status).toBe(4);
    expect(planted.stderr).toMatch(/^stowage: INVALID_PATH: /);
    expect((await readdir(join(ws.dir, 'outer', 'nested', '.stowage'), { recursive: true })).sort()).toEqual(internals);
    expect(await (await fetch(`${server.url}nested/inner.txt`)).text()).toBe('a note, uploaded\n');
  });

  it('takes its secrets and base URL from the configuration: stowage sign needs no --base-url, rooted stores match, rotation keeps old links working', async () => {
    const port = await freePort();
    await ws.file(
      'stowage.config.yaml',
      [
        'links:',
        '  secrets: ["${LINK_NEW}", "${LINK_OLD}"]',
        'stores:',
        '  files:',
        '    backend: "sqlite:./store.db"',
        '    root: docs/',
        '    links: { baseUrl: "http://127.0.0.1:${FILES_PORT}/files/" }',
        '',
      ].join('\n'),
    );
    const configured = { LINK_NEW: SECRET, LINK_OLD: OLD_SECRET, FILES_PORT: String(port) };
    const server = await serve(['--port', String(port), 'files:'], configured);
    expect(server.url).toBe(`http://127.0.0.1:${port}/files/`);
    const signed = await ws.run(['sign', 'files:data.bin'], { env: configured });
    expect(signed.status).toBe(0);
    expect(signed.stdout.startsWith(`http://127.0.0.1:${port}/files/data.bin?`)).toBe(true);
    expect(await statusOf(signed.stdout.trim())).toBe(200);
    // A link signed before the rotation, with the old secret alone: still accepted.
    const old = await ws.run(['sign', 'files:data.bin'], { env: { ...configured, LINK_NEW: OLD_SECRET } });
    expect(await statusOf(old.stdout.trim())).toBe(200);
    // One signed with a secret the server does not know: refused.
    const unknown = await ws.run(['sign', 'files:data.bin'], { env: { ...configured, LINK_NEW: randomBytes(32).toString('hex'), LINK_OLD: randomBytes(32).toString('hex') } });
    expect(await statusOf(unknown.stdout.trim())).toBe(403);
    for (const output of [server.line, signed.stdout, old.stdout]) {
      expect(output).not.toContain(SECRET);
      expect(output).not.toContain(OLD_SECRET);
    }
  });

  it('serves to anyone with --public (with CORS for the origins given), and needs a secret otherwise', async () => {
    const server = await serve(['--port', '0', '--public', '--cors', 'https://app.example.com', '--base-path', 'pub', 'sqlite:./store.db'], {});
    expect(server.line).toMatch(/ at http:\/\/127\.0\.0\.1:\d+\/pub\/ \(public: anyone may read; read-only\)$/);
    const response = await fetch(`${server.url}docs/data.bin`, { headers: { origin: 'https://app.example.com' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(sha256(new Uint8Array(await response.arrayBuffer()))).toBe(sha256(data));
    const other = await fetch(`${server.url}docs/data.bin`, { headers: { origin: 'https://elsewhere.example' } });
    await other.body?.cancel();
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(await statusOf(`${server.url}docs/missing.bin`)).toBe(404);
    expect(await statusOf(`${server.url}docs/data.bin`, { method: 'PUT', body: 'x' })).toBe(405);

    const unsigned = await ws.run(['serve', '--port', '0', 'sqlite:./store.db']);
    expect(unsigned.status).toBe(2);
    expect(unsigned.stderr).toMatch(/^stowage: USAGE: serve needs a link secret to verify signed links: set STOWAGE_LINK_SECRET .+ or serve to anyone with --public\n$/);
    const uploads = await ws.run(['serve', '--port', '0', '--public', '--uploads', 'sqlite:./store.db']);
    expect(uploads.status).toBe(2);
    expect(uploads.stderr).toMatch(/^stowage: USAGE: --uploads needs a link secret/);
  });

  it('says what is wrong with its command line, its secret or its port', async () => {
    const cases: [string[], Record<string, string>, number, RegExp][] = [
      [['serve', 'sqlite:./store.db/docs/'], env, 2, /^stowage: USAGE: serve serves a whole store, not a folder of it: configure a store with root: docs\/ /],
      [['serve', 'file:./data'], env, 2, /^stowage: USAGE: serve serves a whole store, not a folder of it: serve file:\.\/data\/\/ \(the store rooted at that folder\)/],
      [['serve', 'file:./data//docs'], env, 2, /^stowage: USAGE: serve serves a whole store, not a folder of it: serve file:\.\/data\/docs\/\/ \(the store rooted at that folder\)/],
      [['serve', './somewhere'], env, 2, /^stowage: USAGE: serve serves a store: /],
      [['serve', '--port', 'eighty', ':'], env, 2, /^stowage: USAGE: --port takes a port number from 0 to 65535/],
      [['serve', '--cors', 'https://app.example.com/path', ':'], env, 2, /^stowage: USAGE: --cors takes an origin/],
      [['serve', '--max-upload-size', '1MiB', ':'], env, 2, /^stowage: USAGE: --max-upload-size applies to --uploads/],
      [['serve', '--base-path', '/a/../b', ':'], env, 2, /^stowage: USAGE: --base-path must be a path such as \/files\//],
      [['serve', '--headers-timeout', 'soon', ':'], env, 2, /^stowage: USAGE: --headers-timeout takes seconds or a duration such as 30s/],
      [['serve', '--idle-timeout', '0', ':'], env, 2, /^stowage: USAGE: --idle-timeout takes seconds/],
      [['serve', '--headers-timeout', '2m', '--request-timeout', '1m', ':'], env, 2, /^stowage: USAGE: --headers-timeout \(120s\) cannot be longer than --request-timeout \(60s\)/],
      [['serve', '--max-connections', 'many', ':'], env, 2, /^stowage: USAGE: --max-connections takes a positive whole number/],
      [['serve', '--upload-idle-timeout', '5s', ':'], env, 2, /^stowage: USAGE: --upload-idle-timeout applies to --uploads/],
      [['serve', '--max-uploads', '5', ':'], env, 2, /^stowage: USAGE: --max-uploads applies to --uploads/],
      [['serve', ':'], { STOWAGE_LINK_SECRET: 'too-short' }, 9, /^stowage: CONFIG: \$STOWAGE_LINK_SECRET: link secret number 1 is shorter than 32 characters/],
      [['sign', 'sqlite:./store.db/docs/data.bin'], env, 6, /^stowage: CAPABILITY_NOT_SUPPORTED: .+ cannot sign URLs itself; for a link that stowage serve verifies, give --base-url /],
      [['sign', '--base-url', 'ftp://files.example.com/', 'sqlite:./store.db/docs/data.bin'], env, 2, /^stowage: USAGE: --base-url must be an http or https URL/],
      [['sign', '--base-url', 'http://127.0.0.1:8080/', 'sqlite:./store.db/docs/data.bin'], {}, 6, /^stowage: CAPABILITY_NOT_SUPPORTED: [^()]+ set STOWAGE_LINK_SECRET \(at least 32 characters, the secret stowage serve verifies with\) \(sqlite:\.\/store\.db\/docs\/data\.bin\)\n$/],
      [['sign', 'sqlite:./store.db/docs/data.bin'], {}, 6, /verifies, set STOWAGE_LINK_SECRET \(at least 32 characters\) and give --base-url \(the URL where stowage serve serves this store; or STOWAGE_LINK_BASE_URL, or links in the configuration\) \(sqlite:/],
      [['sign', '--expires', '30d', '--base-url', 'http://127.0.0.1:8080/', 'sqlite:./store.db/docs/data.bin'], env, 2, /^stowage: USAGE: --expires is at most 7d \(604800 seconds\), not 30d\n$/],
    ];
    for (const [args, extra, status, line] of cases) {
      const result = await ws.run(args, { env: extra });
      expect(result.stderr, args.join(' ')).toMatch(line);
      expect(result.status, args.join(' ')).toBe(status);
      expect(result.stderr).not.toContain('too-short');
    }
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as { port: number }).port;
      const busy = await ws.run(['serve', '--port', String(port), 'sqlite:./store.db'], { env });
      expect(busy.status).toBe(8);
      expect(busy.stderr).toBe(`stowage: UNAVAILABLE: 127.0.0.1:${port} is in use: pick another port with --port (0 picks a free one) (sqlite:./store.db/)\n`);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});
