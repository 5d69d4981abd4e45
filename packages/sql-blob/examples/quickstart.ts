/**
 * The README's example, runnable: `node --conditions=@stowage/source packages/sql-blob/examples/quickstart.ts`
 * (SQLite in memory by default; pass a URL such as `postgres://postgres@127.0.0.1/test` to use a server).
 */
import { Store, isStowageError } from '@stowage/core';
import { SqlBlobBackend } from '@stowage/sql-blob';

const url = process.argv[2] ?? 'sqlite::memory:';
const backend = await SqlBlobBackend.open({ url, tableName: 'quickstart_objects' });
const store = new Store(backend);
try {
  const written = await store.write('notes/hello.txt', 'Hello, world!', { metadata: { author: 'zoë' } });
  console.log(await store.readText('notes/hello.txt')); // Hello, world!
  console.log((await store.stat('notes/hello.txt')).metadata); // { author: 'zoë' }

  // Compare-and-swap, then create-only.
  await store.write('notes/hello.txt', 'Hello again!', { ifMatch: written.etag });
  try {
    await store.write('notes/hello.txt', 'first!', { ifNoneMatch: '*' });
  } catch (error) {
    if (!isStowageError(error, 'ALREADY_EXISTS')) throw error;
  }

  // 3 MiB: stored as three 1 MiB chunk rows; a range read fetches only the last one.
  await store.write('big.bin', new Uint8Array(3 * 1024 * 1024).fill(7));
  const tail = await store.readBytes('big.bin', { range: { suffix: 16 } });
  console.log(tail.byteLength); // 16

  for await (const entry of store.listAll({ prefix: 'notes/' })) console.log(entry.key, entry.size);
  await store.deleteMany(['notes/hello.txt', 'big.bin']);
} finally {
  await store.close();
}
