/**
 * The signed-url group (and the rest of the suite) on backends that cannot sign natively, with the
 * HMAC links of @stowage/http served by a real HTTP server on 127.0.0.1: GET links return the exact
 * bytes, PUT links store uploads, tampered and expired links are refused.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, type Backend } from '@stowage/core';
import { describeConformance } from '@stowage/conformance/vitest';
import { LocalBackend } from '@stowage/local';
import { MemoryBackend } from '@stowage/memory';
import { SqlBlobBackend } from '@stowage/sql-blob';
import { createHandler, createSigner } from '@stowage/http';
import { serve } from './server.ts';

async function signedStore(backend: Backend, cleanup: () => Promise<void> = async () => {}) {
  const server = await serve();
  const signer = createSigner({ baseUrl: `${server.origin}/files/`, secrets: 'conformance-secret-'.repeat(3) });
  const store = new Store(backend).withSigner(signer);
  server.use(createHandler(store, { signer, uploads: { maxSize: 64 * 1024 * 1024 } }));
  return {
    store,
    teardown: async () => {
      await server.close();
      await store.close();
      await cleanup();
    },
  };
}

describeConformance({ name: 'memory + signed links', factory: () => signedStore(new MemoryBackend()) });

describeConformance({
  name: 'local + signed links',
  rooted: false,
  factory: async () => {
    const root = await mkdtemp(join(tmpdir(), 'stowage-http-local-'));
    return signedStore(new LocalBackend({ root }), () => rm(root, { recursive: true, force: true }));
  },
});

describeConformance({
  name: 'sql-blob sqlite + signed links',
  rooted: false,
  factory: async () => {
    const directory = await mkdtemp(join(tmpdir(), 'stowage-http-sqlite-'));
    return signedStore(await SqlBlobBackend.open({ url: `sqlite:${join(directory, 'store.db')}` }), () => rm(directory, { recursive: true, force: true }));
  },
});
