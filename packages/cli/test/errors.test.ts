/**
 * Failures: one line `stowage: <CODE>: <message> (<location>)` on standard error, the documented exit
 * status for each kind (usage 2, not found 3, invalid key or input 4, conflict 5, not supported 6,
 * unavailable 8, configuration 9), `--verbose` adding the causes, and no secret in any line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '@stowage/cli';
import { freePort } from '@stowage/conformance/servers';
import { workspace, type Workspace } from './run-binary.ts';

const LINE = /^stowage: [A-Z_]+: [^\n]+\n$/;

/**
 * The text of an adapter module (named by path, as a config type may be) whose every operation
 * fails with `message`, a JavaScript expression over its `options`; `definition` adds fields to its
 * definition.
 */
function failingAdapter(name: string, message: string, definition = ''): string {
  return `export const adapter = {
    name: '${name}',
    schemes: [],
    ${definition}
    create(options) {
      const fail = async () => { throw new Error(${message}); };
      return {
        name: '${name}',
        capabilities: { rangeRead: true, conditionalWrite: true, userMetadata: true, listDelimiter: true, copy: 'emulated', move: 'emulated', signedUrl: false, multipart: false, hierarchical: false, maxObjectSize: null, listOrder: 'utf8' },
        stat: fail, read: fail, write: fail, delete: fail, list: fail, health: fail,
        close: async () => {}, unwrap: () => undefined,
      };
    },
  };\n`;
}

