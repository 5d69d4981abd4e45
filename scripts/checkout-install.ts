/**
 * The README's "Install from a checkout", done as written, outside the repository:
 *
 * 1. `bash scripts/run.sh pack DIR` (the documented command) writes the tarballs;
 * 2. in an empty project in the system's temporary folder, the npm install line it printed for the
 *    library (core, memory, sql-blob and better-sqlite3), then a program that imports them and
 *    writes, reads and lists on a `memory://` and a `sqlite:` store;
 * 3. `npm install -g --prefix SCRATCH` of the CLI's tarball with its `@stowage/*` tarballs and `pg`
 *    (as the CLI's README says for postgres://), then SCRATCH/bin/stowage `cp`, `cat`, `ls` and `rm`
 *    on a `sqlite:` store and on PostgreSQL at STOWAGE_TEST_POSTGRES_URL: the command must load its
 *    adapters and their drivers from where it is installed. Without the URL the PostgreSQL part is
 *    skipped with the reason, except when servers are required (CI), where that fails.
 *
 * The Node that runs this script runs the installed command too (it must satisfy the CLI's
 * `engines`). npm's cache is ${XDG_CACHE_HOME:-~/.cache}/stowage/npm, preferred to the network.
 *
 *   node scripts/checkout-install.ts
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { installCommand, readPackedManifest } from './pack.ts';
import { NPM_CACHE, NPM_OPTIONS, ROOT, type TarballIndex } from './workspace.ts';

// The installed command's `#!/usr/bin/env node` finds this script's Node first.
const ENV = { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` };

interface Result {
  status: number | null;
  output: string;
  stdout: string;
}

function exec(command: string, args: readonly string[], cwd: string, input?: string): Promise<Result> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, env: ENV, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => ((output += chunk.toString('utf8')), (stdout += chunk.toString('utf8'))));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    child.once('error', (error) => (clearTimeout(timer), reject(error)));
    child.once('close', (status) => (clearTimeout(timer), resolvePromise({ status, output, stdout })));
    child.stdin.end(input ?? '');
  });
}

async function mustRun(command: string, args: readonly string[], cwd: string, input?: string): Promise<string> {
  const result = await exec(command, args, cwd, input);
  if (result.status !== 0) throw new Error(`${[command, ...args].join(' ')} failed (status ${result.status}):\n${result.output.trim().split('\n').slice(-30).join('\n')}`);
  return result.stdout;
}

function step(name: string): () => void {
  const started = performance.now();
  console.log(`==> ${name}`);
  return () => console.log(`    ok (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

/** A scratch folder in the system's temporary folder, which must not be inside the checkout. */
function scratch(name: string): string {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), `stowage-${name}-`)));
  if (!relative(ROOT, dir).startsWith('..')) throw new Error(`the scratch folder ${dir} is inside the checkout: set TMPDIR to a folder outside it`);
  return dir;
}

const LIBRARY_PROGRAM = `
import { openStore } from '@stowage/core';
import { MemoryBackend } from '@stowage/memory';
import { SqlBlobBackend } from '@stowage/sql-blob';
import { Store } from '@stowage/core';

const results = {};
for (const url of ['memory://', 'sqlite:./store.db']) {
  const store = await openStore(url);
  await store.write('notes/hello.txt', 'hello from ' + url);
  const text = await store.readText('notes/hello.txt');
  const keys = (await store.list({ prefix: 'notes/' })).items.map((item) => item.key);
  await store.close();
  results[url] = { text, keys, backend: store.backendName };
}
const direct = new Store(await SqlBlobBackend.open({ url: 'sqlite:./store.db' }));
results.reopened = await direct.readText('notes/hello.txt');
await direct.close();
results.memoryClass = typeof MemoryBackend;
console.log(JSON.stringify(results));
`;

