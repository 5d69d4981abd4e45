/**
 * Renders the capability matrix (rows: capabilities, columns: adapters) from the capability object
 * each adapter package exports, and writes it into README.md between the markers
 * `<!-- capability-matrix:start -->` and `<!-- capability-matrix:end -->`.
 *
 *   node --conditions=@stowage/source scripts/capability-matrix.ts           rewrite the table
 *   node --conditions=@stowage/source scripts/capability-matrix.ts --check   exit 1 if it is stale
 *
 * (`pnpm matrix` runs the first; `pnpm lint` and `bash scripts/run.sh test` run the check.)
 *
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ALL_CAPABILITIES, assertCapabilities, type Capabilities } from '@stowage/core';
import { ADAPTERS as ADAPTER_FACTS } from './adapters.ts';
import { listWorkspacePackages } from './workspace.ts';

/** One column of the matrix. */
interface MatrixAdapter {
  /** The column heading. */
  name: string;
  /** The package, which must also be a devDependency of the root package.json. */
  module: string;
  /** The name of the capability object the package exports. */
  exportName: string;
  /** The package's folder, linked from the heading. */
  directory: string;
}

/** The adapters in the matrix, in column order: the table of scripts/adapters.ts. */
const workspace = new Map(listWorkspacePackages().map((pkg) => [pkg.name, pkg]));
const ADAPTERS: readonly MatrixAdapter[] = Object.entries(ADAPTER_FACTS).map(([module, facts]) => ({
  name: module.replace(/^@stowage\//, ''),
  module,
  exportName: facts.capabilities,
  directory: workspace.get(module)?.path ?? module,
}));

const START = '<!-- capability-matrix:start -->';
const END = '<!-- capability-matrix:end -->';
const README = fileURLToPath(new URL('../README.md', import.meta.url));
const COMMAND = 'node --conditions=@stowage/source scripts/capability-matrix.ts';

async function loadCapabilities(adapter: MatrixAdapter): Promise<Capabilities> {
  let module: Record<string, unknown>;
  try {
    module = (await import(adapter.module)) as Record<string, unknown>;
  } catch (cause) {
    throw new Error(`cannot import ${adapter.module} (is it a devDependency of the root package.json?): ${(cause as Error).message}`, { cause });
  }
  const value = module[adapter.exportName];
  if (value === undefined) {
    const exported = Object.keys(module).sort().join(', ') || 'nothing';
    throw new Error(`${adapter.module} does not export ${adapter.exportName} (it exports: ${exported}); fix its row in scripts/adapters.ts`);
  }
  assertCapabilities(value, adapter.name);
  return value;
}

const BYTE_UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && value % 1024 === 0 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  // A limit that is no whole number of a larger unit (Azure's 50,000 blocks of 4000 MiB) reads better rounded.
  if (value >= 1024 * 1024) {
    while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return `≈ ${value.toLocaleString('en-US', { maximumFractionDigits: 1 })} ${BYTE_UNITS[unit]}`;
  }
  return `${value.toLocaleString('en-US')} ${BYTE_UNITS[unit]}`;
}

function formatCell(name: string, value: unknown): string {
  if (value === true) return 'yes';
  if (value === false) return 'no';
  if (value === null) return name === 'maxObjectSize' ? 'no limit' : '—';
  if (typeof value === 'number') return name === 'maxObjectSize' ? formatBytes(value) : String(value);
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.map((item) => `\`${String(item)}\``).join(', ');
  if (value === undefined) return name === 'reservedSegments' ? 'none' : name === 'metadataKeys' ? 'any' : '—';
  return String(value).replaceAll('|', '\\|');
}

/** The Markdown table: one row per capability (core's order, then any extra an adapter declares). */
function renderMatrix(columns: readonly { adapter: MatrixAdapter; capabilities: Capabilities }[]): string {
  const names: string[] = Object.keys(ALL_CAPABILITIES);
  for (const { capabilities } of columns) {
    for (const name of Object.keys(capabilities)) if (!names.includes(name)) names.push(name);
  }
  const header = ['capability', ...columns.map(({ adapter }) => `[${adapter.name}](${adapter.directory})`)];
  const rows = names.map((name) => [
    `\`${name}\``,
    ...columns.map(({ capabilities }) => formatCell(name, (capabilities as unknown as Record<string, unknown>)[name])),
  ]);
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, index) => (index === 0 ? '---' : ':---:'))), ...rows.map(line)].join('\n');
}

function replaceBetweenMarkers(text: string, block: string): string {
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start === -1 || end === -1 || end < start) {
    throw new Error(`README.md has no ${START} ... ${END} markers`);
  }
  return `${text.slice(0, start + START.length)}\n${block}\n${text.slice(end)}`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } });
  const columns = [];
  for (const adapter of ADAPTERS) columns.push({ adapter, capabilities: await loadCapabilities(adapter) });
  const block = [
    `<!-- generated by scripts/capability-matrix.ts from each adapter's exported capabilities: do not edit, run \`pnpm matrix\` -->`,
    '',
    renderMatrix(columns),
    '',
  ].join('\n');

  const current = readFileSync(README, 'utf8');
  const updated = replaceBetweenMarkers(current, block);
  if (values.check) {
    if (updated === current) {
      console.log('README.md: the capability matrix is current');
      return 0;
    }
    console.error(
      `README.md: the capability matrix is stale (an adapter's capabilities changed).\nRun \`pnpm matrix\` (${COMMAND}) and commit README.md. The current matrix is:\n\n${renderMatrix(columns)}\n`,
    );
    return 1;
  }
  if (updated === current) {
    console.log('README.md: the capability matrix is already current');
  } else {
    writeFileSync(README, updated);
    console.log(`README.md: capability matrix written (${columns.length} adapters)`);
  }
  return 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  console.error(`capability-matrix: ${(error as Error).message}`);
  process.exitCode = 1;
}
