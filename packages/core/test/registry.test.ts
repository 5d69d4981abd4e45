import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '@stowage/memory';
import { Store, findSecrets, isStowageError, maskSecrets, maskUrl, openStore, openStores, registerAdapter, substituteEnv } from '@stowage/core';

describe('registry', () => {
  it('opens memory:// by importing @stowage/memory on demand', async () => {
    const store = await openStore('memory://');
    expect(store).toBeInstanceOf(Store);
    expect(store.backendName).toBe('memory');
    await store.write('a', 'b');
    expect(await store.readText('a')).toBe('b');
  });

  it('names the package to install when an adapter is missing', async () => {
    // The workspace installs every adapter, so the import is pointed at a package that does not exist: Node's own error.
    const error = await openStore('s3://bucket/prefix', { load: (name) => import(`${name}-not-installed`) }).catch((e: unknown) => e);
    expect(isStowageError(error, 'INVALID_ARGUMENT')).toBe(true);
    expect((error as Error).message).toContain('@stowage/s3');
    expect((error as Error).message).toMatch(/install/);
  });

  it('refuses unknown schemes and malformed URLs clearly', async () => {
    await expect(openStore('nope://x')).rejects.toThrow(/no adapter is registered for the scheme 'nope:'/);
    await expect(openStore('not a url')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('opens several stores from a config, sharing backends, with ${ENV} substitution', async () => {
    const { stores, closeAll } = await openStores(
      {
        backends: { mem: { type: 'memory' } },
        stores: {
          avatars: { backend: 'mem', root: '${AVATAR_ROOT}', maxSize: 5 },
          docs: { backend: 'mem', root: 'docs' },
          scratch: { backend: 'memory://' },
        },
      },
      { env: { AVATAR_ROOT: 'avatars' } },
    );
    expect(stores.avatars!.root).toBe('avatars/');
    await stores.avatars!.write('me.png', 'x');
    expect(await stores.docs!.exists('me.png')).toBe(false);
    expect(stores.avatars!.backend).toBe(stores.docs!.backend);
    expect(stores.scratch!.backend).not.toBe(stores.docs!.backend);
    await expect(stores.avatars!.write('big.png', '123456')).rejects.toMatchObject({ code: 'TOO_LARGE' });
    await closeAll();
  });

  it('substitutes environment variables and reports a missing one by name', () => {
    expect(substituteEnv({ a: 'x-${A}-${B:-dflt}', n: 3, list: ['${A}'], lit: '$${A}' }, { A: '1' })).toEqual({ a: 'x-1-dflt', n: 3, list: ['1'], lit: '${A}' });
    expect(() => substituteEnv('${MISSING_VAR}', {})).toThrow(/MISSING_VAR/);
  });

  it('masks secrets in every message', async () => {
    expect(maskUrl('postgres://user:hunter22@db/x?password=abc123')).toBe('postgres://user:***@db/x?password=***');
    expect(maskSecrets('key=sekrit and sekrit', ['sekrit'])).toBe('key=*** and ***');
    expect(maskUrl('s3://bucket/p?accessKeyId=AKIA999&access_key=AKIA888')).toBe('s3://bucket/p?accessKeyId=***&access_key=***');
    registerAdapter({
      name: 'leaky',
      schemes: ['leaky'],
      create: (options: { secretKey: string }) => {
        throw new Error(`cannot log in with ${options.secretKey}`);
      },
    } as never);
    const error = (await openStore({ type: 'leaky', options: { secretKey: 'TOPSECRET-42' } }).catch((e: unknown) => e)) as Error;
    expect(error.message).toBe('cannot log in with ***');
    const fromEnv = (await openStore({ type: 'leaky', options: { secretKey: '${LEAKY_SECRET}' } }, { env: { LEAKY_SECRET: 'ENV-SECRET-9' } }).catch((e: unknown) => e)) as Error;
    expect(fromEnv.message).not.toContain('ENV-SECRET-9');
  });

  it('finds the secrets of a configuration for masking', () => {
    const secrets = findSecrets(
      {
        backends: {
          db: { url: 'postgres://app:hunter%2322@db/app?sslpassword=pw-in-query' },
          lake: { type: 's3', options: { bucket: 'public-name', secretAccessKey: 'AWS-SECRET-1', sessionToken: 'TOKEN-2', region: 'eu-west-1' } },
          blob: { type: 'azure', options: { connection: 'SAS-IN-CUSTOM-NAME' } },
        },
      },
      ['connection'],
    );
    expect([...secrets].sort()).toEqual(['AWS-SECRET-1', 'SAS-IN-CUSTOM-NAME', 'TOKEN-2', 'hunter#22', 'hunter%2322', 'pw-in-query'].sort());
    expect(maskSecrets('s3 said: bad AWS-SECRET-1 for public-name in eu-west-1', secrets)).toBe('s3 said: bad *** for public-name in eu-west-1');
    expect([...findSecrets('mysql://root:rootpw@127.0.0.1/test')]).toEqual(['rootpw']);
    expect(findSecrets('sqlite:./store.db').size).toBe(0);
    // Not a valid URL (no host), yet its password is still found, so a message about it can mask it.
    expect(maskUrl('postgres://app:hunter22@/db')).toBe('postgres://app:***@/db');
    expect(maskUrl('mysql://root:p%40ss@[bad/x')).toBe('mysql://root:***@[bad/x');
  });

  it('registers third-party adapters', async () => {
    registerAdapter({ name: 'mine', schemes: ['mine'], create: () => new MemoryBackend(), optionsFromUrl: () => ({}) } as never);
    const store = await openStore('mine://anything');
    expect(store.backendName).toBe('memory');
    const typed = await openStore({ type: 'mine' });
    expect(typed.backendName).toBe('memory');
  });

  it('refuses an adapter whose capabilities are incomplete', async () => {
    registerAdapter({ name: 'broken', schemes: [], create: () => ({ ...new MemoryBackend(), name: 'broken', capabilities: { rangeRead: 'yes' } }) as never });
    await expect(openStore({ type: 'broken' })).rejects.toThrow(/invalid capabilities/);
  });
});
