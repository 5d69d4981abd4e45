/**
 * A logging layer: one line per backend operation, with its duration, outcome and bytes, to any
 * logger with `debug`/`info`/`warn`/`error` methods (`console`, pino, winston, ...). Bodies,
 * metadata, credentials and error messages never appear; keys only when asked for (they can be
 * personal data).
 *
 * @module
 */
import { checkKnownFields, checkOptions, describeValue } from '../arguments.ts';
import { InvalidArgumentError } from '../errors.ts';
import type { Layer } from './layer.ts';
import { observingLayer, type ObservedCall, type ObservedOutcome } from './observation.ts';

/** A level of the logger. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** What the logging layer needs of a logger: a method per level. */
export type Logger = Record<LogLevel, (...args: never[]) => unknown>;

/** The fields of one line, also passed to the logger as an object. */
export interface LogFields {
  /** Always `'stowage'`. */
  readonly source: 'stowage';
  /** The backend's name. */
  readonly backend: string;
  /** The operation. */
  readonly operation: string;
  /** `'ok'`, `'error'` or `'cancelled'`. */
  readonly outcome: ObservedOutcome['status'];
  /** Milliseconds, rounded to a tenth. */
  readonly durationMs: number;
  /** The stowage error code of a failure. */
  readonly code?: string | undefined;
  /** Bytes read (reads) or written (writes). */
  readonly bytes?: number | undefined;
  /** The key (or prefix), only with `includeKeys`. */
  readonly key?: string | undefined;
  /** The destination of a copy or move, only with `includeKeys`. */
  readonly to?: string | undefined;
}

/** Options of {@link loggingLayer}. */
export interface LoggingOptions {
  /** The logger (for example `console`, or a pino or winston logger). */
  logger: Logger;
  /** The level of operations that succeed (default `'debug'`). */
  level?: LogLevel | undefined;
  /** The level of operations that fail (default `'warn'`). */
  failureLevel?: LogLevel | undefined;
  /** Put keys, prefixes and destinations in the lines (off by default: keys can be personal data). */
  includeKeys?: boolean | undefined;
  /**
   * How the logger takes a line: `'message-first'` (default) calls `logger.debug(line, fields)`, as
   * console and winston expect; `'fields-first'` calls `logger.debug(fields, line)`, as pino expects.
   */
  style?: 'message-first' | 'fields-first' | undefined;
  /** Operations not to log (for example `['health']`). */
  skip?: readonly string[] | undefined;
}

function level(value: unknown, name: string, fallback: LogLevel): LogLevel {
  if (value === undefined) return fallback;
  if (!LEVELS.includes(value as LogLevel)) throw new InvalidArgumentError(`loggingLayer: ${name} must be one of ${LEVELS.join(', ')}, got ${describeValue(value)}`);
  return value as LogLevel;
}

/**
 * Logs every operation of the wrapped backend when it ends: `stowage local write ok 1.2ms 1024
 * bytes`, with the same facts as an object for structured loggers.
 *
 * @example
 * ```ts
 * const store = new Store(backend, { layers: [loggingLayer({ logger: console, level: 'info' })] })
 * await store.write('a.txt', 'hi') // console.info('stowage memory write ok 0.1ms 2 bytes', { ... })
 * ```
 */
export function loggingLayer(options: LoggingOptions): Layer {
  options = checkOptions(options as LoggingOptions | undefined, 'loggingLayer');
  checkKnownFields(options as unknown as Record<string, unknown>, ['logger', 'level', 'failureLevel', 'includeKeys', 'style', 'skip'], 'loggingLayer');
  const { logger } = options;
  if (typeof logger !== 'object' || logger === null || LEVELS.some((name) => typeof (logger as Record<string, unknown>)[name] !== 'function')) {
    throw new InvalidArgumentError(`loggingLayer: logger must have debug, info, warn and error methods (console, pino, winston), got ${describeValue(logger)}`);
  }
  const okLevel = level(options.level, 'level', 'debug');
  const failureLevel = level(options.failureLevel, 'failureLevel', 'warn');
  const includeKeys = options.includeKeys ?? false;
  if (typeof includeKeys !== 'boolean') throw new InvalidArgumentError(`loggingLayer: includeKeys must be a boolean, got ${describeValue(includeKeys)}`);
  const style = options.style ?? 'message-first';
  if (style !== 'message-first' && style !== 'fields-first') throw new InvalidArgumentError(`loggingLayer: style must be 'message-first' or 'fields-first', got ${describeValue(style)}`);
  const skip = new Set(options.skip ?? []);
  const log = (call: ObservedCall, outcome: ObservedOutcome): void => {
    const bytes = call.operation === 'read' ? outcome.bytesRead : call.operation === 'write' ? outcome.bytesWritten : undefined;
    const fields: LogFields = {
      source: 'stowage',
      backend: call.backend,
      operation: call.operation,
      outcome: outcome.status,
      durationMs: Math.round(outcome.durationMs * 10) / 10,
      ...(outcome.code !== undefined ? { code: outcome.code } : {}),
      ...(bytes !== undefined ? { bytes } : {}),
      ...(includeKeys && call.key !== undefined ? { key: call.key } : {}),
      ...(includeKeys && call.to !== undefined ? { to: call.to } : {}),
    };
    const parts = ['stowage', call.backend, call.operation];
    if (fields.key !== undefined) parts.push(JSON.stringify(fields.key));
    if (fields.to !== undefined) parts.push('to', JSON.stringify(fields.to));
    parts.push(outcome.status === 'error' ? `failed${fields.code ? ` ${fields.code}` : ''}` : outcome.status, `${fields.durationMs}ms`);
    if (bytes !== undefined) parts.push(`${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`);
    const line = parts.join(' ');
    const method = (logger as Record<LogLevel, (...args: unknown[]) => unknown>)[outcome.status === 'error' ? failureLevel : okLevel];
    if (style === 'fields-first') method.call(logger, fields, line);
    else method.call(logger, line, fields);
  };
  return observingLayer('logging', (call) => (skip.has(call.operation) ? undefined : { end: (outcome) => log(call, outcome) }));
}
