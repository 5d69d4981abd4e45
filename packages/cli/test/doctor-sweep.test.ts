/**
 * `stowage doctor --sweep`: each healthy store is swept, one line per store says what was found and
 * removed (or would be, with --dry-run), and bad sweep options are usage errors.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspace, type Workspace } from './run-binary.ts';

describe('doctor --sweep', () => {
  let ws: Workspace;
  let leftover: string;
  beforeAll(async () => {
    ws = await workspace();
    await ws.file('stowage.config.json', JSON.stringify({ backends: { ram: { type: 'memory' } }, stores: { scratch: { backend: 'ram' }, disk: { backend: 'file:./data' } } }));
    await ws.file('data/kept.txt', 'kept\n');
    // What a writer on another machine left mid-write: a temporary file stowage's sweep takes by age.
    leftover = await ws.file('data/.stowage/tmp/elsewhere.4242.abandoned', 'half a body');
  });
  afterAll(() => ws?.cleanup());

  it('reports with --dry-run and removes nothing, then removes with --sweep; objects stay', async () => {
    const dry = await ws.run(['doctor', '--sweep', '--dry-run', '--older-than', '0']);
    expect(dry.stderr).toBe('');
    expect(dry.status).toBe(0);
    expect(dry.stdout).toMatch(/^sweep \(dry run, nothing removed\):$/m);
    expect(dry.stdout).toMatch(/^ {2}disk: would remove 1 of 1 leftover \(11 B\); temporary-file 1; lock 0/m);
    expect(dry.stdout).toMatch(/^ {2}scratch: would remove 0 of 0 leftovers \(0 B\); nothing to reclaim: a failed write on the memory backend leaves nothing behind$/m);
    expect(existsSync(leftover)).toBe(true);

    const swept = await ws.run(['doctor', '--sweep', '--older-than', '0']);
    expect(swept.status).toBe(0);
    expect(swept.stdout).toMatch(/^ {2}disk: removed 1 of 1 leftover \(11 B\)/m);
    expect(existsSync(leftover)).toBe(false);
    expect(existsSync(join(ws.dir, 'data/kept.txt'))).toBe(true);

    // With the default age, a leftover of another machine written just now is kept.
    await ws.file('data/.stowage/tmp/elsewhere.4242.fresh', 'x');
    const young = await ws.run(['doctor', '--sweep', '--json']);
    expect(young.status).toBe(0);
    const report = JSON.parse(young.stdout) as { stores: { name: string; sweep: { found: number; olderThanMs: number } }[] };
    const disk = report.stores.find((store) => store.name === 'disk')!;
    expect(disk.sweep).toMatchObject({ found: 0, olderThanMs: 86_400_000 });
  });

  it('refuses sweep options without --sweep, and a bad --older-than, as usage errors', async () => {
    const alone = await ws.run(['doctor', '--dry-run']);
    expect(alone.status).toBe(2);
    expect(alone.stderr).toMatch(/--dry-run only applies with --sweep/);
    const bad = await ws.run(['doctor', '--sweep', '--older-than', 'soon']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--older-than must be a number of seconds or a duration such as 30m, 12h or 7d, got "soon"/);
  });
});
