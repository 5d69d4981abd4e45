/**
 * The two peer tables every backend gets: put and get of 1 KiB and 64 MiB through each library in
 * one process (alternately), and a streamed write of a large file and read back through each
 * library in a process of its own (peak RSS).
 *
 * @module
 */
import { bytes } from './bodies.ts';
import { KiB, MiB, addComparisonRows, compare, compareInChildren, formatNumber, formatRatio, formatSize, median, type ChildSide, type Side, type SuiteContext } from './harness.ts';
import type { Library, Place } from './libraries.ts';

/** Put and get of 1 KiB and of `large` bytes through each library; the first is stowage. */
export async function putGetTable(context: SuiteContext, title: string, libraries: readonly Library[], large: number, note?: string): Promise<void> {
  const short = (library: Library): string => library.label.split(' ')[0]!;
  const table = context.table(title, ['case', 'unit', ...libraries.map((library) => library.label), ...libraries.slice(1).map((library) => `stowage ÷ ${short(library)}`)]);
  for (const size of [KiB, large]) {
    const body = bytes(size);
    const key = `bench/${size}.bin`;
    for (const library of libraries) await library.put(key, body);
    const unit = size === KiB ? ('ops/s' as const) : ('MiB/s' as const);
    const sides = (operation: 'put' | 'get'): Side[] =>
      libraries.map((library) => ({ label: library.label, run: operation === 'put' ? () => library.put(key, body) : async () => void (await library.get(key)) }));
    context.log(`put/get ${formatSize(size)}`);
    addComparisonRows(table, context, await compare({ name: `put ${formatSize(size)}`, unit, bytes: size, sides: sides('put') }, context.profile));
    addComparisonRows(table, context, await compare({ name: `get ${formatSize(size)}`, unit, bytes: size, sides: sides('get') }, context.profile));
  }
  table.notes.push(`${note ? `${note} ` : ''}Every library ran in the same process, in an order that rotates from round to round; ratios above 1: stowage is faster.`);
}

/** One library of the streamed table: where it keeps its object, and how to clear it afterwards. */
export interface StreamedLibrary {
  readonly name: string;
  readonly place: Place;
  readonly cleanup?: (() => Promise<void>) | undefined;
}

/**
 * The file at `source` (`size` bytes) streamed into each library and read back, each side in a
 * child process of the suite `suite` (whose `childCases` include `libraryChildCases`); `extra`
 * sides (a hardware reference) join the table with one step.
 */
export async function streamedTable(
  context: SuiteContext,
  suite: string,
  libraries: readonly StreamedLibrary[],
  source: string,
  size: number,
  extra: readonly ChildSide[] = [],
): Promise<void> {
  context.log(`streamed ${formatSize(size)}`);
  const sides: ChildSide[] = libraries.map((library) => {
    const params = { library: library.name, place: library.place, source, size };
    return { label: library.name, steps: [{ name: 'write', params }, { name: 'read', params }], cleanup: library.cleanup };
  });
  const result = await compareInChildren(suite, [...sides, ...extra], context.profile, context.log);
  const table = context.table(`Streamed ${formatSize(size)}: a file into the store, then read back`, ['library', 'write MiB/s', 'read MiB/s', 'peak RSS write', 'peak RSS read', 'stowage ÷ this (write / read)']);
  const figure = (index: number, step: number): number | undefined => median(result.sides[index]?.steps[step]?.metrics['MiB/s'] ?? []);
  for (const [index, side] of result.sides.entries()) {
    const [write, read] = side.steps;
    for (const step of side.steps) {
      context.record({ case: `streamed ${formatSize(size)} ${step.name}`, side: side.label, metric: 'MiB/s', unit: 'MiB/s', median: median(step.metrics['MiB/s'] ?? []), samples: step.metrics['MiB/s'] ?? [] });
      context.record({ case: `streamed ${formatSize(size)} ${step.name}`, side: side.label, metric: 'peak RSS', unit: 'MiB', median: Math.max(...step.peakRssMiB), samples: step.peakRssMiB });
    }
    const rss = (step: typeof write): string => (step ? `${Math.round(Math.max(...step.peakRssMiB))} MiB` : '—');
    const ratio = index === 0 ? '—' : `${formatRatio(figure(0, 0), figure(index, 0))} / ${read ? formatRatio(figure(0, 1), figure(index, 1)) : '—'}`;
    table.rows.push([side.label, formatNumber(figure(index, 0)), read ? formatNumber(figure(index, 1)) : '—', rss(write), rss(read), ratio]);
  }
  table.notes.push(
    `Each side runs in a child process of its own (peak RSS includes Node's own 50–60 MiB), reading its source file with ${formatSize(MiB)} buffers; the sides alternate over the repetitions. unstorage has no streaming API: it reads the whole file into memory, and reads back the whole object. OpenDAL reads in 1 MiB pieces (its default, 16 KiB, is several times slower).`,
  );
}
