/**
 * test/helpers/load-balancer.ts: the Docker-free stand-in for haproxy. Two tiny
 * backends answer /health and their name; the LB must alternate between them,
 * skip one whose /health is not 200 (or that refuses connections), pass
 * upgrades through byte for byte, and close everything on close().
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startLoadBalancer, type LoadBalancer } from '../helpers/load-balancer.js';

interface TinyBackend {
  name: string;
  port: number;
  key: string;
  /** Status /health answers. */
  healthStatus: number;
  /** Non-health requests served. */
  hits: number;
  /** Currently open TCP connections. */
  open: Set<net.Socket>;
  server: http.Server;
  close(): Promise<void>;
}

async function tinyBackend(name: string): Promise<TinyBackend> {
  const open = new Set<net.Socket>();
  const b = { name, healthStatus: 200, hits: 0, open } as TinyBackend;
  const server = http.createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(b.healthStatus, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: b.healthStatus === 200 ? 'ok' : 'draining' }));
      return;
    }
    b.hits++;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(name);
  });
  // A raw "upgrade" (what a WebSocket handshake is): 101, then echo with a prefix.
  server.on('upgrade', (_req, socket: net.Socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
    socket.on('data', (d) => socket.write(`${name}:${d.toString()}`));
    socket.on('end', () => socket.end()); // http.Server sockets are allowHalfOpen
    socket.on('error', () => socket.destroy());
  });
  server.on('connection', (s) => {
    open.add(s);
    s.once('close', () => open.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  b.server = server;
  b.port = (server.address() as net.AddressInfo).port;
  b.key = `127.0.0.1:${b.port}`;
  b.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      for (const s of open) s.destroy();
    });
  return b;
}

/** One request on a fresh TCP connection (round-robin is per connection). */
async function get(port: number, path = '/'): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    headers: { connection: 'close' },
    signal: AbortSignal.timeout(3_000),
  });
  return res.text();
}

async function getMany(port: number, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await get(port));
  return out;
}

/** Opens an upgraded connection through the LB; resolves with the raw socket. */
async function upgrade(port: number): Promise<net.Socket> {
  const req = http.request({
    host: '127.0.0.1',
    port,
    path: '/socket.io/?EIO=4&transport=websocket',
    headers: { connection: 'Upgrade', upgrade: 'echo' },
    agent: false,
  });
  req.end();
  const [res, socket] = (await once(req, 'upgrade')) as [http.IncomingMessage, net.Socket];
  expect(res.statusCode).toBe(101);
  return socket;
}

