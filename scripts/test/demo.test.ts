/**
 * The README's first command on a fresh copy of the checkout, as a new user runs it: `bash
 * scripts/run.sh demo` with the machine's own PATH (here a system Node 20, which run.sh replaces with
 * the Node 24 it fetches), CI=true and no input. Its output carries no pnpm warning about cyclic
 * workspace dependencies and no update notice, and the command it suggests last works exactly as
 * printed, with that same PATH.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ROOT } from '../workspace.ts';

const copy = mkdtempSync(join(tmpdir(), 'stowage-demo-'));
// Removing the copy's node_modules takes longer than the default 10 s on a loaded machine.
afterAll(() => rmSync(copy, { recursive: true, force: true }), 120_000);

/** The machine's PATH without the toolchain this test runs on (the fetched Node and pnpm). */
const SYSTEM_PATH = '/usr/local/bin:/usr/bin:/bin';
const env = { HOME: process.env.HOME ?? '/root', PATH: SYSTEM_PATH, CI: 'true', ...(process.env.XDG_CACHE_HOME ? { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME } : {}) };

/** A fresh checkout: the tracked files (and new ones not ignored) without node_modules or builds. */
function freshCopy(): void {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const file of files) {
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    cpSync(join(ROOT, file), join(copy, file), { dereference: false });
  }
}

describe('bash scripts/run.sh demo on a fresh copy', () => {
  test('prints no pnpm warning, and its suggested command works as printed', { timeout: 600_000 }, () => {
    freshCopy();
    const demo = spawnSync('bash', ['scripts/run.sh', 'demo'], { cwd: copy, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 540_000 });
    const output = `${demo.stdout}${demo.stderr}`;
    expect(demo.status, output).toBe(0);
    expect(output).not.toMatch(/cyclic/i);
    expect(output).not.toMatch(/update available|is available!/i);
    expect(output).toMatch(/^\$ stowage cat :notes\/hello\.txt\nHello from stowage!/m);

    const lines = demo.stdout.trimEnd().split('\n');
    expect(lines.at(-2)).toMatch(/Next, try:$/);
    const suggested = lines.at(-1)!.trim();
    expect(suggested).toBe('bash scripts/run.sh stowage --help');
    const tried = spawnSync('bash', ['-c', suggested], { cwd: copy, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 120_000 });
    expect(tried.stderr).toBe('');
    expect(tried.status).toBe(0);
    expect(tried.stdout).toMatch(/^Usage: stowage <command> \[options\] \[arguments\]$/m);

    // `run.sh stowage` works in the directory it is called from: the demo's store, from its folder.
    const listed = spawnSync('bash', ['../scripts/run.sh', 'stowage', 'ls', ':notes/'], { cwd: join(copy, '.stowage-demo'), env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 120_000 });
    expect(listed.stderr).toBe('');
    expect(listed.stdout).toBe(':notes/hello.txt\n');
  });
});
