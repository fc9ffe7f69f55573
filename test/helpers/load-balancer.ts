/**
 * A small TCP load balancer: a test fixture (test/cluster/load-balancer.test.ts) with
 * health checks fast enough for a failover test. scripts/run-cluster.sh runs the real
 * haproxy with deploy/haproxy.cfg's loopback variant; this plays haproxy's part:
 *
 *  - round-robin over backends, per TCP connection. Bytes are piped untouched,
 *    so HTTP, long-polling and WebSocket upgrades all pass through. There is no
 *    cookie stickiness: a long-polling client may land on another instance
 *    between requests; use the WebSocket transport through it (see README).
 *  - active health checks: every `healthIntervalMs` each backend's `healthPath`
 *    is fetched; only backends whose last check answered 200 get new
 *    connections (a draining or Redis-less instance answers 503). Existing
 *    connections are left alone: a draining instance closes its own sockets.
 *  - a backend that refuses a connection is marked unhealthy at once (until its
 *    next check says otherwise) and that client's socket is destroyed.
 *
 * CLI:
 *   npx tsx test/helpers/load-balancer.ts --port 3000 --backend 127.0.0.1:3001 --backend 127.0.0.1:3002
 *     [--host 127.0.0.1] [--health-path /health] [--health-interval 500]
 */
import net from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export interface Backend {
  host: string;
  port: number;
}

export interface LoadBalancerOptions {
  port: number;
  host?: string;
  backends: Backend[];
  healthPath?: string;
  healthIntervalMs?: number;
  /** Called when a backend turns healthy or unhealthy (logging). */
  onHealthChange?: (backend: string, healthy: boolean, reason: string) => void;
}

export interface LoadBalancer {
  port: number;
  close(): Promise<void>;
  /** "host:port" of the backends that currently get new connections, in backend order. */
  healthy(): string[];
}

interface BackendState {
  backend: Backend;
  key: string;
  healthy: boolean;
}

const keyOf = (b: Backend) => `${b.host.includes(':') ? `[${b.host}]` : b.host}:${b.port}`;

export async function startLoadBalancer(opts: LoadBalancerOptions): Promise<LoadBalancer> {
  if (opts.backends.length === 0) throw new Error('startLoadBalancer: no backends');
  const healthPath = opts.healthPath ?? '/health';
  const interval = opts.healthIntervalMs ?? 500;
  // A check slower than this counts as failed; never longer than 2 s.
  const checkTimeout = Math.max(100, Math.min(2_000, interval * 2));
  const states: BackendState[] = opts.backends.map((b) => ({ backend: b, key: keyOf(b), healthy: false }));
  const sockets = new Set<net.Socket>();
  const checks = new AbortController();
  let closed = false;
  let next = 0;
  let timer: NodeJS.Timeout | undefined;

  const setHealth = (s: BackendState, healthy: boolean, reason: string) => {
    if (s.healthy === healthy) return;
    s.healthy = healthy;
    opts.onHealthChange?.(s.key, healthy, reason);
  };

  const checkOne = async (s: BackendState) => {
    const url = `http://${s.key}${healthPath}`;
    try {
      // `connection: close`: no pooled keep-alive sockets outlive a check, so
      // close() leaves nothing open towards the backends.
      const res = await fetch(url, {
        headers: { connection: 'close' },
        signal: AbortSignal.any([checks.signal, AbortSignal.timeout(checkTimeout)]),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!closed) setHealth(s, res.status === 200, `GET ${healthPath} -> ${res.status}`);
    } catch (err) {
      if (!closed) setHealth(s, false, `GET ${healthPath} failed: ${(err as Error).message}`);
    }
  };

  // One round at a time (no overlapping checks of a slow backend), then wait.
  let inflight: Promise<unknown> = Promise.resolve();
  const checkAll = () => (inflight = Promise.all(states.map(checkOne)));
  const schedule = () => {
    if (closed) return;
    timer = setTimeout(() => {
      void checkAll().then(schedule);
    }, interval);
  };

  const pick = (): BackendState | undefined => {
    for (let i = 0; i < states.length; i++) {
      const idx = (next + i) % states.length;
      const s = states[idx];
      if (s?.healthy) {
        next = idx + 1;
        return s;
      }
    }
    return undefined;
  };

  const track = (sock: net.Socket) => {
    sockets.add(sock);
    sock.once('close', () => sockets.delete(sock));
  };

  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    track(client);
    client.on('error', () => client.destroy());
    const target = closed ? undefined : pick();
    if (!target) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ host: target.backend.host, port: target.backend.port, allowHalfOpen: true, noDelay: true });
    track(upstream);
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
    });
    upstream.on('error', (err) => {
      if (!connected) setHealth(target, false, `connect failed: ${err.message}`);
      upstream.destroy();
      client.destroy();
    });
    client.on('error', () => upstream.destroy());
    // Either side fully closed (or destroyed): nothing more can flow, drop the other.
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
    // pipe() propagates a half-close (FIN) in each direction; allowHalfOpen keeps
    // the other direction open until it ends too.
    client.pipe(upstream);
    upstream.pipe(client);
  });

  // First round before accepting connections, so a fresh LB routes at once.
  await checkAll();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  schedule();
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;

  let closing: Promise<void> | undefined;
  return {
    port,
    healthy: () => states.filter((s) => s.healthy).map((s) => s.key),
    close() {
      closing ??= (async () => {
        closed = true;
        if (timer) clearTimeout(timer);
        checks.abort();
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await Promise.all([serverClosed, inflight]);
      })();
      return closing;
    },
  };
}

// ---------------------------------------------------------------------------
// CLI

function parseBackend(spec: string): Backend {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(spec);
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`--backend must be host:port, got "${spec}"`);
  }
  return { host: (m[1] ?? m[2]) as string, port };
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '3000' },
      host: { type: 'string', default: '127.0.0.1' },
      backend: { type: 'string', multiple: true, default: [] },
      'health-path': { type: 'string', default: '/health' },
      'health-interval': { type: 'string', default: '500' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help || values.backend.length === 0) {
    console.log(
      'usage: tsx test/helpers/load-balancer.ts --port 3000 [--host 127.0.0.1] --backend HOST:PORT [--backend HOST:PORT ...]\n' +
        '                                    [--health-path /health] [--health-interval 500]',
    );
    process.exit(values.help ? 0 : 2);
  }
  const port = Number(values.port);
  const healthIntervalMs = Number(values['health-interval']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got "${values.port}"`);
  if (!Number.isFinite(healthIntervalMs) || healthIntervalMs < 10) {
    throw new Error(`--health-interval must be a number of ms >= 10, got "${values['health-interval']}"`);
  }
  const lb = await startLoadBalancer({
    port,
    host: values.host,
    backends: values.backend.map(parseBackend),
    healthPath: values['health-path'],
    healthIntervalMs,
    onHealthChange: (b, ok, reason) => console.log(`[lb] ${b} ${ok ? 'UP' : 'DOWN'} (${reason})`),
  });
  console.log(`[lb] listening on ${values.host}:${lb.port} -> ${values.backend.join(', ')} (healthy: ${lb.healthy().join(', ') || 'none'})`);
  const stop = (signal: string) => {
    console.log(`[lb] ${signal}: closing`);
    void lb.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

const invokedPath = process.argv[1];
if (invokedPath && import.meta.url === pathToFileURL(invokedPath).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(`[lb] ${(err as Error).message}`);
    process.exit(1);
  });
}
