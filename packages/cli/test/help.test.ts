/**
 * Help: `stowage --help` lists every command, the location grammar, the configuration lookup and
 * the exit statuses; every command has `--help` (and `stowage help <command>`) with its usage,
 * options and examples; `--version` prints the package's version.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspace, type Workspace } from './run-binary.ts';

const COMMANDS = ['cp', 'ls', 'cat', 'stat', 'rm', 'mv', 'sign', 'serve', 'sync', 'certify', 'doctor'];
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

describe('help', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await workspace();
  });
  afterAll(() => ws?.cleanup());

  it('lists every command, the locations, the configuration and the exit statuses', async () => {
    for (const args of [['--help'], ['-h'], [], ['help']]) {
      const help = await ws.run(args);
      expect(help).toMatchObject({ status: 0, stderr: '' });
      for (const command of COMMANDS) expect(help.stdout).toMatch(new RegExp(`^ {2}${command} +\\S`, 'm'));
      expect(help.stdout).toMatch(/^Locations:$/m);
      expect(help.stdout).toContain('sqlite:FILE.db/KEY');
      expect(help.stdout).toContain('$STOWAGE_CONFIG');
      expect(help.stdout).toMatch(/^Exit status:$/m);
      expect(help.stdout).toContain('130 interrupted');
    }
  });

  it.each(COMMANDS)('stowage %s --help shows its usage, options and examples', async (command) => {
    const help = await ws.run([command, '--help']);
    expect(help).toMatchObject({ status: 0, stderr: '' });
    expect(help.stdout).toMatch(new RegExp(`^Usage: stowage ${command} `));
    expect(help.stdout).toMatch(/^Options:$/m);
    expect(help.stdout).toMatch(/^ {2}-h, --help +show this help$/m);
    expect(help.stdout).toMatch(/^Examples:$/m);
    expect(help.stdout).toMatch(new RegExp(`^ {4}\\$ stowage ${command}\\b`, 'm'));
    expect((await ws.run(['help', command])).stdout).toBe(help.stdout);
  });

  it('prints the version', async () => {
    expect(await ws.run(['--version'])).toMatchObject({ status: 0, stdout: `stowage ${version}\n` });
  });
});
