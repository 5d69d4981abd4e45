/**
 * The local adapter through layers, against the whole conformance suite: once with every built-in
 * layer stacked (retry, time limit, concurrency limit, logging), once through the fault layer set to
 * inject nothing, each on a fresh temporary root that is removed afterwards.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { layeredStore, type LayerStack } from '@stowage/conformance';
import { describeConformance } from '@stowage/conformance/vitest';
import { LocalBackend } from '@stowage/local';

function through(stack: LayerStack) {
  return async () => {
    const root = await mkdtemp(join(tmpdir(), 'stowage-local-layers-'));
    return { store: layeredStore(new LocalBackend({ root }), stack), teardown: () => rm(root, { recursive: true, force: true }) };
  };
}

describeConformance({ name: 'local (every layer)', rooted: false, factory: through('every-layer') });
describeConformance({ name: 'local (fault layer, no faults)', rooted: false, factory: through('no-faults') });
