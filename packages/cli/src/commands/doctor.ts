/**
 * `stowage doctor`: the health of every configured store, and what the command runs with (its
 * version, Node, the configuration file, the adapter packages installed).
 *
 * @module
 */
import { relative } from 'node:path';
import { UnavailableError, type Store, type SweepReport } from '@stowage/core';
import { adapterPackages } from '../adapters.ts';
import { expectPositionals, flag, stringOption, type Command, type Context } from '../command.ts';
import { CONFIG_FILE_NAMES, CONFIG_VARIABLE } from '../config.ts';
import { describeFailure, failureCode, usageError } from '../failures.ts';
import { alignColumns, formatBytes, parseDuration } from '../format.ts';
import type { StoreRef } from '../locations.ts';
import { statPath } from '../files.ts';
import { commandVersion } from '../version.ts';

/** How long a store may take to answer. */
const HEALTH_TIMEOUT_MS = 10_000;

/** What doctor found of one store. */
interface StoreHealth {
  /** How locations name it: `:` for the default, else its name. */
  name: string;
  ok: boolean;
  /** The backend's name, once open. */
  backend?: string | undefined;
  root?: string | undefined;
  /** What it is when there is nothing to check (the embedded store before its first write). */
  note?: string | undefined;
  error?: { code: string; message: string } | undefined;
  ms?: number | undefined;
  capabilities?: Record<string, unknown> | undefined;
  /** With `--sweep`: what the store's sweep found and removed (or why it failed). */
  sweep?: SweepReport | { error: { code: string; message: string } } | undefined;
}

/** What `--sweep` asks of each store. */
interface SweepRequest {
  olderThanMs: number | undefined;
  dryRun: boolean;
}

async function check(context: Context, name: string, ref: StoreRef, sweep: SweepRequest | undefined): Promise<StoreHealth> {
  const started = performance.now();
  let store: Store;
  try {
    store = await context.session.store(ref, { write: false });
    await store.health({ signal: AbortSignal.any([context.signal, AbortSignal.timeout(HEALTH_TIMEOUT_MS)]) }).catch((error: unknown) => {
      if ((error as Error)?.name === 'TimeoutError' || (error as { code?: string })?.code === 'ABORTED') {
        if (!context.signal.aborted) throw new UnavailableError(`no answer within ${HEALTH_TIMEOUT_MS / 1000} s`, { cause: error });
      }
      throw error;
    });
  } catch (error) {
    return { name, ok: false, error: failureOf(context, error), ms: Math.round(performance.now() - started) };
  }
  const health: StoreHealth = { name, ok: true, backend: store.backendName, root: store.root || undefined, ms: Math.round(performance.now() - started), capabilities: { ...store.capabilities } };
  if (sweep !== undefined) {
    try {
      health.sweep = await store.sweep({ ...sweep, signal: context.signal });
    } catch (error) {
      health.sweep = { error: failureOf(context, error) };
    }
  }
  return health;
}

function failureOf(context: Context, error: unknown): { code: string; message: string } {
  const line = describeFailure(error, (text) => context.session.mask(text), false)[0]!;
  return { code: failureCode(error), message: line.replace(/^stowage: [A-Z_]+: /, '') };
}

/** `--sweep`, `--dry-run` and `--older-than`, checked; undefined without `--sweep`. */
function sweepRequest(args: Parameters<Command['run']>[1]): SweepRequest | undefined {
  const olderThan = stringOption(args, 'older-than');
  const dryRun = flag(args, 'dry-run');
  if (!flag(args, 'sweep')) {
    if (olderThan !== undefined || dryRun) throw usageError(`--${dryRun ? 'dry-run' : 'older-than'} only applies with --sweep`);
    return undefined;
  }
  if (olderThan === undefined) return { olderThanMs: undefined, dryRun };
  const seconds = parseDuration(olderThan);
  if (seconds === undefined) throw usageError(`--older-than must be a number of seconds or a duration such as 30m, 12h or 7d, got ${JSON.stringify(olderThan)}`);
  return { olderThanMs: seconds * 1000, dryRun };
}

/** One line of what a store's sweep did: counts by kind, or why there was nothing to look for. */
function sweepLine(result: StoreHealth): string | undefined {
  const sweep = result.sweep;
  if (sweep === undefined) return undefined;
  if ('error' in sweep) return `${result.name}: sweep failed: ${sweep.error.code}: ${sweep.error.message}`;
  const verb = sweep.dryRun ? 'would remove' : 'removed';
  const count = sweep.dryRun ? sweep.found : sweep.removed;
  const kinds = sweep.kinds.map((kind) => (kind.unreclaimable !== undefined ? `${kind.kind}: not reclaimable (${kind.unreclaimable})` : `${kind.kind} ${kind.found}`));
  const head = `${result.name}: ${verb} ${count} of ${sweep.found} leftover${sweep.found === 1 ? '' : 's'} (${formatBytes(sweep.bytes)})`;
  return [head, ...kinds, ...sweep.notes].join('; ');
}

