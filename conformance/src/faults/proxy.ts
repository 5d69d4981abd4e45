/**
 * A TCP proxy on 127.0.0.1 that sits between an adapter and its server and misbehaves on request:
 * it delays, stalls, resets or closes connections, cuts them after a number of bytes in either
 * direction, and refuses new ones. The adapter is pointed at the proxy's port instead of the
 * server's; nothing in the adapter knows.
 *
 * @module
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

/** How a connection is cut. */
export type CutMode =
  /** A TCP reset on both sides (what a crashed peer or a middlebox dropping state looks like). */
  | 'reset'
  /** An orderly close on both sides, as if the peer hung up mid-message. */
  | 'close'
  /** Both sides stay open but nothing more is forwarded: a peer that stopped answering. */
  | 'stall';

/** Faults of one direction of every proxied connection. */
export interface DirectionFaults {
  /**
   * Cut once this many bytes went this way, counted over every connection since the faults were set
   * (so "after N bytes of the upload" holds when the adapter spreads it over several connections).
   * The byte that crosses the count is not forwarded.
   */
  cutAfterBytes?: number | undefined;
  /** How to cut (default `'reset'`). */
  cut?: CutMode | undefined;
  /** Hold every chunk this many milliseconds before forwarding it (order is kept). */
  delayMs?: number | undefined;
  /** Forward nothing this way (the connection stays open): a server that never answers. */
  stall?: boolean | undefined;
}

/** What the proxy does, until the next {@link FaultProxy.setFaults}. */
export interface ProxyFaults {
  /** Client to server: what the adapter sends (request bodies, uploads). */
  upload?: DirectionFaults | undefined;
  /** Server to client: what the adapter receives (responses, downloads). */
  download?: DirectionFaults | undefined;
  /** New connections: forwarded (`'pass'`, default), reset at once (`'refuse'`), or accepted and never forwarded (`'blackhole'`). */
  connect?: 'pass' | 'refuse' | 'blackhole' | undefined;
  /** What new connections get once a cut happened (default `'pass'`): `'refuse'` keeps the server out of reach. */
  afterCut?: 'pass' | 'refuse' | undefined;
}

/** What the proxy has seen since it started (bytes: since the faults were last set). */
export interface ProxyStats {
  /** Connections accepted. */
  connections: number;
  /** Connections open now. */
  open: number;
  /** Connections cut by a fault. */
  cuts: number;
  /** Connections refused. */
  refused: number;
  /** Bytes forwarded client to server since the faults were set. */
  bytesUp: number;
  /** Bytes forwarded server to client since the faults were set. */
  bytesDown: number;
}

/** A running proxy. */
export interface FaultProxy {
  /** Always `127.0.0.1`. */
  readonly host: string;
  /** The proxy's port: point the adapter here. */
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's (credentials, path and query kept). */
  url(url: string): string;
  /** Replaces the faults (and restarts the byte counts); `{}` forwards everything untouched. */
  setFaults(faults: ProxyFaults): void;
  /** The counters. */
  readonly stats: Readonly<ProxyStats>;
  /** Cuts every open connection now. */
  cutAll(mode?: CutMode): void;
  /** Resolves at the next cut (or at once when one happened since the faults were set). */
  nextCut(): Promise<void>;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** The server: `host:port`, a URL, or `{ host, port }`. */
  target: string | { host: string; port: number };
  /** The faults to start with (default none). */
  faults?: ProxyFaults | undefined;
}

function parseTarget(target: FaultProxyOptions['target']): { host: string; port: number } {
  if (typeof target === 'object') return target;
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(target) ? new URL(target) : new URL(`tcp://${target}`);
  const port = Number(url.port);
  if (!url.hostname || !Number.isInteger(port) || port <= 0) throw new Error(`the proxy target needs a host and a port, got ${JSON.stringify(target)}`);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port };
}

interface Pair {
  client: Socket;
  server: Socket;
  stalled: boolean;
}

