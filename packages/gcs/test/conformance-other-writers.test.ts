/**
 * The conformance kit's `other-writers` group on GCS: the bare `@google-cloud/storage` client (as
 * an application that does not use stowage, or gsutil, would write) overwrites, deletes, re-creates
 * and copies objects beside stowage, with custom metadata as that client sends it (JSON, UTF-8).
 */
import { describe, it } from 'vitest';
import type { OtherWriter } from '@stowage/conformance';
import { describeOtherWriters } from '@stowage/conformance/vitest';
import { openTestStore, server, serverOverrides } from './servers.ts';

if (server.skip !== undefined) {
  describe('gcs', () => {
    it.skip(`other writers: ${server.skip}`, () => {});
  });
} else {
  describeOtherWriters({
    name: `gcs (${server.server})`,
    overrides: serverOverrides(),
    factory: async () => {
      const opened = await openTestStore();
      const bucket = opened.backend.unwrap();
      const name = (key: string): string => opened.backend.prefix + key;
      const otherWriter: OtherWriter = {
        name: 'the bare @google-cloud/storage client',
        metadata: true,
        write: (key, body, options) => bucket.file(name(key)).save(Buffer.from(body), { resumable: false, metadata: options?.metadata ? { metadata: options.metadata } : {} }),
        delete: async (key) => void (await bucket.file(name(key)).delete({ ignoreNotFound: true })),
        copy: async (from, to) => void (await bucket.file(name(from)).copy(bucket.file(name(to)))),
      };
      return { store: opened.store, teardown: opened.teardown, otherWriter };
    },
  });
}
