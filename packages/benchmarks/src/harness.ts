/**
 * The benchmark harness: comparisons whose sides run alternately in one process (tinybench rounds),
 * cases run in a child process each so that their peak RSS does not mix, and the tables a suite
 * reports.
 *
 * Every figure is a median over rounds or repetitions, and every comparison interleaves its sides
 * (A B, B A, A B, ...) so that a machine that slows down during the run slows both sides alike.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';

/** 1 MiB in bytes. */
export const MiB = 1024 * 1024;
/** 1 KiB in bytes. */
export const KiB = 1024;

/** A table in the report. Cells are text (already formatted) or numbers. */
export interface Table {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: (string | number)[][];
  /** Sentences printed under the table: how to read it, what failed and why. */
  readonly notes: string[];
}

/** The raw data behind a table row, kept in the JSON report. */
export interface Measurement {
  readonly suite: string;
  readonly case: string;
  readonly side: string;
  readonly metric: string;
  readonly unit: string;
  /** The median of `samples`, or undefined when the side failed. */
  readonly median: number | undefined;
  readonly samples: readonly number[];
  readonly error?: string | undefined;
}

/** The sizes and repetitions of a run: the full run, or `--quick` for a CI smoke run. */
export interface RunProfile {
  readonly quick: boolean;
  /** Rounds per in-process comparison. */
  readonly rounds: number;
  /** Time budget per side per round, in ms. */
  readonly roundTime: number;
  /** Repetitions of each child-process case. */
  readonly repetitions: number;
  /** Scales a size meant for the full run down for the quick one. */
  size(full: number, quick: number): number;
}

/** Builds the run profile. */
export function runProfile(quick: boolean): RunProfile {
  return {
    quick,
    rounds: quick ? 2 : 5,
    roundTime: quick ? 100 : 600,
    repetitions: quick ? 1 : 3,
    size: (full, quickSize) => (quick ? quickSize : full),
  };
}

/** The median of some numbers (undefined for none). */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** A size for people: `64 MiB`, `1 GiB`, `1 KiB`. */
export function formatSize(bytes: number): string {
  if (bytes >= 1024 * MiB && bytes % (1024 * MiB) === 0) return `${bytes / (1024 * MiB)} GiB`;
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= KiB && bytes % KiB === 0) return `${bytes / KiB} KiB`;
  return `${bytes} B`;
}

/** A figure with three significant digits (integers above 100 as they are). */
export function formatNumber(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return 'n/a';
  if (Math.abs(value) >= 100) return String(Math.round(value));
  return value.toPrecision(3);
}

/** A ratio as `0.97×`. */
export function formatRatio(subject: number | undefined, reference: number | undefined): string {
  if (subject === undefined || reference === undefined || reference === 0) return 'n/a';
  return `${(subject / reference).toFixed(2)}×`;
}

/** One side of an in-process comparison: one operation, timed per call. */
export interface Side {
  readonly label: string;
  /** Runs one operation (a put, a get, a page...). */
  readonly run: () => Promise<unknown>;
  /** A failure is a result to report (a statement too large for the server), not a broken benchmark. */
  readonly mayFail?: boolean | undefined;
}

/** An in-process comparison. */
export interface ComparisonSpec {
  /** The case, such as `put 1 KiB`. */
  readonly name: string;
  /** `ops/s`, or `MiB/s` with `bytes` moved per operation, or `ms` per operation. */
  readonly unit: 'ops/s' | 'MiB/s' | 'ms';
  readonly bytes?: number | undefined;
  /** The sides; the first is the subject (stowage), the others its references. */
  readonly sides: readonly Side[];
  /** Minimum operations per side per round (default: tinybench's, lowered for slow operations). */
  readonly minIterations?: number | undefined;
}

/** What a comparison measured, per side. */
export interface ComparisonResult {
  readonly spec: ComparisonSpec;
  readonly sides: readonly { label: string; median: number | undefined; samples: number[]; error?: string | undefined }[];
}

/** Converts tinybench's throughput (operations per second) into the comparison's unit. */
function inUnit(spec: ComparisonSpec, opsPerSecond: number): number {
  if (spec.unit === 'MiB/s') return (opsPerSecond * (spec.bytes ?? 0)) / MiB;
  if (spec.unit === 'ms') return 1000 / opsPerSecond;
  return opsPerSecond;
}

