/**
 * The `Range` request header (RFC 9110, section 14.2), single ranges of bytes. Several ranges, other
 * units and syntax errors are ignored (the whole object is served), as the RFC allows.
 *
 * @module
 */
import type { ByteRange } from '@stowage/core';

/** The byte range a `Range` header asks for, or undefined when it is to be ignored. */
export function parseRange(header: string | null): ByteRange | undefined {
  if (header === null) return undefined;
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') return { suffix: Number(last) };
  const offset = Number(first);
  if (!Number.isSafeInteger(offset)) return undefined;
  if (last === '') return { offset };
  const end = Number(last);
  if (!Number.isSafeInteger(end) || end < offset) return undefined;
  return { offset, length: end - offset + 1 };
}
