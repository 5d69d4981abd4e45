/**
 * Writers SIGKILLed in the middle of a large streamed overwrite, at seeded random moments: while
 * the body streams, and in the commit (after the store has taken the body's last byte). After each
 * kill the next open of the store reads exactly the old or the new object, the next conditional
 * write goes through without waiting for anything the dead writer held, and after that nothing is
 * left: a sweep with `olderThanMs: 0` finds nothing, and neither does the fixture's own inspection.
 *
 * @module
 */
import assert from 'node:assert/strict';
import type { Store } from '@stowage/core';
import { digestStream, sha256Hex } from '../assertions.ts';
import { patternSha256, seededRandom } from '../content.ts';
import { withTimeout } from '../context.ts';
import { openChildStore, type OpenedChildStore } from './open.ts';
import { ProcessWorker, type SpawnOptions } from './pool.ts';
import type { Answer, ChildStore } from './protocol.ts';

/** Options of {@link killWritersMidWrite}. */
export interface KilledWriterOptions {
  /** The key overwritten (default `killed-writer.bin`). */
  key?: string | undefined;
  /** Bytes of each overwrite (default 20 MiB). */
  size?: number | undefined;
  /** Bytes per piece of the streamed body (default 64 KiB). */
  pieceSize?: number | undefined;
  /** Writers killed (default 30). */
  trials?: number | undefined;
  /** How many of them are killed in the commit rather than while the body streams (default a third). */
  commitTrials?: number | undefined;
  /** The seed of the kill moments (default `STOWAGE_SEED` when set, else random); always reported. */
  seed?: number | undefined;
  /** How long the next conditional write after a kill may take (default 10 s). */
  nextWriteLimitMs?: number | undefined;
  /**
   * What the backend left that it should not have, beyond what its sweep reports (temporary files,
   * lock files, chunk rows), described; `[]` when nothing. Called with a store on the same storage
   * right after each kill (measured, not judged) and after the next open and write (must be `[]`).
   */
  leftovers?: ((store: Store) => Promise<readonly string[]>) | undefined;
  /** Opens the store in this process, as the next program would (default: as the children do). */
  open?: (() => Promise<OpenedChildStore>) | undefined;
  /** How the writers are started. */
  spawn?: SpawnOptions | undefined;
}

/** What {@link killWritersMidWrite} measured. */
export interface KilledWriterReport {
  /** The seed of the kill moments: `STOWAGE_SEED=<seed>` replays them. */
  seed: number;
  trials: number;
  /** Writers killed while their body streamed. */
  killedStreaming: number;
  /** Writers killed after the store had taken the last byte. */
  killedInCommit: number;
  /** Writers whose write had ended when the kill came (the commit is shorter than a signal's way). */
  completedFirst: number;
  /** Reads after a kill that gave the old object, and the new one. */
  readOld: number;
  readNew: number;
  /** Trials after which something was left for the next open or write to reclaim, by kind (sweep kinds and the fixture's leftovers). */
  leftByKills: Record<string, number>;
  /** One uninterrupted overwrite, and its commit (from the body's last byte), in milliseconds. */
  writeMs: number;
  commitMs: number;
  /** The slowest next conditional write after a kill, in milliseconds. */
  slowestNextWriteMs: number;
  /** The whole run, in milliseconds. */
  totalMs: number;
}

/** The seed of a run: the option, else `STOWAGE_SEED`, else a random one. */
export function killSeed(seed?: number): number {
  const chosen = seed ?? (process.env.STOWAGE_SEED ? Number(process.env.STOWAGE_SEED) : Math.floor(Math.random() * 2 ** 32));
  if (!Number.isSafeInteger(chosen) || chosen < 0) throw new TypeError(`the seed must be a non-negative integer, got ${String(seed ?? process.env.STOWAGE_SEED)}`);
  return chosen >>> 0;
}

function unexpected(answer: Answer | undefined): string {
  return answer ? `${answer.code}: ${answer.message}` : 'no answer';
}

/** What a sweep dry run and the fixture's inspection find, as `kind: id` lines. */
async function findLeftovers(store: Store, leftovers: KilledWriterOptions['leftovers']): Promise<{ kind: string; what: string }[]> {
  const report = await store.sweep({ olderThanMs: 0, dryRun: true });
  const found = report.items.map((item) => ({ kind: item.kind, what: `${item.kind} ${item.id} (${item.reason}${item.key === undefined ? '' : `, key ${item.key}`})` }));
  for (const what of (await leftovers?.(store)) ?? []) found.push({ kind: what.split(':')[0]!, what });
  return found;
}

/**
 * Runs the kill trials on `spec` (see the module's description); throws on the first trial that
 * breaks a promise, naming the seed, the trial and the moment of the kill.
 */
