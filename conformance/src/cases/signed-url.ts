/**
 * Signed URLs (capability `signedUrl`): where declared, `signUrl` returns an absolute http(s) URL for
 * GET and PUT, and the cases fetch them with plain `fetch` and no credentials: a GET link returns the
 * exact bytes, a PUT link stores the uploaded bytes, an expired or tampered link is refused. Where not
 * declared, `signUrl` is refused with `CAPABILITY_NOT_SUPPORTED` before any I/O. A link verified by
 * stowage's own HTTP handler needs that handler running where the link points: the factory's job.
 *
 * @module
 */
import assert from 'node:assert/strict';
import { assertBytesEqual, assertNoBackendCalls, rejectsWithCode } from '../assertions.ts';
import { patternBytes } from '../content.ts';
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
    id: 'fetch-get',
    name: 'a signed GET URL, fetched without credentials, returns exactly the stored bytes',
    capability: 'signedUrl',
    requires: 'declared',
    async run({ store }) {
      const bytes = patternBytes(70_000, 31);
      await store.write('dir/signed get.bin', bytes);
      const response = await fetch(await store.signUrl('dir/signed get.bin', { expiresIn: 300 }));
      assert.equal(response.status, 200, `GET of a signed URL answered ${response.status}`);
      assertBytesEqual(new Uint8Array(await response.arrayBuffer()), bytes, 'the body of a signed GET');
    },
  },
  {
    id: 'fetch-put',
    name: 'a signed PUT URL stores the uploaded bytes under its key, readable through the store',
    capability: 'signedUrl',
    requires: 'declared',
    async run({ store }) {
      const bytes = patternBytes(40_000, 32);
      const url = await store.signUrl('uploads/put é.bin', { method: 'PUT', expiresIn: 300, contentType: 'application/x-test' });
      // Azure Blob refuses a PUT without x-ms-blob-type; every other server ignores the header.
      const response = await fetch(url, { method: 'PUT', body: new Blob([bytes as Uint8Array<ArrayBuffer>]), headers: { 'content-type': 'application/x-test', 'x-ms-blob-type': 'BlockBlob' } });
      await response.body?.cancel();
      assert.ok(response.status >= 200 && response.status < 300, `PUT to a signed URL answered ${response.status}`);
      assertBytesEqual(await store.readBytes('uploads/put é.bin'), bytes, 'the object a signed PUT stored');
      assert.equal((await store.stat('uploads/put é.bin')).contentType, 'application/x-test', 'the content type of a signed PUT');
    },
  },
  {
    id: 'tampered',
    name: 'a signed URL whose key was altered is refused, and reveals nothing of the other object',
    capability: 'signedUrl',
    requires: 'declared',
    async run({ store }) {
      await store.write('signed-a.txt', 'content of a');
      await store.write('signed-b.txt', 'content of b');
      const url = new URL(await store.signUrl('signed-a.txt', { expiresIn: 300 }));
      assert.ok(url.pathname.includes('signed-a.txt'), `the key appears in the signed URL's path (${url.pathname})`);
      url.pathname = url.pathname.replace('signed-a.txt', 'signed-b.txt');
      const response = await fetch(url);
      const text = await response.text();
      assert.ok(response.status >= 400 && response.status < 500, `a tampered URL answered ${response.status}`);
      assert.ok(!text.includes('content of b'), 'a tampered URL returned the other object');
    },
  },
  {
    id: 'expired',
    name: 'a signed URL is refused once it has expired',
    capability: 'signedUrl',
    requires: 'declared',
    slow: true,
    async run({ store }) {
      await store.write('expiring.txt', 'soon gone');
      const url = await store.signUrl('expiring.txt', { expiresIn: 1 });
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const response = await fetch(url);
      const text = await response.text();
      assert.ok(response.status >= 400 && response.status < 500, `an expired URL answered ${response.status}`);
      assert.ok(!text.includes('soon gone'), 'an expired URL returned the object');
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
