import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '@stowage/memory';
import { MIN_SEARCHED_SECRET_LENGTH, Store, findSecrets, isStowageError, maskSecrets, maskUrl, openStore, openStores, registerAdapter, substituteEnv } from '@stowage/core';

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

  it("passes openStore's load to the adapter's create, for the drivers it loads on first use", async () => {
    const seen: unknown[] = [];
    registerAdapter({
      name: 'context-probe',
      schemes: ['context-probe'],
      create: (_options, context) => {
        seen.push(context?.load);
        return new MemoryBackend();
      },
      optionsFromUrl: () => ({}) as never,
    });
    const load = (specifier: string): Promise<unknown> => import(specifier);
    await (await openStore('context-probe://x', { load })).close();
    const { closeAll } = await openStores({ stores: { a: { backend: 'context-probe://y' } } }, { load });
    await closeAll();
    await (await openStore({ type: 'context-probe' })).close();
    expect(seen[0]).toBe(load);
    expect(seen[1]).toBe(load);
    // Without one, the default loader (core's own import()) is passed.
    expect(typeof seen[2]).toBe('function');
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
    expect(maskSecrets('key=sekrit-42 and sekrit-42', ['sekrit-42'])).toBe('key=*** and ***');
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

  it('masks credentials where they stand, and never searches for a secret short enough to be an ordinary word', async () => {
    // A short password is masked in the URL that holds it, and nowhere else: the message's words stay.
    expect(maskSecrets('sql-blob:postgres: opening the table failed (postgres://app:table@db/x)', ['table'])).toBe(
      'sql-blob:postgres: opening the table failed (postgres://app:***@db/x)',
    );
    expect(maskSecrets('a shorter link secret', ['short'])).toBe('a shorter link secret');
    // Structure alone is enough: no secret needs to be known for a URL password or a secret-named parameter.
    expect(maskSecrets('GET https://acct.blob.core.windows.net/c/a.txt?sv=2024&sig=c2lnbmF0dXJl&se=2030 failed')).toBe('GET https://acct.blob.core.windows.net/c/a.txt?sv=2024&sig=***&se=2030 failed');
    expect(maskSecrets('DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net')).toBe(
      'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=***;EndpointSuffix=core.windows.net',
    );
    expect(maskSecrets('mysql://root:p@ss@db:3306/x refused')).toBe('mysql://root:***@db:3306/x refused');
    // Long enough to be searched for: masked wherever it appears, the longest first.
    expect(maskSecrets('bad token tok-123456789 (tok-12345678)', ['tok-12345678', 'tok-123456789'])).toBe('bad token *** (***)');
    expect(MIN_SEARCHED_SECRET_LENGTH).toBe(8);

    // Through openStore: a backend whose password is the word 'table' keeps its message readable.
    registerAdapter({
      name: 'tabled',
      schemes: ['tabled'],
      create: (options: { url: string; password: string }) => {
        throw new Error(`opening the table failed for ${options.url} (password ${options.password})`);
      },
    } as never);
    const error = (await openStore({ type: 'tabled', options: { url: 'tabled://app:table@db/x', password: 'table' } }).catch((e: unknown) => e)) as Error;
    expect(error.message).toBe('opening the table failed for tabled://app:***@db/x (password table)');
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

  it('refuses arguments of the wrong kind with a typed error, not a TypeError', async () => {
    for (const bad of [undefined, null, 42, true, ['memory://']]) {
      const error = await openStore(bad as never).catch((e: unknown) => e);
      expect(isStowageError(error, 'INVALID_ARGUMENT'), String(bad)).toBe(true);
      expect((error as Error).message).toMatch(/^openStore takes a store URL \(such as 'file:\.\/data' or 'memory:\/\/'\) or a backend configuration/);
      await expect(openStores(bad as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^openStores takes a configuration object/) });
      expect(() => registerAdapter(bad as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    await expect(openStore('memory://', null as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'openStore takes an options object, got null' });
    await expect(openStore('memory://', { load: 'import' } as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(openStore({ typ: 'memory' } as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('unknown field "typ": did you mean "type"?') });
    await expect(openStore({ url: 42 } as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('must be a string, got a number') });
    await expect(openStore({ type: 'memory', options: 'x' } as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(() => registerAdapter({ name: 'x', schemes: 'x' } as never)).toThrow(/list of URL schemes/);
    expect(() => registerAdapter({ name: 'x', schemes: ['x'] } as never)).toThrow(/needs a create function/);
    expect(() => new MemoryBackend(null as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: 'new MemoryBackend takes an options object, got null' }));
  });

  it('refuses a misspelled configuration field with the closest known name, before opening anything', async () => {
    const opened: string[] = [];
    registerAdapter({ name: 'counted', schemes: [], create: () => (opened.push('counted'), new MemoryBackend()) } as never);
    const cases: [unknown, RegExp][] = [
      [{ stores: { a: { backend: 'mem', maxsize: 5 } }, backends: { mem: { type: 'counted' } } }, /store 'a' has an unknown field "maxsize": did you mean "maxSize"\?/],
      [{ store: { a: { backend: 'memory://' } } }, /the configuration has an unknown field "store": did you mean "stores"\?/],
      [{ stores: { a: { backend: 'mem' } }, backends: { mem: { type: 'counted', option: {} } } }, /backend 'mem' has an unknown field "option": did you mean "options"\?/],
      [{ stores: { a: { root: 'x' } } }, /store 'a' needs a backend/],
      [{ stores: { a: 'memory://' } }, /store 'a' must be an object with a backend, got a string/],
      [{ stores: ['memory://'] }, /the stores of a configuration must be an object of named entries, got an array/],
    ];
    for (const [config, message] of cases) {
      const error = await openStores(config as never).catch((e: unknown) => e);
      expect(isStowageError(error, 'INVALID_ARGUMENT'), JSON.stringify(config)).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
    expect(opened).toEqual([]);
  });
});
