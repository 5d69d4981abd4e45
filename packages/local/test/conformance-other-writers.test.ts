/**
 * The conformance kit's `other-writers` group on the local backend: another program writes the
 * root's files directly, the way rsync, editors and most tools replace a file (written beside it,
 * then renamed over it), copies them and deletes them.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '@stowage/core';
import { filesystemOtherWriter } from '@stowage/conformance';
import { describeOtherWriters } from '@stowage/conformance/vitest';
import { LocalBackend } from '@stowage/local';

describeOtherWriters({
  name: 'local',
  factory: async () => {
    const base = await mkdtemp(join(tmpdir(), 'stowage-local-other-writers-'));
    const root = join(base, 'root');
    await mkdir(root);
    return { store: new Store(new LocalBackend({ root })), otherWriter: await filesystemOtherWriter(root), teardown: () => rm(base, { recursive: true, force: true }) };
  },
});
