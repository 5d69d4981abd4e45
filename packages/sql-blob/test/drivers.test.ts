import { describe, expect, it } from 'vitest';
import { importDriver } from '../src/dialect.ts';

// The registry passes openStore's loader to the adapter; a driver sql-blob cannot import from its own
// location (a global `stowage` whose better-sqlite3 sits in the command's node_modules) comes from it.
// The end-to-end proof is scripts/checkout-install.ts, which installs the command globally.
describe('importDriver', () => {
  const missing = (): Promise<typeof import('better-sqlite3')> => import('better-sqlite3-not-installed' as string) as Promise<typeof import('better-sqlite3')>;

  it("imports with sql-blob's own import() when that works, without asking the loader", async () => {
    const asked: string[] = [];
    const module = await importDriver(() => import('better-sqlite3'), 'better-sqlite3', async (specifier) => asked.push(specifier));
    expect(typeof module.default).toBe('function');
    expect(asked).toEqual([]);
  });

  it("falls back to the caller's loader when its own import fails", async () => {
    const asked: string[] = [];
    const module = await importDriver(missing, 'better-sqlite3', (specifier) => (asked.push(specifier), import(specifier)));
    expect(asked).toEqual(['better-sqlite3']);
    expect(typeof (module as unknown as { default: unknown }).default).toBe('function');
  });

  it('reports its own failure when the loader fails too, or when there is none', async () => {
    await expect(importDriver(missing, 'pg', () => Promise.reject(new Error('not beside the caller either')))).rejects.toMatchObject({ code: 'ERR_MODULE_NOT_FOUND' });
    await expect(importDriver(missing, 'pg', undefined)).rejects.toMatchObject({ code: 'ERR_MODULE_NOT_FOUND' });
  });
});
