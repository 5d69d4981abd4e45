/**
 * What a command is (its options, help and `run`), what it runs with (the {@link Context}), and how
 * its arguments are parsed (`node:util`'s `parseArgs`, strict).
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { describeFailure, EXIT_CODES, exitCodeOf, usageError } from './failures.ts';
import type { Session } from './stores.ts';

/** The streams and environment a run uses (the process's own, from the `stowage` binary). */
export interface Io {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean | undefined };
  stdout: NodeJS.WritableStream & { isTTY?: boolean | undefined };
  stderr: NodeJS.WritableStream & { isTTY?: boolean | undefined };
  cwd: string;
  env: Record<string, string | undefined>;
}

/** One option of a command. */
export interface OptionSpec {
  type: 'boolean' | 'string';
  short?: string | undefined;
  multiple?: boolean | undefined;
  /** The placeholder of a string option's value in the help (`FILE`, `SECONDS`). */
  value?: string | undefined;
  description: string;
}

/** The parsed command line of one command. */
export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** What a command runs with. */
export interface Context {
  readonly io: Io;
  readonly session: Session;
  /** Fires on Ctrl-C (SIGINT) or SIGTERM: every store operation gets it, so nothing partial is stored. */
  readonly signal: AbortSignal;
  readonly quiet: boolean;
  readonly verbose: boolean;
  /** Prints a result line on standard output, masked. */
  print(line: string): void;
  /** Prints a note for a person on standard error: only on a terminal and not with `--quiet`; masked. */
  note(line: string): void;
  /** Reports a failure that does not stop the command (one object of many); the run's exit status becomes non-zero. */
  fail(error: unknown): void;
  /** The exit status so far: 0, or that of the first failure {@link fail} reported. */
  readonly status: number;
}

/** A command: its help and its job. */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Usage lines, without the leading `stowage `. */
  usage: readonly string[];
  /** Paragraphs of explanation. */
  description: readonly string[];
  options: Readonly<Record<string, OptionSpec>>;
  /** Example command lines with what each does. */
  examples: readonly (readonly [string, string])[];
  /**
   * Whether the command runs until it is stopped (`serve`): Ctrl-C or SIGTERM is then its normal
   * end, and the status it resolves with stands instead of the interrupted one.
   */
  runsUntilStopped?: boolean | undefined;
  /** Runs the command; resolves with the exit status. */
  run(context: Context, args: ParsedArgs): Promise<number>;
}

/** Options every command takes. */
export const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  config: { type: 'string', value: 'FILE', description: 'the configuration file (default: $STOWAGE_CONFIG, else stowage.config.json/.yaml/.yml here)' },
  quiet: { type: 'boolean', short: 'q', description: 'no progress bars or notes: only results and errors' },
  verbose: { type: 'boolean', short: 'v', description: 'errors also show their backend, key and causes' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

/** Parses a command's arguments (global options allowed anywhere); usage errors for anything unknown. */
export function parseCommandArgs(command: Command, argv: readonly string[]): ParsedArgs {
  const options: Record<string, { type: 'boolean' | 'string'; short?: string; multiple?: boolean }> = {};
  for (const [name, spec] of Object.entries({ ...command.options, ...GLOBAL_OPTIONS })) {
    options[name] = { type: spec.type, ...(spec.short ? { short: spec.short } : {}), ...(spec.multiple ? { multiple: true } : {}) };
  }
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (error) {
    const message = (error as Error).message.split('. ')[0] ?? 'invalid arguments';
    throw usageError(`${message} (see stowage ${command.name} --help)`);
  }
}

/** The help of one command. */
export function commandHelp(command: Command): string {
  const lines = [`Usage: ${command.usage.map((usage) => `stowage ${usage}`).join('\n       ')}`, '', command.summary, ''];
  for (const paragraph of command.description) lines.push(paragraph, '');
  const entries = Object.entries({ ...command.options, ...GLOBAL_OPTIONS }).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : ''}`;
    return [flag, spec.description] as const;
  });
  const width = Math.max(...entries.map(([flag]) => flag.length));
  lines.push('Options:');
  for (const [flag, description] of entries) lines.push(`  ${flag.padEnd(width)}  ${description}`);
  if (command.examples.length > 0) {
    lines.push('', 'Examples:');
    for (const [example, what] of command.examples) lines.push(`  ${what}:`, `    $ stowage ${example}`);
  }
  lines.push('', 'Locations, configuration and exit codes: stowage --help', '');
  return lines.join('\n');
}

/** Builds the context of one run. */
export function createContext(io: Io, session: Session, signal: AbortSignal, flags: { quiet: boolean; verbose: boolean }): Context {
  let status = 0;
  return {
    io,
    session,
    signal,
    quiet: flags.quiet,
    verbose: flags.verbose,
    print(line) {
      io.stdout.write(`${session.mask(line)}\n`);
    },
    note(line) {
      if (!flags.quiet && io.stderr.isTTY === true) io.stderr.write(`${session.mask(line)}\n`);
    },
    fail(error) {
      for (const line of describeFailure(error, (text) => session.mask(text), flags.verbose)) io.stderr.write(`${line}\n`);
      if (status === 0) status = signal.aborted ? EXIT_CODES.ABORTED : exitCodeOf(error);
    },
    get status() {
      return status;
    },
  };
}

/** A string option's value (the last one given), or undefined. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  if (Array.isArray(value)) return value.at(-1);
  return typeof value === 'string' ? value : undefined;
}

/** A boolean option's value. */
export function flag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

/** Checks the number of positional arguments. */
export function expectPositionals(command: Command, args: ParsedArgs, min: number, max: number, what: string): void {
  const count = args.positionals.length;
  if (count < min || count > max) throw usageError(`${command.name} takes ${what}, got ${count} argument${count === 1 ? '' : 's'} (see stowage ${command.name} --help)`);
}
