/**
 * Install only what you need, proven: every publishable package is installed from its packed
 * tarball into an empty project of its own with npm, as a user would install it, and then used.
 *
 * For each package: `npm install` of its tarball, `@stowage/core` and any other `@stowage/*` package
 * it needs (from the tarballs; never from a registry) and, for an adapter, the driver a user adds
 * (from the npm registry, at the version the adapter is tested with). Then:
 * - no other adapter's SDK is in the project (scripts/adapters.ts says which packages are whose),
 *   nor an optional peer nobody asked for, nor a `@stowage/*` package it does not need;
 * - a script in the project imports the package; an adapter opens a store through `openStore`,
 *   writes, reads back, lists and deletes (an adapter whose server is not reachable is constructed
 *   without I/O and its declared capabilities checked);
 * - each command the package installs (`bin`) answers `--help`.
 *
 *   node --conditions=@stowage/source scripts/install-check.ts [--tarballs DIR] [--only @stowage/local]... [--report FILE]
 *
 * `--tarballs DIR` installs the tarballs of DIR/tarballs.json (the release dry run's `--pack-into`);
 * without it the checkout's packages are built (turbo, cached) and packed by scripts/pack.ts (what
 * `bash scripts/run.sh pack DIR` does). npm's cache is
 * ${XDG_CACHE_HOME:-~/.cache}/stowage/npm, and npm prefers it to the network, so that a second run
 * downloads nothing.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveTestServer, type TestServer } from '@stowage/conformance/servers';
import { ADAPTERS, belongsTo, type AdapterFacts } from './adapters.ts';
import { packCheckout, readPackedManifest } from './pack.ts';
import { NPM_CACHE, NPM_OPTIONS, type PackageManifest, type PackedTarball, type TarballIndex } from './workspace.ts';

const { values } = parseArgs({
  options: {
    tarballs: { type: 'string' },
    only: { type: 'string', multiple: true },
    report: { type: 'string' },
    concurrency: { type: 'string', default: '2' },
  },
});


/** Runs a command; resolves with its output, rejects with the tail of it. */
function exec(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise(output);
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `status ${code}`}):\n${output.trim().split('\n').slice(-30).join('\n')}`));
    });
  });
}

// ---- the tarballs -------------------------------------------------------------------------------

interface Tarball extends PackedTarball {
  /** Absolute path. */
  path: string;
  /** The packed package.json (what npm sees). */
  manifest: PackageManifest;
}

function packWorkspace(destination: string): TarballIndex {
  console.log('==> building and packing the checkout with scripts/pack.ts (no --tarballs given)');
  return packCheckout(destination);
}

function loadTarballs(directory: string, index: TarballIndex): Map<string, Tarball> {
  const byName = new Map<string, Tarball>();
  for (const entry of index.tarballs) {
    const path = join(directory, entry.file);
    if (!existsSync(path)) throw new Error(`${path} is listed in tarballs.json but missing`);
    byName.set(entry.name, { ...entry, path, manifest: readPackedManifest(path) });
  }
  return byName;
}

/** The `@stowage/*` packages `name` needs installed with it: dependencies and required peers, transitively. */
function stowageClosure(name: string, tarballs: ReadonlyMap<string, Tarball>): Set<string> {
  const needed = new Set<string>([name]);
  const queue = [name];
  while (queue.length > 0) {
    const manifest = tarballs.get(queue.shift()!)?.manifest;
    if (!manifest) continue;
    const optional = new Set(Object.entries(manifest.peerDependenciesMeta ?? {}).filter(([, meta]) => meta.optional).map(([peer]) => peer));
    const wanted = [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {}).filter((peer) => !optional.has(peer))];
    for (const dependency of wanted) {
      if (!dependency.startsWith('@stowage/') || needed.has(dependency)) continue;
      if (!tarballs.has(dependency)) throw new Error(`${name} needs ${dependency}, which has no tarball (is it private?)`);
      needed.add(dependency);
      queue.push(dependency);
    }
  }
  return needed;
}

