/**
 * The backends the end-to-end tests run every command against: how a key is written as a location
 * on each, how the command shows it, and the server each needs (PostgreSQL and MySQL/MariaDB are
 * skipped with a reason when unreachable, and fail the run under STOWAGE_TEST_REQUIRE_SERVERS).
 */
import { connect } from 'node:net';
import { serverRequired } from '@stowage/conformance/servers';
import { randomName, type Workspace } from './run-binary.ts';

/** One backend as the tests address it. */
export interface TestBackend {
  name: string;
  /** The location of `key` (which may be empty or end with `/`). */
  at(key: string): string;
  /** How the command shows that location in its output. */
  shown(key: string): string;
  /** Prepares the working directory (a configuration file) and the environment the runs need. */
  setup?(workspace: Workspace): Promise<void>;
  /** The environment every run needs. */
  env?: Record<string, string> | undefined;
  /** A store URL (or configured store) to name in a doctor configuration. */
  doctorStore: { backend: string } | { config: string; name: string };
  /** Removes what the tests left on a server. */
  teardown?(): Promise<void>;
  /** Why the backend's tests are skipped. */
  skip?: string | undefined;
}

function reachable(url: string): Promise<boolean> {
  const parsed = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: parsed.hostname, port: Number(parsed.port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * The tests' own database on the server, created when missing: other suites on the same server kill
 * the idle sessions of their database to test lost connections, and must not hit these.
 */
const DATABASE = 'stowage_cli_test';

async function createDatabase(name: 'postgres' | 'mysql', url: string): Promise<void> {
  if (name === 'postgres') {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
      if (found.rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE}`).catch((error: { code?: string }) => (error.code === '42P04' || error.code === '23505' ? undefined : Promise.reject(error)));
    } finally {
      await client.end();
    }
  } else {
    const mysql = await import('mysql2/promise');
    const connection = await mysql.createConnection(url);
    try {
      await connection.query(`CREATE DATABASE IF NOT EXISTS ${DATABASE}`);
    } finally {
      await connection.end();
    }
  }
}

async function dropTables(name: 'postgres' | 'mysql', url: string, table: string): Promise<void> {
  if (name === 'postgres') {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`DROP TABLE IF EXISTS "${table}_chunks", "${table}"`);
    await client.end();
  } else {
    const mysql = await import('mysql2/promise');
    const connection = await mysql.createConnection(url);
    await connection.query(`DROP TABLE IF EXISTS \`${table}_chunks\`, \`${table}\``);
    await connection.end();
  }
}

async function databaseBackend(name: 'postgres' | 'mysql', defaultUrl: string): Promise<TestBackend> {
  const variable = name === 'postgres' ? 'STOWAGE_TEST_POSTGRES_URL' : 'STOWAGE_TEST_MYSQL_URL';
  const serverUrl = process.env[variable] || defaultUrl;
  const parsed = new URL(serverUrl);
  parsed.pathname = `/${DATABASE}`;
  const url = parsed.href.replace(/\/$/, '');
  const table = randomName('stowage_cli_');
  const base: TestBackend = {
    name,
    at: (key) => `${url}/${key}?tableName=${table}`,
    shown: (key) => `${url.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@')}/${key}`,
    doctorStore: { backend: `${url}?tableName=${table}` },
  };
  if (!(await reachable(serverUrl))) {
    const reason = `${name} is not reachable at ${parsed.host} (set ${variable})`;
    if (serverRequired(name)) throw new Error(`${reason}; STOWAGE_TEST_REQUIRE_SERVERS requires it`);
    return { ...base, skip: reason };
  }
  await createDatabase(name, serverUrl);
  return { ...base, teardown: () => dropTables(name, url, table) };
}

/** The backends every command runs on (the memory store, which lives in one process only, has its own tests). */
export type BackendName = 'embedded' | 'sqlite' | 'local' | 'configured' | 'postgres' | 'mysql';

/** One backend as the tests address it; a server that is unreachable makes it skipped, or fails when required. */
export async function testBackend(name: BackendName): Promise<TestBackend> {
  switch (name) {
    case 'embedded':
      return { name: 'the embedded default (SQLite)', at: (key) => `:${key}`, shown: (key) => `:${key}`, doctorStore: { config: 'none', name: ':' } };
    case 'sqlite':
      return { name: 'sqlite', at: (key) => `sqlite:./store.db/${key}`, shown: (key) => `sqlite:./store.db/${key}`, doctorStore: { backend: 'sqlite:./store.db' } };
    case 'local':
      return { name: 'local (file:)', at: (key) => `file:./data//${key}`, shown: (key) => `file:./data//${key}`, doctorStore: { backend: 'file:./data' } };
    case 'configured':
      return {
        name: 'a configured local store (YAML, ${ENV})',
        at: (key) => `box:${key}`,
        shown: (key) => `box:${key}`,
        env: { BOX_ROOT: 'box-data' },
        async setup(workspace) {
          await workspace.file(
            'stowage.config.yaml',
            ['backends:', '  disk:', '    type: local', '    options:', '      root: ./${BOX_ROOT}', 'stores:', '  box:', '    backend: disk', '    root: inbox/', ''].join('\n'),
          );
        },
        doctorStore: { config: 'stowage.config.yaml', name: 'box' },
      };
    case 'postgres':
      return databaseBackend('postgres', 'postgres://postgres@127.0.0.1:5432/test');
    case 'mysql':
      return databaseBackend('mysql', 'mysql://root@127.0.0.1:3306/test');
  }
}
