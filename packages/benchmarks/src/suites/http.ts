/**
 * `@stowage/http` serving a large object to curl (a separate process, writing to /dev/null), with
 * the server's peak RSS: the handler on a local-folder store and on a SQLite store, against a bare
 * Node `http` server piping the same file with `fs.createReadStream`.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Store } from '@stowage/core';
import { createHandler } from '@stowage/http';
import { toNodeListener } from '@stowage/http/node';
import { LocalBackend } from '@stowage/local';
import { SqlBlobBackend } from '@stowage/sql-blob';
import { pieces } from '../bodies.ts';
import { MiB, compareInChildren, formatNumber, formatRatio, formatSize, median, type BenchSuite } from '../harness.ts';

const run = promisify(execFile);
const KEY = 'served/large.bin';

/** Serves `listener` on a free loopback port, downloads `path` once with curl, and returns curl's MiB/s. */
async function download(listener: RequestListener, path: string, size: number): Promise<number> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const { stdout } = await run('curl', ['--silent', '--show-error', '--fail', '--output', '/dev/null', '--write-out', '%{size_download} %{speed_download}', `http://127.0.0.1:${port}/${path}`]);
    const [bytes, speed] = stdout.trim().split(' ').map(Number);
    if (bytes !== size) throw new Error(`curl received ${bytes} bytes of ${size}`);
    return speed! / MiB;
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function openStore(kind: string, location: string): Promise<Store> {
  return kind === 'local' ? new Store(new LocalBackend({ root: location })) : new Store(await SqlBlobBackend.open({ url: `sqlite:${location}` }));
}

/** Cases that run in a child process of their own: the server side, whose peak RSS is measured. */
export const childCases = {
  async 'serve-stowage'(params: Record<string, unknown>): Promise<Record<string, number>> {
    const store = await openStore(String(params.kind), String(params.location));
    try {
      const handler = createHandler(store, { access: 'public' });
      return { 'MiB/s': await download(toNodeListener(handler), KEY, Number(params.size)) };
    } finally {
      await store.close();
    }
  },
  async 'serve-bare'(params: Record<string, unknown>): Promise<Record<string, number>> {
    const file = String(params.file);
    const listener: RequestListener = (request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(params.size) });
      createReadStream(file).pipe(response);
    };
    return { 'MiB/s': await download(listener, 'file', Number(params.size)) };
  },
};

export const suite: BenchSuite = {
  name: 'http',
  description: '@stowage/http serving one large object to curl, against a bare Node http server piping the file.',
  async unavailable() {
    try {
      await run('curl', ['--version']);
      return undefined;
    } catch {
      return 'curl is not installed';
    }
  },
  async run(context) {
    const size = context.profile.size(1024 * MiB, 16 * MiB);
    const directory = await mkdtemp(join(tmpdir(), 'stowage-bench-http-'));
    try {
      const localRoot = join(directory, 'local');
      const sqliteFile = join(directory, 'store.db');
      context.log(`writing ${formatSize(size)} into a local store and a SQLite store`);
      for (const [kind, location] of [['local', localRoot], ['sqlite', sqliteFile]] as const) {
        const store = await openStore(kind, location);
        await store.write(KEY, pieces(size));
        await store.close();
      }
      const result = await compareInChildren(
        'http',
        [
          { label: '@stowage/http on a local-folder store', steps: [{ name: 'serve-stowage', params: { kind: 'local', location: localRoot, size } }] },
          { label: '@stowage/http on a SQLite store', steps: [{ name: 'serve-stowage', params: { kind: 'sqlite', location: sqliteFile, size } }] },
          { label: 'bare node:http + fs.createReadStream', steps: [{ name: 'serve-bare', params: { file: join(localRoot, KEY), size } }] },
        ],
        context.profile,
        context.log,
      );
      const table = context.table(`Serving ${formatSize(size)} to curl`, ['server', 'MiB/s', 'server peak RSS', 'under 100 MiB', 'speed ÷ bare']);
      const bare = median(result.sides[2]!.steps[0]!.metrics['MiB/s'] ?? []);
      for (const side of result.sides) {
        const step = side.steps[0]!;
        const speed = median(step.metrics['MiB/s'] ?? []);
        const peak = Math.max(...step.peakRssMiB);
        context.record({ case: `serve ${formatSize(size)}`, side: side.label, metric: 'MiB/s', unit: 'MiB/s', median: speed, samples: step.metrics['MiB/s'] ?? [] });
        context.record({ case: `serve ${formatSize(size)}`, side: side.label, metric: 'peak RSS', unit: 'MiB', median: peak, samples: step.peakRssMiB });
        table.rows.push([side.label, formatNumber(speed), `${Math.round(peak)} MiB`, peak < 100 ? 'yes' : 'no', formatRatio(speed, bare)]);
      }
      table.notes.push('Each server runs in a child process of its own (its peak RSS includes Node\'s own 50–60 MiB); curl is a separate process writing to /dev/null. The sides alternate over the repetitions.');
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  },
};
