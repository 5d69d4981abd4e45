/**
 * Overrides: a named server gap turns the matching cases into "not verifiable on this server:
 * <reason>", in the runner and in vitest; a key that matches nothing is an error.
 */
import { describe, expect, it } from 'vitest';
import { Store } from '@stowage/core';
import { MemoryBackend } from '@stowage/memory';
import { allCases, conditionalCases, formatReportMarkdown, overrideReason, runConformance, validateOverrides } from '../src/index.ts';
import { describeConditional } from '../src/vitest.ts';
import { CreateOnlyIgnoringBackend } from './fixtures/backends.ts';

const GAP = 'this emulator ignores If-None-Match (covered by the container matrix)';
const SMALL = { chunkSize: 64 * 1024, largeSize: 1024 * 1024 } as const;

describe('overrides in the runner', { timeout: 60_000 }, () => {
  it('report overridden failing cases as skipped with the reason, and the run passes', async () => {
    const report = await runConformance({
      factory: () => new Store(new CreateOnlyIgnoringBackend()),
      cases: conditionalCases,
      overrides: { 'conditional/create-only-existing': GAP, 'conditional/concurrent-create-only': GAP },
      ...SMALL,
    });
    expect(report.summary).toMatchObject({ failed: 0, skipped: 4 });
    const skipped = report.cases.filter((result) => result.status === 'skipped');
    expect(new Set(skipped.map((result) => result.reason))).toEqual(new Set([`not verifiable on this server: ${GAP}`]));
    expect(report.capabilities.find((verdict) => verdict.name === 'conditionalWrite')).toMatchObject({ verdict: 'unverified', observed: null });
    const markdown = formatReportMarkdown(report);
    expect(markdown).toContain('## Not verifiable on this server');
    expect(markdown).toContain(`- \`conditional/create-only-existing\`: ${GAP}`);
  });

  it('accept a group name or an id prefix, and the most specific key wins', () => {
    const overrides = { conditional: 'group reason', 'conditional/if-match-current': 'case reason', 'bodies/blob': 'prefix reason' };
    validateOverrides(overrides);
    const byId = (id: string) => allCases.find((testCase) => testCase.id === id)!;
    expect(overrideReason(byId('conditional/invalid'), overrides)).toBe('group reason');
    expect(overrideReason(byId('conditional/if-match-current'), overrides)).toBe('case reason');
    expect(overrideReason(byId('bodies/blob/chunk+1'), overrides)).toBe('prefix reason');
    expect(overrideReason(byId('bodies/uint8array/0'), overrides)).toBeUndefined();
    expect(overrideReason(byId('keys/list-order'), overrides)).toBeUndefined();
  });

  it('refuse keys that match no case, and empty reasons, so that a typo cannot hide a gap', async () => {
    expect(() => validateOverrides({ 'conditional/create-only-existng': GAP })).toThrow(/matches no case id or group/);
    expect(() => validateOverrides({ 'bodies/blo': GAP })).toThrow(/matches no case id or group/);
    expect(() => validateOverrides({ conditional: '  ' })).toThrow(/needs a reason/);
    await expect(runConformance({ factory: () => new Store(new MemoryBackend()), overrides: { nope: GAP } })).rejects.toThrow(/"nope" matches no case/);
  });
});

describe('overrides in vitest', () => {
  it('register the overridden cases as skipped tests whose names carry the reason', ({ task }) => {
    type Node = { name: string; mode: string; type: string; tasks?: Node[] };
    const all: Node[] = [];
    const walk = (node: Node): void => {
      all.push(node);
      for (const child of node.tasks ?? []) walk(child);
    };
    walk(task.file as unknown as Node);
    const skipped = all.filter((node) => node.type === 'test' && node.mode === 'skip').map((node) => node.name);
    expect(skipped).toHaveLength(2);
    for (const name of skipped) expect(name).toContain(`(not verifiable on this server: ${GAP})`);
    expect(skipped.some((name) => name.startsWith('[conditional/create-only-existing]'))).toBe(true);
  });
});

// In vitest: the same broken backend, with its gaps named, passes; without the overrides the two
// create-only tests would fail this file. The skipped tests' names carry the reason.
describeConditional({
  name: 'create-only-ignoring backend with named gaps',
  factory: () => new Store(new CreateOnlyIgnoringBackend()),
  overrides: { 'conditional/create-only-existing': GAP, 'conditional/concurrent-create-only': GAP },
  ...SMALL,
  rooted: false,
});
