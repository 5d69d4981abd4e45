/**
 * One run of the command: global options, the command, its context, and the failure line and exit
 * status when something goes wrong. The `stowage` binary calls {@link runStowage} with the process's
 * streams and a signal wired to SIGINT and SIGTERM.
 *
 * @module
 */
import { commandHelp, createContext, flag, parseCommandArgs, stringOption, type Command, type Io } from './command.ts';
import { COMMANDS } from './commands/index.ts';
import { loadConfig } from './config.ts';
import { describeFailure, EXIT_CODES, EXIT_TERMINATED, exitCodeOf, interruptedFailure, usageError } from './failures.ts';
import { overallHelp } from './help.ts';
import { Session } from './stores.ts';
import { commandVersion } from './version.ts';

/** Options of {@link runStowage}. */
export interface RunOptions {
  /** Streams, working directory and environment (default: the process's). */
  io?: Partial<Io> | undefined;
  /** Aborts the run: the operation in progress stops and leaves its destination as it was. */
  signal?: AbortSignal | undefined;
}

/** Splits the global options before the command name from the rest. */
function splitCommandLine(argv: readonly string[]): { leading: string[]; name: string | undefined; rest: string[] } {
  const leading: string[] = [];
  let index = 0;
  while (index < argv.length && argv[index]!.startsWith('-') && argv[index] !== '-') {
    const token = argv[index]!;
    leading.push(token);
    index += 1;
    if (token === '--config' && index < argv.length) leading.push(argv[index++]!);
  }
  return { leading, name: argv[index], rest: argv.slice(index + 1) };
}

/** The closest command names to a mistyped one (same first letter or edit distance 1 or 2). */
function suggestions(name: string): string[] {
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, index) => index);
    for (let i = 1; i <= a.length; i++) {
      let previous = row[0]!;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const current = row[j]!;
        row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
        previous = current;
      }
    }
    return row[b.length]!;
  };
  return COMMANDS.map((command) => command.name).filter((candidate) => distance(name, candidate) <= 2);
}

function findCommand(name: string): Command {
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command) return command;
  const close = suggestions(name);
  throw usageError(`unknown command '${name}'${close.length > 0 ? ` (did you mean ${close.join(' or ')}?)` : ''}; stowage --help lists the commands`);
}

/**
 * Runs `stowage` with the given arguments (without the leading `node` and script) and resolves with
 * the exit status. Never throws: failures are printed as one line on standard error.
 *
 * @example
 * ```ts
 * import { runStowage } from '@stowage/cli'
 * process.exitCode = await runStowage(['ls', '-l', ':reports/'])
 * ```
 */
export async function runStowage(argv: readonly string[], options: RunOptions = {}): Promise<number> {
  const io: Io = {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    cwd: process.cwd(),
    env: process.env,
    ...options.io,
  };
  const signal = options.signal ?? new AbortController().signal;
  let session: Session | undefined;
  let verbose = argv.includes('--verbose') || argv.includes('-v');
  try {
    const { leading, name, rest } = splitCommandLine(argv);
    if (leading.includes('--version')) {
      io.stdout.write(`stowage ${commandVersion()}\n`);
      return 0;
    }
    if (name === undefined || name === 'help' || leading.includes('--help') || leading.includes('-h')) {
      const topic = name === 'help' ? rest[0] : undefined;
      io.stdout.write(topic === undefined ? overallHelp(COMMANDS, commandVersion()) : commandHelp(findCommand(topic)));
      return 0;
    }
    const command = findCommand(name);
    const args = parseCommandArgs(command, [...leading.filter((token) => token !== '--version'), ...rest]);
    if (flag(args, 'help')) {
      io.stdout.write(commandHelp(command));
      return 0;
    }
    verbose = flag(args, 'verbose');
    const config = await loadConfig({ explicit: stringOption(args, 'config'), env: io.env, cwd: io.cwd });
    session = new Session(config, io.cwd, io.env);
    const context = createContext(io, session, signal, { quiet: flag(args, 'quiet'), verbose });
    const status = await command.run(context, args);
    return signal.aborted && command.runsUntilStopped !== true ? abortedStatus(signal) : status;
  } catch (error) {
    // A pipe closed by its reader (`stowage cat x | head`) is not a failure worth a line.
    if (signal.aborted && (signal.reason as { code?: string } | undefined)?.code === 'EPIPE') return 0;
    const failure = signal.aborted ? interruptedFailure(error, signalName(signal)) : error;
    for (const line of describeFailure(failure, (text) => session?.mask(text) ?? text, verbose)) io.stderr.write(`${line}\n`);
    return signal.aborted ? abortedStatus(signal) : exitCodeOf(error);
  } finally {
    await session?.close();
  }
}

/** The name of the signal that aborted the run (`SIGINT` unless the reason says otherwise). */
function signalName(signal: AbortSignal): string {
  const name = (signal.reason as { signal?: unknown } | undefined)?.signal;
  return typeof name === 'string' ? name : 'SIGINT';
}

function abortedStatus(signal: AbortSignal): number {
  return signalName(signal) === 'SIGTERM' ? EXIT_TERMINATED : EXIT_CODES.ABORTED;
}
