/**
 * `stowage serve` as a child process for the end-to-end tests: started, waited for until it prints
 * where it listens, and probed for whether its port is still open.
 */
import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { finished, startBinary, type RunResult, type Workspace } from './run-binary.ts';

/** A running `stowage serve`. */
export interface Serving {
  child: ChildProcess;
  /** The URL it prints. */
  url: string;
  /** The line it printed. */
  line: string;
  /** Resolves when it has exited. */
  done: Promise<RunResult>;
}

/** Starts `stowage serve ARGS...` and waits for the line that says where it listens. */
export async function startServe(ws: Workspace, args: readonly string[], env: Record<string, string> = {}): Promise<Serving> {
  const child = startBinary(['serve', ...args], { cwd: ws.dir, env });
  child.stdin!.end();
  const done = finished(child);
  const line = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`stowage serve printed no URL within 20 s: ${stdout}`)), 20_000);
    child.stdout!.on('data', (chunk: string) => {
      stdout += chunk;
      const found = /^serving .+\n/m.exec(stdout);
      if (found) {
        clearTimeout(timer);
        resolve(found[0].trimEnd());
      }
    });
    void done.then((result) => {
      clearTimeout(timer);
      reject(new Error(`stowage serve exited with ${result.status}: ${result.stderr}`));
    });
  });
  const url = / at (http:\/\/\S+) \(/.exec(line)![1]!;
  return { child, url, line, done };
}

/** Whether something accepts connections at the URL's host and port. */
export function listening(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

