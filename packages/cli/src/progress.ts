/**
 * Progress on long work, drawn by `cli-progress` on standard error: a bar with the bytes done, the
 * rate and the time left for a transfer, cases done for a certification. Only on a terminal, only
 * without `--quiet`, and for transfers only above {@link PROGRESS_THRESHOLD}; elsewhere nothing is
 * drawn and only results are printed.
 *
 * @module
 */
import cliProgress from 'cli-progress';
import { formatBytes, formatDuration } from './format.ts';

/** Transfers larger than this (4 MiB) show a bar; smaller ones end before a bar would be readable. */
export const PROGRESS_THRESHOLD = 4 * 1024 * 1024;

/** Where a bar may be drawn. */
export interface ProgressTarget {
  /** The stream bars are drawn on (standard error). */
  stream: NodeJS.WritableStream & { isTTY?: boolean | undefined };
  /** `--quiet`: never draw. */
  quiet: boolean;
}

/** Whether bars are drawn at all for this target. */
export function progressEnabled(target: ProgressTarget): boolean {
  return !target.quiet && target.stream.isTTY === true;
}

/**
 * A bar in the command's style. It is cleared when it stops (the result line takes its place), and
 * it leaves signals alone: the command's own SIGINT handling aborts the work, which stops the bar.
 */
function newBar(target: ProgressTarget, format: string): cliProgress.SingleBar {
  return new cliProgress.SingleBar(
    { stream: target.stream, format, barsize: 30, hideCursor: true, clearOnComplete: true, gracefulExit: false, linewrap: false, fps: 8 },
    cliProgress.Presets.shades_classic,
  );
}

/** The progress of one transfer. */
export interface TransferProgress {
  /** Counts bytes that went through. */
  add(bytes: number): void;
  /** Removes the bar (the result line takes its place). Safe to call twice. */
  stop(): void;
}

const NO_PROGRESS: TransferProgress = { add: () => {}, stop: () => {} };

/**
 * Starts the progress of a transfer of `total` bytes (undefined when unknown, as from standard
 * input). A transfer of unknown size shows its bar once it passes the threshold, without a
 * percentage or time left.
 */
export function transferProgress(target: ProgressTarget, name: string, total: number | undefined): TransferProgress {
  if (!progressEnabled(target) || (total !== undefined && total <= PROGRESS_THRESHOLD)) return NO_PROGRESS;
  let bar: cliProgress.SingleBar | undefined;
  let done = 0;
  let started = 0;
  const payload = () => {
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const left = total === undefined || rate === 0 ? undefined : (total - done) / rate;
    return {
      name,
      done: formatBytes(done),
      size: total === undefined ? '?' : formatBytes(total),
      rate: `${formatBytes(rate)}/s`,
      left: left === undefined ? '--' : formatDuration(left),
    };
  };
  const start = () => {
    started = performance.now();
    bar = newBar(target, total === undefined ? '{done} | {rate} | {name}' : '{bar} {percentage}% | {done} / {size} | {rate} | ETA {left} | {name}');
    bar.start(total ?? 0, done, payload());
  };
  if (total !== undefined) start();
  let stopped = false;
  return {
    add(bytes) {
      done += bytes;
      if (stopped) return;
      if (bar === undefined && done > PROGRESS_THRESHOLD) start();
      bar?.update(done, payload());
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar?.stop();
    },
  };
}

/** Counts the bytes of `source` into `progress` as they flow. */
export async function* counted(source: AsyncIterable<Uint8Array>, progress: TransferProgress): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    progress.add(chunk.byteLength);
    yield chunk;
  }
}

/** A bar of work items (certification cases). */
export interface StepProgress {
  /** One more item is done; `label` says which. */
  step(label: string): void;
  stop(): void;
}

/** Starts a bar of `total` items, or nothing when bars are not drawn. */
export function stepProgress(target: ProgressTarget, total: number): StepProgress {
  if (!progressEnabled(target) || total === 0) return { step: () => {}, stop: () => {} };
  const bar = newBar(target, '{bar} {value}/{total} cases | ETA {eta_formatted} | {label}');
  bar.start(total, 0, { label: '' });
  let done = 0;
  let stopped = false;
  return {
    step(label) {
      done += 1;
      bar.update(done, { label });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