export async function killWritersMidWrite(spec: ChildStore, options: KilledWriterOptions = {}): Promise<KilledWriterReport> {
  const started = performance.now();
  const key = options.key ?? 'killed-writer.bin';
  const size = options.size ?? 20 * 1024 * 1024;
  const pieceSize = options.pieceSize ?? 64 * 1024;
  const trials = options.trials ?? 30;
  const commitTrials = Math.min(trials, options.commitTrials ?? Math.round(trials / 3));
  const limit = options.nextWriteLimitMs ?? 10_000;
  const seed = killSeed(options.seed);
  const next = seededRandom(seed);
  const open = options.open ?? (() => openChildStore(spec));
  const phases: ('streaming' | 'commit')[] = Array.from({ length: trials }, (_, index) => (index < commitTrials ? 'commit' : 'streaming'));
  for (let index = phases.length - 1; index > 0; index--) {
    const other = Math.floor(next() * (index + 1));
    [phases[index], phases[other]] = [phases[other]!, phases[index]!];
  }
  const report: KilledWriterReport = { seed, trials, killedStreaming: 0, killedInCommit: 0, completedFirst: 0, readOld: 0, readNew: 0, leftByKills: {}, writeMs: 0, commitMs: 0, slowestNextWriteMs: 0, totalMs: 0 };

  const watcher = await open();
  /** The writer of the trial, and the next one, loading. */
  let writer: ProcessWorker | undefined;
  let worker: ProcessWorker | undefined = new ProcessWorker(spec, options.spawn);
  try {
    let old = 'before the first writer';
    await watcher.store.write(key, old);

    // One writer that is not killed: how long an overwrite and its commit take here.
    const calibration = await worker.request({ op: 'write-large', key, size, seed, pieceSize });
    assert.ok(calibration.ok, `an uninterrupted overwrite succeeds: ${unexpected(calibration)}`);
    report.writeMs = calibration.ms!;
    report.commitMs = calibration.commitMs!;
    assert.equal((await digestStream(await watcher.store.read(key), 'the uninterrupted overwrite')).sha256, patternSha256(size, seed), 'an uninterrupted overwrite stores its bytes');
    await worker.stop();
    old = 'before trial 0';
    await watcher.store.write(key, old);
    worker = new ProcessWorker(spec, options.spawn);

    for (let trial = 0; trial < trials; trial++) {
      const phase = phases[trial]!;
      const delay = next() * (phase === 'commit' ? report.commitMs : report.writeMs);
      const contentSeed = (seed + trial + 1) >>> 0;
      const where = `trial ${trial} of ${trials} (seed ${seed}: replay with STOWAGE_SEED=${seed}), killed ${delay.toFixed(1)} ms ${phase === 'commit' ? 'after the body’s last byte' : 'into the write'}`;
      try {
        const current: ProcessWorker = (writer = worker ?? new ProcessWorker(spec, options.spawn));
        worker = undefined;
        await current.ready;
        let timer: NodeJS.Timeout | undefined;
        const writing = current.request({ op: 'write-large', key, size, seed: contentSeed, pieceSize }, (event) => {
          if (event.event === (phase === 'commit' ? 'body-end' : 'writing')) timer = setTimeout(() => void current.kill(), delay);
        });
        // The next writer loads meanwhile; it opens the store only when it is told to write.
        worker = trial + 1 < trials ? new ProcessWorker(spec, options.spawn) : undefined;
        const answer = await writing.catch(() => undefined);
        clearTimeout(timer);
        await current.kill();
        if (answer !== undefined) assert.ok(answer.ok, `the writer failed before it was killed: ${unexpected(answer)}`);
        const completed = answer !== undefined;
        if (completed) report.completedFirst++;
        else if (phase === 'commit') report.killedInCommit++;
        else report.killedStreaming++;

        for (const kind of new Set((await findLeftovers(watcher.store, options.leftovers)).map((found) => found.kind))) {
          report.leftByKills[kind] = (report.leftByKills[kind] ?? 0) + 1;
        }

        const reopened = await open();
        try {
          const { info, body } = await reopened.store.get(key);
          const read = await digestStream(body, 'the key after the kill');
          const isOld = read.sha256 === sha256Hex(old);
          const isNew = !isOld && read.size === size && read.sha256 === patternSha256(size, contentSeed);
          assert.ok(isOld || isNew, `the key holds the old or the new object, not ${read.size} bytes of neither (sha256 ${read.sha256})`);
          if (completed) assert.ok(isNew, 'a write that ended before the kill is stored');
          if (isOld) report.readOld++;
          else report.readNew++;
          old = `before trial ${trial + 1}`;
          const writeStarted = performance.now();
          await withTimeout(reopened.store.write(key, old, { ifMatch: info.etag }), limit, 'the next conditional write after the kill');
          report.slowestNextWriteMs = Math.max(report.slowestNextWriteMs, performance.now() - writeStarted);
          const left = await findLeftovers(reopened.store, options.leftovers);
          assert.deepEqual(left.map((found) => found.what), [], 'nothing is left after the next open and write');
        } finally {
          await reopened.teardown();
        }
      } catch (error) {
        if (error instanceof Error) error.message = `${where}: ${error.message}`;
        throw error;
      }
    }
  } finally {
    await Promise.all([writer?.kill(), worker?.kill()]);
    await watcher.teardown();
  }
  report.totalMs = performance.now() - started;
  return report;
}

/** One line that says what {@link killWritersMidWrite} measured. */
export function formatKillReport(name: string, report: KilledWriterReport): string {
  const left = Object.entries(report.leftByKills).map(([kind, trials]) => `${kind} after ${trials}`);
  return (
    `killed writers on ${name}: ${report.trials} trials in ${(report.totalMs / 1000).toFixed(1)} s, seed ${report.seed} (replay with STOWAGE_SEED=${report.seed}); ` +
    `${report.killedStreaming} killed while streaming, ${report.killedInCommit} in the commit, ${report.completedFirst} done before the kill; ` +
    `reads after the kill: ${report.readOld} old, ${report.readNew} new; ` +
    `left for the next open or write: ${left.length === 0 ? 'nothing' : left.join(', ')}; nothing after it; ` +
    `one overwrite ${report.writeMs.toFixed(0)} ms (commit ${report.commitMs.toFixed(1)} ms), the slowest next write ${report.slowestNextWriteMs.toFixed(0)} ms`
  );
}
