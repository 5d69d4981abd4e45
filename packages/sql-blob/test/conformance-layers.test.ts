/**
 * SQLite through layers, against the whole conformance suite (4 KiB chunks, so that chunked objects
 * go through the layers too): once with every built-in layer stacked (retry, time limit,
 * concurrency limit, logging), once through the fault layer set to inject nothing.
 */
import { layeredStore, type LayerStack } from '@stowage/conformance';
import { describeConformance } from '@stowage/conformance/vitest';
import { openTestBackend } from './servers.ts';

function through(stack: LayerStack) {
  return async () => {
    const opened = await openTestBackend('sqlite', undefined, { chunkSize: 4096 });
    return { store: layeredStore(opened.backend, stack), teardown: opened.teardown };
  };
}

describeConformance({ name: 'sql-blob sqlite (every layer, 4 KiB chunks)', rooted: false, factory: through('every-layer') });
describeConformance({ name: 'sql-blob sqlite (fault layer, no faults, 4 KiB chunks)', rooted: false, factory: through('no-faults') });