/**
 * Runs the sides of a comparison alternately: each round is one tinybench run of every side, in an
 * order that rotates from round to round; the figure of a side is the median of its rounds.
 */
export async function compare(spec: ComparisonSpec, profile: RunProfile): Promise<ComparisonResult> {
  const samples = spec.sides.map(() => [] as number[]);
  const errors: (string | undefined)[] = spec.sides.map(() => undefined);
  for (let round = 0; round < profile.rounds; round++) {
    const bench = new Bench({
      time: profile.roundTime,
      iterations: spec.minIterations ?? (spec.unit === 'ops/s' ? 32 : 3),
      warmup: round === 0,
      warmupIterations: 2,
      warmupTime: 0,
    });
    const order = spec.sides.map((_, index) => (index + round) % spec.sides.length).filter((index) => errors[index] === undefined);
    // `async: true`: without it tinybench calls the function once when it is added, to find out
    // whether it returns a promise, and leaves that call running beside the next one.
    for (const index of order) bench.add(String(index), spec.sides[index]!.run, { async: true });
    await bench.run();
    for (const task of bench.tasks) {
      const index = Number(task.name);
      const result = task.result;
      if (result.state === 'completed') samples[index]!.push(inUnit(spec, result.throughput.mean));
      else if (result.state === 'errored') errors[index] = result.error.message;
      else errors[index] = `tinybench ended the task as ${result.state}`;
      if (errors[index] !== undefined && !spec.sides[index]!.mayFail) {
        throw new Error(`${spec.name}, ${spec.sides[index]!.label}: ${errors[index]}`);
      }
    }
  }
  return {
    spec,
    sides: spec.sides.map((side, index) => ({ label: side.label, median: errors[index] ? undefined : median(samples[index]!), samples: samples[index]!, error: errors[index] })),
  };
}

/** What a child-process case reports: its metrics (name → value) and the child's peak RSS. */
export interface ChildResult {
  readonly metrics: Readonly<Record<string, number>>;
  /** Peak resident set size of the child, in MiB (`VmHWM` from `/proc/self/status`; not `resourceUsage().maxRSS`, which on Linux keeps the forked parent's high-water mark across `execve`). */
  readonly peakRssMiB: number;
}

// The child runs what this module runs: the built `child.js` (no type stripping, so that its RSS is
// what a user's process would show) or, from the sources, `child.ts` under the source condition.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const CHILD_ENTRY = fileURLToPath(new URL(FROM_SOURCE ? './child.ts' : './child.js', import.meta.url));
const CHILD_FLAGS = FROM_SOURCE ? ['--conditions=@stowage/source', '--no-warnings'] : ['--no-warnings'];

/**
 * Runs one case in a fresh Node process (`src/child.ts`), so that its peak RSS is its own. The
 * case is `export const childCases = { [name]: (params) => metrics }` in the suite module `suite`.
 */
export function runChild(suite: string, name: string, params: Readonly<Record<string, unknown>>): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CHILD_FLAGS, CHILD_ENTRY, JSON.stringify({ suite, name, params })], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        const parsed = JSON.parse(line) as ChildResult | { error: string };
        if ('error' in parsed) reject(new Error(parsed.error));
        else resolve(parsed);
      } catch {
        // An uncaught error prints a source excerpt first: its own line ("RangeError: ...") says more.
        const lines = stderr.trim().split('\n');
        const cause = lines.find((text) => /^\w*Error\b/.test(text.trim())) ?? lines.slice(-3).join(' | ');
        reject(new Error(`the ${suite}/${name} child exited (${signal ?? `code ${code}`}) without a result: ${cause.trim() || 'no output'}`));
      }
    });
  });
}

/** One implementation of a child-process comparison. */
export interface ChildSide {
  readonly label: string;
  /** The child cases to run, in order, each with its parameters (e.g. write, then read). */
  readonly steps: readonly { name: string; params: Readonly<Record<string, unknown>> }[];
  /** Runs in this process after each repetition's steps (drop a table, remove a file). */
  readonly cleanup?: (() => Promise<void>) | undefined;
  /** A failure is a result to report (a statement too large for the server), not a broken benchmark. */
  readonly mayFail?: boolean | undefined;
}

