/**
 * The conformance kit's `other-writers` group on Azure Blob Storage: the bare
 * `@azure/storage-blob` client (as an application that does not use stowage, or azcopy, would
 * write) overwrites, deletes, re-creates and copies blobs beside stowage, with metadata as that
 * client sends it.
 */
import { describe, it } from 'vitest';
import type { OtherWriter } from '@stowage/conformance';
import { describeOtherWriters } from '@stowage/conformance/vitest';
import { openTestBackend, server } from './servers.ts';

if (server.skip !== undefined) {
  describe('azure', () => {
    it.skip(`other writers: ${server.skip}`, () => {});
  });
} else {
  for (const prefix of ['', 'under/a prefix/']) {
    describeOtherWriters({
      name: `azure (Azurite${prefix ? ', prefix' : ''})`,
      rooted: prefix === '',
      factory: async () => {
        const opened = await openTestBackend(prefix ? { prefix: prefix.slice(0, -1) } : {});
        const container = opened.backend.unwrap();
        const otherWriter: OtherWriter = {
          name: 'the bare @azure/storage-blob client',
          // Node's header check refuses characters above U+00FF; those up to it go as UTF-8 bytes.
          metadata: 'latin-1',
          write: async (key, body, options) => void (await container.getBlockBlobClient(prefix + key).uploadData(Buffer.from(body), { metadata: options?.metadata })),
          delete: async (key) => void (await container.getBlobClient(prefix + key).deleteIfExists()),
          copy: async (from, to) => void (await (await container.getBlobClient(prefix + to).beginCopyFromURL(container.getBlobClient(prefix + from).url)).pollUntilDone()),
        };
        return { store: opened.store, teardown: opened.teardown, otherWriter };
      },
    });
  }
}
