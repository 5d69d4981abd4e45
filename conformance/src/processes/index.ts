/**
 * `@stowage/conformance/processes`: the contract across processes. Child Node processes each open
 * the store on their own (from a store URL, or from a module of yours) and race on one key, or are
 * SIGKILLed in the middle of a large overwrite; the checks read the outcome through a store of
 * their own.
 *
 * @example
 * ```ts
 * // test/processes.test.ts
 * import { describeProcesses } from '@stowage/conformance/processes'
 *
 * describeProcesses({
 *   name: 'my-adapter',
 *   fixture: async () => ({ child: { url: `myscheme://127.0.0.1/${randomName()}` }, teardown: dropIt }),
 * })
 * ```
 *
 * @module
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Store } from '@stowage/core';
import { randomToken } from '../context.ts';
import { formatKillReport, killWritersMidWrite, type KilledWriterOptions } from './kills.ts';
import { openChildStore, type OpenedChildStore } from './open.ts';
import { startProcesses, stopProcesses, type ProcessWorker, type SpawnOptions } from './pool.ts';
import type { ChildStore } from './protocol.ts';
import { incrementAcrossProcesses, raceCompareAndSwapAcrossProcesses, raceCreateOnlyAcrossProcesses } from './races.ts';

export { formatKillReport, killSeed, killWritersMidWrite, type KilledWriterOptions, type KilledWriterReport } from './kills.ts';
export { checkChildStore, openChildStore, type OpenedChildStore } from './open.ts';
export { ProcessWorker, childExecArgv, startProcesses, stopProcesses, type Request, type SpawnOptions } from './pool.ts';
export type { Answer, ChildEvent, ChildStore, Command } from './protocol.ts';
export {
  incrementAcrossProcesses,
  raceCompareAndSwapAcrossProcesses,
  raceCreateOnlyAcrossProcesses,
  type CompareAndSwapRaceReport,
  type CreateOnlyRaceReport,
  type IncrementReport,
} from './races.ts';

/** The checks of {@link describeProcesses}, by id (what `overrides` name). */
export const PROCESS_CHECKS = ['processes/create-only', 'processes/compare-and-swap', 'processes/increments', 'processes/killed-writer'] as const;

/** One of {@link PROCESS_CHECKS}. */
export type ProcessCheck = (typeof PROCESS_CHECKS)[number];

/** The store the checks run on, made fresh for one `describeProcesses` block. */
export interface ProcessFixture {
  /** How every child process opens the store (JSON). */
  child: ChildStore;
  /** Opens the same store in this process, as the next program would (default: as the children do). Called once per check and after every kill. */
  open?: (() => Promise<OpenedChildStore>) | undefined;
  /** See {@link KilledWriterOptions.leftovers}; after the races too, where it must be `[]`. */
  leftovers?: KilledWriterOptions['leftovers'];
  /** Removes the store (its folder, tables, bucket prefix) once every process has closed it. */
  teardown?: (() => Promise<void>) | undefined;
}

/** Options of {@link describeProcesses}. */
export interface ProcessesOptions {
  /** Names the `describe` block. */
  name: string;
  /** Makes the store (a fresh folder, table or prefix) once for the block. */
  fixture: () => Promise<ProcessFixture>;
  /** Processes racing create-only on one key, and rounds (default 20 processes, 5 rounds). */
  createOnly?: { processes?: number | undefined; rounds?: number | undefined } | undefined;
  /** Processes racing compare-and-swap on one etag, and rounds (default 20 processes, 5 rounds). */
  compareAndSwap?: { processes?: number | undefined; rounds?: number | undefined } | undefined;
  /** Processes incrementing one counter, and increments each (default 10 × 20). */
  increments?: { processes?: number | undefined; times?: number | undefined } | undefined;
  /** The killed writers (default 30 trials of a 20 MiB overwrite, a third of them killed in the commit). */
  kills?: Omit<KilledWriterOptions, 'leftovers' | 'open' | 'spawn'> | undefined;
  /** How the child processes are started. */
  spawn?: SpawnOptions | undefined;
  /** Checks this backend or server cannot verify, with the reason: reported as skipped "not verifiable on this server". */
  overrides?: Partial<Record<ProcessCheck, string>> | undefined;
  /** Per-check time limit (default 180 s). */
  timeout?: number | undefined;
}

/**
 * Registers the cross-process checks as one vitest `describe` block: create-only and
 * compare-and-swap races and counter increments between processes (exactly one winner, no lost
 * update, nothing left behind), and writers SIGKILLed mid-write (old or new only, the next write not
 * held up, nothing left after the next open and write). Each check prints what it measured.
 */
