/**
 * The local adapter against the whole conformance suite (bare and rooted), each run on a fresh
 * temporary root that is removed afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '@stowage/core';
import { describeConformance } from '@stowage/conformance/vitest';
import { LocalBackend } from '@stowage/local';

describeConformance({
  name: 'local',
  factory: async () => {
    const root = await mkdtemp(join(tmpdir(), 'stowage-local-conformance-'));
    return { store: new Store(new LocalBackend({ root })), teardown: () => rm(root, { recursive: true, force: true }) };
  },
});