describe('errors and exit codes', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await workspace();
    await ws.file('hello.txt', 'hello\n');
    expect((await ws.run(['cp', 'hello.txt', 'sqlite:./store.db/hello.txt'])).status).toBe(0);
  });
  afterAll(() => ws?.cleanup());

  it('documents distinct codes', () => {
    expect(EXIT_CODES).toMatchObject({ ERROR: 1, USAGE: 2, NOT_FOUND: 3, INVALID_PATH: 4, ALREADY_EXISTS: 5, CAPABILITY_NOT_SUPPORTED: 6, PERMISSION_DENIED: 7, UNAVAILABLE: 8, CONFIG: 9, STORAGE_FULL: 10, ABORTED: 130 });
  });

  it.each([
    [['frobnicate'], /^stowage: USAGE: unknown command 'frobnicate'; stowage --help lists the commands\n$/],
    [['cpp', 'a', 'b'], /^stowage: USAGE: unknown command 'cpp' \(did you mean cp or cat\?\)/],
    [['ls', '--frobnicate'], /^stowage: USAGE: Unknown option '--frobnicate' \(see stowage ls --help\)\n$/],
    [['cp', 'hello.txt'], /^stowage: USAGE: cp takes a SOURCE and a DESTINATION, got 1 argument/],
    [['cat', 'nosuch:thing'], /^stowage: USAGE: unknown store or URL scheme 'nosuch' .+ \(nosuch:thing\)\n$/],
    [['cat', 's3:bucket/key'], /^stowage: USAGE: a s3: location starts with s3:\/\/, as in s3:\/\/bucket\/reports\/q3\.pdf \(s3:bucket\/key\)\n$/],
    [['ls', 'postgres://db.internal'], /^stowage: USAGE: a postgres: location names the database after the server/],
    [['cat', 'mysql://root@[::1/test/a'], /^stowage: USAGE: not a valid store URL: mysql:\/\/root@\[::1\/test/],
    [['sign', '--expires', 'soon', ':a.txt'], /^stowage: USAGE: --expires takes seconds or a duration/],
    [['rm', 'hello.txt'], /^stowage: USAGE: rm deletes objects in stores; hello\.txt is a local path/],
    [['cat', 'sqlite:./store.db/'], /^stowage: USAGE: cat reads one object/],
    [['cp', 'sqlite:./store.db', './here'], /^stowage: USAGE: name an object to cp, or cp a folder with -r/],
    [['cp', '-r', 'sqlite:./store.db/docs', 'sqlite:./store.db/docs/backup/'], /^stowage: USAGE: the destination sqlite:\.\/store\.db\/docs\/backup\/ is inside the source/],
    [['sync', '.', './mirror'], /^stowage: USAGE: the destination \.\/mirror is inside the source \./],
  ])('usage: stowage %j exits 2', async (args, line) => {
    const result = await ws.run(args);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(LINE);
    expect(result.stderr).toMatch(line);
  });

  it.each([
    [['cat', 'sqlite:./store.db/missing.txt'], 3, /^stowage: NOT_FOUND: .+ \(sqlite:\.\/store\.db\/missing\.txt\)\n$/],
    [['cat', ':missing.txt'], 3, /^stowage: NOT_FOUND: .+ \(:missing\.txt\)\n$/],
    [['cp', './no-such-file', ':x'], 3, /^stowage: NOT_FOUND: no such file: .+no-such-file \(\.\/no-such-file\)\n$/],
    [['cat', 'sqlite:./store.db/a//b'], 4, /^stowage: INVALID_PATH: .+ \(sqlite:\.\/store\.db\/a\/\/b\)\n$/],
    [['cp', 'hello.txt', 'sqlite:./store.db/../escape'], 4, /^stowage: INVALID_PATH: /],
    [['stat', ':trailing/slash/'], 4, /^stowage: INVALID_PATH: /],
    [['cp', 'hello.txt', 'sqlite:./store.db/hello.txt/inner'], 0, /^$/],
    [['cp', '--if-not-exists', 'hello.txt', 'sqlite:./store.db/hello.txt'], 5, /^stowage: ALREADY_EXISTS: /],
    [['sign', 'sqlite:./store.db/hello.txt'], 6, /^stowage: CAPABILITY_NOT_SUPPORTED: /],
    [['cp', 'hello.txt', 'sqlite:./store.db?journalMode=sideways'], 4, /^stowage: INVALID_ARGUMENT: the journalMode parameter of a sqlite: URL must be one of/],
    [['cp', '-r', './nowhere', ':x/'], 3, /^stowage: NOT_FOUND: no such directory/],
  ])('stowage %j exits %i', async (args, status, line) => {
    const result = await ws.run(args);
    expect(result.stderr).toMatch(line);
    expect(result.status).toBe(status);
  });

  it('adds the backend, key and causes with --verbose', async () => {
    const quiet = await ws.run(['cat', 'sqlite:./store.db/missing.txt']);
    const verbose = await ws.run(['cat', '--verbose', 'sqlite:./store.db/missing.txt']);
    expect(verbose.status).toBe(3);
    const lines = verbose.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(quiet.stderr.trimEnd());
    expect(lines[1]).toBe('  backend: sql-blob:sqlite, key: "missing.txt"');
  });

  it('masks passwords of store URLs in every line, --verbose included', async () => {
    const port = await freePort(); // nothing listens there
    const location = `postgres://app:Hunter2-Secret@127.0.0.1:${port}/app/a.txt`;
    const result = await ws.run(['cat', '--verbose', location]);
    expect(result.status).toBe(8);
    expect(result.stderr).toMatch(new RegExp(`^stowage: UNAVAILABLE: .+ \\(postgres://app:\\*\\*\\*@127\\.0\\.0\\.1:${port}/app/a\\.txt\\)\\n`));
    expect(result.stderr).toMatch(/\n {2}cause: /);
    expect(result.stderr).not.toContain('Hunter2-Secret');
    const invalid = await ws.run(['cat', 'postgres://app:Hunter2-Secret@/app/a.txt']);
    expect(invalid.status).toBe(2);
    expect(invalid.stderr).toContain('app:***@');
    expect(invalid.stderr).not.toContain('Hunter2-Secret');
  });

  it('masks secrets that come from the configuration and its ${ENV} references', async () => {
    // An adapter module (named by path, as a config type may be) whose every error repeats its token.
    await ws.file('leaky-adapter.mjs', failingAdapter('leaky', "'the vault refused the token ' + options.token + ' of ' + options.user"));
    const port = await freePort();
    await ws.file(
      'secret.yaml',
      [
        'backends:',
        '  db:',
        `    url: postgres://app:\${DB_PASSWORD}@127.0.0.1:${port}/app`,
        '  vault:',
        '    type: ./leaky-adapter.mjs',
        '    options: { token: "${VAULT_TOKEN}", user: app }',
        'stores:',
        '  records: { backend: db }',
        '  vault: { backend: vault }',
      ].join('\n'),
    );
    const env = { DB_PASSWORD: 'pw-FROM-ENV-42', VAULT_TOKEN: 'tok-FROM-ENV-43' };
    const vault = await ws.run(['ls', '--verbose', '--config', 'secret.yaml', 'vault:'], { env });
    expect(vault.status).toBe(1);
    expect(vault.stderr).toMatch(/^stowage: ERROR: the vault refused the token \*\*\* of app \(vault:\)\n/);
    const records = await ws.run(['ls', '--verbose', '--config', 'secret.yaml', 'records:'], { env });
    expect(records.status).toBe(8);
    expect(records.stderr).toMatch(/^stowage: UNAVAILABLE: .+ \(records:\)\n/);
    const doctor = await ws.run(['doctor', '--config', 'secret.yaml'], { env });
    expect(doctor.status).toBe(1);
    expect(doctor.stdout).toMatch(/^ {2}FAIL {2}records +UNAVAILABLE: /m);
    expect(doctor.stdout).toMatch(/^ {2}FAIL {2}vault +ERROR: the vault refused the token \*\*\* of app +\d+ ms$/m);
    for (const output of [vault.stderr, records.stderr, doctor.stdout, doctor.stderr]) {
      expect(output).not.toContain('pw-FROM-ENV-42');
      expect(output).not.toContain('tok-FROM-ENV-43');
    }
  });

  it("masks the options an adapter declares secret, the parts of connection strings, and the SDKs' credentials in the environment", async () => {
    // An adapter whose option `connectionString` (a name that does not look secret) it declares
    // secret, and whose errors quote its key, the AWS secret and the second link secret.
    await ws.file(
      'quoting-adapter.mjs',
      failingAdapter(
        'quoting',
        "'refused key ' + /AccountKey=([^;]+)/.exec(options.connectionString)[1] + ', aws ' + process.env.AWS_SECRET_ACCESS_KEY + ', link ' + process.env.STOWAGE_LINK_SECRET.split(',')[1]",
        "secretOptions: ['connectionString'],",
      ),
    );
    await ws.file(
      'quoting.json',
      JSON.stringify({ backends: { blob: { type: './quoting-adapter.mjs', options: { connectionString: 'DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=KEY-from-config-77==;' } } }, stores: { blob: { backend: 'blob' } } }),
    );
    const env = { AWS_SECRET_ACCESS_KEY: 'aws-secret-FROM-ENV-44', STOWAGE_LINK_SECRET: `${'n'.repeat(32)},old-link-secret-FROM-ENV-45-xxxxxxxxxx` };
    const result = await ws.run(['ls', '--verbose', '--config', 'quoting.json', 'blob:'], { env });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^stowage: ERROR: refused key \*\*\*, aws \*\*\*, link \*\*\* \(blob:\)\n/);
    for (const secret of ['KEY-from-config-77', 'aws-secret-FROM-ENV-44', 'old-link-secret-FROM-ENV-45']) expect(result.stderr).not.toContain(secret);
  });
});