/** Per side: per step, the metric samples, the peak RSS samples, or the error that stopped it. */
export interface ChildComparisonResult {
  readonly sides: readonly {
    label: string;
    steps: { name: string; metrics: Record<string, number[]>; peakRssMiB: number[]; error?: string | undefined }[];
  }[];
}

/**
 * Runs the sides of a child-process comparison alternately (A B, B A, ...) for the profile's
 * repetitions. A side whose step fails is recorded with the error and not run again: a failure (a
 * statement too large for the server, a string past V8's limit) is a result to report.
 */
export async function compareInChildren(suite: string, sides: readonly ChildSide[], profile: RunProfile, log: (line: string) => void): Promise<ChildComparisonResult> {
  const results = sides.map((side) => ({
    label: side.label,
    steps: side.steps.map((step) => ({ name: step.name, metrics: {} as Record<string, number[]>, peakRssMiB: [] as number[], error: undefined as string | undefined })),
  }));
  for (let repetition = 0; repetition < profile.repetitions; repetition++) {
    for (let offset = 0; offset < sides.length; offset++) {
      const index = (repetition % 2 === 0 ? offset : sides.length - 1 - offset) % sides.length;
      const side = sides[index]!;
      const result = results[index]!;
      if (result.steps.some((step) => step.error !== undefined)) continue;
      try {
        for (const [stepIndex, step] of side.steps.entries()) {
          const stepResult = result.steps[stepIndex]!;
          try {
            const child = await runChild(suite, step.name, step.params);
            for (const [metric, value] of Object.entries(child.metrics)) (stepResult.metrics[metric] ??= []).push(value);
            stepResult.peakRssMiB.push(child.peakRssMiB);
            log(`  ${side.label} ${step.name}: ${Object.entries(child.metrics).map(([m, v]) => `${m} ${formatNumber(v)}`).join(', ')}, peak RSS ${Math.round(child.peakRssMiB)} MiB`);
          } catch (error) {
            stepResult.error = (error as Error).message;
            log(`  ${side.label} ${step.name}: failed: ${stepResult.error}`);
            if (!side.mayFail) throw new Error(`${side.label} ${step.name} failed: ${stepResult.error}`, { cause: error });
            break;
          }
        }
      } finally {
        await side.cleanup?.();
      }
    }
  }
  return { sides: results };
}

/** What a suite gets to report with. */
export interface SuiteContext {
  readonly profile: RunProfile;
  /** A new table in the report, in the order they are made. */
  table(title: string, columns: readonly string[]): Table;
  /** Records raw figures behind a table row (for the JSON report). */
  record(measurement: Omit<Measurement, 'suite'>): void;
  /** A line of progress on stderr. */
  log(line: string): void;
  /** A sentence in the report under the suite's heading (a server version, a caveat). */
  note(text: string): void;
}

/** A benchmark suite: one backend (or one family of comparisons). */
export interface BenchSuite {
  readonly name: string;
  /** A sentence for the report's heading. */
  readonly description: string;
  /** Why this suite cannot run here (a server that is not reachable), or undefined when it can. */
  unavailable?(): Promise<string | undefined>;
  run(context: SuiteContext): Promise<void>;
}

/** Adds the rows of an in-process comparison to a table: case, each side's figure, and the ratio of the subject to each reference. */
export function addComparisonRows(table: Table, context: SuiteContext, result: ComparisonResult): void {
  const subject = result.sides[0]!;
  for (const side of result.sides) {
    context.record({ case: result.spec.name, side: side.label, metric: result.spec.unit, unit: result.spec.unit, median: side.median, samples: side.samples, error: side.error });
  }
  const cells = result.sides.map((side) => (side.error ? `fails: ${side.error}` : formatNumber(side.median)));
  // For a time per operation, lower is better: the ratio is still subject/reference, as for throughput, but of speeds.
  const speed = (value: number | undefined): number | undefined => (value === undefined ? undefined : result.spec.unit === 'ms' ? 1 / value : value);
  const ratios = result.sides.slice(1).map((reference) => formatRatio(speed(subject.median), speed(reference.median)));
  table.rows.push([result.spec.name, result.spec.unit, ...cells, ...ratios]);
}