/** Starts a proxy on a free port of 127.0.0.1 in front of `options.target`. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = parseTarget(options.target);
  let faults: ProxyFaults = options.faults ?? {};
  const stats: ProxyStats = { connections: 0, open: 0, cuts: 0, refused: 0, bytesUp: 0, bytesDown: 0 };
  let cutSinceSet = false;
  let cutWaiters: (() => void)[] = [];
  const pairs = new Set<Pair>();

  const cutPair = (pair: Pair, mode: CutMode): void => {
    if (mode === 'stall') {
      pair.stalled = true;
      return;
    }
    for (const socket of [pair.client, pair.server]) {
      if (mode === 'reset' && typeof socket.resetAndDestroy === 'function' && !socket.destroyed) socket.resetAndDestroy();
      else if (mode === 'close') socket.end(() => socket.destroy());
      else socket.destroy();
    }
  };

  const cutEverything = (mode: CutMode): void => {
    cutSinceSet = true;
    for (const pair of pairs) {
      stats.cuts++;
      cutPair(pair, mode);
    }
    const waiters = cutWaiters;
    cutWaiters = [];
    for (const wake of waiters) wake();
  };

  /** Forwards `from` to `to`, counting and applying the faults of one direction. */
  const forward = (pair: Pair, from: Socket, to: Socket, direction: 'upload' | 'download'): void => {
    let queue: Promise<void> = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      const rules = faults[direction] ?? {};
      if (pair.stalled) return;
      if (rules.stall) {
        // Bytes are dropped: this connection can never carry a whole message again.
        pair.stalled = true;
        return;
      }
      let piece = chunk;
      let cut = false;
      // A cut happens once per setFaults: after it, connections carry everything (or are refused).
      if (rules.cutAfterBytes !== undefined && !cutSinceSet) {
        const counted = direction === 'upload' ? stats.bytesUp : stats.bytesDown;
        const room = rules.cutAfterBytes - counted;
        if (room < piece.byteLength) {
          piece = piece.subarray(0, Math.max(0, room));
          cut = true;
        }
      }
      if (direction === 'upload') stats.bytesUp += piece.byteLength;
      else stats.bytesDown += piece.byteLength;
      const send = (): void => {
        if (piece.byteLength > 0 && !to.destroyed) to.write(piece);
        if (cut) cutEverything(rules.cut ?? 'reset');
      };
      if (rules.delayMs !== undefined && rules.delayMs > 0) {
        from.pause();
        queue = queue.then(
          () =>
            new Promise<void>((resolve) => {
              setTimeout(() => {
                send();
                from.resume();
                resolve();
              }, rules.delayMs);
            }),
        );
      } else send();
    });
    from.on('end', () => {
      if (!pair.stalled) void queue.then(() => to.end());
    });
  };

  const server: Server = createServer((client) => {
    stats.connections++;
    const mode = cutSinceSet && faults.afterCut === 'refuse' ? 'refuse' : (faults.connect ?? 'pass');
    client.on('error', () => {});
    if (mode === 'refuse') {
      stats.refused++;
      if (typeof client.resetAndDestroy === 'function') client.resetAndDestroy();
      else client.destroy();
      return;
    }
    const upstream = connect({ host: target.host, port: target.port });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    const pair: Pair = { client, server: upstream, stalled: mode === 'blackhole' };
    pairs.add(pair);
    stats.open++;
    let closed = 0;
    const onClose = (): void => {
      if (++closed === 1) {
        // One side gone: the other follows, as a real connection would.
        client.destroy();
        upstream.destroy();
      }
      if (closed === 2) {
        pairs.delete(pair);
        stats.open--;
      }
    };
    client.on('close', onClose);
    upstream.on('close', onClose);
    forward(pair, client, upstream, 'upload');
    forward(pair, upstream, client, 'download');
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the fault proxy got no port');
  const port = address.port;

  return {
    host: '127.0.0.1',
    port,
    url(url: string): string {
      const parsed = new URL(url);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.href;
    },
    setFaults(next: ProxyFaults): void {
      faults = next;
      stats.bytesUp = 0;
      stats.bytesDown = 0;
      cutSinceSet = false;
      // A stalled connection has lost bytes: it can never carry a whole message again.
      for (const pair of pairs) if (pair.stalled) cutPair(pair, 'reset');
    },
    get stats() {
      return { ...stats };
    },
    cutAll(mode: CutMode = 'reset'): void {
      cutEverything(mode);
    },
    nextCut(): Promise<void> {
      if (cutSinceSet) return Promise.resolve();
      return new Promise((resolve) => cutWaiters.push(resolve));
    },
    async close(): Promise<void> {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.server.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
