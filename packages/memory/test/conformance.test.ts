/**
 * The memory adapter against the whole conformance suite: once as a flat object store, once
 * emulating the filesystem rule (`hierarchical: true`), each also on a rooted store.
 */
import { Store } from '@stowage/core';
import { describeConformance } from '@stowage/conformance/vitest';
import { MemoryBackend } from '../src/index.ts';

describeConformance({ name: 'memory', factory: () => new Store(new MemoryBackend()) });

describeConformance({ name: 'memory (hierarchical)', factory: () => new Store(new MemoryBackend({ hierarchical: true })) });
