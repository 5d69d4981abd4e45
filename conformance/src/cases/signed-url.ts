/**
 * Signed URLs (capability `signedUrl`): where declared, `signUrl` returns an absolute http(s) URL for
 * GET and PUT; where not, it is refused with `CAPABILITY_NOT_SUPPORTED` before any I/O. Fetching the
 * URL is left to the adapter's own tests: a link verified by stowage's HTTP handler needs that handler.
 *
 * @module
 */
import assert from 'node:assert/strict';
import { assertNoBackendCalls, rejectsWithCode } from '../assertions.ts';
import type { ConformanceCase } from '../types.ts';
import { defineGroup, type CaseSpec } from './define.ts';

const specs: CaseSpec[] = [
  {
    id: 'sign',
    name: 'where signedUrl is declared, signUrl returns absolute http(s) URLs for GET and PUT',
    capability: 'signedUrl',
    requires: 'declared',
    async run({ store }) {
      await store.write('signed.txt', 'x');
      const sign = store.signUrl.bind(store) as (key: string, options?: object) => Promise<string>;
      for (const options of [{}, { method: 'GET', expiresIn: 60 }, { method: 'PUT', expiresIn: 60, contentType: 'text/plain' }]) {
        const url = new URL(await sign('signed.txt', options));
        assert.ok(url.protocol === 'https:' || url.protocol === 'http:', `${JSON.stringify(options)}: ${url.protocol} URL`);
      }
    },
  },
  {
    id: 'invalid-options',
    name: 'where signedUrl is declared, an expiry outside 1 s to 7 days or an unknown method is refused with INVALID_ARGUMENT',
    capability: 'signedUrl',
    requires: 'declared',
    async run(context) {
      const { store, calls } = context.recording();
      const sign = store.signUrl.bind(store) as (key: string, options?: object) => Promise<string>;
      for (const options of [{ expiresIn: 0 }, { expiresIn: 604801 }, { expiresIn: 1.5 }, { method: 'DELETE' }]) {
        await rejectsWithCode(sign('signed.txt', options), 'INVALID_ARGUMENT', JSON.stringify(options));
      }
      assertNoBackendCalls(calls, 'invalid signing options');
    },
  },
  {
    id: 'refused',
    name: 'where signedUrl is not declared, signUrl is refused with CAPABILITY_NOT_SUPPORTED before any I/O',
    capability: 'signedUrl',
    requires: 'undeclared',
    async run(context) {
      const { store, calls } = context.recording();
      const sign = store.signUrl.bind(store) as (key: string, options?: object) => Promise<string>;
      await rejectsWithCode(sign('a.txt'), 'CAPABILITY_NOT_SUPPORTED', 'signUrl');
      await rejectsWithCode(sign('a.txt', { method: 'PUT' }), 'CAPABILITY_NOT_SUPPORTED', 'signUrl PUT');
      assertNoBackendCalls(calls, 'signUrl refusal');
    },
  },
];

/** The `signed-url` group. */
export const signedUrlCases: readonly ConformanceCase[] = defineGroup('signed-url', specs);