export function describeProcesses(options: ProcessesOptions): void {
  for (const id of Object.keys(options.overrides ?? {})) {
    if (!(PROCESS_CHECKS as readonly string[]).includes(id)) throw new Error(`process-check override ${JSON.stringify(id)} names no check (${PROCESS_CHECKS.join(', ')})`);
  }
  const timeout = options.timeout ?? 180_000;
  const racers = Math.max(options.createOnly?.processes ?? 20, options.compareAndSwap?.processes ?? 20, options.increments?.processes ?? 10);
  let fixture: ProcessFixture | undefined;
  let workers: ProcessWorker[] = [];
  const ready = (): ProcessFixture => {
    if (!fixture) throw new Error('the process fixture did not open');
    return fixture;
  };
  const open = (): Promise<OpenedChildStore> => (ready().open ?? (() => openChildStore(ready().child)))();
  /** Runs `check` on a store of this process, then asserts that nothing is left behind. */
  const withStore = async (check: (store: Store) => Promise<string>): Promise<void> => {
    const opened = await open();
    try {
      console.info(`${await check(opened.store)} on ${options.name}`);
      const report = await opened.store.sweep({ olderThanMs: 0, dryRun: true });
      const left = [...report.items.map((item) => `${item.kind} ${item.id} (${item.reason})`), ...((await ready().leftovers?.(opened.store)) ?? [])];
      if (left.length > 0) throw new Error(`left behind by the processes: ${left.join(', ')}`);
    } finally {
      await opened.teardown();
    }
  };
  const check = (id: ProcessCheck, title: string, run: () => Promise<void>): void => {
    const reason = options.overrides?.[id];
    if (reason !== undefined) it.skip(`[${id}] ${title} (not verifiable on this server: ${reason})`, () => {});
    else it(`[${id}] ${title}`, run, timeout);
  };

  describe(`stowage across processes: ${options.name}`, () => {
    beforeAll(async () => {
      fixture = await options.fixture();
      // Started once for the block (Node processes take a while to start on a small machine); each
      // has opened the store before any command goes out, so that the commands really race.
      workers = await startProcesses(fixture.child, racers, options.spawn);
    }, timeout);
    afterAll(async () => {
      await stopProcesses(workers);
      await fixture?.teardown?.();
    }, timeout);

    const createOnly = { processes: options.createOnly?.processes ?? 20, rounds: options.createOnly?.rounds ?? 5 };
    check('processes/create-only', `${createOnly.processes} processes create one key at once, ${createOnly.rounds} rounds: exactly one wins, the others get ALREADY_EXISTS, the winner's bytes are stored`, () =>
      withStore(async (store) => {
        const result = await raceCreateOnlyAcrossProcesses(workers.slice(0, createOnly.processes), store, `p-${randomToken()}/`, createOnly.rounds);
        return `create-only across processes: ${result.rounds} rounds of ${result.processes} processes, one winner each`;
      }));

    const cas = { processes: options.compareAndSwap?.processes ?? 20, rounds: options.compareAndSwap?.rounds ?? 5 };
    check('processes/compare-and-swap', `${cas.processes} processes replace the version they all read, ${cas.rounds} rounds: exactly one wins, the others get PRECONDITION_FAILED`, () =>
      withStore(async (store) => {
        const result = await raceCompareAndSwapAcrossProcesses(workers.slice(0, cas.processes), store, `p-${randomToken()}/cas.txt`, cas.rounds);
        return `compare-and-swap across processes: ${result.rounds} rounds of ${result.processes} processes, one winner each`;
      }));

    const increments = { processes: options.increments?.processes ?? 10, times: options.increments?.times ?? 20 };
    check('processes/increments', `${increments.processes} processes × ${increments.times} compare-and-swap increments of one counter: it ends at ${increments.processes * increments.times}, every value written once`, () =>
      withStore(async (store) => {
        const started = performance.now();
        const result = await incrementAcrossProcesses(workers.slice(0, increments.processes), store, `p-${randomToken()}/counter`, increments.times);
        return `increments across processes: ${result.processes} × ${result.times} in ${((performance.now() - started) / 1000).toFixed(1)} s, ${result.conflicts} conflicts retried, none lost`;
      }));

    const kills = options.kills ?? {};
    check('processes/killed-writer', `${kills.trials ?? 30} writers SIGKILLed during a ${((kills.size ?? 20 * 1024 * 1024) / 1024 / 1024).toFixed(0)} MiB overwrite: old or new only, the next write not held up, nothing left after the next open and write`, async () => {
      const report = await killWritersMidWrite(ready().child, { ...kills, key: kills.key ?? `p-${randomToken()}/killed.bin`, open, leftovers: ready().leftovers, spawn: options.spawn });
      console.info(formatKillReport(options.name, report));
    });
  });
}
