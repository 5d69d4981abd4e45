/**
 * `stowage certify`: the whole conformance suite against an in-memory store (which lives for the
 * run of the command), reports written with --out, and the embedded SQLite store certified in part.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConformanceReport } from '@stowage/conformance';
import { workspace, type Workspace } from './run-binary.ts';

describe('certify', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await workspace();
  });
  afterAll(() => ws?.cleanup());

  it('certifies a memory store with every case, bare and rooted, and writes the JSON and Markdown reports', async () => {
    const result = await ws.run(['certify', '--large-size', '4MiB', '--out', 'reports', 'memory://certify']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const summary = /^(\d+) passed, 0 failed, 0 skipped \((\d+) not applicable to the declared capabilities\)$/m.exec(result.stdout);
    expect(summary).not.toBeNull();
    const report = JSON.parse(await readFile(join(ws.dir, 'reports/conformance-report.json'), 'utf8')) as ConformanceReport;
    expect(report).toMatchObject({ name: 'memory://certify/', backend: 'memory', rooted: true, summary: { failed: 0, passed: Number(summary![1]), notApplicable: Number(summary![2]) } });
    expect(report.cases.some((result) => result.variant === 'rooted')).toBe(true);
    expect(result.stdout).toMatch(/^ {2}signedUrl +false +confirmed +refused with CAPABILITY_NOT_SUPPORTED before any I\/O, as declared$/m);
    const markdown = await readFile(join(ws.dir, 'reports/conformance-report.md'), 'utf8');
    expect(markdown).toMatch(/^# stowage conformance: memory:\/\/certify\/$/m);
    expect(markdown).toContain('**PASSED:');
  });

  it('certifies the embedded store in part, with a named override, and prints JSON', async () => {
    const result = await ws.run(['certify', '--json', '--only', 'listing', '--override', 'listing/page-sizes=checked elsewhere', ':']);
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout) as ConformanceReport;
    expect(report.backend).toBe('sql-blob:sqlite');
    expect(new Set(report.cases.map((result) => result.group))).toEqual(new Set(['listing']));
    expect(report.summary.skipped).toBeGreaterThan(0);
    expect(report.cases.filter((result) => result.status === 'skipped').every((result) => result.id === 'listing/page-sizes')).toBe(true);
    // The cases cleaned up after themselves.
    expect((await ws.run(['ls', '-r', ':'])).stdout).toBe('');
  });

  it('refuses an unknown case or group and a local path', async () => {
    const unknown = await ws.run(['certify', '--only', 'nonsense', 'memory://x']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/^stowage: USAGE: --only matches no case or group: nonsense \(the groups are health, keys, /);
    const path = await ws.run(['certify', './dir']);
    expect(path.status).toBe(2);
  });
});

describe('certify without the conformance kit', () => {
  it('fails with CONFIG and names the package to install when @stowage/conformance is absent', async () => {
    const { loadConformanceKit } = await import('../src/commands/certify.ts');
    const { failureCode } = await import('../src/failures.ts');
    // What Node throws for a package that is not installed.
    const absent = Object.assign(new Error("Cannot find package '@stowage/conformance' imported from /usr/lib/node_modules/@stowage/cli/dist/adapters.js"), { code: 'ERR_MODULE_NOT_FOUND' });
    const failure = await loadConformanceKit('/tmp', () => Promise.reject(absent)).catch((error: unknown) => error);
    expect(failureCode(failure)).toBe('CONFIG');
    expect((failure as Error).message).toMatch(/^stowage certify needs the conformance kit, the package @stowage\/conformance, which is not installed: install it next to the command \(`npm install -g @stowage\/conformance`/);
    // Another failure (the kit is there but one of its own dependencies is not) is not hidden.
    const broken = Object.assign(new Error("Cannot find package 'fast-check' imported from /x/conformance/dist/index.js"), { code: 'ERR_MODULE_NOT_FOUND' });
    await expect(loadConformanceKit('/tmp', () => Promise.reject(broken))).rejects.toBe(broken);
  });

  it('loads the kit beside the command', async () => {
    const { loadConformanceKit } = await import('../src/commands/certify.ts');
    const kit = await loadConformanceKit(process.cwd());
    expect(typeof kit.runConformance).toBe('function');
  });
});
