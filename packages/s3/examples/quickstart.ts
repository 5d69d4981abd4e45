/**
 * The README's example, runnable against any S3 server:
 * `node --conditions=@stowage/source packages/s3/examples/quickstart.ts 's3://KEY:SECRET@bucket/prefix?endpoint=http%3A%2F%2F127.0.0.1%3A9000&forcePathStyle=true'`
 * (without credentials in the URL, the SDK's provider chain applies: environment, profile, role).
 */
import { isStowageError, openStore } from '@stowage/core';

const url = process.argv[2];
if (!url) {
  console.error('usage: quickstart.ts s3://bucket/prefix?region=eu-west-1');
  process.exit(2);
}
// `load` resolves @stowage/s3 from this package, wherever the package manager put it.
const store = await openStore(url, { load: (specifier) => import(specifier) });
try {
  const written = await store.write('notes/hello.txt', 'Hello, world!', { metadata: { author: 'zoë' } });
  console.log(await store.readText('notes/hello.txt')); // Hello, world!
  console.log((await store.stat('notes/hello.txt')).metadata); // { author: 'zoë' }

  // Compare-and-swap on the etag, then create-only: If-Match and If-None-Match on the server.
  await store.write('notes/hello.txt', 'Hello again!', { ifMatch: written.etag });
  try {
    await store.write('notes/hello.txt', 'first!', { ifNoneMatch: '*' });
  } catch (error) {
    if (!isStowageError(error, 'ALREADY_EXISTS')) throw error;
  }

  // 20 MiB streamed, of unknown length: a multipart upload, a few parts in memory at a time.
  async function* generated(): AsyncGenerator<Uint8Array> {
    for (let index = 0; index < 20; index++) yield new Uint8Array(1024 * 1024).fill(index);
  }
  const big = await store.write('big.bin', generated());
  console.log(big.size, big.sha256);
  const tail = await store.readBytes('big.bin', { range: { suffix: 16 } });
  console.log(tail.byteLength); // 16

  // A link anyone can download for five minutes.
  console.log(await store.signUrl('notes/hello.txt', { expiresIn: 300 }));

  for await (const entry of store.listAll({ prefix: 'notes/' })) console.log(entry.key, entry.size);
  await store.deleteMany(['notes/hello.txt', 'big.bin']);
} finally {
  await store.close();
}
