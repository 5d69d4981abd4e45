/**
 * Test servers as child processes: a free loopback port, a process started and watched until it says
 * it is ready, and stopped when the run ends (also when it fails, and when the test process exits
 * without stopping it).
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';

/** A server the harness found or started, as the tests see it. */
export interface TestServer {
  /** The backend it serves, such as `'s3'` or `'azure'`. */
  readonly name: string;
  /** Where it listens (no credentials in it). */
  readonly endpoint: string;
  /** What the tests need to reach it: endpoint, credentials, bucket or container names. */
  readonly settings: Readonly<Record<string, string>>;
  /** Whether the harness started it (and `stop` stops it) or it came from the environment. */
  readonly startedHere: boolean;
  /** Stops it if the harness started it; safe to call twice. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released for the server to take). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port was assigned'))));
    });
  });
}

/** Options of {@link spawnServer}. */
export interface SpawnServerOptions {
  /** A name for messages, such as `'azurite'`. */
  name: string;
  /** The executable (`process.execPath` for a Node script). */
  command: string;
  args: readonly string[];
  cwd?: string | undefined;
  /** Added to the environment the child inherits. */
  env?: Readonly<Record<string, string | undefined>> | undefined;
  /**
   * When the server is ready: a pattern its stdout or stderr prints (the match is returned), or a
   * probe called every 100 ms that resolves true once the server answers.
   */
  ready: RegExp | (() => Promise<boolean>);
  /** How long to wait for readiness (default 60 s). */
  timeoutMs?: number | undefined;
}

/** A started child process. */
export interface SpawnedServer {
  readonly process: ChildProcess;
  /** The match of the `ready` pattern, when a pattern was given. */
  readonly match: RegExpMatchArray | undefined;
  /** The last lines the process printed (for error messages). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs` (default 5 s); resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills whatever is still running when this process exits, so that no server outlives a run. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

const OUTPUT_LIMIT = 64 * 1024;

/** Starts a server process and resolves once it is ready; rejects (and kills it) if it exits or times out first. */
export async function spawnServer(options: SpawnServerOptions): Promise<SpawnedServer> {
  installExitHook();
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  child.once('exit', () => running.delete(child));
  const stop = async (graceMs = 5000): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
  };
  const append = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);

  const timeoutMs = options.timeoutMs ?? 60_000;
  const lastLines = (): string => output.trim().split('\n').slice(-20).join('\n');
  try {
    const match = await new Promise<RegExpMatchArray | undefined>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`${options.name} was not ready after ${timeoutMs} ms`)), timeoutMs);
      const settle = (value: RegExpMatchArray | undefined, error?: Error): void => {
        clearTimeout(deadline);
        clearInterval(probeTimer);
        child.stdout!.off('data', check);
        child.stderr!.off('data', check);
        if (error) reject(error);
        else resolve(value);
      };
      let probeTimer: ReturnType<typeof setInterval> | undefined;
      const check = (): void => {
        if (options.ready instanceof RegExp) {
          const found = output.match(options.ready);
          if (found) settle(found);
        }
      };
      child.once('error', (error) => settle(undefined, new Error(`${options.name} could not be started (${options.command}): ${error.message}`)));
      child.once('exit', (code, signal) => settle(undefined, new Error(`${options.name} exited (${signal ?? `code ${code}`}) before it was ready`)));
      if (options.ready instanceof RegExp) {
        child.stdout!.on('data', check);
        child.stderr!.on('data', check);
      } else {
        const probe = options.ready;
        let probing = false;
        probeTimer = setInterval(() => {
          if (probing) return;
          probing = true;
          probe()
            .then((ok) => {
              if (ok) settle(undefined);
            })
            .catch(() => undefined)
            .finally(() => {
              probing = false;
            });
        }, 100);
      }
    });
    return { process: child, match, output: () => output, stop };
  } catch (error) {
    await stop(1000);
    const detail = lastLines();
    throw new Error(`${(error as Error).message}${detail ? `; its last output:\n${detail}` : ''}`, { cause: error });
  }
}

/**
 * Whether the tests must fail, rather than skip, when the server for `name` cannot be reached:
 * `STOWAGE_TEST_REQUIRE_SERVERS=1` (CI) requires every server; a comma-separated list (`s3,azure`)
 * only those named.
 */
export function serverRequired(name: string): boolean {
  const required = (process.env.STOWAGE_TEST_REQUIRE_SERVERS ?? '').split(',').map((entry) => entry.trim());
  return required.includes('1') || required.includes(name);
}

/** The environment variable that points the tests at an existing server: `STOWAGE_TEST_<NAME>_URL`. */
export function serverUrlVariable(name: string): string {
  return `STOWAGE_TEST_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_URL`;
}

/** What {@link resolveTestServer} returns: a server, or why its tests are skipped. */
export type ResolvedServer = { server: TestServer; skip?: undefined } | { server?: undefined; skip: string };

/** How {@link resolveTestServer} finds one backend's server. */
export interface ResolveServerOptions {
  /** Turns the value of `STOWAGE_TEST_<NAME>_URL` into a server (not started here). */
  fromUrl(url: string): TestServer | Promise<TestServer>;
  /** Starts a local server on a free loopback port. */
  start(): Promise<TestServer>;
}

/**
 * Finds the server for one backend (DESIGN section 7): `STOWAGE_TEST_<NAME>_URL` when set, else a
 * local process started here. When neither works the tests are skipped with the reason, unless the
 * server is required ({@link serverRequired}), in which case this throws.
 */
export async function resolveTestServer(name: string, options: ResolveServerOptions): Promise<ResolvedServer> {
  const variable = serverUrlVariable(name);
  const url = process.env[variable];
  try {
    if (url) return { server: await options.fromUrl(url) };
    return { server: await options.start() };
  } catch (error) {
    const reason = `no ${name} test server: ${url ? `${variable} is set but unusable` : 'starting one here failed'}: ${(error as Error).message}`;
    if (serverRequired(name)) throw new Error(`${reason} (STOWAGE_TEST_REQUIRE_SERVERS requires it)`, { cause: error });
    return { skip: `${reason} (set ${variable} to use a running server)` };
  }
}

/** A readiness probe: resolves true once an HTTP request to `url` gets any answer at all. */
export async function httpAnswers(url: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

/** A readiness probe: resolves true once a TCP connection to `host:port` succeeds within `timeoutMs`. */
export function tcpAnswers(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
