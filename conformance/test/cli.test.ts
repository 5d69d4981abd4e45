/**
 * The `stowage-conformance` command, run as a child process on its TypeScript source (Node strips
 * the types): it certifies the memory adapter, fails a broken one, honours overrides, and rejects
 * bad usage with exit code 2.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConformanceReport } from '../src/index.ts';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
// The adapters certified by name (@stowage/memory, @stowage/local) are dependencies of the tests' own package.
const testsDir = join(packageDir, 'test');
const cli = join(packageDir, 'src', 'cli.ts');
const brokenAdapter = join(packageDir, 'test', 'fixtures', 'broken-adapter.ts');
const SMALL = ['--chunk-size', '65536', '--large-size', '1048576'];
const localOtherWriter = join(packageDir, 'test', 'fixtures', 'local-other-writer.ts');
const directories: string[] = [];

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string; out: string }> {
  const out = await mkdtemp(join(tmpdir(), 'stowage-conformance-'));
  directories.push(out);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=@stowage/source', '--disable-warning=ExperimentalWarning', cli, '--out', out, ...args],
      { cwd: testsDir, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr, out });
      },
    );
  });
}

async function readReport(out: string): Promise<ConformanceReport> {
  return JSON.parse(await readFile(join(out, 'conformance-report.json'), 'utf8')) as ConformanceReport;
}

afterAll(async () => {
  await Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true })));
});

// Each test starts Node and runs part of the suite: far longer than vitest's default 5 s on a busy machine.
describe('stowage-conformance', { timeout: 120_000 }, () => {
  it('certifies the memory adapter opened from a URL and writes the JSON and Markdown reports', async () => {
    const { code, stdout, stderr, out } = await run(['--module', '@stowage/memory', '--url', 'memory://?hierarchical=true', '--name', 'memory (hierarchical)', ...SMALL]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const report = await readReport(out);
    expect(report.name).toBe('memory (hierarchical)');
    expect(report.backend).toBe('memory');
    expect(report.summary.failed).toBe(0);
    expect(report.rooted).toBe(true);
    expect(report.capabilities.find((verdict) => verdict.name === 'hierarchical')).toMatchObject({ declared: true, verdict: 'confirmed' });
    expect(report.cases.find((result) => result.id === 'hierarchy/file-blocks-folder')?.status).toBe('passed');
    const lastLine = stdout.trim().split('\n').at(-1);
    expect(lastLine).toBe(`${report.summary.passed} passed, 0 failed, 0 skipped (${report.summary.notApplicable} not applicable to the declared capabilities)`);
    const markdown = await readFile(join(out, 'conformance-report.md'), 'utf8');
    expect(markdown).toContain('# stowage conformance: memory (hierarchical)');
    expect(markdown).toContain('| hierarchical | true | true | confirmed |');
  });

  it('runs the other-writers group with the raw writer --other-writer opens, and reports it as not applicable without one', async () => {
    const root = await mkdtemp(join(tmpdir(), 'stowage-conformance-root-'));
    directories.push(root);
    const options = ['--module', '@stowage/local', '--options', JSON.stringify({ root }), '--only', 'other-writers', '--no-rooted', ...SMALL];
    const { code, stdout, out } = await run([...options, '--other-writer', localOtherWriter, '--quiet']);
    expect(code).toBe(0);
    const report = await readReport(out);
    expect(report.cases.filter((result) => result.status === 'passed').map((result) => result.id)).toContain('other-writers/concurrent-cas');
    expect(report.cases.find((result) => result.id === 'other-writers/foreign-metadata')).toMatchObject({ status: 'not-applicable', reason: 'the other writer (the filesystem) writes no user metadata' });
    expect(stdout.trim()).toMatch(/^8 passed, 0 failed, 0 skipped \(1 not applicable/);
    const without = await run([...options, '--quiet']);
    expect(without.code).toBe(0);
    const markdown = await readFile(join(without.out, 'conformance-report.md'), 'utf8');
    expect(markdown).toContain('### other-writers');
    expect((await readReport(without.out)).cases.every((result) => result.status === 'not-applicable' && result.reason?.includes('no other writer'))).toBe(true);
  });

  it('exits 1 and names the failing cases of a broken adapter given by path', async () => {
    const { code, stdout, stderr, out } = await run(['--module', brokenAdapter, '--only', 'conditional', '--no-rooted', ...SMALL]);
    expect(code).toBe(1);
    expect(stderr).toContain('✗ conditional/create-only-existing (bare)');
    expect(stdout.trim().split('\n').at(-1)).toMatch(/^\d+ passed, 2 failed, 0 skipped \(1 not applicable to the declared capabilities\)$/);
    const report = await readReport(out);
    expect(report.cases.every((result) => result.id.startsWith('conditional/'))).toBe(true);
    expect(report.capabilities.find((verdict) => verdict.name === 'conditionalWrite')).toMatchObject({ verdict: 'contradicted' });
  });

  it('passes the broken adapter once its gaps are named as overrides, and reports them as skipped', async () => {
    const { code, stdout, out } = await run([
      '--module',
      brokenAdapter,
      '--only',
      'conditional',
      '--no-rooted',
      '--override',
      'conditional/create-only-existing=the server ignores If-None-Match',
      '--override',
      'conditional/concurrent-create-only=the server ignores If-None-Match',
      '--quiet',
      ...SMALL,
    ]);
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^\d+ passed, 0 failed, 2 skipped \(1 not applicable to the declared capabilities\)$/);
    const report = await readReport(out);
    expect(report.cases.find((result) => result.id === 'conditional/create-only-existing')).toMatchObject({
      status: 'skipped',
      reason: 'not verifiable on this server: the server ignores If-None-Match',
    });
  });

  it('exits 2 on usage errors: no module, an unknown override, a module without an adapter, bad JSON', async () => {
    const cases: [string[], RegExp][] = [
      [[], /--module is required/],
      [['--module', '@stowage/memory', '--override', 'conditional/nope=reason'], /matches no case id or group/],
      [['--module', join(packageDir, 'src', 'types.ts')], /does not export an adapter definition/],
      [['--module', '@stowage/memory', '--options', '{nope'], /--options is not valid JSON/],
      [['--module', '@stowage/memory', '--only', 'nothing'], /--only matches no case or group/],
      [['--module', '@stowage/memory', '--frobnicate'], /Unknown option/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await run(args);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toMatch(message);
    }
  });

  it('prints its usage with --help', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: stowage-conformance --module');
  });
});
