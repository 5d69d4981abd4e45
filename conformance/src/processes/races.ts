/**
 * Conditional writes racing across processes: each child process has opened the store on its own,
 * so that what serializes them is the backend (its locks, its transactions, the service's
 * preconditions), never one process's memory.
 *
 * @module
 */
import assert from 'node:assert/strict';
import type { Store } from '@stowage/core';
import type { Answer } from './protocol.ts';
import type { ProcessWorker } from './pool.ts';

/** The processes that succeeded, by index. */
function winnersOf(answers: readonly Answer[]): number[] {
  return answers.flatMap((answer, index) => (answer.ok ? [index] : []));
}

/** The answers that failed otherwise than with `code`, described. */
function otherFailures(answers: readonly Answer[], code: string): string[] {
  return answers.flatMap((answer, index) => (!answer.ok && answer.code !== code ? [`process ${index}: ${answer.code}: ${answer.message}`] : []));
}

/** What {@link raceCreateOnlyAcrossProcesses} saw. */
export interface CreateOnlyRaceReport {
  processes: number;
  rounds: number;
}

/**
 * Every worker writes its own body to a fresh key with `ifNoneMatch: '*'`, at once, `rounds` times
 * (a key per round below `prefix`): each round exactly one process wins, every other fails with
 * ALREADY_EXISTS, and `store` reads the winner's bytes with the etag the winner was given.
 */
export async function raceCreateOnlyAcrossProcesses(workers: readonly ProcessWorker[], store: Store, prefix: string, rounds = 5): Promise<CreateOnlyRaceReport> {
  for (let round = 0; round < rounds; round++) {
    const key = `${prefix}created-${round}.txt`;
    const bodies = workers.map((_, index) => `process ${index} of ${workers.length} in round ${round}`);
    const answers = await Promise.all(workers.map((worker, index) => worker.request({ op: 'create', key, content: bodies[index]! })));
    assert.deepEqual(otherFailures(answers, 'ALREADY_EXISTS'), [], `round ${round}: every process that lost fails with ALREADY_EXISTS`);
    const winners = winnersOf(answers);
    assert.equal(winners.length, 1, `round ${round}: exactly one of ${workers.length} processes creates the key (${winners.length} did)`);
    const winner = winners[0]!;
    assert.equal(await store.readText(key), bodies[winner], `round ${round}: the stored object is the winner's`);
    assert.equal((await store.stat(key)).etag, answers[winner]!.etag, `round ${round}: the stored etag is the one the winner was given`);
  }
  return { processes: workers.length, rounds };
}

/** What {@link raceCompareAndSwapAcrossProcesses} saw. */
export interface CompareAndSwapRaceReport {
  processes: number;
  rounds: number;
}

/**
 * Every worker reads the same etag of `key`, then all write with `ifMatch` on it at once, `rounds`
 * times: each round exactly one process wins, every other fails with PRECONDITION_FAILED, and the
 * key holds the winner's bytes with a new etag.
 */
export async function raceCompareAndSwapAcrossProcesses(workers: readonly ProcessWorker[], store: Store, key: string, rounds = 5): Promise<CompareAndSwapRaceReport> {
  await store.write(key, 'initial');
  for (let round = 0; round < rounds; round++) {
    const etag = (await store.stat(key)).etag;
    const seen = await Promise.all(workers.map((worker) => worker.request({ op: 'stat', key })));
    assert.deepEqual(seen.map((answer) => answer.etag), workers.map(() => etag), `round ${round}: every process sees the etag this process sees`);
    const bodies = workers.map((_, index) => `round ${round} by process ${index}`);
    const answers = await Promise.all(workers.map((worker, index) => worker.request({ op: 'cas', key, etag, content: bodies[index]! })));
    assert.deepEqual(otherFailures(answers, 'PRECONDITION_FAILED'), [], `round ${round}: every process that lost fails with PRECONDITION_FAILED`);
    const winners = winnersOf(answers);
    assert.equal(winners.length, 1, `round ${round}: exactly one of ${workers.length} processes replaces the version they all read (${winners.length} did)`);
    const winner = winners[0]!;
    const info = await store.stat(key);
    assert.equal(info.etag, answers[winner]!.etag, `round ${round}: the stored etag is the one the winner was given`);
    assert.notEqual(info.etag, etag, `round ${round}: the etag changed`);
    assert.equal(await store.readText(key), bodies[winner], `round ${round}: the stored object is the winner's`);
  }
  return { processes: workers.length, rounds };
}

/** What {@link incrementAcrossProcesses} saw. */
export interface IncrementReport {
  processes: number;
  /** Increments per process. */
  times: number;
  /** Writes refused with PRECONDITION_FAILED and tried again, over every process. */
  conflicts: number;
}

/**
 * Every worker adds one to the counter at `key`, `times` times, by read-modify-write with `ifMatch`
 * (retrying on PRECONDITION_FAILED, `attempts` times at most per process): the counter ends at
 * exactly processes × times, and every value from 1 to that was written exactly once (no update
 * lost, none applied twice).
 */
export async function incrementAcrossProcesses(workers: readonly ProcessWorker[], store: Store, key: string, times = 20, attempts = 100_000): Promise<IncrementReport> {
  await store.write(key, '0');
  const answers = await Promise.all(workers.map((worker) => worker.request({ op: 'increment', key, times, attempts })));
  assert.deepEqual(answers.flatMap((answer, index) => (answer.ok ? [] : [`process ${index}: ${answer.code}: ${answer.message}`])), [], 'every process makes its increments');
  const total = workers.length * times;
  assert.equal(await store.readText(key), String(total), `${workers.length} processes × ${times} increments end at ${total}`);
  const written = answers.flatMap((answer) => answer.written ?? []).sort((a, b) => a - b);
  const expected = Array.from({ length: total }, (_, index) => index + 1);
  assert.deepEqual(written, expected, 'every value from 1 to the total was written exactly once');
  return { processes: workers.length, times, conflicts: answers.reduce((sum, answer) => sum + (answer.conflicts ?? 0), 0) };
}
