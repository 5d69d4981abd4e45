/**
 * Copy and move (capabilities `copy` and `move`, native or emulated by core): content, content type,
 * metadata and SHA-256 arrive; the source stays (copy) or disappears (move); create-only
 * destinations (`ifNoneMatch: '*'`, capability `conditionalWrite`).
 *
 * @module
 */
import assert from 'node:assert/strict';
import type { ObjectInfo, Store } from '@stowage/core';
import { assertBytesEqual, assertNoBackendCalls, rejectsWithCode } from '../assertions.ts';
import { patternBytes } from '../content.ts';
import type { CaseContext, ConformanceCase } from '../types.ts';
import { defineGroup, expectedMetadata, metadataOption, type CaseSpec } from './define.ts';

const META = { origin: 'source ✓', x_n: '1' };

/** Writes a source of chunkSize + 1 bytes with a content type and (where stored) metadata. */
async function writeSource(context: CaseContext, key: string, seed = 500): Promise<{ bytes: Uint8Array; info: ObjectInfo }> {
  const bytes = patternBytes(context.options.chunkSize + 1, seed);
  const info = await context.store.write(key, bytes, { contentType: 'application/x-source', ...metadataOption(context, META) });
  return { bytes, info };
}

/** Checks that `key` holds `bytes` with the source's content type, metadata and SHA-256. */
async function expectCopyOf(context: CaseContext, key: string, bytes: Uint8Array, source: ObjectInfo, returned: ObjectInfo): Promise<void> {
  const { store } = context;
  const info = await store.stat(key);
  assert.equal(returned.key, key, 'the returned info names the destination');
  assert.equal(info.size, bytes.byteLength, 'size');
  assert.equal(info.contentType, 'application/x-source', 'content type carried over');
  assert.deepEqual(info.metadata, expectedMetadata(context, META), 'metadata carried over');
  assert.equal(info.sha256, source.sha256, 'sha256 carried over');
  assert.equal(returned.etag, info.etag, 'the returned etag is the destination\'s');
  assertBytesEqual(await store.readBytes(key), bytes, 'content');
}

async function writeOther(store: Store, key: string): Promise<ObjectInfo> {
  return store.write(key, 'existing destination', { contentType: 'text/x-old' });
}

