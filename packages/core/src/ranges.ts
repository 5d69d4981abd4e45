/**
 * Byte ranges resolved against an object's size, identically for every adapter.
 *
 * @module
 */
import type { ByteRange } from './backend.ts';
import { RangeNotSatisfiableError, byteCount } from './errors.ts';

/**
 * The bytes `range` selects from an object of `size` bytes: clamped at the end; a suffix longer
 * than the object selects all of it; an offset equal to the size selects nothing; an offset past
 * the end is `RangeNotSatisfiableError`. Adapters call this once they know the size.
 */
export function resolveRange(range: ByteRange, size: number, where: { key: string; backend: string }): { offset: number; length: number } {
  if ('suffix' in range) {
    const length = Math.min(range.suffix, size);
    return { offset: size - length, length };
  }
  if (range.offset > size) {
    throw new RangeNotSatisfiableError(`range starts at ${range.offset}, past the end of ${JSON.stringify(where.key)} (${byteCount(size)})`, {
      key: where.key,
      backend: where.backend,
      size,
    });
  }
  const available = size - range.offset;
  return { offset: range.offset, length: Math.min(range.length ?? available, available) };
}
