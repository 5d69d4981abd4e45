import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { NotFoundError, isStowageError } from '@stowage/core';
import { fromNodeStream, toNodeReadable } from '@stowage/core/node';

describe('fromNodeStream', () => {
  it('yields the Node stream bytes exactly, strings as UTF-8', async () => {
    const stream = fromNodeStream(Readable.from([Buffer.from('ab'), 'cé', new Uint8Array([1, 2])]));
    const chunks: Uint8Array[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(Buffer.concat(chunks)).toEqual(Buffer.concat([Buffer.from('ab'), Buffer.from('cé'), Buffer.from([1, 2])]));
  });

  it('pulls one chunk per read: the source is not drained ahead of the reader', async () => {
    let produced = 0;
    const source = new Readable({
      highWaterMark: 1,
      objectMode: true,
      read() {
        produced++;
        this.push(Buffer.alloc(1024));
        if (produced === 100) this.push(null);
      },
    });
    const reader = fromNodeStream(source).getReader();
    await reader.read();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(produced).toBeLessThan(10);
    await reader.cancel();
    expect(source.destroyed).toBe(true);
  });

  it('maps the source failure through mapError', async () => {
    const source = new Readable({
      read() {
        this.destroy(new Error('socket hang up'));
      },
    });
    const stream = fromNodeStream(source, (error) => new NotFoundError(`mapped: ${(error as Error).message}`));
    const failure = await stream
      .getReader()
      .read()
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(isStowageError(failure, 'NOT_FOUND')).toBe(true);
    expect((failure as Error).message).toBe('mapped: socket hang up');
  });

  it('round-trips with toNodeReadable', async () => {
    const node = toNodeReadable(fromNodeStream(Readable.from([Buffer.from('round'), Buffer.from('trip')])));
    const chunks: Buffer[] = [];
    for await (const chunk of node) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('roundtrip');
  });
});
