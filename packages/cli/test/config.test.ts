/**
 * The configuration file: found in the working directory (JSON or YAML), or named by --config or
 * $STOWAGE_CONFIG; `${ENV}` substituted only in the stores used; a `default` store for `:KEY`; and a
 * CONFIG error (exit status 9) naming the file and field, never a value, when it is wrong. Without
 * any configuration, the embedded SQLite store, created on the first write only.
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { workspace, type Workspace } from './run-binary.ts';

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

describe('configuration', () => {
  let ws: Workspace;
  beforeEach(async () => {
    ws = await workspace();
    await ws.file('hello.txt', 'hello\n');
  });
  afterEach(() => ws.cleanup());

  it('uses the embedded SQLite store without configuration, and reading does not create it', async () => {
    expect(await ws.run(['ls'])).toMatchObject({ status: 0, stdout: '', stderr: '' });
    expect((await ws.run(['cat', ':hello.txt'])).status).toBe(3);
    expect(await exists(join(ws.dir, '.stowage'))).toBe(false);
    expect((await ws.run(['cp', 'hello.txt', ':'])).stdout).toBe('copied hello.txt to :hello.txt (6 B)\n');
    expect(await exists(join(ws.dir, '.stowage/store.db'))).toBe(true);
    expect((await ws.run(['ls'])).stdout).toBe(':hello.txt\n');
  });

  it('finds stowage.config.json in the working directory, with ${ENV} and a default store', async () => {
    await ws.file(
      'stowage.config.json',
      JSON.stringify({
        backends: { disk: { type: 'local', options: { root: '${DATA_DIR}' } }, unused: { url: 'postgres://app:${UNSET_PASSWORD}@nowhere/db' } },
        stores: { docs: { backend: 'disk', root: 'docs/' }, db: { backend: 'sqlite:./named.db' } },
        default: 'docs',
      }),
    );
    const env = { DATA_DIR: join(ws.dir, 'data') };
    expect((await ws.run(['cp', 'hello.txt', ':notes/'], { env })).stdout).toBe('copied hello.txt to :notes/hello.txt (6 B)\n');
    expect((await ws.run(['cp', 'hello.txt', 'db:x/hello.txt'], { env })).status).toBe(0);
    // The default store is the configured one, rooted at docs/ on the local backend.
    expect(await exists(join(ws.dir, 'data/docs/notes/hello.txt'))).toBe(true);
    expect((await ws.run(['ls', '-r', 'docs:'], { env })).stdout).toBe('docs:notes/hello.txt\n');
    expect((await ws.run(['cat', 'db:x/hello.txt'], { env })).stdout).toBe('hello\n');
    const missing = await ws.run(['ls', 'docs:'], { env: { DATA_DIR: undefined } });
    expect(missing.status).toBe(9);
    expect(missing.stderr).toMatch(/^stowage: CONFIG: .+stowage\.config\.json: store 'docs': configuration refers to the environment variable DATA_DIR, which is not set \(docs:\)\n$/);
  });

  it('reads YAML, and takes --config over $STOWAGE_CONFIG over the working directory', async () => {
    await ws.file('stowage.config.yml', 'stores:\n  here: { backend: "sqlite:./here.db" }\n');
    await ws.file('conf/env.yaml', '# from the environment\nstores:\n  fromenv:\n    backend: sqlite:./env.db\n');
    await ws.file('conf/flag.json', JSON.stringify({ stores: { fromflag: { backend: 'sqlite:./flag.db' } } }));
    expect((await ws.run(['cp', 'hello.txt', 'here:'])).status).toBe(0);
    expect((await ws.run(['cp', 'hello.txt', 'fromenv:'], { env: { STOWAGE_CONFIG: 'conf/env.yaml' } })).status).toBe(0);
    expect((await ws.run(['cp', 'hello.txt', 'here:'], { env: { STOWAGE_CONFIG: 'conf/env.yaml' } })).status).toBe(2);
    expect((await ws.run(['--config', 'conf/flag.json', 'cp', 'hello.txt', 'fromflag:'], { env: { STOWAGE_CONFIG: 'conf/env.yaml' } })).status).toBe(0);
    expect((await ws.run(['cp', '--config=conf/flag.json', 'hello.txt', 'fromenv:'], { env: { STOWAGE_CONFIG: 'conf/env.yaml' } })).status).toBe(2);
    for (const db of ['here.db', 'env.db', 'flag.db']) expect(await exists(join(ws.dir, db))).toBe(true);
  });

  it.each([
    ['stowage.config.json', '{ "stores": { "docs": { "backend": "sqlite:./a.db", } } }', /stowage\.config\.json is not valid JSON: a syntax error at line 1, column \d+$/],
    ['stowage.config.yaml', 'stores:\n  docs: [unclosed\n', /stowage\.config\.yaml is not valid YAML: [A-Z_]+ at line \d+, column \d+$/],
    ['stowage.config.json', '{ "store": {} }', /the configuration has an unknown field 'store'/],
    ['stowage.config.json', '{ "stores": { "s3": { "backend": "sqlite:./a.db" } } }', /the store name 's3' is a URL scheme/],
    ['stowage.config.json', '{ "stores": { "docs": { "backend": "missing" } } }', /stores\.docs\.backend refers to 'missing', which 'backends' does not define/],
    ['stowage.config.json', '{ "backends": { "b": { "type": "local", "url": "file:./x" } } }', /backends\.b has both 'type' and 'url'/],
    ['stowage.config.json', '{ "stores": { "x": { "backend": "sqlite:./a.db" } } }', /the store name 'x' is not usable in locations/],
    ['stowage.config.json', '{ "stores": { "docs": { "backend": "sqlite:./a.db" } }, "default": "b" }', /'default' names the store 'b'/],
  ])('refuses a broken %s with CONFIG and exit status 9', async (name, content, message) => {
    await ws.file(name, content);
    const result = await ws.run(['ls']);
    expect(result.status).toBe(9);
    expect(result.stderr).toMatch(/^stowage: CONFIG: [^\n]+\n$/);
    expect(result.stderr.trimEnd()).toMatch(message);
  });

  it('never repeats a value of a broken configuration', async () => {
    await ws.file('stowage.config.json', '{ "backends": { "db": { "url": "postgres://app:Leaked-Password@db/x" ');
    const result = await ws.run(['ls']);
    expect(result.status).toBe(9);
    expect(result.stderr).not.toContain('Leaked-Password');
  });

  it('refuses two configuration files at once, and a --config file that does not exist', async () => {
    await ws.file('stowage.config.json', '{}');
    await ws.file('stowage.config.yaml', '{}');
    expect((await ws.run(['ls'])).stderr).toMatch(/^stowage: CONFIG: found .+stowage\.config\.json and .+stowage\.config\.yaml: keep one, or pick one with --config\n$/);
    await mkdir(join(ws.dir, 'sub'));
    const missing = await ws.run(['ls', '--config', 'nope.json']);
    expect(missing.status).toBe(9);
    expect(missing.stderr).toMatch(/^stowage: CONFIG: --config names .+nope\.json, which does not exist\n$/);
    await writeFile(join(ws.dir, 'sub/empty.yaml'), '');
    expect((await ws.run(['ls', '--config', 'sub/empty.yaml'])).status).toBe(0);
  });
});
