/**
 * What the packaging checks must know about each adapter package that its package.json does not
 * say. Adapters are found by themselves (a publishable workspace package whose entry exports
 * `adapter`); a new adapter joins this table with one line, and the install check fails until it
 * does.
 *
 * @module
 */

/** How the install check exercises an adapter in a project of its own. */
export type SmokeTarget =
  /** `openStore(url)` in the project's folder, then write, read back, list, delete. */
  | { readonly url: string }
  /**
   * A server the adapter talks to. With `STOWAGE_TEST_<SERVER>_URL` set, `options(url)` gives the
   * options of `openStore({ type, options })`, then write, read back, list, delete. Without it the
   * adapter is only constructed from `offline` (no I/O), and its declared capabilities are checked.
   */
  | { readonly server: string; readonly options: (url: string) => Record<string, unknown>; readonly offline: Record<string, unknown> };

/** One adapter's facts. */
export interface AdapterFacts {
  /**
   * The packages that belong to this adapter: its SDK or drivers. No other adapter's install may
   * contain them. A name ending in `/` is a whole scope.
   */
  readonly sdk: readonly string[];
  /** What a user installs next to core and the adapter (a driver); the version is the adapter's devDependency range. */
  readonly alsoInstall?: readonly string[];
  /** How the install check opens a store. */
  readonly smoke: SmokeTarget;
}

/** Every adapter package of the workspace, by package name. */
export const ADAPTERS: Readonly<Record<string, AdapterFacts>> = {
  '@stowage/memory': { sdk: [], smoke: { url: 'memory://' } },
  '@stowage/local': { sdk: [], smoke: { url: 'file:./data' } },
  '@stowage/sql-blob': { sdk: ['better-sqlite3', 'pg', 'mysql2'], alsoInstall: ['better-sqlite3'], smoke: { url: 'sqlite:./store.db' } },
};

/** Whether an installed package is one of `sdk`'s names or scopes. */
export function belongsTo(installed: string, sdk: readonly string[]): boolean {
  return sdk.some((entry) => (entry.endsWith('/') ? installed.startsWith(entry) : installed === entry));
}
