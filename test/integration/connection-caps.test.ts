/**
 * docs/reliability.md "Load and abuse", Bare sessions and connection caps: Engine.IO
 * sessions with no Socket.IO connect are capped per address (MAX_PENDING_PER_ADDRESS) and
 * closed after CONNECT_TIMEOUT_MS; open connections are capped per address
 * (MAX_CONNECTIONS_PER_ADDRESS, IPv6 by /64) and per instance (MAX_CONNECTIONS); a
 * slowloris request is cut after HTTP_HEADERS_TIMEOUT_MS.
 */
import { connect as tcpConnect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAllClients, connect, eventually, type Client } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer | null = null;
afterEach(async () => {
  closeAllClients();
  await server?.close();
  server = null;
});

/** An Engine.IO handshake (long-polling) that never sends the Socket.IO connect: its HTTP status and sid. */
async function bareHandshake(url: string, headers: Record<string, string> = {}): Promise<{ status: number; sid: string | null }> {
  const res = await fetch(`${url}/socket.io/?EIO=4&transport=polling`, { headers });
  const text = await res.text();
  return { status: res.status, sid: res.status === 200 ? (JSON.parse(text.slice(1)) as { sid: string }).sid : null };
}

const engineClients = (s: TestServer) => (s.app.io.engine as unknown as { clients: Record<string, unknown> }).clients;

/** Connects a socket.io client as `address` (behind TRUST_PROXY); resolves true if connected. */
async function connectsAs(url: string, address: string, keep: Client[]): Promise<boolean> {
  try {
    keep.push(await connect(url, { extraHeaders: { 'x-forwarded-for': address } }));
    return true;
  } catch {
    return false;
  }
}

describe('bare Engine.IO sessions', () => {
  it('at most MAX_PENDING_PER_ADDRESS (default 20) at once per address; another address is not affected', async () => {
    server = await startServer({ MAX_PENDING_PER_ADDRESS: '', TRUST_PROXY: 'true' });
    expect(server.app.config.transport.maxPendingPerAddress).toBe(20);
    const from = { 'x-forwarded-for': '198.51.100.7' };
    const results = [];
    for (let i = 0; i < 30; i++) results.push(await bareHandshake(server.url, from));
    expect(results.filter((r) => r.status === 200)).toHaveLength(20);
    expect(results.slice(20).every((r) => r.status === 403)).toBe(true);
    expect((await bareHandshake(server.url, { 'x-forwarded-for': '198.51.100.8' })).status).toBe(200);
    // A session that completes its Socket.IO connect no longer counts as bare.
    const keep: Client[] = [];
    expect(await connectsAs(server.url, '198.51.100.9', keep)).toBe(true);
    const refused = await server.app.metrics.refusedConnections.get();
    expect(refused.values.find((v) => v.labels.reason === 'too_many_pending')?.value).toBe(10);
  });

  it('a bare session is closed after CONNECT_TIMEOUT_MS (default 5 s, was 45 s)', async () => {
    server = await startServer({ CONNECT_TIMEOUT_MS: '' });
    expect(server.app.config.transport.connectTimeoutMs).toBe(5_000);
    await server.close();
    server = await startServer({ CONNECT_TIMEOUT_MS: '1000' });
    const t0 = Date.now();
    const { sid } = await bareHandshake(server.url);
    expect(sid! in engineClients(server)).toBe(true);
    await eventually(() => expect(sid! in engineClients(server!)).toBe(false), 5_000, 50);
    const lived = Date.now() - t0;
    expect(lived).toBeGreaterThanOrEqual(900);
    expect(lived).toBeLessThan(3_000);
  });
});

describe('connection caps', () => {
  it('MAX_CONNECTIONS_PER_ADDRESS counts IPv6 by /64; a freed slot is usable again', async () => {
    server = await startServer({ MAX_CONNECTIONS_PER_ADDRESS: '3', TRUST_PROXY: 'true' });
    const keep: Client[] = [];
    // Three addresses of one /64 share its three slots.
    for (const a of ['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:db8:1:2:abcd::3']) expect(await connectsAs(server.url, a, keep)).toBe(true);
    expect(await connectsAs(server.url, '2001:db8:1:2::99', keep)).toBe(false);
    // The next /64 and an IPv4 address have their own.
    expect(await connectsAs(server.url, '2001:db8:1:3::1', keep)).toBe(true);
    expect(await connectsAs(server.url, '203.0.113.5', keep)).toBe(true);
    keep[0]!.disconnect();
    await eventually(async () => expect(await connectsAs(server!.url, '2001:db8:1:2::99', keep)).toBe(true), 3_000, 50);
    expect(server.app.config.transport.maxConnections).toBe(30_000);
  });

  it('MAX_CONNECTIONS caps the instance whatever the address', async () => {
    server = await startServer({ MAX_CONNECTIONS: '4', TRUST_PROXY: 'true' });
    const keep: Client[] = [];
    for (let i = 0; i < 4; i++) expect(await connectsAs(server.url, `192.0.2.${i + 1}`, keep)).toBe(true);
    expect(await connectsAs(server.url, '192.0.2.200', keep)).toBe(false);
    const refused = await server.app.metrics.refusedConnections.get();
    expect(refused.values.find((v) => v.labels.reason === 'instance_full')?.value).toBe(1);
    // /health is plain HTTP, not capped.
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });
});

describe('slowloris', () => {
  it('a request whose headers trickle in is cut after HTTP_HEADERS_TIMEOUT_MS (default 10 s; Node’s was 60 s)', async () => {
    server = await startServer({ HTTP_HEADERS_TIMEOUT_MS: '' });
    expect(server.app.config.transport.headersTimeoutMs).toBe(10_000);
    expect(server.app.fastify.server.headersTimeout).toBe(10_000);
    await server.close();
    server = await startServer({ HTTP_HEADERS_TIMEOUT_MS: '1000' });
    const u = new URL(server.url);
    const sock = tcpConnect(Number(u.port), u.hostname);
    const t0 = Date.now();
    const closed = new Promise<number>((resolve) => sock.once('close', () => resolve(Date.now() - t0)));
    sock.on('error', () => undefined);
    sock.on('data', () => undefined);
    sock.write(`GET /health HTTP/1.1\r\nHost: ${u.host}\r\n`);
    const drip = setInterval(() => sock.write('X-a: b\r\n'), 200);
    const lived = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 8_000))]);
    clearInterval(drip);
    sock.destroy();
    expect(lived).toBeGreaterThan(0);
    expect(lived).toBeLessThan(3_000);
  });
});
