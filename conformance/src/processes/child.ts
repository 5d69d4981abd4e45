/**
 * The child process of the cross-process checks. Started as `node child.js <ChildStore as JSON>`;
 * says `{"event":"ready"}` once its modules are loaded, then answers one JSON command per stdin
 * line with one JSON line ({@link Answer}). The store is opened by the first command (`open` does
 * only that), so that a process can be started ahead and still make the next open of the store
 * when it is told to. Closing its stdin closes the store and ends the process.
 *
 * @module
 */
import { writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { isStowageError, type Store } from '@stowage/core';
import { fillPattern } from '../content.ts';
import { checkChildStore, openChildStore, type OpenedChildStore } from './open.ts';
import type { Answer, ChildEvent, Command } from './protocol.ts';

const spec = checkChildStore(JSON.parse(process.argv[2] ?? 'null'));
let opened: Promise<OpenedChildStore> | undefined;
const store = async (): Promise<Store> => (await (opened ??= openChildStore(spec))).store;

/** Writes one line at once (a synchronous write: nothing is lost to a SIGKILL that follows). */
function send(message: Answer | ChildEvent): void {
  writeSync(1, `${JSON.stringify(message)}\n`);
}

/** A short body in small pieces with pauses, so that racing writers overlap while streaming. */
async function* pieces(text: string): AsyncGenerator<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  for (let offset = 0; offset < bytes.byteLength; offset += 8) {
    yield bytes.slice(offset, offset + 8);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** `size` pattern bytes of `seed` in pieces; says `body-end` when the store asks past the last one. */
async function* pattern(id: number, size: number, seed: number, pieceSize: number, ended: () => void): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < size; offset += pieceSize) {
    yield fillPattern(new Uint8Array(Math.min(pieceSize, size - offset)), seed, offset);
  }
  ended();
  send({ event: 'body-end', id });
}

async function run(command: Command): Promise<Omit<Answer, 'id'>> {
  const s = await store();
  switch (command.op) {
    case 'open':
      return { ok: true };
    case 'create':
      return { ok: true, etag: (await s.write(command.key, pieces(command.content), { ifNoneMatch: '*' })).etag };
    case 'stat':
      return { ok: true, etag: (await s.stat(command.key)).etag };
    case 'cas':
      return { ok: true, etag: (await s.write(command.key, pieces(command.content), { ifMatch: command.etag })).etag };
    case 'increment': {
      const written: number[] = [];
      let conflicts = 0;
      while (written.length < command.times) {
        if (conflicts > command.attempts) throw new Error(`gave up after ${conflicts} conflicts`);
        const { info, body } = await s.get(command.key);
        const value = Number(await new Response(body).text());
        try {
          await s.write(command.key, String(value + 1), { ifMatch: info.etag });
          written.push(value + 1);
        } catch (error) {
          if (!isStowageError(error, 'PRECONDITION_FAILED')) throw error;
          conflicts++;
        }
      }
      return { ok: true, written, conflicts };
    }
    case 'write-large': {
      let bodyEnd = 0;
      const start = performance.now();
      send({ event: 'writing', id: command.id });
      const info = await s.write(command.key, pattern(command.id, command.size, command.seed, command.pieceSize, () => (bodyEnd = performance.now())));
      const end = performance.now();
      return { ok: true, etag: info.etag, ms: end - start, commitMs: end - bodyEnd };
    }
  }
}

createInterface({ input: process.stdin })
  .on('line', (line) => {
    const command = JSON.parse(line) as Command;
    run(command).then(
      (answer) => send({ id: command.id, ...answer }),
      (error: unknown) => send({ id: command.id, ok: false, code: isStowageError(error) ? error.code : 'UNEXPECTED', message: String(error) }),
    );
  })
  .on('close', () => {
    void (async () => {
      await (await opened?.catch(() => undefined))?.teardown();
      process.exit(0);
    })();
  });
send({ event: 'ready' });
