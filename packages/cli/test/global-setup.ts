/**
 * Builds the `stowage` binary (and the packages it runs on) before the end-to-end tests, through
 * turbo, which skips what is already current (in `.ci/run` the build step just before has built it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

export default function setup(): void {
  try {
    execFileSync(process.execPath, [`${ROOT}node_modules/turbo/bin/turbo`, 'run', 'build', '--filter=@stowage/cli', '--output-logs=errors-only'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
    });
  } catch (error) {
    const detail = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim();
    throw new Error(`building the stowage command failed (run \`pnpm turbo run build --filter=@stowage/cli\` to see why): ${detail}`, { cause: error });
  }
  if (!existsSync(BIN)) throw new Error(`the build did not produce ${BIN}`);
}
