/**
 * The memory adapter through layers, against the whole conformance suite: once with every built-in
 * layer stacked (retry, time limit, concurrency limit, logging), once through the fault layer set to
 * inject nothing. A layer forwards what it does not change, so the suite's verdict must not change.
 */
import { layeredStore } from '@stowage/conformance';
import { describeConformance } from '@stowage/conformance/vitest';
import { MemoryBackend } from '../src/index.ts';

describeConformance({ name: 'memory (every layer)', factory: () => layeredStore(new MemoryBackend(), 'every-layer') });
describeConformance({ name: 'memory (fault layer, no faults)', rooted: false, factory: () => layeredStore(new MemoryBackend(), 'no-faults') });