describe('load balancer (test/helpers/load-balancer.ts)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  async function setup(healthIntervalMs = 50): Promise<{ a: TinyBackend; b: TinyBackend; lb: LoadBalancer }> {
    const a = await tinyBackend('a');
    const b = await tinyBackend('b');
    cleanups.push(a.close, b.close);
    const lb = await startLoadBalancer({
      port: 0,
      backends: [
        { host: '127.0.0.1', port: a.port },
        { host: '127.0.0.1', port: b.port },
      ],
      healthIntervalMs,
    });
    cleanups.push(() => lb.close());
    return { a, b, lb };
  }

  it('alternates between healthy backends, one connection each', async () => {
    const { a, b, lb } = await setup();
    expect(lb.healthy()).toEqual([a.key, b.key]);
    const names = await getMany(lb.port, 6);
    expect(names).toEqual(['a', 'b', 'a', 'b', 'a', 'b']);
    expect(a.hits).toBe(3);
    expect(b.hits).toBe(3);
  });

  it('sends no new connections to a backend whose /health answers 503, and takes it back at 200', async () => {
    const { a, b, lb } = await setup();
    b.healthStatus = 503; // e.g. draining on SIGTERM, or Redis down
    await vi.waitFor(() => expect(lb.healthy()).toEqual([a.key]), { timeout: 2_000, interval: 10 });
    const before = b.hits;
    expect(await getMany(lb.port, 5)).toEqual(['a', 'a', 'a', 'a', 'a']);
    expect(b.hits).toBe(before);

    b.healthStatus = 200;
    await vi.waitFor(() => expect(lb.healthy()).toEqual([a.key, b.key]), { timeout: 2_000, interval: 10 });
    expect(new Set(await getMany(lb.port, 4))).toEqual(new Set(['a', 'b']));
  });

  it('keeps existing connections to a backend that turns unhealthy (it closes them itself)', async () => {
    const { a, b, lb } = await setup();
    const sockets = [await upgrade(lb.port), await upgrade(lb.port)];
    cleanups.push(async () => sockets.forEach((s) => s.destroy()));
    b.healthStatus = 503;
    await vi.waitFor(() => expect(lb.healthy()).toEqual([a.key]), { timeout: 2_000, interval: 10 });
    const replies = await Promise.all(
      sockets.map(async (s) => {
        s.write('still-there');
        const [d] = (await once(s, 'data')) as [Buffer];
        return d.toString();
      }),
    );
    expect(replies.sort()).toEqual(['a:still-there', 'b:still-there']);
  });

  it('passes an HTTP upgrade (WebSocket handshake) and the bytes after it through untouched', async () => {
    const { lb } = await setup();
    const s = await upgrade(lb.port);
    cleanups.push(async () => void s.destroy());
    s.write('hello');
    const [d] = (await once(s, 'data')) as [Buffer];
    expect(d.toString()).toMatch(/^[ab]:hello$/);
  });

  it('destroys the client socket when the chosen backend refuses, and stops choosing it', async () => {
    // Slow health checks: only the failed connect can tell the LB that b is gone.
    const { a, b, lb } = await setup(60_000);
    await b.close();
    const results: string[] = [];
    for (let i = 0; i < 6; i++) {
      results.push(await get(lb.port).catch(() => 'failed'));
    }
    // At most the one connection routed to b before it was marked down fails.
    expect(results.filter((r) => r === 'failed').length).toBeLessThanOrEqual(1);
    expect(results.filter((r) => r !== 'failed').every((r) => r === 'a')).toBe(true);
    expect(lb.healthy()).toEqual([a.key]);
  });

  it('refuses (destroys) connections when no backend is healthy', async () => {
    const { a, b, lb } = await setup();
    a.healthStatus = 503;
    b.healthStatus = 503;
    await vi.waitFor(() => expect(lb.healthy()).toEqual([]), { timeout: 2_000, interval: 10 });
    await expect(get(lb.port)).rejects.toThrow();
    expect(a.hits + b.hits).toBe(0);
  });

  it('close() stops listening, ends proxied connections and health checks', async () => {
    const { a, b, lb } = await setup();
    const s = await upgrade(lb.port);
    const clientClosed = once(s, 'close');
    await lb.close();
    await clientClosed;
    // Nothing left open towards the backends: no proxied sockets, no pooled health-check sockets.
    await vi.waitFor(() => expect(a.open.size + b.open.size).toBe(0), { timeout: 1_000, interval: 10 });
    await expect(get(lb.port)).rejects.toThrow();
    // Health checks stopped: /health is not polled any more.
    let polled = 0;
    a.server.on('request', () => polled++);
    await new Promise((r) => setTimeout(r, 200));
    expect(polled).toBe(0);
    await lb.close(); // idempotent
  });

  it('runs as a CLI and shuts down on SIGTERM', async () => {
    const a = await tinyBackend('a');
    cleanups.push(a.close);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/helpers/load-balancer.ts', '--port', '0', '--backend', a.key, '--health-interval', '50'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cleanups.push(async () => void child.kill('SIGKILL'));
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    await vi.waitFor(() => expect(out).toMatch(/listening on 127\.0\.0\.1:\d+/), { timeout: 10_000, interval: 20 });
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(out)![1]);
    // The first health check may not have passed yet (no healthy backend → connection reset).
    await vi.waitFor(async () => expect(await get(port)).toBe('a'), { timeout: 5_000, interval: 50 });
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
  }, 15_000);
});