/** `stowage doctor`. */
export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'Check every configured store (and the default one) and show what the command runs with.',
  usage: ['doctor [--json] [--sweep [--dry-run] [--older-than DURATION]]'],
  description: [
    "Opens each store of the configuration and asks its backend for a health check (at most 10 s each), then prints one line per store: ok or FAIL with the error code and message. Also shows the command's version, Node, the configuration file in use and which adapter packages are installed. Exit status 0 when every store is healthy, 1 otherwise.",
    "With --sweep, each healthy store is also swept: what failed or killed writes left on it (temporary files and dead locks, chunk rows no object points at, unfinished multipart uploads) is found and removed, and one line per store says what. Leftovers whose writer is known to be gone are taken at once, the others once older than --older-than (default 1d). --dry-run reports without removing. Objects are never touched. A sweep that fails makes the exit status 1.",
  ],
  options: {
    json: { type: 'boolean', description: 'one JSON object, for scripts' },
    sweep: { type: 'boolean', description: 'also remove what failed writes left on each store' },
    'dry-run': { type: 'boolean', description: 'with --sweep: report what would be removed, remove nothing' },
    'older-than': { type: 'string', value: 'DURATION', description: 'with --sweep: leftovers of writers that may still run count once this old: seconds, or 30m, 12h, 7d (default 1d)' },
  },
  examples: [
    ['doctor', 'check the stores of stowage.config.json'],
    ['doctor --config ./prod.yaml', 'check the stores of another configuration'],
    ['doctor --sweep --dry-run', 'also show what failed writes left on each store'],
  ],
  async run(context, args) {
    expectPositionals(this, args, 0, 0, 'no arguments');
    const sweep = sweepRequest(args);
    const { session } = context;
    const loaded = session.config;
    const results: StoreHealth[] = [];
    if (loaded?.config.default === undefined) {
      const path = session.embeddedPath;
      if ((await statPath(path)) === undefined) {
        results.push({ name: ':', ok: true, backend: 'sql-blob:sqlite', note: `embedded, ${relative(session.cwd, path)} not created yet (the first write creates it)` });
      } else {
        results.push({ ...(await check(context, ':', { kind: 'default' }, sweep)), note: `embedded, ${relative(session.cwd, path)}` });
      }
    }
    for (const name of loaded?.storeNames ?? []) {
      if (context.signal.aborted) break;
      const health = await check(context, name, { kind: 'named', name }, sweep);
      if (name === loaded?.config.default) health.note = 'the default store (:)';
      results.push(health);
    }
    const adapters = await adapterPackages(session.cwd);
    const healthy = results.filter((result) => result.ok).length;
    const config = loaded
      ? { path: loaded.path, backends: Object.keys(loaded.config.backends ?? {}).length, stores: loaded.storeNames.size, default: loaded.config.default }
      : undefined;

    if (flag(args, 'json')) {
      context.print(JSON.stringify({ version: commandVersion(), node: process.version, config: config ?? null, adapters, stores: results }, null, 2));
    } else {
      context.print(`stowage ${commandVersion()} on Node ${process.version} (${process.platform}/${process.arch})`);
      context.print(
        config
          ? `config: ${config.path} (${config.backends} backend${config.backends === 1 ? '' : 's'}, ${config.stores} store${config.stores === 1 ? '' : 's'}${config.default ? `, default ${config.default}` : ''})`
          : `config: none (no ${CONFIG_FILE_NAMES.join(', ')} here; --config or $${CONFIG_VARIABLE} point at one)`,
      );
      const installed = adapters.filter((adapter) => adapter.version !== undefined);
      const missing = adapters.filter((adapter) => adapter.version === undefined);
      context.print(`adapters: ${installed.map((adapter) => `${adapter.name} ${adapter.version}${adapter.from === 'project' ? ' (from this project)' : ''}`).join(', ')}`);
      if (missing.length > 0) context.print(`not installed: ${missing.map((adapter) => `${adapter.name} (${adapter.schemes.join(', ')})`).join(', ')}`);
      context.print('stores:');
      const rows = results.map((result) => [
        result.ok ? 'ok' : 'FAIL',
        result.name,
        result.ok ? `${result.backend ?? ''}${result.root ? ` (root ${result.root})` : ''}` : `${result.error!.code}: ${result.error!.message}`,
        [result.note, result.ms === undefined ? undefined : `${result.ms} ms`].filter(Boolean).join(', '),
      ]);
      for (const line of alignColumns(rows)) context.print(`  ${line}`.trimEnd());
      context.print(`${healthy} of ${results.length} store${results.length === 1 ? '' : 's'} healthy`);
      if (sweep !== undefined) {
        context.print(sweep.dryRun ? 'sweep (dry run, nothing removed):' : 'sweep:');
        for (const result of results) {
          const line = sweepLine(result);
          if (line !== undefined) context.print(`  ${line}`);
        }
      }
    }
    const sweepFailed = results.some((result) => result.sweep !== undefined && 'error' in result.sweep);
    return healthy === results.length && !sweepFailed ? context.status : 1;
  },
};
