/**
 * Starts the Azure test server once for the `azure` vitest project: `STOWAGE_TEST_AZURE_URL` when
 * set, else Azurite in memory on a free loopback port (from this package's devDependencies), stopped
 * in the teardown. The tests get its settings, or the reason to skip, through `inject('azure')`.
 */
import type { TestProject } from 'vitest/node';
import { resolveAzurite } from '@stowage/conformance/servers';

/** What the tests receive: the server's settings, or why there is none. */
export type AzureTestServer = { settings: Record<string, string>; skip?: undefined } | { settings?: undefined; skip: string };

declare module 'vitest' {
  export interface ProvidedContext {
    azure: AzureTestServer;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const resolved = await resolveAzurite({ resolveFrom: import.meta.url });
  project.provide('azure', resolved.server ? { settings: { ...resolved.server.settings } } : { skip: resolved.skip });
  return async () => {
    await resolved.server?.stop();
  };
}
