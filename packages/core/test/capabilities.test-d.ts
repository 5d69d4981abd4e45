import { expectTypeOf, test } from 'vitest';
import { Store, defineCapabilities, type Backend, type Capabilities } from '@stowage/core';
import { MemoryBackend } from '@stowage/memory';

const readOnlyish = defineCapabilities({
  rangeRead: false,
  conditionalWrite: false,
  userMetadata: false,
  listDelimiter: true,
  copy: 'emulated',
  move: 'emulated',
  signedUrl: false,
  multipart: false,
  hierarchical: false,
  maxObjectSize: null,
  listOrder: 'utf8',
});
declare const limited: Backend<typeof readOnlyish>;

test('a statically known adapter turns a missing capability into a compile error', () => {
  const store = new Store(limited);
  // @ts-expect-error signedUrl is false
  void store.signUrl('a.txt');
  // @ts-expect-error rangeRead is false
  void store.read('a.txt', { range: { offset: 0, length: 10 } });
  // @ts-expect-error conditionalWrite is false
  void store.write('a.txt', 'x', { ifNoneMatch: '*' });
  // @ts-expect-error conditionalWrite is false
  void store.write('a.txt', 'x', { ifMatch: '"etag"' });
  // @ts-expect-error userMetadata is false
  void store.write('a.txt', 'x', { metadata: { a: 'b' } });
  // what the backend does declare stays callable
  void store.write('a.txt', 'x', { contentType: 'text/plain' });
  void store.list({ delimiter: '/' });
});

test('declared capabilities stay callable', () => {
  const store = new Store(new MemoryBackend());
  void store.read('a', { range: { suffix: 5 } });
  void store.write('a', 'x', { ifNoneMatch: '*', metadata: { a: 'b' } });
  // @ts-expect-error the memory backend cannot sign URLs
  void store.signUrl('a');
  expectTypeOf(store.capabilities.rangeRead).toEqualTypeOf<true>();
});

test('a store opened at run time allows every call and checks at run time', () => {
  const store = {} as Store<Capabilities>;
  expectTypeOf(store.signUrl).parameter(0).toEqualTypeOf<string>();
  void store.read('a', { range: { offset: 1 } });
});

test('a store with a URL signer may sign, whatever its backend declares', () => {
  const signer = { sign: (key: string) => `https://files.example/${key}` };
  const store = new Store(limited).withSigner(signer);
  void store.signUrl('a.txt', { method: 'PUT' });
  expectTypeOf(store.capabilities.signedUrl).toEqualTypeOf<true>();
  // the other gates stay as the backend declares them
  // @ts-expect-error rangeRead is false
  void store.read('a.txt', { range: { offset: 0 } });
  void store.at('tenant').signUrl('b.txt');
});
