/**
 * Health and declarations: the backend answers, declares a complete capability object, and
 * implements every required method.
 *
 * @module
 */
import assert from 'node:assert/strict';
import { assertCapabilities } from '@stowage/core';
import type { ConformanceCase } from '../types.ts';
import { defineGroup, type CaseSpec } from './define.ts';

const specs: CaseSpec[] = [
  {
    id: 'resolves',
    name: 'health() resolves',
    async run({ store }) {
      await store.health();
      await store.health({ signal: new AbortController().signal });
    },
  },
  {
    id: 'declaration',
    name: 'the backend has a name and declares a complete, valid capability object',
    async run({ store }) {
      assert.equal(typeof store.backendName, 'string');
      assert.ok(store.backendName.length > 0, 'the backend has a name');
      assertCapabilities(store.capabilities, store.backendName);
    },
  },
  {
    id: 'required-methods',
    name: 'the backend implements every required method of the contract',
    async run({ store }) {
      const { backend } = store;
      for (const method of ['stat', 'read', 'write', 'delete', 'list', 'health', 'close', 'unwrap'] as const) {
        assert.equal(typeof backend[method], 'function', `backend.${method}`);
      }
    },
  },
];

/** The `health` group. */
export const healthCases: readonly ConformanceCase[] = defineGroup('health', specs);
