/**
 * The library demo: the job of examples/demo.sh (the `stowage` command) done with `Store` in code:
 * stores a file in a local folder store, lists the folder and reads the file back. No server needed.
 *
 *   pnpm demo:library                                         after `bash scripts/run.sh setup`
 *   node --conditions=@stowage/source examples/demo.ts        on the repository's sources (Node >= 22.18)
 *
 * It can run any number of times: every run overwrites the note and counts itself in `runs.json`
 * with a compare-and-swap write.
 */
import { isStowageError, openStore } from '@stowage/core';

// `file:` URLs open the local adapter; the registry imports @stowage/local on first use. The folder
// is relative to the working directory (scripts/run.sh runs from the repository root).
const store = await openStore('file:./.stowage-demo');

try {
  // Write: strings, bytes, Blobs and streams are all accepted. The content type comes from the
  // extension when not given.
  const note = await store.write('notes/hello.txt', 'Hello, world!');
  console.log(`stored ${note.key} (${note.size} bytes, ${note.contentType})`);

  // Compare-and-swap: read the counter with its etag, write it back only if nobody changed it since.
  const runs = await countRun();
  console.log(`stored runs.json (this demo has run ${runs} time${runs === 1 ? '' : 's'} in ./.stowage-demo)`);

  // List: every object under a prefix, in the same (byte) order on every backend.
  console.log('listing of notes/:');
  for await (const entry of store.listAll({ prefix: 'notes/' })) {
    console.log(`  ${entry.key}  ${entry.size} bytes  modified ${entry.lastModified.toISOString()}`);
  }

  // Read back: the whole object, then only its first 5 bytes.
  const text = await store.readText('notes/hello.txt');
  const head = new TextDecoder().decode(await store.readBytes('notes/hello.txt', { range: { offset: 0, length: 5 } }));
  console.log(`read back notes/hello.txt: ${JSON.stringify(text)} (first 5 bytes: ${JSON.stringify(head)})`);

  const info = await store.stat('notes/hello.txt');
  console.log(`stat: etag ${info.etag}, sha256 ${info.sha256 ?? 'unknown'}`);
} finally {
  await store.close();
}

/** Increments `runs.json` with a conditional write, creating it on the first run; returns the new count. */
async function countRun(): Promise<number> {
  for (;;) {
    try {
      const current = await store.get('runs.json');
      const count = ((await new Response(current.body).json()) as { count: number }).count + 1;
      await store.write('runs.json', JSON.stringify({ count }), { ifMatch: current.info.etag });
      return count;
    } catch (error) {
      if (isStowageError(error, 'NOT_FOUND')) {
        try {
          await store.write('runs.json', JSON.stringify({ count: 1 }), { ifNoneMatch: '*' });
          return 1;
        } catch (createError) {
          if (!isStowageError(createError, 'ALREADY_EXISTS')) throw createError;
        }
      } else if (!isStowageError(error, 'PRECONDITION_FAILED')) {
        throw error;
      }
      // Another process wrote in between: read again and retry.
    }
  }
}
