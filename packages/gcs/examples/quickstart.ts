/**
 * The README's example, runnable against real GCS or an emulator:
 *
 *   node --conditions=@stowage/source packages/gcs/examples/quickstart.ts gs://my-bucket/demo
 *   STORAGE_EMULATOR_HOST=http://127.0.0.1:4443 node --conditions=@stowage/source packages/gcs/examples/quickstart.ts gs://test-bucket/demo?projectId=test
 *
 * Credentials: Application Default Credentials, or `&credentials=/path/to/key.json` in the URL.
 */
import { isStowageError, openStore } from '@stowage/core';

const url = process.argv[2];
if (!url) throw new Error('usage: quickstart.ts gs://bucket/prefix');
const store = await openStore(url, { load: (name) => import(name) });
try {
  const written = await store.write('notes/hello.txt', 'Hello, world!', { metadata: { author: 'zoë' } });
  console.log(await store.readText('notes/hello.txt')); // Hello, world!
  console.log(written.etag, written.versionId, written.md5); // "<generation>.<metageneration>", the generation, the MD5

  // Compare-and-swap on the generation, then create-only: GCS decides both.
  await store.write('notes/hello.txt', 'Hello again!', { ifMatch: written.etag });
  try {
    await store.write('notes/hello.txt', 'first!', { ifNoneMatch: '*' });
  } catch (error) {
    if (!isStowageError(error, 'ALREADY_EXISTS')) throw error;
  }

  // A link anyone can download for ten minutes (needs credentials that can sign).
  try {
    console.log(await store.signUrl('notes/hello.txt', { expiresIn: 600 }));
  } catch (error) {
    if (!isStowageError(error, 'PERMISSION_DENIED')) throw error;
    console.log('no signing credentials:', error.message);
  }

  for await (const entry of store.listAll({ prefix: 'notes/' })) console.log(entry.key, entry.size);
  await store.deleteMany(['notes/hello.txt']);
} finally {
  await store.close();
}
