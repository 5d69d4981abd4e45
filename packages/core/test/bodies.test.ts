import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { meterBody, raceSignal } from '@stowage/core';

/** A source that yields the same buffer over and over, refilled before each yield (as a hand-written file reader does). */
async function* reusingSource(pieces: number, size: number): AsyncGenerator<Uint8Array> {
  const buffer = new Uint8Array(size);
  for (let index = 0; index < pieces; index++) {
    buffer.fill(index + 1);
    buffer[0] = index;
    yield buffer;
  }
}

function expectedDigest(pieces: number, size: number): string {
  const hash = createHash('sha256');
  for (let index = 0; index < pieces; index++) {
    const piece = new Uint8Array(size).fill(index + 1);
    piece[0] = index;
    hash.update(piece);
  }
  return hash.digest('hex');
}

describe('meterBody: hashing overlaps the consumer and stays exact', () => {
  it('hashes each chunk before the source is asked for the next, whatever the consumer awaits', async () => {
    // 4 KiB chunks are hashed at once; 64 KiB ones while the consumer works on them.
    for (const size of [4096, 64 * 1024]) for (const consume of [
      async () => {},
      async () => {
        await sleep(1);
      },
      async () => {
        await new Promise((resolve) => setImmediate(resolve));
      },
    ]) {
      const metered = meterBody(reusingSource(20, size));
      let total = 0;
      for await (const chunk of metered.chunks) {
        total += chunk.byteLength;
        await consume();
      }
      expect(total).toBe(20 * size);
      expect(metered.bytes()).toBe(20 * size);
      expect(metered.sha256()).toBe(expectedDigest(20, size));
    }
  });

  it('fails loudly, rather than store a wrong digest, when the consumer detaches a chunk it was given', async () => {
    async function* fresh(): AsyncGenerator<Uint8Array> {
      for (let index = 0; index < 3; index++) yield new Uint8Array(64 * 1024).fill(index);
    }
    const metered = meterBody(fresh(), { backend: 'transferring' });
    const consume = async (): Promise<void> => {
      for await (const chunk of metered.chunks) structuredClone(chunk.buffer, { transfer: [chunk.buffer as ArrayBuffer] });
    };
    await expect(consume()).rejects.toThrow(/transferring detached a body chunk/);
    expect(() => metered.sha256()).toThrow(/before the body was fully read/);
  });

  it('an early stop leaves no pending work behind and releases the source', async () => {
    let released = false;
    async function* source(): AsyncGenerator<Uint8Array> {
      try {
        for (let index = 0; index < 10; index++) yield new Uint8Array(16).fill(index);
      } finally {
        released = true;
      }
    }
    const metered = meterBody(source());
    for await (const chunk of metered.chunks) {
      expect(chunk.byteLength).toBe(16);
      break;
    }
    await sleep(5);
    expect(released).toBe(true);
    expect(metered.bytes()).toBe(16);
    expect(() => metered.sha256()).toThrow(/before the body was fully read/);
  });
});

describe('raceSignal', () => {
  it("settles as the promise does, or rejects with the reason as soon as the signal fires, swallowing the abandoned promise's rejection", async () => {
    expect(await raceSignal(Promise.resolve(1), undefined)).toBe(1);
    expect(await raceSignal(Promise.resolve(2), new AbortController().signal)).toBe(2);
    await expect(raceSignal(Promise.reject(new Error('own')), new AbortController().signal)).rejects.toThrow('own');

    const controller = new AbortController();
    let rejectLate!: (error: Error) => void;
    const pending = new Promise<number>((_, reject) => {
      rejectLate = reject;
    });
    const raced = raceSignal(pending, controller.signal);
    controller.abort(new Error('stop'));
    await expect(raced).rejects.toThrow('stop');
    // A rejection after the abort reaches nobody, and is not reported as unhandled.
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    rejectLate(new Error('late'));
    await sleep(10);
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);

    const fired = AbortSignal.abort();
    await expect(raceSignal(new Promise(() => {}), fired, () => new Error('made here'))).rejects.toThrow('made here');
  });
});
