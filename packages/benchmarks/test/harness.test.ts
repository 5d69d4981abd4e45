import { describe, expect, it } from 'vitest';
import { addComparisonRows, compare, formatRatio, formatSize, median, runChild, runProfile, type SuiteContext, type Table } from '../src/harness.ts';
import { formatMarkdown } from '../src/report.ts';

const quick = runProfile(true);

describe('benchmark harness', () => {
  it('takes medians and formats sizes and ratios', () => {
    expect(median([])).toBeUndefined();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(formatSize(1024)).toBe('1 KiB');
    expect(formatSize(64 * 1024 * 1024)).toBe('64 MiB');
    expect(formatSize(1024 ** 3)).toBe('1 GiB');
    expect(formatSize(1000)).toBe('1000 B');
    expect(formatRatio(50, 100)).toBe('0.50×');
    expect(formatRatio(undefined, 100)).toBe('n/a');
  });

  it('runs every side in every round, in an order that rotates, and reports per-round medians', async () => {
    const order: string[] = [];
    const result = await compare(
      {
        name: 'order',
        unit: 'ops/s',
        minIterations: 1,
        sides: ['a', 'b', 'c'].map((label) => ({ label, run: async () => void (order.at(-1) !== label && order.push(label)) })),
      },
      { ...quick, rounds: 3, roundTime: 5 },
    );
    // The first round warms every side up before timing it.
    expect(order).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'b', 'c', 'a', 'c', 'a', 'b']);
    for (const side of result.sides) {
      expect(side.samples).toHaveLength(3);
      expect(side.median).toBeGreaterThan(0);
    }
  });

  it('reports a side that may fail as failed, and fails the comparison when any other side fails', async () => {
    const failing = async (): Promise<void> => {
      throw new Error('packet too large');
    };
    const result = await compare({ name: 'x', unit: 'MiB/s', bytes: 1024, sides: [{ label: 'ok', run: async () => undefined }, { label: 'raw', run: failing, mayFail: true }] }, { ...quick, roundTime: 5 });
    expect(result.sides[1]!.error).toBe('packet too large');
    expect(result.sides[1]!.median).toBeUndefined();
    const tables: Table[] = [];
    const context = { profile: quick, record: () => undefined } as unknown as SuiteContext;
    const table: Table = { title: 't', columns: ['case', 'unit', 'a', 'b', 'ratio'], rows: [], notes: [] };
    tables.push(table);
    addComparisonRows(table, context, result);
    expect(table.rows[0]).toEqual(['x', 'MiB/s', expect.any(String), 'fails: packet too large', 'n/a']);
    await expect(compare({ name: 'y', unit: 'ops/s', sides: [{ label: 'stowage', run: failing }] }, { ...quick, roundTime: 5 })).rejects.toThrow('y, stowage: packet too large');
  });

  it('renders the report with the machine and every table', () => {
    const markdown = formatMarkdown({
      machine: { cpu: 'CPU X', cores: 2, memoryGiB: 24, os: 'Linux', node: 'v24.0.0', date: '2026-12-01T00:00:00.000Z' },
      mode: 'full',
      suites: [
        { name: 's', description: 'd', notes: ['server 1.0'], tables: [{ title: 'T', columns: ['case', 'v'], rows: [['a|b', 1]], notes: ['n'] }], measurements: [], seconds: 1 },
        { name: 'gone', description: 'd2', skipped: 'no server', notes: [], tables: [], measurements: [], seconds: 0 },
      ],
    });
    expect(markdown).toContain('on CPU X, 2 cores, 24 GiB, Linux, Node v24.0.0');
    expect(markdown).toContain('| a\\|b | 1 |');
    expect(markdown).toContain('Not run: no server');
  });

  it('runs child cases in their own process and passes their errors on', async () => {
    await expect(runChild('sql-blob', 'no-such-case', {})).rejects.toThrow('the suite sql-blob has no child case no-such-case');
    await expect(runChild('no-such-suite', 'x', {})).rejects.toThrow('no benchmark suite named "no-such-suite"');
  });
});
