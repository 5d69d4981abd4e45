/**
 * The README's example, runnable: `node --conditions=@stowage/source packages/azure/examples/quickstart.ts`.
 *
 * With `AZURE_STORAGE_CONNECTION_STRING` set it uses that account (and a container named
 * `stowage-quickstart`, created when missing); without it, it starts Azurite in memory for the run.
 */
import { Store, isStowageError } from '@stowage/core';
import { AzureBlobBackend } from '@stowage/azure';
import { startAzurite } from '@stowage/conformance/servers';

const azurite = process.env.AZURE_STORAGE_CONNECTION_STRING ? undefined : await startAzurite({ resolveFrom: import.meta.url });
const connectionString = process.env.AZURE_STORAGE_CONNECTION_STRING ?? azurite!.settings.connectionString!;
const backend = await AzureBlobBackend.open({ container: 'stowage-quickstart', connectionString, createContainer: true });
const store = new Store(backend);
try {
  const written = await store.write('notes/hello.txt', 'Hello, world!', { metadata: { author: 'zoë' } });
  console.log(await store.readText('notes/hello.txt')); // Hello, world!
  console.log((await store.stat('notes/hello.txt')).metadata); // { author: 'zoë' }

  // Compare-and-swap, then create-only: Azure checks the etag and If-None-Match itself.
  await store.write('notes/hello.txt', 'Hello again!', { ifMatch: written.etag });
  try {
    await store.write('notes/hello.txt', 'first!', { ifNoneMatch: '*' });
  } catch (error) {
    if (!isStowageError(error, 'ALREADY_EXISTS')) throw error;
  }

  // 20 MiB streamed: staged in 8 MiB blocks and committed at once; a range read fetches 16 bytes.
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < 20; i++) yield new Uint8Array(1024 * 1024).fill(i);
  }
  await store.write('big.bin', chunks());
  console.log((await store.readBytes('big.bin', { range: { suffix: 16 } })).byteLength); // 16

  // A link anyone can download with for ten minutes (a SAS signed with the account key).
  const url = await store.signUrl('notes/hello.txt', { expiresIn: 600 });
  console.log((await fetch(url)).status); // 200

  for await (const entry of store.listAll({ prefix: 'notes/' })) console.log(entry.key, entry.size);
  await store.deleteMany(['notes/hello.txt', 'big.bin']);
} finally {
  await store.close();
  await azurite?.stop();
}
