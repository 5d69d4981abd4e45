import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FAKE_GCS_SERVER_OVERRIDES, FIREBASE_STORAGE_EMULATOR_OVERRIDES, FIREBASE_TOOLS_VERSION, freePort, gcsServerFromUrl, httpAnswers, resolveFirebaseTools, resolveTestServer, serverRequired, spawnServer, tcpAnswers, type TestServer } from '../src/servers/index.ts';
import { validateOverrides } from '../src/plan.ts';

const SERVER_SCRIPT = `
const http = require('node:http');
const server = http.createServer((request, response) => response.end('ok'));
server.listen(0, '127.0.0.1', () => console.log('listening on ' + server.address().port));
process.on('SIGTERM', () => { console.log('bye'); process.exit(0); });
`;

function fakeServer(name: string): TestServer {
  return { name, endpoint: 'http://127.0.0.1:1', settings: {}, startedHere: false, stop: async () => undefined };
}

const savedRequirement = process.env.STOWAGE_TEST_REQUIRE_SERVERS;
afterEach(() => {
  if (savedRequirement === undefined) delete process.env.STOWAGE_TEST_REQUIRE_SERVERS;
  else process.env.STOWAGE_TEST_REQUIRE_SERVERS = savedRequirement;
  delete process.env.STOWAGE_TEST_EXAMPLE_URL;
});

