/**
 * `stowage doctor`: the health of every configured store, and what the command runs with (its
 * version, Node, the configuration file, the adapter packages installed).
 *
 * @module
 */
import { relative } from 'node:path';
import { UnavailableError, type Store } from '@stowage/core';
import { adapterPackages } from '../adapters.ts';
import { expectPositionals, flag, type Command, type Context } from '../command.ts';
import { CONFIG_FILE_NAMES, CONFIG_VARIABLE } from '../config.ts';
import { describeFailure, failureCode } from '../failures.ts';
import { alignColumns } from '../format.ts';
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
}

async function check(context: Context, name: string, ref: StoreRef): Promise<StoreHealth> {
  const started = performance.now();
  try {
    const store: Store = await context.session.store(ref, { write: false });
    await store.health({ signal: AbortSignal.any([context.signal, AbortSignal.timeout(HEALTH_TIMEOUT_MS)]) }).catch((error: unknown) => {
      if ((error as Error)?.name === 'TimeoutError' || (error as { code?: string })?.code === 'ABORTED') {
        if (!context.signal.aborted) throw new UnavailableError(`no answer within ${HEALTH_TIMEOUT_MS / 1000} s`, { cause: error });
      }
      throw error;
    });
    return { name, ok: true, backend: store.backendName, root: store.root || undefined, ms: Math.round(performance.now() - started), capabilities: { ...store.capabilities } };
  } catch (error) {
    const line = describeFailure(error, (text) => context.session.mask(text), false)[0]!;
    const code = failureCode(error);
    return { name, ok: false, error: { code, message: line.replace(/^stowage: [A-Z_]+: /, '') }, ms: Math.round(performance.now() - started) };
  }
}

/** `stowage doctor`. */
export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'Check every configured store (and the default one) and show what the command runs with.',
  usage: ['doctor [--json]'],
  description: [
    "Opens each store of the configuration and asks its backend for a health check (at most 10 s each), then prints one line per store: ok or FAIL with the error code and message. Also shows the command's version, Node, the configuration file in use and which adapter packages are installed. Exit status 0 when every store is healthy, 1 otherwise.",
  ],
  options: {
    json: { type: 'boolean', description: 'one JSON object, for scripts' },
  },
  examples: [
    ['doctor', 'check the stores of stowage.config.json'],
    ['doctor --config ./prod.yaml', 'check the stores of another configuration'],
  ],
  async run(context, args) {
    expectPositionals(this, args, 0, 0, 'no arguments');
    const { session } = context;
    const loaded = session.config;
    const results: StoreHealth[] = [];
    if (loaded?.config.default === undefined) {
      const path = session.embeddedPath;
      if ((await statPath(path)) === undefined) {
        results.push({ name: ':', ok: true, backend: 'sql-blob:sqlite', note: `embedded, ${relative(session.cwd, path)} not created yet (the first write creates it)` });
      } else {
        results.push({ ...(await check(context, ':', { kind: 'default' })), note: `embedded, ${relative(session.cwd, path)}` });
      }
    }
    for (const name of loaded?.storeNames ?? []) {
      if (context.signal.aborted) break;
      const health = await check(context, name, { kind: 'named', name });
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
    }
    return healthy === results.length ? context.status : 1;
  },
};
