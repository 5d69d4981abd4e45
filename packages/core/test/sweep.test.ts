import { describe, expect, it } from 'vitest';
import { DEFAULT_SWEEP_AGE_MS, SWEEP_ITEM_LIMIT, Store, StorageFullError, SweepTally, createError, isStowageError, type BackendSweepOptions, type SweepResult } from '@stowage/core';
import { MemoryBackend } from '@stowage/memory';
import { countingBackend } from './fixtures.ts';

/** A backend whose sweep reports what it was asked and what a tally made of a few leftovers. */
function sweepingBackend(leftovers: { key?: string; size: number; gone?: boolean; fails?: boolean }[]) {
  const { backend } = countingBackend();
  const asked: BackendSweepOptions[] = [];
  const removed: string[] = [];
  backend.sweep = async (options): Promise<SweepResult> => {
    asked.push(options);
    const tally = new SweepTally(options, [
      { kind: 'temporary-file', description: 'bodies never renamed into place' },
      { kind: 'uncommitted-blocks', description: 'blocks never committed', unreclaimable: 'no request deletes them' },
    ]);
    for (const [index, leftover] of leftovers.entries()) {
      if (leftover.key !== undefined && !leftover.key.startsWith(options.prefix)) continue;
      await tally.reclaim({ kind: 'temporary-file', id: `t${index}`, key: leftover.key, size: leftover.size, reason: 'owner-gone' }, async () => {
        if (leftover.fails) throw new Error('EBUSY');
        if (leftover.gone) return false;
        removed.push(`t${index}`);
      });
    }
    tally.note('checked');
    return tally.result();
  };
  return { backend, asked, removed };
}

describe('Store.sweep', () => {
  it('passes the root, the age and dryRun to the backend, and totals the kinds', async () => {
    const { backend, asked, removed } = sweepingBackend([{ key: 'tenant/a', size: 10 }, { size: 5 }, { key: 'other/b', size: 7 }, { size: 1, gone: true }, { size: 2, fails: true }]);
    const store = new Store(backend).at('tenant/');
    const report = await store.sweep({ olderThanMs: 5000 });
    expect(asked).toMatchObject([{ prefix: 'tenant/', olderThanMs: 5000, dryRun: false }]);
    expect(removed).toEqual(['t0', 't1']);
    expect(report).toMatchObject({ backend: 'counting', dryRun: false, olderThanMs: 5000, found: 3, removed: 2, bytes: 17, truncated: false, notes: ['checked'] });
    // Keys come back relative to the store; a leftover gone meanwhile is not counted; a failed removal is reported.
    expect(report.items.map((item) => [item.id, item.key, item.removed, item.error])).toEqual([
      ['t0', 'a', true, undefined],
      ['t1', undefined, true, undefined],
      ['t4', undefined, false, 'EBUSY'],
    ]);
    expect(report.kinds).toEqual([
      { kind: 'temporary-file', description: 'bodies never renamed into place', found: 3, removed: 2, bytes: 17 },
      { kind: 'uncommitted-blocks', description: 'blocks never committed', found: 0, removed: 0, bytes: 0, unreclaimable: 'no request deletes them' },
    ]);
  });

  it('a dry run counts everything and removes nothing; the default age is a day', async () => {
    const { backend, asked, removed } = sweepingBackend([{ size: 3 }, { size: 4 }]);
    const report = await new Store(backend).sweep({ dryRun: true });
    expect(asked[0]).toMatchObject({ prefix: '', olderThanMs: DEFAULT_SWEEP_AGE_MS, dryRun: true });
    expect(removed).toEqual([]);
    expect(report).toMatchObject({ dryRun: true, found: 2, removed: 0, bytes: 7 });
    expect(report.items.every((item) => !item.removed)).toBe(true);
  });

  it('lists at most SWEEP_ITEM_LIMIT items and says it truncated, while the counts stay complete', async () => {
    const { backend } = sweepingBackend(Array.from({ length: SWEEP_ITEM_LIMIT + 5 }, () => ({ size: 1 })));
    const report = await new Store(backend).sweep({ dryRun: true });
    expect(report.items).toHaveLength(SWEEP_ITEM_LIMIT);
    expect(report).toMatchObject({ found: SWEEP_ITEM_LIMIT + 5, truncated: true });
  });

  it('refuses bad options before any I/O', async () => {
    const { backend, asked } = sweepingBackend([]);
    const store = new Store(backend);
    for (const olderThanMs of [-1, Number.NaN, Number.POSITIVE_INFINITY, '1']) {
      await expect(store.sweep({ olderThanMs: olderThanMs as number })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    await expect(store.sweep({ dryRun: 1 as unknown as boolean })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(asked).toEqual([]);
  });

  it('an aborted signal is ABORTED, also between the leftovers of a running sweep', async () => {
    const { backend } = sweepingBackend([{ size: 1 }]);
    await expect(new Store(backend).sweep({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
    const controller = new AbortController();
    const { backend: slow } = countingBackend();
    slow.sweep = async (options) => {
      const tally = new SweepTally(options, []);
      controller.abort();
      await tally.reclaim({ kind: 'lock', id: 'l', reason: 'age' }, async () => {});
      return tally.result();
    };
    await expect(new Store(slow).sweep({ signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('a backend without sweep gets a report that says so; memory says it has nothing to reclaim', async () => {
    const { backend } = countingBackend();
    const report = await new Store(backend).sweep();
    expect(report).toMatchObject({ backend: 'counting', kinds: [], items: [], found: 0, removed: 0, bytes: 0 });
    expect(report.notes[0]).toMatch(/does not implement sweep/);
    const memory = await new Store(new MemoryBackend()).sweep();
    expect(memory.notes[0]).toMatch(/nothing to reclaim/);
  });
});

describe('STORAGE_FULL', () => {
  it('is its own class and code, not retryable', () => {
    const error = createError('STORAGE_FULL', 'the disk holding /data is full');
    expect(error).toBeInstanceOf(StorageFullError);
    expect(error.name).toBe('StorageFullError');
    expect(isStowageError(error, 'STORAGE_FULL')).toBe(true);
    expect(error.retryable).toBe(false);
  });
});
