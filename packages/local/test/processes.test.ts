/**
 * Conditional writes across processes: 20 Node processes race on one key through their own
 * `LocalBackend`. Create-only: exactly one wins. Compare-and-swap: exactly one wins each round, and
 * read-modify-write increments lose no update.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Answer, Command } from './fixtures/race-worker.ts';
import { temporaryFiles, useTestRoot } from './helpers.ts';

const WORKERS = 20;
const workerScript = fileURLToPath(new URL('./fixtures/race-worker.ts', import.meta.url));
const context = useTestRoot();

type Request = Command extends infer C ? (C extends Command ? Omit<C, 'id' | 'root'> : never) : never;

/** One child process running the race worker. */
class Worker {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #pending = new Map<number, (answer: Answer) => void>();
  readonly ready: Promise<void>;
  #next = 0;
  #stderr = '';

  constructor() {
    this.#child = spawn(process.execPath, ['--conditions=@stowage/source', workerScript], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child.stderr.on('data', (data: Buffer) => (this.#stderr += data.toString()));
    let markReady!: () => void;
    this.ready = new Promise((resolve, reject) => {
      markReady = resolve;
      this.#child.once('exit', (code) => reject(new Error(`worker exited with ${code} before it was ready: ${this.#stderr}`)));
    });
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as Answer & { ready?: boolean };
      if (message.ready) markReady();
      else this.#pending.get(message.id)?.(message);
    });
  }

  request(request: Request): Promise<Answer> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#child.stdin.write(`${JSON.stringify({ ...request, id, root: context.root })}\n`);
    });
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.stdin.end();
    await exited;
  }
}

let workers: Worker[] = [];

// Started once for the file (starting 20 Node processes takes seconds on two cores); each test
// sends its own root. Every process has loaded the adapter before any command goes out, so the
// commands really race.
beforeAll(async () => {
  workers = Array.from({ length: WORKERS }, () => new Worker());
  await Promise.all(workers.map((worker) => worker.ready));
}, 120_000);

afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
});

async function expectNoLeftovers(root: string): Promise<void> {
  expect(await temporaryFiles(root)).toEqual([]);
  expect(await readdir(join(root, '.stowage', 'locks'))).toEqual([]);
}

describe(`${WORKERS} processes racing on one key`, () => {
  it('create-only: exactly one process wins, the others get ALREADY_EXISTS, the winner’s content is stored', async () => {
    const { store, root } = context;
    for (let round = 0; round < 3; round++) {
      const key = `created/${round}.txt`;
      const answers = await Promise.all(workers.map((worker, i) => worker.request({ op: 'create', key, content: `content of worker ${i} in round ${round}` })));
      const winners = answers.flatMap((answer, i) => (answer.ok ? [i] : []));
      expect(winners).toHaveLength(1);
      for (const answer of answers) if (!answer.ok) expect(answer.code, answer.message).toBe('ALREADY_EXISTS');
      const winner = winners[0]!;
      expect(await store.readText(key)).toBe(`content of worker ${winner} in round ${round}`);
      expect((await store.stat(key)).etag).toBe(answers[winner]!.etag);
    }
    await expectNoLeftovers(root);
  }, 60_000);

  it('compare-and-swap: each round, of the processes holding the same etag exactly one wins', async () => {
    const { store, root } = context;
    await store.write('cas.txt', 'initial');
    for (let round = 0; round < 5; round++) {
      const etag = (await store.stat('cas.txt')).etag;
      const seen = await Promise.all(workers.map((worker) => worker.request({ op: 'stat', key: 'cas.txt' })));
      for (const answer of seen) expect(answer.etag).toBe(etag);
      const answers = await Promise.all(workers.map((worker, i) => worker.request({ op: 'cas', key: 'cas.txt', etag, content: `round ${round} by ${i}` })));
      const winners = answers.flatMap((answer, i) => (answer.ok ? [i] : []));
      expect(winners).toHaveLength(1);
      for (const answer of answers) if (!answer.ok) expect(answer.code, answer.message).toBe('PRECONDITION_FAILED');
      const winner = winners[0]!;
      const info = await store.stat('cas.txt');
      expect(info.etag).toBe(answers[winner]!.etag);
      expect(info.etag).not.toBe(etag);
      expect(await store.readText('cas.txt')).toBe(`round ${round} by ${winner}`);
    }
    await expectNoLeftovers(root);
  }, 60_000);

  it('read-modify-write increments with ifMatch lose no update', async () => {
    const { store, root } = context;
    const times = 3;
    await store.write('counter', '0');
    const answers = await Promise.all(workers.map((worker) => worker.request({ op: 'increment', key: 'counter', times })));
    for (const answer of answers) expect(answer, answer.message).toMatchObject({ ok: true });
    expect(await store.readText('counter')).toBe(String(WORKERS * times));
    await expectNoLeftovers(root);
  }, 120_000);
});
