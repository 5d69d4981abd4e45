/**
 * A writer killed at every point of a write, create-only write or delete: a child process SIGKILLs
 * itself right after its n-th filesystem call, for n = 1, 2, … until the operation completes. After
 * each kill the key holds the old or the new object (never a part), the next conditional write on
 * the key succeeds without waiting for a lock (its timeout is 2 s, the staleness limit 10 minutes:
 * a lock left empty or unrecognised would block it), and after that next write nothing is left: no
 * temporary file, no lock, and a sweep finds nothing.
 */
import { spawn } from 'node:child_process';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '@stowage/core';
import { LocalBackend } from '@stowage/local';
import { temporaryDirectory, temporaryFiles } from './helpers.ts';

const script = fileURLToPath(new URL('./fixtures/kill-at.ts', import.meta.url));
/** Kill points tried at once. */
const PARALLEL = 2;

interface Call {
  call: number;
  name: string;
  path?: string;
  flag?: string;
  failed?: string;
}

/** Runs the child until its n-th call; resolves with the calls it made and whether it was killed. */
function runUntil(root: string, operation: string, n: number): Promise<{ killed: boolean; calls: Call[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=@stowage/source', script, root, operation, String(n)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (data: Buffer) => (out += data.toString()));
    child.stderr.on('data', (data: Buffer) => (err += data.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const lines = out.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Call & { done?: boolean });
      if (signal === 'SIGKILL') resolve({ killed: true, calls: lines });
      else if (code === 0 && lines.at(-1)?.done) resolve({ killed: false, calls: lines.slice(0, -1) });
      else reject(new Error(`the child exited with ${code ?? signal}: ${err}`));
    });
  });
}

let base: string;
beforeAll(async () => {
  base = await temporaryDirectory('stowage-crash-');
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

/** A call as the test reports it: name, path below the root, open flags, the error it failed with. */
function describeCall(call: Call, root: string): string {
  return `${call.name}(${call.path?.replace(root, '<root>') ?? ''}${call.flag ? `, ${call.flag}` : ''})${call.failed ? ` ${call.failed}` : ''}`;
}

describe.each([
  ['write', 'an if-match overwrite', ['old', 'new content']],
  ['create', 'a create-only write', ['old']],
  ['delete', 'a delete', ['old', undefined]],
] as const)('killed during %s (%s)', (operation, _title, outcomes) => {
  it('at every filesystem call: old or new, never stuck, nothing left after the next write', async () => {
    const visited: string[] = [];
    /** One kill point: undefined once the operation completed before its n-th call. */
    const trial = async (n: number): Promise<string | undefined> => {
      const root = join(base, `${operation}-${n}`);
      const seeded = new Store(new LocalBackend({ root }));
      await seeded.write('object.txt', 'old');
      const { killed, calls } = await runUntil(root, operation, n);
      if (!killed) return undefined;
      const last = describeCall(calls.at(-1)!, root);
      const where = `killed after call ${n}, ${last}`;
      // A fresh backend, as a new process would open it: waits 2 s at most for a lock.
      const next = new Store(new LocalBackend({ root, lockTimeoutMs: 2000, staleLockMs: 600_000 }));
      const current = await next.readText('object.txt').catch(() => undefined);
      expect(outcomes, `${where}: the key holds the old or the new object`).toContain(current);
      if (operation === 'create') {
        expect(['created', undefined], `${where}: the created key`).toContain(await next.readText('created.txt').catch(() => undefined));
        await next.write('created.txt', 'after', { ifNoneMatch: '*' }).catch((error: unknown) => {
          expect(error, `${where}: create-only after the kill`).toMatchObject({ code: 'ALREADY_EXISTS' });
        });
      }
      const written = await next.write('object.txt', 'after the kill', current === undefined ? { ifNoneMatch: '*' } : { ifMatch: (await next.stat('object.txt')).etag });
      expect(written.size, `${where}: the next conditional write went through`).toBe(14);
      expect(await temporaryFiles(root), `${where}: no temporary file after the next write`).toEqual([]);
      expect(await readdir(join(root, '.stowage', 'locks')), `${where}: no lock file after the next write`).toEqual([]);
      const report = await next.sweep({ olderThanMs: 0, dryRun: true });
      expect(report.items, `${where}: a sweep finds nothing`).toEqual([]);
      await rm(root, { recursive: true, force: true });
      return last;
    };
    // A few kill points at a time (each is a process of its own); stop at the first that completes.
    for (let n = 1; ; n += PARALLEL) {
      const batch = await Promise.all(Array.from({ length: PARALLEL }, (_, index) => trial(n + index)));
      visited.push(...batch.filter((call) => call !== undefined));
      if (batch.includes(undefined)) break;
    }
    expect(visited.length, 'the operation made some filesystem calls').toBeGreaterThan(1);
    // The states the issue named are among those visited: the lock's content written but not yet in place, and in place.
    expect(visited.some((call) => /\.stowage\/locks\/.*\.new/.test(call))).toBe(true);
    expect(visited.some((call) => call.startsWith('link('))).toBe(true);
    console.info(`${operation}: killed at ${visited.length} points: ${visited.join(', ')}`);
  }, 300_000);
});