describe('servers harness', () => {
  it('freePort returns a port that can be bound on loopback', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    await new Promise<void>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
    });
  });

  it('spawnServer waits for the ready line, and stop ends the process', async () => {
    const spawned = await spawnServer({ name: 'fixture', command: process.execPath, args: ['-e', SERVER_SCRIPT], ready: /listening on (\d+)/ });
    const port = Number(spawned.match![1]);
    expect(await httpAnswers(`http://127.0.0.1:${port}/`)).toBe(true);
    await spawned.stop();
    expect(spawned.process.exitCode ?? spawned.process.signalCode).not.toBeNull();
    expect(await httpAnswers(`http://127.0.0.1:${port}/`, 500)).toBe(false);
  });

  it('tcpAnswers tells a listening port from a closed one', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    expect(await tcpAnswers('127.0.0.1', port)).toBe(true);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(await tcpAnswers('127.0.0.1', port, 500)).toBe(false);
  });

  it('spawnServer waits on a probe when no ready line is given', async () => {
    const port = await freePort();
    const script = `setTimeout(() => require('node:http').createServer((q, r) => r.end()).listen(${port}, '127.0.0.1'), 300)`;
    const spawned = await spawnServer({ name: 'fixture', command: process.execPath, args: ['-e', script], ready: () => httpAnswers(`http://127.0.0.1:${port}/`) });
    expect(await httpAnswers(`http://127.0.0.1:${port}/`)).toBe(true);
    await spawned.stop();
  });

  it('spawnServer rejects with the last output when the process exits before it is ready', async () => {
    await expect(
      spawnServer({ name: 'broken', command: process.execPath, args: ['-e', 'console.error("no such bucket"); process.exit(3)'], ready: /never/ }),
    ).rejects.toThrow(/broken exited \(code 3\) before it was ready; its last output:\nno such bucket/);
  });

  it('spawnServer rejects, and kills the process, when readiness times out', async () => {
    await expect(
      spawnServer({ name: 'slow', command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], ready: /never/, timeoutMs: 300 }),
    ).rejects.toThrow(/slow was not ready after 300 ms/);
  });

  it('spawnServer rejects when the command does not exist', async () => {
    await expect(spawnServer({ name: 'missing', command: '/nonexistent/server', args: [], ready: /x/ })).rejects.toThrow(/missing could not be started/);
  });

  it('resolveTestServer prefers the URL variable, then starts one', async () => {
    process.env.STOWAGE_TEST_EXAMPLE_URL = 'http://127.0.0.1:9/';
    const fromUrl = await resolveTestServer('example', { fromUrl: (url) => ({ ...fakeServer('example'), endpoint: url }), start: () => Promise.reject(new Error('not called')) });
    expect(fromUrl.server?.endpoint).toBe('http://127.0.0.1:9/');
    delete process.env.STOWAGE_TEST_EXAMPLE_URL;
    const started = await resolveTestServer('example', { fromUrl: () => Promise.reject(new Error('not called')), start: async () => ({ ...fakeServer('example'), startedHere: true }) });
    expect(started.server?.startedHere).toBe(true);
  });

  it('resolveTestServer skips with the reason, or throws when the server is required', async () => {
    delete process.env.STOWAGE_TEST_REQUIRE_SERVERS;
    const failing = { fromUrl: () => fakeServer('example'), start: () => Promise.reject(new Error('radosgw is not installed')) };
    const skipped = await resolveTestServer('example', failing);
    expect(skipped.skip).toMatch(/no example test server: starting one here failed: radosgw is not installed \(set STOWAGE_TEST_EXAMPLE_URL/);
    process.env.STOWAGE_TEST_REQUIRE_SERVERS = 'azure,example';
    expect(serverRequired('example')).toBe(true);
    expect(serverRequired('gcs')).toBe(false);
    await expect(resolveTestServer('example', failing)).rejects.toThrow(/radosgw is not installed \(STOWAGE_TEST_REQUIRE_SERVERS requires it\)/);
    process.env.STOWAGE_TEST_REQUIRE_SERVERS = '1';
    expect(serverRequired('gcs')).toBe(true);
  });

  it('the GCS starter refuses a firebase-tools other than the pinned one, naming the version to install; its overrides name real cases', async () => {
    // (A missing package cannot be staged here: pnpm puts every hoisted package on NODE_PATH.)
    const directory = await mkdtemp(join(tmpdir(), 'stowage-firebase-pin-'));
    try {
      await mkdir(join(directory, 'node_modules', 'firebase-tools'), { recursive: true });
      await writeFile(join(directory, 'node_modules', 'firebase-tools', 'package.json'), JSON.stringify({ name: 'firebase-tools', version: '0.0.1' }));
      expect(() => resolveFirebaseTools(join(directory, 'package.json'))).toThrow(`uses internals of firebase-tools ${FIREBASE_TOOLS_VERSION}, but 0.0.1 is installed: install firebase-tools@${FIREBASE_TOOLS_VERSION}`);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
    expect(() => validateOverrides(FIREBASE_STORAGE_EMULATOR_OVERRIDES)).not.toThrow();
    expect(() => validateOverrides(FAKE_GCS_SERVER_OVERRIDES)).not.toThrow();
  });

  it('gcsServerFromUrl creates the bucket on an emulator (an existing one is fine), and reads gs:// as real GCS', async () => {
    const requests: string[] = [];
    let status = 200;
    const emulator = createHttpServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        requests.push(`${request.method} ${request.url} ${body}`);
        response.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => emulator.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(emulator.address() as { port: number }).port}`;
    try {
      const server = await gcsServerFromUrl(`${origin}/`, { bucket: 'cli-test', server: 'fake-gcs-server' });
      expect(server).toMatchObject({ name: 'gcs', endpoint: origin, startedHere: false, settings: { apiEndpoint: origin, bucket: 'cli-test', server: 'fake-gcs-server' } });
      expect(requests).toEqual(['POST /storage/v1/b?project=test {"name":"cli-test"}']);
      status = 409;
      expect((await gcsServerFromUrl(origin)).settings).toMatchObject({ bucket: 'stowage-test', server: 'gcs-emulator' });
      status = 500;
      await expect(gcsServerFromUrl(origin)).rejects.toThrow(`creating the bucket stowage-test at ${origin} answered 500`);
    } finally {
      await new Promise<void>((resolve) => emulator.close(() => resolve()));
    }
    expect((await gcsServerFromUrl('gs://real-bucket')).settings).toMatchObject({ bucket: 'real-bucket', server: 'gcs' });
    expect((await gcsServerFromUrl('gs://real-bucket')).settings).not.toHaveProperty('apiEndpoint');
    await expect(gcsServerFromUrl('ftp://example')).rejects.toThrow('must be http:, https: or gs:');
  });
});