async function main(): Promise<number> {
  const problems: string[] = [];
  const folders: string[] = [];
  const started = performance.now();
  mkdirSync(NPM_CACHE, { recursive: true });
  try {
    const tarballs = scratch('tarballs');
    folders.push(tarballs);
    let done = step(`bash scripts/run.sh pack ${tarballs}`);
    const printed = await mustRun('bash', [join(ROOT, 'scripts', 'run.sh'), 'pack', tarballs], tmpdir());
    const index = JSON.parse(readFileSync(join(tarballs, 'tarballs.json'), 'utf8')) as TarballIndex;
    for (const tarball of index.tarballs) {
      const manifest = readPackedManifest(join(tarballs, tarball.file));
      for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies'] as const) {
        for (const [name, range] of Object.entries(manifest[field] ?? {})) {
          if (name.startsWith('@stowage/') && !range.startsWith(`file:${tarballs}/`)) problems.push(`${tarball.file}: ${field} ${name} is ${range}, not its sibling tarball`);
        }
      }
    }
    const libraryLine = installCommand(tarballs, index, ['@stowage/core', '@stowage/memory', '@stowage/sql-blob'], ['better-sqlite3']);
    const cliLine = installCommand(tarballs, index, ['@stowage/cli'], [], true);
    for (const line of [libraryLine, cliLine]) if (!printed.includes(line.join(' '))) problems.push(`run.sh pack did not print \`${line.join(' ')}\``);
    done();

    // The library, in a project of its own; the registry must not be asked for any @stowage package.
    const project = scratch('project');
    folders.push(project);
    done = step(`in ${project}: ${libraryLine.join(' ')}`);
    writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'checkout-install', private: true, type: 'module' }, null, 2)}\n`);
    writeFileSync(join(project, '.npmrc'), '@stowage:registry=http://127.0.0.1:9/\n');
    writeFileSync(join(project, 'main.mjs'), LIBRARY_PROGRAM);
    await mustRun(libraryLine[0]!, [...libraryLine.slice(1), ...NPM_OPTIONS], project);
    const answer = JSON.parse((await mustRun(process.execPath, ['main.mjs'], project)).trim().split('\n').pop()!) as Record<string, { text: string; keys: string[] } | string>;
    for (const url of ['memory://', 'sqlite:./store.db']) {
      const result = answer[url] as { text: string; keys: string[] };
      if (result.text !== `hello from ${url}` || result.keys.join() !== 'notes/hello.txt') problems.push(`the library on ${url}: ${JSON.stringify(result)}`);
    }
    if (answer.reopened !== 'hello from sqlite:./store.db') problems.push(`SqlBlobBackend reopened store.db and read ${JSON.stringify(answer.reopened)}`);
    console.log(`    node main.mjs: memory:// and sqlite:./store.db written, read back and listed`);
    done();

    // The command, installed globally with the @stowage tarballs it needs beside it, and pg.
    const prefix = scratch('global');
    const work = scratch('work');
    folders.push(prefix, work);
    const cli = readPackedManifest(join(tarballs, index.tarballs.find((tarball) => tarball.name === '@stowage/cli')!.file));
    const needed = Object.keys(cli.dependencies ?? {}).filter((name) => name.startsWith('@stowage/'));
    const pg = `pg@${cli.peerDependencies?.pg ?? 'latest'}`;
    const globalLine = [...installCommand(tarballs, index, ['@stowage/cli', ...needed], [pg], true), '--prefix', prefix];
    done = step(`${globalLine.join(' ')}`);
    await mustRun(globalLine[0]!, [...globalLine.slice(1), ...NPM_OPTIONS], work);
    const stowage = join(prefix, 'bin', 'stowage');
    console.log(`    ${stowage} on node ${process.version} (the CLI's engines: ${JSON.stringify((cli as { engines?: unknown }).engines)})`);
    writeFileSync(join(work, 'hello.txt'), 'hello, installed stowage\n');
    const run = (...args: string[]): Promise<Result> => exec(stowage, args, work);
    const expect = async (what: string, result: Promise<Result>, check: (output: Result) => boolean): Promise<void> => {
      const outcome = await result;
      if (outcome.status !== 0 || !check(outcome)) problems.push(`${what}: status ${outcome.status}: ${outcome.output.trim().split('\n').slice(-5).join(' | ')}`);
    };
    const roundTrip = async (location: string, name: string): Promise<void> => {
      await expect(`stowage cp hello.txt ${name}`, run('cp', 'hello.txt', `${location}notes/hello.txt`), () => true);
      await expect(`stowage cat ${name}`, run('cat', `${location}notes/hello.txt`), (result) => result.stdout === 'hello, installed stowage\n');
      await expect(`stowage ls ${name}`, run('ls', `${location}notes/`), (result) => result.stdout.includes('hello.txt'));
      await expect(`stowage rm ${name}`, run('rm', `${location}notes/hello.txt`), () => true);
    };
    await expect('stowage --version', run('--version'), (result) => result.stdout.includes(cli.version));
    await roundTrip('sqlite:./store.db/', 'on sqlite:./store.db');
    // The default store (the embedded SQLite): a missing key is NOT_FOUND, not a missing driver.
    const missing = await run('cat', ':nope');
    if (!/NOT_FOUND/.test(missing.output)) problems.push(`stowage cat :nope should say NOT_FOUND: status ${missing.status}: ${missing.output.trim()}`);
    console.log('    sqlite:./store.db: cp, cat, ls, rm; `stowage cat :nope` is NOT_FOUND');
    const postgres = process.env.STOWAGE_TEST_POSTGRES_URL;
    if (postgres) {
      await roundTrip(`${postgres.replace(/\/+$/, '')}/checkout-install-${randomUUID()}/`, 'on PostgreSQL');
      console.log('    STOWAGE_TEST_POSTGRES_URL: cp, cat, ls, rm');
    } else if (process.env.STOWAGE_TEST_REQUIRE_SERVERS === '1') {
      problems.push('STOWAGE_TEST_POSTGRES_URL is not set, and servers are required (CI)');
    } else {
      console.log('    PostgreSQL skipped: STOWAGE_TEST_POSTGRES_URL is not set');
    }
    done();
  } catch (error) {
    problems.push((error as Error).message);
  } finally {
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (problems.length > 0) {
    console.log(`\ninstall from a checkout: FAILED (${seconds} s)`);
    for (const problem of problems) console.log(`  - ${problem.split('\n').join('\n    ')}`);
    return 1;
  }
  console.log(`\ninstall from a checkout: ok (${seconds} s)`);
  return 0;
}

process.exitCode = await main();
