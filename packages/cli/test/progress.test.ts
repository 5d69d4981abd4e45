/**
 * The progress display, checked on a real pseudo-terminal (util-linux `script`, which
 * scripts/run.sh installs when missing): a large copy on a terminal draws a bar with the bytes done,
 * the rate and the time left, then clears it and leaves the result line; with --quiet, or without a
 * terminal, only the result line appears.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, childEnv, runBinary, workspace, writeRandomFile, type Workspace } from './run-binary.ts';

const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
const required = process.env.CI === 'true' || process.env.CI === '1';

function quote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/** Runs the binary with a pseudo-terminal as its standard input, output and error; returns what the terminal received. */
function onTerminal(args: readonly string[], cwd: string): Promise<{ status: number | null; screen: string }> {
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  // -q: no "Script started" lines, -e: the command's exit status, -f: flush as it comes, -c: the command.
  const child = spawn('script', ['-qefc', command, '/dev/null'], { cwd, env: childEnv({ TERM: 'xterm-256color', COLUMNS: '120', LINES: '40' }), stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (screen += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (screen += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, screen }));
  });
}

/** The text of the terminal output without escape sequences, one entry per redraw or line. */
function frames(screen: string): string[] {
  return screen
    .replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '\n')
    .split(/[\r\n]+/)
    .map((line) => line.trim())
    .filter(Boolean);
}

describe.skipIf(!hasScript && !required)(`progress on a terminal${hasScript ? '' : ' (skipped: util-linux script is not installed)'}`, () => {
  let ws: Workspace;
  beforeAll(async () => {
    if (!hasScript) throw new Error('util-linux `script` is needed for the terminal tests (scripts/run.sh installs it)');
    ws = await workspace();
    await writeRandomFile(join(ws.dir, 'big.bin'), 48 * 1024 * 1024);
    await writeRandomFile(join(ws.dir, 'small.bin'), 64 * 1024);
  });
  afterAll(() => ws?.cleanup());

  it('draws a bar with bytes, rate and time left for a large copy, then leaves only the result', async () => {
    const { status, screen } = await onTerminal(['cp', 'big.bin', 'sqlite:./store.db/big.bin'], ws.dir);
    expect(status).toBe(0);
    const bars = frames(screen).filter((frame) => frame.includes('% |'));
    expect(bars.length).toBeGreaterThan(0);
    for (const bar of bars) {
      expect(bar).toMatch(/^[█░]{30} \d{1,3}% \| \d+(\.\d)? (B|KiB|MiB) \/ 48\.0 MiB \| \d+(\.\d)? (B|KiB|MiB|GiB)\/s \| ETA (--|\d+s|\d+m \d\ds) \| sqlite:\.\/store\.db\/big\.bin$/);
    }
    // The cursor is hidden while the bar is drawn and shown again after.
    expect(screen).toContain('\x1b[?25l');
    expect(screen).toContain('\x1b[?25h');
    expect(frames(screen).at(-1)).toBe('copied big.bin to sqlite:./store.db/big.bin (48.0 MiB)');
  });

  it('draws nothing for a small copy, or with --quiet', async () => {
    const small = await onTerminal(['cp', 'small.bin', 'sqlite:./store.db/small.bin'], ws.dir);
    expect(small.status).toBe(0);
    expect(small.screen.replace(/\r/g, '')).toBe('copied small.bin to sqlite:./store.db/small.bin (64.0 KiB)\n');
    const quiet = await onTerminal(['cp', '--quiet', 'big.bin', 'sqlite:./store.db/quiet.bin'], ws.dir);
    expect(quiet.status).toBe(0);
    expect(quiet.screen.replace(/\r/g, '')).toBe('copied big.bin to sqlite:./store.db/quiet.bin (48.0 MiB)\n');
  });

  it('draws nothing without a terminal: standard error stays empty', async () => {
    const result = await runBinary(['cp', 'big.bin', 'sqlite:./store.db/piped.bin'], { cwd: ws.dir });
    expect(result).toMatchObject({ status: 0, stderr: '', stdout: 'copied big.bin to sqlite:./store.db/piped.bin (48.0 MiB)\n' });
  });

  it('shows the bar of a download to a file while the data goes elsewhere than the terminal', async () => {
    const { status, screen } = await onTerminal(['cp', 'sqlite:./store.db/big.bin', './down.bin'], ws.dir);
    expect(status).toBe(0);
    expect(frames(screen).some((frame) => /% \| .+ \/ 48\.0 MiB \| .+\/s \| ETA /.test(frame))).toBe(true);
  });
});