const specs: CaseSpec[] = [
  {
    id: 'copy',
    name: 'copy carries content, content type, metadata and SHA-256, and the source stays',
    capability: 'copy',
    async run(context) {
      const { bytes, info } = await writeSource(context, 'src.bin');
      const returned = await context.store.copy('src.bin', 'dst.bin');
      await expectCopyOf(context, 'dst.bin', bytes, info, returned);
      assertBytesEqual(await context.store.readBytes('src.bin'), bytes, 'the source stays');
      assert.equal((await context.store.stat('src.bin')).etag, info.etag, 'the source is unchanged');
    },
  },
  {
    id: 'copy-into-new-folder',
    name: 'copy into a folder that does not exist yet creates it',
    capability: 'copy',
    async run(context) {
      await context.store.write('flat.txt', 'x');
      await context.store.copy('flat.txt', 'new/deep/folder/copy.txt');
      assert.equal(await context.store.readText('new/deep/folder/copy.txt'), 'x');
    },
  },
  {
    id: 'copy-overwrite',
    name: 'copy replaces an existing destination: content, content type and metadata',
    capability: 'copy',
    async run(context) {
      const { bytes, info } = await writeSource(context, 'src.bin');
      await context.store.write('dst.bin', 'old', { contentType: 'text/x-old', ...metadataOption(context, { stale: 'yes' }) });
      const returned = await context.store.copy('src.bin', 'dst.bin');
      await expectCopyOf(context, 'dst.bin', bytes, info, returned);
    },
  },
  {
    id: 'copy-onto-itself',
    name: 'copying an object onto itself leaves it intact',
    capability: 'copy',
    async run(context) {
      const { bytes, info } = await writeSource(context, 'self.bin');
      const returned = await context.store.copy('self.bin', 'self.bin');
      await expectCopyOf(context, 'self.bin', bytes, info, returned);
    },
  },
  {
    id: 'copy-missing',
    name: 'copy of a missing source fails with NOT_FOUND and creates nothing',
    capability: 'copy',
    async run({ store }) {
      await rejectsWithCode(store.copy('missing.bin', 'dst.bin'), 'NOT_FOUND', 'copy');
      assert.equal(await store.exists('dst.bin'), false);
    },
  },
  {
    id: 'copy-native-method',
    name: "where copy is declared 'native', the backend implements copy()",
    capability: 'copy',
    async run({ store, capabilities }) {
      if (capabilities.copy === 'native') assert.equal(typeof store.backend.copy, 'function', 'backend.copy');
    },
  },
  {
    id: 'move',
    name: 'move carries content, content type, metadata and SHA-256, and the source disappears',
    capability: 'move',
    async run(context) {
      const { bytes, info } = await writeSource(context, 'src.bin');
      const returned = await context.store.move('src.bin', 'moved/dst.bin');
      await expectCopyOf(context, 'moved/dst.bin', bytes, info, returned);
      await rejectsWithCode(context.store.stat('src.bin'), 'NOT_FOUND', 'the source after the move');
    },
  },
  {
    id: 'move-overwrite',
    name: 'move replaces an existing destination',
    capability: 'move',
    async run(context) {
      const { bytes, info } = await writeSource(context, 'src.bin');
      await writeOther(context.store, 'dst.bin');
      const returned = await context.store.move('src.bin', 'dst.bin');
      await expectCopyOf(context, 'dst.bin', bytes, info, returned);
      assert.equal(await context.store.exists('src.bin'), false, 'the source is gone');
    },
  },
  {
    id: 'move-onto-itself',
    name: 'moving an object onto itself leaves it intact',
    capability: 'move',
    async run(context) {
      const { bytes, info } = await writeSource(context, 'self.bin');
      await context.store.move('self.bin', 'self.bin');
      const after = await context.store.stat('self.bin');
      await expectCopyOf(context, 'self.bin', bytes, info, after);
    },
  },
  {
    id: 'move-missing',
    name: 'move of a missing source fails with NOT_FOUND and creates nothing',
    capability: 'move',
    async run({ store }) {
      await rejectsWithCode(store.move('missing.bin', 'dst.bin'), 'NOT_FOUND', 'move');
      assert.equal(await store.exists('dst.bin'), false);
    },
  },
  {
    id: 'move-native-method',
    name: "where move is declared 'atomic' or 'native', the backend implements move()",
    capability: 'move',
    async run({ store, capabilities }) {
      if (capabilities.move !== 'emulated') assert.equal(typeof store.backend.move, 'function', 'backend.move');
    },
  },
  {
    id: 'create-only-copy',
    name: "copy with ifNoneMatch '*' onto an existing destination fails with ALREADY_EXISTS and changes nothing; onto a free one it copies",
    capability: 'conditionalWrite',
    requires: 'declared',
    async run(context) {
      const { store } = context;
      const { bytes, info } = await writeSource(context, 'src.bin');
      const old = await writeOther(store, 'dst.bin');
      await rejectsWithCode(store.copy('src.bin', 'dst.bin', { ifNoneMatch: '*' }), 'ALREADY_EXISTS', 'copy onto an existing key');
      const after = await store.stat('dst.bin');
      assert.equal(after.etag, old.etag, 'the destination is unchanged');
      assert.equal(await store.readText('dst.bin'), 'existing destination');
      const returned = await store.copy('src.bin', 'free.bin', { ifNoneMatch: '*' });
      await expectCopyOf(context, 'free.bin', bytes, info, returned);
    },
  },
  {
    id: 'create-only-move',
    name: "move with ifNoneMatch '*' onto an existing destination fails with ALREADY_EXISTS and keeps both objects",
    capability: 'conditionalWrite',
    requires: 'declared',
    async run(context) {
      const { store } = context;
      const { bytes } = await writeSource(context, 'src.bin');
      const old = await writeOther(store, 'dst.bin');
      await rejectsWithCode(store.move('src.bin', 'dst.bin', { ifNoneMatch: '*' }), 'ALREADY_EXISTS', 'move onto an existing key');
      assert.equal((await store.stat('dst.bin')).etag, old.etag, 'the destination is unchanged');
      assertBytesEqual(await store.readBytes('src.bin'), bytes, 'the source is still there');
      await store.move('src.bin', 'free.bin', { ifNoneMatch: '*' });
      assert.equal(await store.exists('src.bin'), false, 'a create-only move to a free key moves');
    },
  },
  {
    id: 'create-only-refused',
    name: "where conditionalWrite is not declared, copy or move with ifNoneMatch '*' is refused with CAPABILITY_NOT_SUPPORTED before any I/O",
    capability: 'conditionalWrite',
    requires: 'undeclared',
    async run(context) {
      const { store, calls } = context.recording();
      await rejectsWithCode(store.copy('a', 'b', { ifNoneMatch: '*' as never }), 'CAPABILITY_NOT_SUPPORTED', 'copy');
      await rejectsWithCode(store.move('a', 'b', { ifNoneMatch: '*' as never }), 'CAPABILITY_NOT_SUPPORTED', 'move');
      assertNoBackendCalls(calls, 'create-only copy refusal');
    },
  },
];

/** The `copy-move` group. */
export const copyMoveCases: readonly ConformanceCase[] = defineGroup('copy-move', specs);
