/**
 * The conformance kit's `other-writers` group on the local backend: another program writes the
 * root's files directly, the way rsync, editors and most tools replace a file (written beside it,
 * then renamed over it), copies them and deletes them.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Store } from '@stowage/core';
import type { OtherWriter } from '@stowage/conformance';
import { describeOtherWriters } from '@stowage/conformance/vitest';
import { LocalBackend } from '@stowage/local';

/** Files under `root`, replaced through a temporary file outside it (so that stowage never lists it). */
function filesystemWriter(root: string, scratch: string): OtherWriter {
  const replace = async (key: string, fill: (temporary: string) => Promise<void>): Promise<void> => {
    const temporary = join(scratch, randomBytes(6).toString('hex'));
    await fill(temporary);
    await mkdir(dirname(join(root, key)), { recursive: true });
    await rename(temporary, join(root, key));
  };
  return {
    name: 'the filesystem (write beside, rename over)',
    write: (key, body) => replace(key, (temporary) => writeFile(temporary, body)),
    delete: (key) => rm(join(root, key), { force: true }),
    copy: (from, to) => replace(to, (temporary) => copyFile(join(root, from), temporary)),
  };
}

describeOtherWriters({
  name: 'local',
  factory: async () => {
    const base = await mkdtemp(join(tmpdir(), 'stowage-local-other-writers-'));
    const root = join(base, 'root');
    const scratch = join(base, 'scratch');
    await mkdir(root);
    await mkdir(scratch);
    return { store: new Store(new LocalBackend({ root })), otherWriter: filesystemWriter(root, scratch), teardown: () => rm(base, { recursive: true, force: true }) };
  },
});
