/**
 * Assertions the cases use, on top of `node:assert/strict`, so that the suite runs without a test
 * runner. Failures say what the contract expected and what the backend did.
 *
 * @module
 */
import { AssertionError } from 'node:assert';
import { createHash } from 'node:crypto';
import { isStowageError, type ErrorCode, type StowageError } from '@stowage/core';

/** Describes an error for a failure message: its code when it is a stowage error, else its name. */
export function describeError(error: unknown): string {
  if (isStowageError(error)) return `${(error as StowageError).name} (${(error as StowageError).code}): ${(error as StowageError).message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return `non-error value ${JSON.stringify(error)}`;
}

/**
 * Awaits `operation` and asserts that it rejects with a stowage error of `code`; returns the error
 * for further checks. Accepts a promise or a function (a synchronous throw counts as a rejection).
 */
export async function rejectsWithCode(
  operation: Promise<unknown> | (() => unknown),
  code: ErrorCode,
  what: string,
): Promise<StowageError> {
  let result: unknown;
  try {
    result = await (typeof operation === 'function' ? operation() : operation);
  } catch (error) {
    if (isStowageError(error, code)) return error;
    throw new AssertionError({
      message: `${what}: expected a ${code} error, got ${describeError(error)}`,
      actual: error,
      expected: code,
      operator: 'rejectsWithCode',
    });
  }
  throw new AssertionError({
    message: `${what}: expected a ${code} error, but it succeeded${result === undefined ? '' : ` with ${summarize(result)}`}`,
    actual: result,
    expected: code,
    operator: 'rejectsWithCode',
  });
}

function summarize(value: unknown): string {
  try {
    const text = JSON.stringify(value);
    return text.length > 200 ? `${text.slice(0, 197)}...` : text;
  } catch {
    return String(value);
  }
}

/** Asserts that a recorded store made no backend call: the operation was refused before any I/O. */
export function assertNoBackendCalls(calls: readonly string[], what: string): void {
  if (calls.length > 0) {
    throw new AssertionError({
      message: `${what}: expected no backend call before the refusal, but the backend saw ${calls.join(', ')}`,
      actual: calls,
      expected: [],
      operator: 'assertNoBackendCalls',
    });
  }
}

/** Asserts byte equality; the failure names the first differing offset instead of dumping megabytes. */
export function assertBytesEqual(actual: Uint8Array, expected: Uint8Array, what: string): void {
  if (actual.byteLength === expected.byteLength) {
    const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
    const b = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength);
    if (a.equals(b)) return;
  }
  let offset = 0;
  const length = Math.min(actual.byteLength, expected.byteLength);
  while (offset < length && actual[offset] === expected[offset]) offset++;
  throw new AssertionError({
    message:
      actual.byteLength === expected.byteLength
        ? `${what}: bytes differ first at offset ${offset} of ${expected.byteLength}`
        : `${what}: got ${actual.byteLength} bytes, expected ${expected.byteLength} (first difference at offset ${offset})`,
    operator: 'assertBytesEqual',
  });
}

/** Lowercase hex SHA-256 of some bytes. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Lowercase hex MD5 of some bytes. */
export function md5Hex(bytes: Uint8Array | string): string {
  return createHash('md5').update(bytes).digest('hex');
}

let crc32cTable: Uint32Array | undefined;

/** Lowercase hex CRC32C (Castagnoli, big-endian) of some bytes, as GCS and S3 report it. */
export function crc32cHex(bytes: Uint8Array | string): string {
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  if (!crc32cTable) {
    crc32cTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      crc32cTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of data) crc = crc32cTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return ((crc ^ 0xffffffff) >>> 0).toString(16).padStart(8, '0');
}

/** Size and SHA-256 of everything a read stream yields, without holding it; checks every chunk is a `Uint8Array`. */
export async function digestStream(stream: ReadableStream<Uint8Array>, what: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  const reader = stream.getReader();
  try {
    while (true) {
      const next = await reader.read();
      if (next.done) break;
      if (!(next.value instanceof Uint8Array)) {
        throw new AssertionError({ message: `${what}: the read stream yielded a ${typeof next.value}, not a Uint8Array`, operator: 'digestStream' });
      }
      size += next.value.byteLength;
      hash.update(next.value);
    }
  } finally {
    reader.releaseLock();
  }
  return { size, sha256: hash.digest('hex') };
}

/** Collects an async iterable into an array. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Runs `tasks` with at most `limit` in flight, in order of start; resolves when all are done. */
export async function inParallel<T>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      await task(items[index]!, index);
    }
  });
  await Promise.all(workers);
}

/** Whether `error` is `target` or has it somewhere in its `cause` chain (an adapter may wrap a source error). */
export function hasInCauseChain(error: unknown, target: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 10 && current !== undefined && current !== null; depth++) {
    if (current === target) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