// ---- one project per package --------------------------------------------------------------------

/** The script that uses the installed package; it prints one JSON line. */
const SMOKE_SCRIPT = `
import { randomUUID } from 'node:crypto';
import { assertCapabilities, openStore } from '@stowage/core';

const task = JSON.parse(process.argv[2]);
const module = await import(task.package);
const result = { exports: Object.keys(module).length, adapter: false };
const definition = module.adapter;
if (definition && typeof definition.create === 'function') {
  result.adapter = true;
  result.adapterName = definition.name;
  if (task.open === 'construct') {
    const backend = await definition.create(task.options);
    assertCapabilities(backend.capabilities, definition.name);
    result.capabilities = backend.capabilities;
    await backend.close();
    result.mode = 'constructed without a server (no I/O)';
  } else if (task.open) {
    const root = await openStore(task.open.url ?? { type: task.package, options: task.open.options });
    const store = root.at('install-check-' + randomUUID());
    const key = 'notes/hello.txt';
    const text = 'installed alone: ' + task.package;
    const written = await store.write(key, text);
    const read = await store.readText(key);
    const page = await store.list({ prefix: 'notes/' });
    await store.delete(key);
    const gone = !(await store.exists(key));
    result.capabilities = store.capabilities;
    await root.close();
    const problems = [];
    if (read !== text) problems.push('read back ' + JSON.stringify(read) + ' instead of ' + JSON.stringify(text));
    if (written.size !== Buffer.byteLength(text)) problems.push('stored ' + written.size + ' bytes instead of ' + Buffer.byteLength(text));
    if (page.items.map((item) => item.key).join() !== key) problems.push('listed ' + JSON.stringify(page.items.map((item) => item.key)));
    if (!gone) problems.push('the key still exists after delete');
    if (problems.length > 0) throw new Error(problems.join('; '));
    result.mode = 'wrote, read back, listed and deleted through openStore';
  }
}
console.log(JSON.stringify(result));
`;

interface Outcome {
  name: string;
  ok: boolean;
  kind: 'adapter' | 'package';
  /** Every package npm installed, @stowage ones included. */
  installed: number;
  /** The packages not from this repository. */
  thirdParty: string[];
  mode: string;
  seconds: number;
  problems: string[];
}

