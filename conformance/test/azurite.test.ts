import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AZURITE_ACCOUNT, AZURITE_ACCOUNT_KEY, azuriteFromUrl } from '../src/servers/index.ts';

describe('azurite starter', () => {
  it('reads STOWAGE_TEST_AZURE_URL in the format docker-compose.yml shows, with the well-known key', async () => {
    const server = azuriteFromUrl('http://127.0.0.1:10000/devstoreaccount1');
    expect(server).toMatchObject({ name: 'azure', endpoint: 'http://127.0.0.1:10000/devstoreaccount1', startedHere: false });
    expect(server.settings).toMatchObject({ accountName: AZURITE_ACCOUNT, accountKey: AZURITE_ACCOUNT_KEY });
    expect(server.settings.connectionString).toBe(
      `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_ACCOUNT_KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;`,
    );
    await server.stop();
  });

  it('takes another account and its URL-encoded key from the URL, and refuses an account without a key', () => {
    const key = 'a2V5/with+special=';
    const server = azuriteFromUrl(`http://acct:${encodeURIComponent(key)}@127.0.0.1:10000/acct`);
    expect(server.endpoint).toBe('http://127.0.0.1:10000/acct');
    expect(server.endpoint).not.toContain(encodeURIComponent(key));
    expect(server.settings).toMatchObject({ accountName: 'acct', accountKey: key });
    expect(() => azuriteFromUrl('http://127.0.0.1:10000/acct')).toThrow(/no key for the account acct/);
    expect(() => azuriteFromUrl('ftp://127.0.0.1/x')).toThrow(/http\(s\) URL/);
  });

  it('names the azurite package when it cannot be resolved from the caller', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'stowage-no-azurite-'));
    try {
      // In a child without NODE_PATH (pnpm sets it to its whole store, where azurite can be found from anywhere).
      const script = `import { azuriteBlobMain } from ${JSON.stringify(new URL('../src/servers/azurite.ts', import.meta.url).href)};
        try { azuriteBlobMain(${JSON.stringify(empty)}); console.log('resolved'); } catch (error) { console.log(error.message); }`;
      const { NODE_PATH: _ignored, ...env } = process.env;
      const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
      expect(output).toMatch(/needs the npm package azurite, which cannot be resolved from .*: add it as a devDependency/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
