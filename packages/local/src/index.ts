/**
 * `@stowage/local`: a stowage backend on the local filesystem.
 *
 * Objects are plain files under a root directory (the key `a/b.txt` is `<root>/a/b.txt`); writes
 * are atomic renames, conditional writes hold across processes, metadata lives in the reserved
 * `<root>/.stowage` directory, and nothing outside the root is ever reached.
 *
 * @example
 * ```ts
 * import { Store } from '@stowage/core'
 * import { LocalBackend } from '@stowage/local'
 *
 * const store = new Store(new LocalBackend({ root: './data' }))
 * await store.write('notes/hello.txt', 'Hello!', { metadata: { author: 'ada' } })
 * ```
 *
 * @module
 */
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, readUrlParameters, type AdapterDefinition } from '@stowage/core';
import { LocalBackend, type LocalOptions } from './backend.ts';

export { LOCAL_CAPABILITIES, LocalBackend, type LocalOptions } from './backend.ts';
export { INTERNAL_DIR } from './layout.ts';

/** The query parameters of a `file:` URL; any other is refused. */
const URL_PARAMETERS = { fsync: 'boolean', lockTimeoutMs: 'positiveNumber', staleLockMs: 'positiveNumber' } as const;

/**
 * Options from a `file:` URL: `file:///abs/dir` (or `file:./dir`, resolved against the working
 * directory by the registry) is the root; `?fsync=true`, `?lockTimeoutMs=` and `?staleLockMs=` set
 * the other options; any other parameter is refused.
 */
export function optionsFromFileUrl(url: URL): LocalOptions {
  if (url.protocol !== 'file:') throw new InvalidArgumentError(`the local adapter opens file: URLs, not ${url.protocol}`);
  let root: string;
  try {
    // Percent-decoded, and refuses hosts other than localhost on POSIX.
    root = fileURLToPath(new URL(`${url.protocol}//${url.host}${url.pathname}`));
  } catch (cause) {
    throw new InvalidArgumentError(`not a usable file: URL for the local adapter: ${url.href}`, { cause });
  }
  return { root, ...readUrlParameters(url, URL_PARAMETERS, { backend: 'local' }).values };
}

/** The registry's entry for `file:` URLs and `type: 'local'`. */
export const adapter: AdapterDefinition<LocalOptions> = {
  name: 'local',
  schemes: ['file'],
  create: (options) => new LocalBackend(options),
  optionsFromUrl: optionsFromFileUrl,
};
