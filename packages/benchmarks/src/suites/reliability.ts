/**
 * What reliability costs, on the memory backend (so that only stowage's own work is measured):
 *
 * - the retry and time-limit machinery when nothing fails: put and get of 1 KiB with `retry: true`
 *   and `timeoutMs` against the same store without them;
 * - a read that breaks midway and resumes with a range request, against the same read unbroken.
 *
 * @module
 */
import { Store } from '@stowage/core';
import { FaultyBackend } from '@stowage/conformance/faults';
import { MemoryBackend } from '@stowage/memory';
import { addComparisonRows, compare, formatSize, KiB, MiB, type BenchSuite } from '../harness.ts';

async function drain(stream: ReadableStream<Uint8Array>): Promise<void> {
  const reader = stream.getReader();
  while (!(await reader.read()).done);
}

export const suite: BenchSuite = {
  name: 'reliability',
  description: 'The cost of retries, time limits and resumed reads, on the memory backend (no I/O).',
  async run(context) {
    const inner = new MemoryBackend();
    const plain = new Store(inner);
    const guarded = new Store(inner, { retry: true, timeoutMs: 30_000 });
    const small = new Uint8Array(KiB).fill(7);
    await plain.write('small.bin', small);
    const table = context.table('Retries and time limits when nothing fails', ['case', 'unit', 'retry + timeoutMs', 'neither', 'ratio']);
    for (const [name, run] of [
      ['put 1 KiB', (store: Store) => store.write('small.bin', small)],
      ['get 1 KiB', (store: Store) => store.readBytes('small.bin')],
      ['stat', (store: Store) => store.stat('small.bin')],
    ] as const) {
      const result = await compare(
        { name, unit: 'ops/s', sides: [{ label: 'retry + timeoutMs', run: () => run(guarded) }, { label: 'neither', run: () => run(plain) }] },
        context.profile,
      );
      addComparisonRows(table, context, result);
    }

    const size = context.profile.size(64 * MiB, 4 * MiB);
    const faulty = new FaultyBackend(inner);
    const resuming = new Store(faulty, { retry: { attempts: 3, baseDelayMs: 0, maxDelayMs: 0 } });
    await plain.write('big.bin', new Uint8Array(size).fill(3));
    const resumed = context.table('A read cut midway and resumed by range', ['case', 'unit', 'cut at half, resumed', 'unbroken', 'ratio']);
    const result = await compare(
      {
        name: `read ${formatSize(size)}`,
        unit: 'MiB/s',
        bytes: size,
        sides: [
          {
            label: 'cut at half, resumed',
            run: async () => {
              faulty.clear().inject({ operation: 'read', fault: { kind: 'cut-read', afterBytes: size / 2 }, times: 1 });
              await drain(await resuming.read('big.bin'));
            },
          },
          {
            label: 'unbroken',
            run: async () => {
              faulty.clear();
              await drain(await resuming.read('big.bin'));
            },
          },
        ],
      },
      context.profile,
    );
    addComparisonRows(resumed, context, result);
    context.note('The resumed read opens the object a second time at the byte where the first stream broke, checks that the etag is the same, and goes on: no byte is read twice.');
  },
};
