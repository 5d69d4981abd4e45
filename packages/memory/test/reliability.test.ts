import { Store } from '@stowage/core';
import { describeReliability } from '@stowage/conformance/reliability';
import { MemoryBackend } from '@stowage/memory';

describeReliability({ name: 'memory', factory: () => new Store(new MemoryBackend()) });
