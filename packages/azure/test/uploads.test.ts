/** Block sizes for bodies of known size: the configured size until Azure's 50,000 blocks would not hold the body. */
import { describe, expect, it } from 'vitest';
import { MAX_BLOCK_SIZE } from '../src/connection.ts';
import { MAX_BLOCKS, blockSizeFor } from '../src/uploads.ts';

const MiB = 1024 * 1024;

describe('blockSizeFor', () => {
  it('keeps the configured size for unknown sizes and for bodies that fit 50,000 blocks', () => {
    expect(blockSizeFor(undefined, 8 * MiB)).toBe(8 * MiB);
    expect(blockSizeFor(8 * MiB * MAX_BLOCKS, 8 * MiB)).toBe(8 * MiB);
  });

  it('grows in whole MiB so that 50,000 blocks hold the body, up to Azure largest block', () => {
    const size = 8 * MiB * MAX_BLOCKS + 1;
    const grown = blockSizeFor(size, 8 * MiB);
    expect(grown % MiB).toBe(0);
    expect(grown * MAX_BLOCKS).toBeGreaterThanOrEqual(size);
    expect(grown).toBe(9 * MiB);
    expect(blockSizeFor(MAX_BLOCK_SIZE * MAX_BLOCKS, 8 * MiB)).toBe(MAX_BLOCK_SIZE);
  });
});
