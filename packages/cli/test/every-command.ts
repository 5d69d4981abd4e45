/**
 * Every command against one backend, through the built binary, in steps that run in order in one
 * working directory. The commands-*.test.ts files call it for each backend of backends.ts (a few
 * files, so that vitest runs them side by side).
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gap, testBackend, type BackendName } from './backends.ts';
import { sha256, workspace, writeRandomFile, type Workspace } from './run-binary.ts';
import { startServe } from './serving.ts';

const HELLO = 'Hello, stowage!\n';
/** Defines the steps for the backend `name`; skipped with the reason when its server is unreachable. */
export async function describeEveryCommand(name: BackendName): Promise<void> {
  const backend = await testBackend(name);
  describe(`every command on ${backend.name}${backend.skip ? ` (skipped: ${backend.skip})` : ''}`, { skip: backend.skip !== undefined }, () => {
    let ws: Workspace;
    const { at, shown } = backend;
    const storeKey = backend.storeKey ?? ((key: string) => key);
    const run = (...args: string[]) => ws.run(args, { env: backend.env });
    const createOnlyGap = gap(backend, 'conditional/create-only-existing');

    beforeAll(async () => {
      ws = await workspace();
      await backend.setup?.(ws);
      await ws.file('hello.txt', HELLO);
      await ws.file('tree/a.txt', 'alpha\n');
      await ws.file('tree/b/c.txt', 'charlie\n');
      await writeRandomFile(join(ws.dir, 'tree/b/d/e.bin'), 100_000);
    });
    afterAll(async () => {
      await backend.teardown?.();
      await ws?.cleanup();
    });

    it('cp uploads a file, cat reads it back', async () => {
      const copied = await run('cp', 'hello.txt', at('docs/hello.txt'));
      expect(copied).toMatchObject({ status: 0, stderr: '', stdout: `copied hello.txt to ${shown('docs/hello.txt')} (16 B)\n` });
      expect(await run('cat', at('docs/hello.txt'))).toMatchObject({ status: 0, stdout: HELLO, stderr: '' });
    });

    it('ls lists by prefix in short, long and JSON form', async () => {
      await ws.file('deep.json', '{"deep":true}');
      expect((await run('cp', 'deep.json', at('docs/sub/'))).status).toBe(0);
      const short = await run('ls', at('docs/'));
      expect(short).toMatchObject({ status: 0, stderr: '', stdout: `${shown('docs/hello.txt')}\n${shown('docs/sub/')}\n` });
      const long = await run('ls', '-l', at('docs/'));
      expect(long.stdout).toMatch(new RegExp(`^16 B {2}\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ {2}text/plain {2}${escape(shown('docs/hello.txt'))}\\n`, 'm'));
      expect(long.stdout).toMatch(/folder/);
      const json = await run('ls', '-r', '-l', '--json', at('docs/'));
      expect(json.status).toBe(0);
      const entries = JSON.parse(json.stdout) as { type: string; key: string; size: number; contentType: string; location: string }[];
      expect(entries.map((entry) => [entry.key, entry.size, entry.contentType])).toEqual([
        [storeKey('docs/hello.txt'), 16, 'text/plain'],
        [storeKey('docs/sub/deep.json'), 13, 'application/json'],
      ]);
      expect(entries[0]!.location).toBe(shown('docs/hello.txt'));
    });

    it("stat shows the object's size, content type and SHA-256", async () => {
      const json = await run('stat', '--json', at('docs/hello.txt'));
      expect(json.status).toBe(0);
      expect(JSON.parse(json.stdout)).toMatchObject({ key: storeKey('docs/hello.txt'), size: 16, contentType: 'text/plain', sha256: sha256(HELLO), metadata: {} });
      const human = await run('stat', at('docs/hello.txt'));
      expect(human.stdout).toMatch(new RegExp(`^sha256 +${sha256(HELLO)}$`, 'm'));
      expect(human.stdout).toMatch(/^size +16 \(16 B\)$/m);
    });

    it('cp within the store, and mv', async () => {
      expect((await run('cp', at('docs/hello.txt'), at('docs/copy.txt'))).status).toBe(0);
      const moved = await run('mv', at('docs/copy.txt'), at('archive/copy.txt'));
      expect(moved).toMatchObject({ status: 0, stdout: `moved ${shown('docs/copy.txt')} to ${shown('archive/copy.txt')} (16 B)\n` });
      expect((await run('cat', at('docs/copy.txt'))).status).toBe(3);
      expect((await run('cat', at('archive/copy.txt'))).stdout).toBe(HELLO);
      // Between two places, a move deletes its source once the copy is stored.
      expect((await run('mv', at('archive/copy.txt'), './moved.txt')).stdout).toBe(`moved ${shown('archive/copy.txt')} to ./moved.txt (16 B)\n`);
      expect(await readFile(join(ws.dir, 'moved.txt'), 'utf8')).toBe(HELLO);
      expect((await run('stat', at('archive/copy.txt'))).status).toBe(3);
      expect((await run('mv', './moved.txt', at('archive/'))).stdout).toBe(`moved ./moved.txt to ${shown('archive/moved.txt')} (16 B)\n`);
      await expect(readFile(join(ws.dir, 'moved.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it.skipIf(createOnlyGap !== undefined)(`cp --if-not-exists never overwrites${createOnlyGap ? ` (not verifiable on this server: ${createOnlyGap})` : ''}`, async () => {
      await ws.file('other.txt', 'something else\n');
      const refused = await run('cp', '--if-not-exists', 'other.txt', at('docs/hello.txt'));
      expect(refused.status).toBe(5);
      expect(refused.stderr).toMatch(new RegExp(`^stowage: ALREADY_EXISTS: .+ \\(${escape(shown('docs/hello.txt'))}\\)\\n$`));
      expect((await run('cat', at('docs/hello.txt'))).stdout).toBe(HELLO);
      expect((await run('cp', '--if-not-exists', 'other.txt', at('docs/other.txt'))).status).toBe(0);
      expect((await run('cat', at('docs/other.txt'))).stdout).toBe('something else\n');
    });

    it('cp -r uploads a directory; a download of it is identical', async () => {
      const copied = await run('cp', '-r', './tree', at('tree/'));
      expect(copied.status).toBe(0);
      expect(copied.stdout.trim().split('\n')).toEqual([
        `copied ./tree/a.txt to ${shown('tree/a.txt')} (6 B)`,
        `copied ./tree/b/c.txt to ${shown('tree/b/c.txt')} (8 B)`,
        `copied ./tree/b/d/e.bin to ${shown('tree/b/d/e.bin')} (97.7 KiB)`,
      ]);
      expect((await run('cp', '-r', at('tree'), './down')).status).toBe(0);
      for (const file of ['a.txt', 'b/c.txt', 'b/d/e.bin']) {
        expect(sha256(await readFile(join(ws.dir, 'down', file)))).toBe(sha256(await readFile(join(ws.dir, 'tree', file))));
      }
    });

    it('sync copies what differs by size or SHA-256, and nothing the second time', async () => {
      const first = await run('sync', './tree', at('mirror/'));
      expect(first.status).toBe(0);
      expect(first.stdout).toMatch(/^sync: 3 copied \(97\.7 KiB\), 0 unchanged$/m);
      const listed = JSON.parse((await run('ls', '-r', '--json', at('mirror/'))).stdout) as { key: string; etag: string }[];

      const second = await run('sync', './tree', at('mirror/'));
      expect(second).toMatchObject({ status: 0, stdout: 'sync: 0 copied (0 B), 3 unchanged\n', stderr: '' });
      expect(JSON.parse((await run('ls', '-r', '--json', at('mirror/'))).stdout)).toEqual(listed);

      await writeFile(join(ws.dir, 'tree/b/c.txt'), 'CHARLIE\n'); // same size, other bytes
      const third = await run('sync', './tree', at('mirror/'));
      expect(third.stdout).toBe(`copied ./tree/b/c.txt to ${shown('mirror/b/c.txt')} (content differs, 8 B)\nsync: 1 copied (8 B), 2 unchanged\n`);

      await rm(join(ws.dir, 'tree/a.txt'));
      const dry = await run('sync', '--delete', '--dry-run', './tree', at('mirror/'));
      expect(dry.stdout).toBe(`would delete ${shown('mirror/a.txt')}\nsync (dry run): 0 to copy, 2 unchanged, 1 to delete\n`);
      expect((await run('cat', at('mirror/a.txt'))).stdout).toBe('alpha\n');
      const mirrored = await run('sync', '--delete', './tree', at('mirror/'));
      expect(mirrored.stdout).toBe(`deleted ${shown('mirror/a.txt')}\nsync: 0 copied (0 B), 2 unchanged, 1 deleted\n`);
      expect((await run('cat', at('mirror/a.txt'))).status).toBe(3);

      const down = await run('sync', at('mirror/'), './mirror-down');
      expect(down.stdout).toMatch(/^sync: 2 copied/m);
      expect(await readFile(join(ws.dir, 'mirror-down/b/c.txt'), 'utf8')).toBe('CHARLIE\n');
    });

    if (backend.signsNatively) {
      it('sign prints a URL that plain fetch downloads from', async () => {
        const signed = await run('sign', '--expires', '5m', at('docs/hello.txt'));
        expect(signed).toMatchObject({ status: 0, stderr: '' });
        expect(signed.stdout).toMatch(/^https?:\/\/\S+\n$/);
        const response = await fetch(signed.stdout.trim());
        expect(response.status).toBe(200);
        expect(await response.text()).toBe(HELLO);
      });

      const putGap = gap(backend, 'signed-url/fetch-put');
      it.skipIf(putGap !== undefined)(`sign --method PUT prints a URL that plain fetch uploads through${putGap ? ` (not verifiable on this server: ${putGap})` : ''}`, async () => {
        const signed = await run('sign', '--method', 'PUT', '--content-type', 'text/plain', at('docs/uploaded.txt'));
        expect(signed.status).toBe(0);
        const headers = { 'content-type': 'text/plain', ...backend.signedPutHeaders };
        const response = await fetch(signed.stdout.trim(), { method: 'PUT', body: 'uploaded through a signed URL\n', headers });
        await response.body?.cancel();
        expect(response.ok).toBe(true);
        expect((await run('cat', at('docs/uploaded.txt'))).stdout).toBe('uploaded through a signed URL\n');
        expect((await run('rm', at('docs/uploaded.txt'))).status).toBe(0);
      });

      const tamperedGap = gap(backend, 'signed-url/tampered');
      it.skipIf(tamperedGap !== undefined)(`a signed URL with its signature altered is refused${tamperedGap ? ` (not verifiable on this server: ${tamperedGap})` : ''}`, async () => {
        const url = new URL((await run('sign', at('docs/hello.txt'))).stdout.trim());
        const name = [...url.searchParams.keys()].find((parameter) => /signature|^sig$/i.test(parameter))!;
        const signature = url.searchParams.get(name)!;
        // The first character: all of its bits count (the last one of base64 may carry padding bits).
        url.searchParams.set(name, `${signature.startsWith('0') ? '1' : '0'}${signature.slice(1)}`);
        const response = await fetch(url);
        await response.body?.cancel();
        expect(response.status).toBe(403);
      });
    } else {
      it('sign is refused with CAPABILITY_NOT_SUPPORTED, and says what a link needs, where the backend cannot sign', async () => {
        const signed = await run('sign', at('docs/hello.txt'));
        expect(signed.status).toBe(6);
        expect(signed.stdout).toBe('');
        expect(signed.stderr).toMatch(
          new RegExp(`^stowage: CAPABILITY_NOT_SUPPORTED: the '[^']+' backend cannot sign URLs itself; for a link that stowage serve verifies, set STOWAGE_LINK_SECRET .+ and give --base-url .+ \\(${escape(shown('docs/hello.txt'))}\\)\\n$`),
        );
      });
    }

    const singleUseGap = createOnlyGap;
    it(`serve --nonce-store here makes upload links single-use${singleUseGap ? ` (reuse not verifiable on this server: ${singleUseGap})` : ''}`, async () => {
      const env = { ...backend.env, STOWAGE_LINK_SECRET: 'nonce-store-secret-'.repeat(3) };
      const server = await startServe(ws, ['--port', '0', '--uploads', '--nonce-store', at('nonces/'), 'file:./served//'], env);
      try {
        expect(server.line).toMatch(/uploads through single-use signed PUT links/);
        const signed = await ws.run(['sign', '--method', 'PUT', '--single-use', '--base-url', server.url, 'file:./served//once.txt'], { env });
        expect(signed).toMatchObject({ status: 0, stderr: '' });
        const link = signed.stdout.trim();
        const upload = async (body: string): Promise<number> => {
          const response = await fetch(link, { method: 'PUT', body });
          await response.body?.cancel();
          return response.status;
        };
        expect(await upload('once\n')).toBe(201);
        if (singleUseGap === undefined) expect(await upload('twice\n')).toBe(403);
        expect((await run('cat', 'file:./served//once.txt')).stdout).toBe('once\n');
        const reusable = await ws.run(['sign', '--method', 'PUT', '--base-url', server.url, 'file:./served//reused.txt'], { env });
        expect(await (await fetch(reusable.stdout.trim(), { method: 'PUT', body: 'x' })).status).toBe(403);
        expect((await run('ls', '-r', at('nonces/'))).stdout.trim().split('\n')).toHaveLength(1);
      } finally {
        server.child.kill('SIGINT');
        expect((await server.done).status).toBe(0);
      }
      expect((await run('rm', '-r', at('nonces'))).status).toBe(0);
    });

    it('rm deletes objects and folders; a missing object is NOT_FOUND unless --force', async () => {
      expect((await run('cp', 'hello.txt', at('docs/other.txt'))).status).toBe(0);
      expect(await run('rm', at('docs/other.txt'))).toMatchObject({ status: 0, stdout: `deleted ${shown('docs/other.txt')}\n` });
      expect((await run('cat', at('docs/other.txt'))).status).toBe(3);
      const again = await run('rm', at('docs/other.txt'));
      expect(again.status).toBe(3);
      expect(again.stderr).toMatch(/^stowage: NOT_FOUND: /);
      expect((await run('rm', '-f', at('docs/other.txt'))).status).toBe(0);
      const folder = await run('rm', '-r', at('tree'));
      expect(folder.stdout.trim().split('\n')).toHaveLength(3);
      expect(await run('ls', '-r', at('tree/'))).toMatchObject({ status: 0, stdout: '' });
    });

    it('certify runs conformance cases against the store', async () => {
      // The server's declared gaps within these groups, as the adapter's own conformance run declares them.
      const overrides = Object.entries(backend.overrides ?? {})
        .filter(([id]) => id.startsWith('keys/') || id.startsWith('health/'))
        .flatMap(([id, reason]) => ['--override', `${id}=${reason}`]);
      const certified = await run('certify', '--only', 'keys', '--only', 'health', '--no-rooted', ...overrides, at(''));
      expect(certified.stderr).toBe('');
      expect(certified.status).toBe(0);
      expect(certified.stdout).toMatch(/^capabilities:$/m);
      expect(certified.stdout).toMatch(new RegExp(`^\\d+ passed, 0 failed, ${overrides.length / 2} skipped`, 'm'));
    });

    it('doctor reports the store healthy', async () => {
      const store = backend.doctorStore;
      let args: string[];
      if ('backend' in store) {
        await writeFile(join(ws.dir, 'doctor.json'), JSON.stringify({ stores: { probe: { backend: store.backend } } }));
        args = ['doctor', '--config', 'doctor.json'];
      } else {
        args = store.config === 'none' ? ['doctor'] : ['doctor', '--config', store.config];
      }
      const doctor = await run(...args);
      expect(doctor.stderr).toBe('');
      expect(doctor.status).toBe(0);
      const name = 'backend' in store ? 'probe' : store.name;
      expect(doctor.stdout).toMatch(new RegExp(`^ {2}ok {2}${escape(name)} `, 'm'));
      expect(doctor.stdout).toMatch(/^(\d+) of \1 stores? healthy$/m);
    });
  });
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
