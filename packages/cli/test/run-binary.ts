/**
 * Runs the built `stowage` binary as a child process, in a fresh working directory per test, and
 * the small file helpers the end-to-end tests share.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built binary the tests run. */
export const BIN: string = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** How a run ended. */
export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options of a run. */
export interface RunBinaryOptions {
  cwd: string;
  /** Added to the environment. */
  env?: Record<string, string | undefined> | undefined;
  /** Written to standard input (which is closed after). */
  input?: string | Uint8Array | undefined;
}

/** The environment of a child: this process's, without what would change how the command runs. */
export function childEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || name === 'NODE_OPTIONS' || name === 'STOWAGE_CONFIG' || name.startsWith('VITEST')) continue;
    env[name] = value;
  }
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Starts the binary with pipes for all three streams. */
export function startBinary(args: readonly string[], options: RunBinaryOptions): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env: childEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
}

/** How long a run may take before it is killed and reported as hung (the tests' own limits are longer). */
const DEADLINE_MS = 90_000;

/** Collects a started child's output until it exits; a child still running after the deadline is killed, and says so on its standard error. */
export function finished(child: ChildProcess): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const deadline = setTimeout(() => {
    stderr += `[the test killed the command: still running after ${DEADLINE_MS / 1000} s]\n`;
    child.kill('SIGKILL');
  }, DEADLINE_MS);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status, signal) => {
      clearTimeout(deadline);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/** Runs `stowage ARGS...` to the end. */
export async function runBinary(args: readonly string[], options: RunBinaryOptions): Promise<RunResult> {
  const child = startBinary(args, options);
  const done = finished(child);
  child.stdin?.on('error', () => {}); // the command may exit before reading all of its input
  child.stdin?.end(options.input);
  return done;
}

/** Runs `stowage ARGS...` and returns its standard output as bytes (for binary objects). */
export function runBinaryBytes(args: readonly string[], cwd: string): { status: number | null; stdout: Buffer; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd, env: childEnv(), maxBuffer: 256 * 1024 * 1024 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString() };
}

/** A temporary working directory, removed by `cleanup`. */
export interface Workspace {
  dir: string;
  /** Runs the binary in this directory. */
  run(args: readonly string[], options?: Omit<RunBinaryOptions, 'cwd'>): Promise<RunResult>;
  /** Writes a file below the directory (creating folders). */
  file(relative: string, content: string | Uint8Array): Promise<string>;
  cleanup(): Promise<void>;
}

/** Creates a fresh working directory for one test. */
export async function workspace(env: Record<string, string | undefined> = {}): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), 'stowage-cli-'));
  return {
    dir,
    run: (args, options = {}) => runBinary(args, { ...options, cwd: dir, env: { ...env, ...options.env } }),
    async file(relative, content) {
      const path = join(dir, relative);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, content);
      return path;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The lowercase hex SHA-256 of bytes or a string. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Writes `size` random bytes to `path` in 1 MiB pieces; returns their SHA-256. */
export async function writeRandomFile(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const pieces: Buffer[] = [];
  for (let written = 0; written < size; written += 1024 * 1024) {
    const piece = randomBytes(Math.min(1024 * 1024, size - written));
    hash.update(piece);
    pieces.push(piece);
  }
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, Buffer.concat(pieces));
  return hash.digest('hex');
}

/** A short random name, for tables and prefixes that must not collide between runs. */
export function randomName(prefix: string): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

/**
 * Starts `stowage cp - DESTINATION`, feeds it `mebibytes` MiB (each write waits until the pipe took
 * it, so the command has read nearly all of it and is writing), waits `stallMs` (the command then
 * waits for more input), then sends `signal` with standard input still open.
 */
export async function interruptedCopy(
  ws: Workspace,
  destination: string,
  mebibytes: number,
  options: {
    signal?: NodeJS.Signals;
    stallMs?: number;
    env?: Record<string, string> | undefined;
    /** Awaited after the input was fed and before the signal is sent (until the copy is where the test wants it). */
    beforeSignal?: () => Promise<void>;
  } = {},
): Promise<RunResult> {
  const { signal = 'SIGINT', stallMs = 0, env, beforeSignal } = options;
  const child = startBinary(['cp', '-', destination], { cwd: ws.dir, env });
  const done = finished(child);
  const chunk = Buffer.alloc(1024 * 1024, 0x5a);
  for (let index = 0; index < mebibytes; index++) {
    await new Promise<void>((resolve, reject) => child.stdin!.write(chunk, (error) => (error ? reject(error) : resolve())));
  }
  if (stallMs > 0) await new Promise((resolve) => setTimeout(resolve, stallMs));
  try {
    await beforeSignal?.();
  } finally {
    child.kill(signal);
  }
  return done;
}