/** Every package name in the project's node_modules, from npm's hidden lockfile. */
function installedPackages(project: string): Set<string> {
  const lock = JSON.parse(readFileSync(join(project, 'node_modules', '.package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
  const names = new Set<string>();
  for (const location of Object.keys(lock.packages)) {
    const at = location.lastIndexOf('node_modules/');
    if (at !== -1) names.add(location.slice(at + 'node_modules/'.length));
  }
  return names;
}

interface SmokeTask {
  package: string;
  open?: 'construct' | { url?: string; options?: Record<string, unknown> };
  options?: Record<string, unknown>;
  note?: string;
}

/** What the smoke script does with the package, and the server it talks to (stopped by the caller). */
async function smokeTask(name: string, facts: AdapterFacts | undefined): Promise<{ task: SmokeTask; server?: TestServer }> {
  if (!facts) return { task: { package: name } };
  const target = facts.smoke;
  if ('url' in target) return { task: { package: name, open: { url: target.url } } };
  // Found as the adapter's own tests find theirs: STOWAGE_TEST_<NAME>_URL, else one started here; a
  // failure when it is required (CI), else the construction-only check with the reason.
  const resolved = await resolveTestServer(target.server.name, { fromUrl: (url) => target.server.fromUrl(url), start: () => target.server.start() });
  if (!resolved.server) return { task: { package: name, open: 'construct', options: target.offline, note: resolved.skip } };
  const where = resolved.server.startedHere ? `${resolved.server.name} started here` : `${resolved.server.name} at ${resolved.server.endpoint}`;
  return { task: { package: name, open: { options: target.server.options(resolved.server.settings) }, note: where }, server: resolved.server };
}

async function checkPackage(name: string, tarballs: ReadonlyMap<string, Tarball>): Promise<Outcome> {
  const started = performance.now();
  const tarball = tarballs.get(name)!;
  const facts = ADAPTERS[name];
  const problems: string[] = [];
  const outcome: Outcome = { name, ok: false, kind: facts ? 'adapter' : 'package', installed: 0, thirdParty: [], mode: 'not run', seconds: 0, problems };
  const project = mkdtempSync(join(tmpdir(), `stowage-install-${name.replace(/\W+/g, '-')}-`));
  try {
    const stowage = stowageClosure(name, tarballs);
    stowage.add('@stowage/core');
    const extras = (facts?.alsoInstall ?? []).map((extra) => {
      const range = tarball.manifest.devDependencies?.[extra] ?? tarball.manifest.peerDependencies?.[extra];
      if (!range) throw new Error(`${name}: scripts/adapters.ts installs ${extra}, which is not among its devDependencies or peerDependencies`);
      return `${extra}@${range}`;
    });
    // @stowage/* must come from the tarballs, also where a package depends on another one: the
    // overrides send every such dependency to its tarball, and the registry npm would ask for them
    // otherwise is one that refuses, so that a slip fails instead of installing someone else's.
    const fromTarballs = Object.fromEntries([...tarballs.values()].map((tarball) => [tarball.name, `file:${tarball.path}`]));
    const dependencies: Record<string, string> = Object.fromEntries([...stowage].sort().map((dependency) => [dependency, fromTarballs[dependency]!]));
    for (const extra of extras) {
      const at = extra.lastIndexOf('@');
      dependencies[extra.slice(0, at)] = extra.slice(at + 1);
    }
    writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'install-check', private: true, type: 'module', dependencies, overrides: fromTarballs }, null, 2)}\n`);
    writeFileSync(join(project, '.npmrc'), '@stowage:registry=http://127.0.0.1:9/\n');
    writeFileSync(join(project, 'smoke.mjs'), SMOKE_SCRIPT);
    await exec('npm', ['install', ...NPM_OPTIONS], { cwd: project, timeoutMs: 600_000 });

    const installed = installedPackages(project);
    outcome.installed = installed.size;
    outcome.thirdParty = [...installed].filter((installedName) => !installedName.startsWith('@stowage/')).sort();
    for (const dependency of stowage) if (!installed.has(dependency)) problems.push(`${dependency} is missing from the project (npm did not install its tarball)`);
    for (const installedName of installed) {
      if (installedName.startsWith('@stowage/') && !stowage.has(installedName)) problems.push(`${installedName} was installed, but ${name} does not need it`);
    }
    for (const [adapter, other] of Object.entries(ADAPTERS)) {
      if (stowage.has(adapter)) continue;
      const foreign = [...installed].filter((installedName) => belongsTo(installedName, other.sdk) && !belongsTo(installedName, facts?.sdk ?? []));
      if (foreign.length > 0) problems.push(`${foreign.join(', ')} (of ${adapter}) came with ${name}`);
    }
    const requested = new Set(facts?.alsoInstall ?? []);
    for (const member of stowage) {
      const manifest = tarballs.get(member)!.manifest;
      for (const [peer, meta] of Object.entries(manifest.peerDependenciesMeta ?? {})) {
        const neededElsewhere = [...stowage].some((other) => tarballs.get(other)!.manifest.dependencies?.[peer] !== undefined);
        if (meta.optional && installed.has(peer) && !requested.has(peer) && !neededElsewhere) {
          problems.push(`${peer}, an optional peer of ${member} that nobody asked for, was installed`);
        }
      }
    }

    const { task, server } = await smokeTask(name, facts);
    let answer: string;
    try {
      answer = await exec(process.execPath, ['smoke.mjs', JSON.stringify(task)], { cwd: project, timeoutMs: 120_000 });
    } finally {
      await server?.stop();
    }
    const result = JSON.parse(answer.trim().split('\n').pop()!) as { exports: number; adapter: boolean; adapterName?: string; mode?: string };
    if (result.exports === 0) problems.push(`${name}'s main entry exports nothing`);
    if (result.adapter && !facts) problems.push(`${name} exports an adapter but scripts/adapters.ts has no row for it: add one (its SDK packages and how to open a store)`);
    if (!result.adapter && facts) problems.push(`${name} is in scripts/adapters.ts but its main entry exports no adapter`);
    outcome.mode = !result.adapter ? `imported (${result.exports} exports)` : result.mode ? `${result.mode}${task.note ? ` (${task.note})` : ''}` : 'an adapter, not opened';

    for (const command of typeof tarball.manifest.bin === 'string' ? [name.split('/').pop()!] : Object.keys(tarball.manifest.bin ?? {})) {
      await exec(join(project, 'node_modules', '.bin', command), ['--help'], { cwd: project, timeoutMs: 60_000 }).then(
        () => (outcome.mode += `; \`${command} --help\` answers`),
        (error: Error) => problems.push(`the installed command ${command} --help failed: ${error.message}`),
      );
    }
  } catch (error) {
    problems.push((error as Error).message);
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
  outcome.ok = problems.length === 0;
  outcome.seconds = (performance.now() - started) / 1000;
  return outcome;
}

// ---- main ---------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const started = performance.now();
  mkdirSync(NPM_CACHE, { recursive: true });
  const scratch = mkdtempSync(join(tmpdir(), 'stowage-tarballs-'));
  try {
    let directory: string;
    let index: TarballIndex;
    if (values.tarballs !== undefined) {
      directory = resolve(values.tarballs);
      index = JSON.parse(readFileSync(join(directory, 'tarballs.json'), 'utf8')) as TarballIndex;
    } else {
      directory = scratch;
      index = packWorkspace(scratch);
    }
    const tarballs = loadTarballs(directory, index);
    for (const adapter of Object.keys(ADAPTERS)) {
      if (!tarballs.has(adapter)) throw new Error(`scripts/adapters.ts lists ${adapter}, which is not a publishable package of the workspace (remove its row)`);
    }
    const names = values.only ?? [...tarballs.keys()];
    for (const name of names) if (!tarballs.has(name)) throw new Error(`--only ${name}: no such publishable package`);
    console.log(`==> installing ${names.length} package${names.length === 1 ? '' : 's'} one by one from ${index.source === 'release-candidate' ? 'the release candidate' : 'the checkout'}'s tarballs (npm cache: ${NPM_CACHE})`);

    const outcomes: Outcome[] = [];
    const queue = [...names];
    const workers = Array.from({ length: Math.max(1, Number(values.concurrency)) }, async () => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
        const outcome = await checkPackage(name, tarballs);
        outcomes.push(outcome);
        const thirdParty = outcome.thirdParty.length === 0 ? 'nothing else' : `${outcome.thirdParty.length} other packages`;
        console.log(`${outcome.ok ? 'ok  ' : 'FAIL'}  ${name}: ${outcome.installed} installed (${thirdParty}); ${outcome.mode} (${outcome.seconds.toFixed(1)} s)`);
        for (const problem of outcome.problems) console.log(`        - ${problem.split('\n').join('\n          ')}`);
      }
    });
    await Promise.all(workers);

    if (values.report !== undefined) writeFileSync(resolve(values.report), `${JSON.stringify({ source: index.source, outcomes }, null, 2)}\n`);
    const failed = outcomes.filter((outcome) => !outcome.ok).length;
    console.log(`\ninstall check: ${outcomes.length - failed} of ${outcomes.length} packages install alone and work (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    return failed === 0 ? 0 : 1;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error(`install check: ${(error as Error).message}`);
  process.exitCode = 1;
}
