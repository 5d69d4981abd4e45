/**
 * How the command fails: the codes it prints, the exit status of each, and the one line it writes.
 *
 * Every failure is one line on standard error, `stowage: <CODE>: <message> (<location>)`, with
 * secrets masked; `--verbose` adds the chain of causes below it. The codes are stowage's own error
 * codes plus two of the command's: `USAGE` (the command line) and `CONFIG` (the configuration).
 *
 * @module
 */
import { AbortedError, isStowageError, type ErrorCode } from '@stowage/core';

/** A code the command prints: one of stowage's error codes, or one of the command's own. */
export type FailureCode = ErrorCode | 'USAGE' | 'CONFIG' | 'ERROR';

/**
 * The exit status for each code. Documented in the README; scripts may rely on them.
 *
 * `0` success, `1` any other failure (and a certification with failing cases, a doctor run with an
 * unhealthy store), `2` usage, `3` not found, `4` invalid key or input, `5` conflict, `6` capability
 * not supported, `7` permission denied, `8` unavailable, `9` configuration, `10` storage full,
 * `130` interrupted.
 */
export const EXIT_CODES: Readonly<Record<FailureCode, number>> = {
  ERROR: 1,
  USAGE: 2,
  NOT_FOUND: 3,
  INVALID_PATH: 4,
  INVALID_ARGUMENT: 4,
  TOO_LARGE: 4,
  RANGE_NOT_SATISFIABLE: 4,
  ALREADY_EXISTS: 5,
  PRECONDITION_FAILED: 5,
  CAPABILITY_NOT_SUPPORTED: 6,
  PERMISSION_DENIED: 7,
  UNAVAILABLE: 8,
  CONFIG: 9,
  STORAGE_FULL: 10,
  ABORTED: 130,
};

/** The exit status of a run interrupted by SIGTERM (SIGINT's is `EXIT_CODES.ABORTED`, 130). */
export const EXIT_TERMINATED = 143;

/** Options of a {@link CommandError}. */
export interface CommandErrorOptions {
  /** The location the failure concerns, as the user wrote it (masked before printing). */
  location?: string | undefined;
  /** The error underneath, shown with `--verbose`. */
  cause?: unknown;
}

/** A failure of the command itself (not of a store): a bad command line or configuration. */
export class CommandError extends Error {
  /** `USAGE` or `CONFIG`. */
  readonly code: 'USAGE' | 'CONFIG';
  /** The location it concerns, if any. */
  readonly location: string | undefined;

  constructor(code: 'USAGE' | 'CONFIG', message: string, options: CommandErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.location = options.location;
  }
}

/** A usage error: exit status 2. */
export function usageError(message: string, location?: string): CommandError {
  return new CommandError('USAGE', message, { location });
}

/** A configuration error: exit status 9. */
export function configError(message: string, options: CommandErrorOptions = {}): CommandError {
  return new CommandError('CONFIG', message, options);
}

/** The code the command prints for an error. */
export function failureCode(error: unknown): FailureCode {
  if (error instanceof CommandError) return error.code;
  if (isStowageError(error)) return error.code;
  return 'ERROR';
}

/** The exit status for an error. */
export function exitCodeOf(error: unknown): number {
  return EXIT_CODES[failureCode(error)];
}

/** Knows the location of a failure when the error does not: the command attaches it with {@link atLocation}. */
const LOCATION = Symbol('stowage.cli.location');

/** Records which location an error concerns (the first one recorded wins) and returns the error. */
export function atLocation<T>(error: T, location: string): T {
  if (typeof error === 'object' && error !== null && !(LOCATION in error)) {
    Object.defineProperty(error, LOCATION, { value: location, enumerable: false });
  }
  return error;
}

function locationOf(error: unknown): string | undefined {
  if (error instanceof CommandError && error.location !== undefined) return error.location;
  if (typeof error === 'object' && error !== null && LOCATION in error) return (error as { [LOCATION]: string })[LOCATION];
  return undefined;
}

/**
 * The failure to report for a run stopped by a signal: `ABORTED` with a plain message, at the
 * location of the operation that was interrupted, whatever error the interruption surfaced as.
 */
export function interruptedFailure(error: unknown, signalName: string): AbortedError {
  const interrupted = new AbortedError(`interrupted by ${signalName}: the object being written was not stored, its destination is as it was`, { cause: error });
  const location = locationOf(error);
  return location === undefined ? interrupted : atLocation(interrupted, location);
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Keeps a message on one line: the command's contract is one line per failure. */
function oneLine(text: string): string {
  return text.replace(/\s*\r?\n\s*/g, ' ').trim();
}

/**
 * The lines that describe a failure: `stowage: <CODE>: <message> (<location>)`, then, with
 * `verbose`, one `  cause: ...` line per nested cause (and the stack of an unexpected error). Every
 * line goes through `mask`.
 */
export function describeFailure(error: unknown, mask: (text: string) => string, verbose: boolean): string[] {
  const code = failureCode(error);
  const location = locationOf(error);
  const lines = [`stowage: ${code}: ${oneLine(messageOf(error))}${location === undefined ? '' : ` (${location})`}`];
  if (verbose) {
    if (isStowageError(error) && (error.backend !== undefined || error.key !== undefined)) {
      lines.push(`  backend: ${error.backend ?? 'unknown'}${error.key === undefined ? '' : `, key: ${JSON.stringify(error.key)}`}`);
    }
    let cause = (error as { cause?: unknown } | null)?.cause;
    for (let depth = 0; cause !== undefined && depth < 8; depth++) {
      const name = cause instanceof Error ? cause.name : typeof cause;
      const detail = (cause as { code?: unknown } | null)?.code;
      lines.push(`  cause: ${name}${typeof detail === 'string' ? ` [${detail}]` : ''}: ${oneLine(messageOf(cause))}`);
      cause = (cause as { cause?: unknown } | null)?.cause;
    }
    if (code === 'ERROR' && error instanceof Error && error.stack) {
      for (const frame of error.stack.split('\n').slice(1)) lines.push(`  ${frame.trim()}`);
    }
  }
  return lines.map(mask);
}
