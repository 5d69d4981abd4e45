/**
 * Child processes that each open the store under test on their own and run commands on it.
 *
 * @module
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { checkChildStore } from './open.ts';
import type { Answer, ChildEvent, ChildStore, Command } from './protocol.ts';

/** How the child processes are started. */
export interface SpawnOptions {
  /**
   * Node's options for each child (default: the `--conditions` this process runs with, plus
   * `--conditions=@stowage/source` when the kit itself runs from its TypeScript source).
   */
  execArgv?: readonly string[] | undefined;
  /** The children's environment (default: this process's). */
  env?: NodeJS.ProcessEnv | undefined;
  /** How long a child may take to load its modules (default 60 s: many start at once on a small machine). */
  readyTimeoutMs?: number | undefined;
}

/** A command without its id (the worker numbers them). */
export type Request = Command extends infer C ? (C extends Command ? Omit<C, 'id'> : never) : never;

const fromSource = import.meta.url.endsWith('.ts');
const childScript = fileURLToPath(new URL(fromSource ? './child.ts' : './child.js', import.meta.url));

/** The Node options of a child: see {@link SpawnOptions.execArgv}. */
export function childExecArgv(options: SpawnOptions = {}): string[] {
  if (options.execArgv) return [...options.execArgv];
  const argv = process.execArgv.filter((argument) => argument.startsWith('--conditions=') || argument.startsWith('--experimental-strip-types'));
  if (fromSource && !argv.includes('--conditions=@stowage/source')) argv.push('--conditions=@stowage/source');
  return argv;
}

/** One child process: it opens the store on its first command and answers each command with one line. */
export class ProcessWorker {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #pending = new Map<number, { resolve: (answer: Answer) => void; reject: (error: Error) => void; onEvent?: ((event: ChildEvent) => void) | undefined }>();
  /** Resolves once the child has loaded its modules. */
  readonly ready: Promise<void>;
  /** Resolves when the child has exited, with its exit code or signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #next = 0;
  #stderr = '';

  constructor(spec: ChildStore, options: SpawnOptions = {}) {
    checkChildStore(spec);
    this.#child = spawn(process.execPath, [...childExecArgv(options), childScript, JSON.stringify(spec)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
    });
    this.#child.stderr.on('data', (data: Buffer) => {
      this.#stderr = (this.#stderr + data.toString()).slice(-4000);
    });
    this.exited = new Promise((resolve) => this.#child.once('exit', (code, signal) => resolve({ code, signal })));
    void this.exited.then(({ code, signal }) => {
      const error = new Error(`the child process ${this.#child.pid} exited (${signal ?? code}) before it answered${this.#stderr ? `: ${this.#stderr.trim()}` : ''}`);
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    });
    let markReady!: () => void;
    this.ready = new Promise<void>((resolve, reject) => {
      const limit = options.readyTimeoutMs ?? 60_000;
      const timer = setTimeout(() => reject(new Error(`the child process did not load within ${limit} ms${this.#stderr ? `: ${this.#stderr.trim()}` : ''}`)), limit);
      timer.unref();
      markReady = () => {
        clearTimeout(timer);
        resolve();
      };
      void this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`the child process exited (${signal ?? code}) before it was ready: ${this.#stderr.trim()}`));
      });
    });
    this.ready.catch(() => {});
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      let message: (Answer & Partial<ChildEvent>) | undefined;
      try {
        message = JSON.parse(line) as Answer & Partial<ChildEvent>;
      } catch {
        return; // Something the store or its driver printed.
      }
      if (message.event === 'ready') markReady();
      else if (message.event !== undefined) this.#pending.get(message.id!)?.onEvent?.(message as ChildEvent);
      else {
        const pending = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        pending?.resolve(message);
      }
    });
  }

  /** The child's process id. */
  get pid(): number {
    return this.#child.pid!;
  }

  /** What the child printed on stderr last (at most 4000 characters). */
  get stderr(): string {
    return this.#stderr;
  }

  /** Sends a command; resolves with its answer (a failed operation is an answer with `ok: false`). */
  request(request: Request, onEvent?: (event: ChildEvent) => void): Promise<Answer> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, onEvent });
      this.#child.stdin.write(`${JSON.stringify({ ...request, id })}\n`);
    });
  }

  /** SIGKILLs the child (at once: no handler runs) and waits until it is gone. */
  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    await this.exited;
  }

  /** Closes the child's stdin, so that it closes its store and exits; waits for it. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.stdin.end();
    await this.exited;
  }
}

/** Starts `count` child processes on `spec` and waits until each has opened the store. */
export async function startProcesses(spec: ChildStore, count: number, options: SpawnOptions = {}): Promise<ProcessWorker[]> {
  const workers = Array.from({ length: count }, () => new ProcessWorker(spec, options));
  try {
    await Promise.all(workers.map((worker) => worker.ready));
    const opened = await Promise.all(workers.map((worker) => worker.request({ op: 'open' })));
    const failed = opened.find((answer) => !answer.ok);
    if (failed) throw new Error(`a child process could not open the store: ${failed.code}: ${failed.message}`);
    return workers;
  } catch (error) {
    await Promise.all(workers.map((worker) => worker.kill()));
    throw error;
  }
}

/** Stops every worker (closing their stores). */
export async function stopProcesses(workers: readonly ProcessWorker[]): Promise<void> {
  await Promise.all(workers.map((worker) => worker.stop()));
}
