/**
 * The streamed round trip every cloud suite reports: a large body of unknown length written through
 * stowage and read back, against the bare SDK's own streaming upload and download, each side in a
 * child process of its own (peak RSS).
 *
 * @module
 */
import { compareInChildren, formatNumber, formatRatio, formatSize, median, type ChildSide, type SuiteContext } from './harness.ts';

/** Child-case metrics of a round trip: write and read throughput. */
export interface RoundTrip {
  'write MiB/s': number;
  'read MiB/s': number;
}

/** Runs the sides (stowage first) of a streamed round trip of `size` bytes and adds their table. */
export async function streamedRoundTrip(context: SuiteContext, suite: string, size: number, sides: readonly ChildSide[]): Promise<void> {
  context.log(`streamed round trip of ${formatSize(size)}`);
  const result = await compareInChildren(suite, sides, context.profile, context.log);
  const table = context.table(`Streamed ${formatSize(size)} of unknown length, written and read back`, ['implementation', 'write MiB/s', 'read MiB/s', 'peak RSS (write + read)', 'under 100 MiB', 'stowage ÷ this (write / read)']);
  const figure = (index: number, metric: keyof RoundTrip): number | undefined => median(result.sides[index]?.steps[0]?.metrics[metric] ?? []);
  for (const [index, side] of result.sides.entries()) {
    const step = side.steps[0]!;
    const peak = Math.max(...step.peakRssMiB);
    for (const metric of ['write MiB/s', 'read MiB/s'] as const) {
      context.record({ case: `streamed ${formatSize(size)}`, side: side.label, metric, unit: 'MiB/s', median: figure(index, metric), samples: step.metrics[metric] ?? [] });
    }
    context.record({ case: `streamed ${formatSize(size)}`, side: side.label, metric: 'peak RSS', unit: 'MiB', median: peak, samples: step.peakRssMiB });
    const ratio = index === 0 ? '—' : `${formatRatio(figure(0, 'write MiB/s'), figure(index, 'write MiB/s'))} / ${formatRatio(figure(0, 'read MiB/s'), figure(index, 'read MiB/s'))}`;
    table.rows.push([side.label, formatNumber(figure(index, 'write MiB/s')), formatNumber(figure(index, 'read MiB/s')), `${Math.round(peak)} MiB`, peak < 100 ? 'yes' : 'no', ratio]);
  }
  table.notes.push("Each side runs in a child process of its own; its peak RSS includes Node's own 50–60 MiB. The body is generated piece by piece (1 MiB pieces) with no length given; both sides read it back to the end.");
}
