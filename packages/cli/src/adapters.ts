/**
 * Where adapter packages come from. The registry in `@stowage/core` imports an adapter only when a
 * location needs it; this loader looks for the package first beside the command (its dependencies,
 * and packages installed globally next to it) and then in the project of the working directory, so
 * that `npm install @stowage/s3` in a project, or `npm install -g @stowage/s3` next to a global
 * `stowage`, both make `s3://` work. A configuration may also name an adapter module by its path.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BackendConfig, ModuleLoader } from '@stowage/core';
import { STORE_URL_SHAPES } from './locations.ts';

/** Whether `error` says that the package `specifier` itself is not installed (not one of its dependencies). */
export function isMissingModule(error: unknown, specifier: string): boolean {
  const code = (error as { code?: string } | null)?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  // A package that is there but lacks one of its own dependencies is a different problem.
  const message = String((error as Error).message ?? '');
  return message.includes(`'${specifier}'`) || message.includes(`"${specifier}"`);
}

/** The file a bare specifier resolves to from the project in `directory`, or undefined. */
function resolveFromProject(specifier: string, directory: string): string | undefined {
  try {
    return createRequire(join(directory, 'package.json')).resolve(specifier);
  } catch {
    return undefined;
  }
}

/**
 * A module loader for the registry: a package beside the command first, then in the working
 * directory's project; a path (a configuration's `type: ./my-adapter.js`) relative to the working
 * directory.
 */
export function adapterLoader(cwd: string): ModuleLoader {
  return async (specifier) => {
    if (specifier.startsWith('./') || specifier.startsWith('../') || isAbsolute(specifier)) return import(pathToFileURL(resolve(cwd, specifier)).href);
    try {
      return await import(specifier);
    } catch (error) {
      if (!isMissingModule(error, specifier)) throw error;
      const file = resolveFromProject(specifier, cwd);
      if (file === undefined) throw error;
      return import(pathToFileURL(file).href);
    }
  };
}

/** An adapter package and whether it is installed. */
export interface AdapterPackage {
  /** The package name, such as `@stowage/s3`. */
  name: string;
  /** The URL schemes it opens. */
  schemes: string[];
  /** Its installed version, or undefined when it is not installed. */
  version: string | undefined;
  /** Where it was found: beside the command, or in the working directory's project. */
  from: 'command' | 'project' | undefined;
}

async function versionAt(url: string): Promise<string | undefined> {
  try {
    const manifest = JSON.parse(await readFile(new URL(url), 'utf8')) as { version?: unknown };
    return typeof manifest.version === 'string' ? manifest.version : undefined;
  } catch {
    return undefined;
  }
}

/** Every adapter package the URL schemes name, with its installed version (for `stowage doctor`). */
export async function adapterPackages(cwd: string): Promise<AdapterPackage[]> {
  const byName = new Map<string, string[]>();
  for (const [scheme, shape] of Object.entries(STORE_URL_SHAPES)) byName.set(shape.module, [...(byName.get(shape.module) ?? []), scheme]);
  const packages: AdapterPackage[] = [];
  for (const [name, schemes] of byName) {
    let version: string | undefined;
    let from: AdapterPackage['from'];
    try {
      version = await versionAt(import.meta.resolve(`${name}/package.json`));
      from = 'command';
    } catch {
      const file = resolveFromProject(`${name}/package.json`, cwd);
      if (file !== undefined) {
        version = await versionAt(pathToFileURL(file).href);
        from = 'project';
      }
    }
    packages.push({ name, schemes, version, from: version === undefined ? undefined : from });
  }
  return packages;
}

/** The adapter packages of the configuration types that `@stowage/core` knows by name. */
const ADAPTER_TYPES: Readonly<Record<string, string>> = {
  memory: '@stowage/memory',
  local: '@stowage/local',
  'sql-blob': '@stowage/sql-blob',
  sqlite: '@stowage/sql-blob',
  postgres: '@stowage/sql-blob',
  mysql: '@stowage/sql-blob',
  s3: '@stowage/s3',
  gcs: '@stowage/gcs',
  azure: '@stowage/azure',
};

/**
 * The module a configured backend's adapter comes from: its URL scheme's package, its `type`'s
 * package, or the `type` itself (a package name or a path); undefined when the config names neither.
 */
export function adapterModule(backend: BackendConfig): string | undefined {
  if (backend.url !== undefined) {
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(backend.url)?.[1]?.toLowerCase();
    return scheme === undefined ? undefined : STORE_URL_SHAPES[scheme]?.module;
  }
  if (backend.type === undefined) return undefined;
  return ADAPTER_TYPES[backend.type] ?? backend.type;
}
