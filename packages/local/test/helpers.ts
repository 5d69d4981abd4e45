/**
 * Shared by the local adapter's tests: a fresh temporary root per test, removed afterwards.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';
import { Store, type ErrorCode } from '@stowage/core';
import { LocalBackend, type LOCAL_CAPABILITIES, type LocalOptions } from '@stowage/local';

/** A store on a fresh root, recreated before each test. */
export interface TestRoot {
  /** The root directory (a real path). */
  root: string;
  /** A store on a `LocalBackend` at the root. */
  store: Store<typeof LOCAL_CAPABILITIES>;
  /** A directory next to the root, for files that must stay out of reach. */
  outside: string;
}

/** Makes a temporary directory, removed after the test. */
export async function temporaryDirectory(name = 'stowage-local-'): Promise<string> {
  return mkdtemp(join(tmpdir(), name));
}

/** Registers hooks that give every test its own root; read the fields inside tests only. */
export function useTestRoot(options: Omit<LocalOptions, 'root'> = {}): TestRoot {
  const context = {} as TestRoot;
  let base: string;
  beforeEach(async () => {
    base = await temporaryDirectory();
    const backend = new LocalBackend({ ...options, root: join(base, 'root') });
    context.root = backend.root;
    context.outside = join(base, 'outside');
    context.store = new Store(backend);
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });
  return context;
}

/** Asserts that `promise` rejects with a stowage error of `code`; returns the error. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<Error & { code: string; key?: string; backend?: string }> {
  const error = await promise.then(
    (value) => {
      throw new Error(`expected ${code}, but it succeeded with ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
  expect(error).toMatchObject({ code });
  return error as Error & { code: string };
}

/** The names in the root's temporary-file directory (empty when no write is in flight). */
export async function temporaryFiles(root: string): Promise<string[]> {
  return readdir(join(root, '.stowage', 'tmp')).catch(() => []);
}

/** Every path below `dir` (relative, `/`-separated), the internal directory excluded, sorted. */
export async function treeOf(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.filter((entry) => entry !== '.stowage' && !entry.startsWith('.stowage/')).sort();
}

/** An async iterable body that yields `text` in small pieces, pausing between them. */
export async function* slowBody(text: string, piece = 4): AsyncGenerator<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  for (let offset = 0; offset < bytes.byteLength; offset += piece) {
    yield bytes.slice(offset, offset + piece);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The lock file of a key under `root`. */
export function lockPath(root: string, key: string): string {
  return join(root, '.stowage', 'locks', `${createHash('sha256').update(key).digest('hex')}.lock`);
}

/** The pid of a process that has already exited. */
export function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}
