/**
 * Rate limits, with the limits set low through the same env variables an operator uses:
 * failed joins per address (shared with GET /session/:code), events per socket,
 * connections per address, creates per address; Redis-shared budgets in cluster mode;
 * X-Forwarded-For honoured only with TRUST_PROXY=true. Over a limit the caller gets
 * `rate_limited`, nothing crashes, and nobody else notices.
 *
 * All test clients come from 127.0.0.1; with TRUST_PROXY=true an X-Forwarded-For header
 * stands in for distinct client addresses, as the load balancer would set it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call, type Client, closeAllClients, connect, roomWith, waitFor } from '../helpers/client.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { startServer, type TestServer, useSharedServer } from '../helpers/server.js';

afterEach(() => closeAllClients());

const from = (ip: string) => ({ extraHeaders: { 'x-forwarded-for': ip } });
const getSession = (url: string, code: string, ip?: string) => fetch(`${url}/session/${code}`, { headers: ip ? { 'x-forwarded-for': ip } : {} });
const expectHealthy = async (url: string) => expect((await fetch(`${url}/health`)).status).toBe(200);
/** Valid-looking codes that name no room (the alphabet has no 0/1/I/L/O). */
const ghost = (i: number) => `ZZZZ${'23456789'[i % 8]}${'ABCDEFGH'[Math.floor(i / 8) % 8]}`;

describe('failed joins per address (RATE_JOIN_FAILURES_PER_MIN)', () => {
  const server = useSharedServer({ RATE_JOIN_FAILURES_PER_MIN: '5', TRUST_PROXY: 'true' });

  it('refuses the guesser after N wrong codes, shares the budget with GET /session, and spares everyone else', async () => {
    const [host, member] = await Promise.all([connect(server.url, from('10.0.0.1')), connect(server.url, from('10.0.0.1'))]);
    const { code } = await roomWith(host, [member]);
    const guesser = await connect(server.url, from('10.6.6.6'));
    for (let i = 0; i < 5; i++) {
      expect(await call(guesser, 'join_session', { room_code: ghost(i), user_name: 'G' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    }
    const joinError = waitFor(guesser, 'join_error');
    expect(await call(guesser, 'join_session', { room_code: ghost(5), user_name: 'G' })).toMatchObject({ ok: false, error: { code: 'rate_limited' } });
    expect(await joinError).toMatchObject({ code: 'rate_limited' });
    // Even the right code: the guesser cannot tell a hit from a miss any more.
    expect(await call(guesser, 'join_session', { room_code: code, user_name: 'G' })).toMatchObject({ ok: false, error: { code: 'rate_limited' } });
    // Same budget over HTTP, for known and unknown codes alike.
    const limited = await getSession(server.url, ghost(6), '10.6.6.6');
    expect(limited.status).toBe(429);
    expect(await limited.json()).toMatchObject({ error: { code: 'rate_limited' } });
    expect((await getSession(server.url, code, '10.6.6.6')).status).toBe(429);
    // The guesser's connection is still up (other events work), and everyone else is fine.
    expect(guesser.connected).toBe(true);
    expect(await call(guesser, 'create_session', { user_name: 'Honest now' })).toMatchObject({ ok: true });
    expect((await getSession(server.url, code, '10.0.0.2')).status).toBe(200);
    const newcomer = await connect(server.url, from('10.0.0.3'));
    expect(await call(newcomer, 'join_session', { room_code: code, user_name: 'New' })).toMatchObject({ ok: true });
    expect(await call(member, 'update_status', { status: 'ready' })).toMatchObject({ ok: true });
    await expectHealthy(server.url);
  });

  it('counts GET /session/:unknown first, then refuses joins from that address', async () => {
    for (let i = 0; i < 5; i++) expect((await getSession(server.url, ghost(i), '10.7.7.7')).status).toBe(404);
    expect((await getSession(server.url, ghost(9), '10.7.7.7')).status).toBe(429);
    const s = await connect(server.url, from('10.7.7.7'));
    expect(await call(s, 'join_session', { room_code: ghost(10), user_name: 'G' })).toMatchObject({ ok: false, error: { code: 'rate_limited' } });
    // A malformed code is a 400 and costs nothing: it tells nothing about live rooms.
    expect((await getSession(server.url, 'no!', '10.7.7.8')).status).toBe(400);
  });

  it('counts wrong resume tokens, too (per address and room), but never refuses the right one', async () => {
    const [host, guest] = await Promise.all([connect(server.url, from('10.0.1.1')), connect(server.url, from('10.0.1.1'))]);
    const { code, joined } = await roomWith(host, [guest]);
    const prober = await connect(server.url, from('10.8.8.8'));
    const probe = (token: string) => call(prober, 'resume_session', { room_code: code, participant_id: joined[0]!.participant_id, resume_token: token });
    for (let i = 0; i < 5; i++) expect(await probe(`wrong-token-${i}`.padEnd(32, 'x'))).toMatchObject({ ok: false, error: { code: 'invalid_token' } });
    expect(await probe('wrong-token-5'.padEnd(32, 'x'))).toMatchObject({ ok: false, error: { code: 'rate_limited' } });
    // docs/reliability.md: a correct token is never refused by this limit,
    // even from the address that failed (it used to be rate_limited here).
    guest.disconnect();
    expect(await probe(joined[0]!.resume_token)).toMatchObject({ ok: true });
    // The real owner, from its own address, resumes fine.
    const back = await connect(server.url, from('10.0.1.1'));
    expect(await call(back, 'resume_session', { room_code: code, participant_id: joined[0]!.participant_id, resume_token: joined[0]!.resume_token })).toMatchObject({ ok: true });
  });

  it('uses the address the proxy appended, so a client-supplied X-Forwarded-For cannot escape the budget', async () => {
    // nginx-style `$proxy_add_x_forwarded_for`: whatever the client sent, then the real peer.
    const spoofed = (i: number) => from(`203.0.113.${i}, 10.9.9.9`);
    for (let i = 0; i < 5; i++) {
      const s = await connect(server.url, spoofed(i));
      expect(await call(s, 'join_session', { room_code: ghost(i), user_name: 'G' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    }
    const s = await connect(server.url, spoofed(99));
    expect(await call(s, 'join_session', { room_code: ghost(6), user_name: 'G' })).toMatchObject({ ok: false, error: { code: 'rate_limited' } });
    expect((await getSession(server.url, ghost(7), '198.51.100.1, 10.9.9.9')).status).toBe(429);
  });
});

describe('events per socket (RATE_SOCKET_EVENTS_PER_SEC)', () => {
  it('answers a burst above the limit with rate_limited, keeps the socket, and leaves others alone', async () => {
    const server = await startServer({ RATE_SOCKET_EVENTS_PER_SEC: '10' });
    try {
      const [host, flooder] = await Promise.all([connect(server.url), connect(server.url)]);
      await roomWith(host, [flooder]);
      const errors: unknown[] = [];
      (flooder as unknown as { on(e: string, f: (p: unknown) => void): void }).on('error', (p) => errors.push(p));
      const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => call(flooder, 'update_status', { status: i % 2 ? 'ready' : 'failed' })));
      const limited = replies.filter((r) => !r.ok && r.error.code === 'rate_limited').length;
      expect(replies.filter((r) => r.ok).length).toBeLessThanOrEqual(10);
      expect(limited).toBeGreaterThanOrEqual(30);
      expect(replies.every((r) => r.ok || r.error.code === 'rate_limited' || r.error.code === 'invalid_state')).toBe(true);
      await new Promise((r) => setTimeout(r, 50));
      expect(errors.filter((e) => (e as { code: string }).code === 'rate_limited').length).toBe(limited);
      expect(flooder.connected).toBe(true);
      // The host was never limited.
      expect(await call(host, 'add_task', { title: 'unaffected' })).toMatchObject({ ok: true });
      // A second later the flooder's budget is back.
      await new Promise((r) => setTimeout(r, 1_100));
      expect(await call(flooder, 'update_status', { status: 'ready' })).toMatchObject({ ok: true });
      await expectHealthy(server.url);
    } finally {
      await server.close();
    }
  });

  it('a flood beyond the per-socket queue is refused without a crash', async () => {
    const server = await startServer({ RATE_SOCKET_EVENTS_PER_SEC: '100000' });
    try {
      const s = await connect(server.url);
      const replies = await Promise.all(Array.from({ length: 500 }, () => call(s, 'leave_session', {}, 5_000)));
      const codes = new Set(replies.map((r) => (r.ok ? 'ok' : r.error.code)));
      expect([...codes].every((c) => c === 'not_in_session' || c === 'rate_limited')).toBe(true);
      expect(s.connected).toBe(true);
      await expectHealthy(server.url);
    } finally {
      await server.close();
    }
  });

  it('the default limit never hits an app sending 10 events a second, or a burst of 10', async () => {
    // '' = the default of src/config.ts (TEST_ENV lifts it otherwise).
    const server = await startServer({ RATE_SOCKET_EVENTS_PER_SEC: '' });
    expect(server.app.config.rateLimits.socketEventsPerSec).toBeGreaterThanOrEqual(10);
    try {
      const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
      await roomWith(host, [guest], { session_duration: 60_000 });
      expect(await call(host, 'start_session')).toMatchObject({ ok: true });
      const replies = [];
      for (let i = 0; i < 30; i++) {
        const t = Date.now();
        replies.push(await call(guest, 'update_status', { status: i % 2 ? 'focusing' : 'paused' }));
        await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - t))));
      }
      expect(replies.filter((r) => !r.ok)).toEqual([]);
      const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => call(host, 'add_task', { title: `t${i}` })));
      expect(burst.filter((r) => !r.ok)).toEqual([]);
    } finally {
      await server.close();
    }
  });
});

describe('connections per address (RATE_CONNECTIONS_PER_MIN)', () => {
  it('refuses the address with connect_error rate_limited; others and open sockets carry on', async () => {
    const server = await startServer({ RATE_CONNECTIONS_PER_MIN: '3', TRUST_PROXY: 'true' });
    try {
      const open: Client[] = [];
      for (let i = 0; i < 3; i++) open.push(await connect(server.url, from('10.1.1.1')));
      await expect(connect(server.url, from('10.1.1.1'))).rejects.toThrow('rate_limited');
      const other = await connect(server.url, from('10.1.1.2'));
      expect(await call(other, 'create_session', { user_name: 'Other' })).toMatchObject({ ok: true });
      expect(await call(open[0]!, 'create_session', { user_name: 'Still open' })).toMatchObject({ ok: true });
      await expectHealthy(server.url);
    } finally {
      await server.close();
    }
  });
});

describe('creates per address (RATE_CREATES_PER_MIN)', () => {
  it('refuses the (N+1)th create from an address with rate_limited, leaving the socket free to join', async () => {
    const server = await startServer({ RATE_CREATES_PER_MIN: '2', TRUST_PROXY: 'true' });
    try {
      const s = await connect(server.url, from('10.2.2.2'));
      for (let i = 0; i < 2; i++) {
        expect(await call(s, 'create_session', { user_name: 'Maker' })).toMatchObject({ ok: true });
        expect(await call(s, 'leave_session')).toMatchObject({ ok: true });
      }
      const error = waitFor(s, 'error');
      expect(await call(s, 'create_session', { user_name: 'Maker' })).toMatchObject({ ok: false, error: { code: 'rate_limited' } });
      expect(await error).toMatchObject({ code: 'rate_limited' });
      // Not seated by the refused create: it can still join someone else's room.
      const other = await connect(server.url, from('10.2.2.3'));
      const created = await call(other, 'create_session', { user_name: 'Other' });
      expect(created).toMatchObject({ ok: true });
      expect(await call(s, 'join_session', { room_code: created.room_code, user_name: 'Maker' })).toMatchObject({ ok: true });
      await expectHealthy(server.url);
    } finally {
      await server.close();
    }
  });
});

describe('X-Forwarded-For without TRUST_PROXY', () => {
  it('is ignored: made-up addresses share the real peer address budget', async () => {
    const server = await startServer({ RATE_CONNECTIONS_PER_MIN: '3', RATE_JOIN_FAILURES_PER_MIN: '3' });
    expect(server.app.config.trustProxy).toBe(false);
    try {
      const socks: Client[] = [];
      for (let i = 0; i < 3; i++) socks.push(await connect(server.url, from(`10.3.3.${i}`)));
      await expect(connect(server.url, from('10.3.3.99'))).rejects.toThrow('rate_limited');
      for (let i = 0; i < 3; i++) {
        expect(await call(socks[i]!, 'join_session', { room_code: ghost(i), user_name: 'G' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
      }
      expect((await getSession(server.url, ghost(5), '10.3.4.4')).status).toBe(429);
    } finally {
      await server.close();
    }
  });
});

describe('cluster mode: budgets shared through Redis', () => {
  let redis: TestRedis;
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    redis = await startRedis();
    const env = { REDIS_URL: redis.url, RATE_JOIN_FAILURES_PER_MIN: '5', RATE_CREATES_PER_MIN: '2', RATE_CONNECTIONS_PER_MIN: '4', TRUST_PROXY: 'true' };
    a = await startServer({ ...env, INSTANCE_ID: 'rl-a' });
    b = await startServer({ ...env, INSTANCE_ID: 'rl-b' });
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await redis?.stop();
  });

  it('counts failed joins and creates of one address across instances', async () => {
    const onA = await connect(a.url, from('10.4.4.4'));
    const onB = await connect(b.url, from('10.4.4.4'));
    for (let i = 0; i < 3; i++) expect(await call(onA, 'join_session', { room_code: ghost(i), user_name: 'G' })).toMatchObject({ error: { code: 'not_found' } });
    for (let i = 3; i < 5; i++) expect((await getSession(b.url, ghost(i), '10.4.4.4')).status).toBe(404);
    expect(await call(onB, 'join_session', { room_code: ghost(6), user_name: 'G' })).toMatchObject({ error: { code: 'rate_limited' } });
    expect((await getSession(a.url, ghost(7), '10.4.4.4')).status).toBe(429);

    expect(await call(onA, 'create_session', { user_name: 'M' })).toMatchObject({ ok: true });
    expect(await call(onB, 'create_session', { user_name: 'M' })).toMatchObject({ ok: true });
    expect(await call(onA, 'leave_session')).toMatchObject({ ok: true });
    expect(await call(onA, 'create_session', { user_name: 'M' })).toMatchObject({ ok: false, error: { code: 'rate_limited' } });
    // Another address, on either instance, is untouched.
    const fresh = await connect(b.url, from('10.4.4.5'));
    expect(await call(fresh, 'create_session', { user_name: 'F' })).toMatchObject({ ok: true });
  });

  it('counts new connections of one address across instances', async () => {
    const open: Client[] = [];
    for (const server of [a, b, a, b]) open.push(await connect(server.url, from('10.4.4.6')));
    // Per instance this address has used 2 of 4; together, all 4.
    await expect(connect(a.url, from('10.4.4.6'))).rejects.toThrow('rate_limited');
    await expect(connect(b.url, from('10.4.4.6'))).rejects.toThrow('rate_limited');
    // Open sockets and other addresses carry on.
    expect(await call(open[3]!, 'create_session', { user_name: 'Still open' })).toMatchObject({ ok: true });
    expect((await connect(b.url, from('10.4.4.7'))).connected).toBe(true);
  });

  it('keeps separate budgets for deployments that share a Redis under different key prefixes', async () => {
    const other = await startServer({ REDIS_URL: redis.url, RATE_JOIN_FAILURES_PER_MIN: '5', TRUST_PROXY: 'true' }, { redisPrefix: 'other-deployment:' });
    try {
      expect((await getSession(a.url, ghost(8), '10.4.4.4')).status).toBe(429);
      expect((await getSession(other.url, ghost(8), '10.4.4.4')).status).toBe(404);
    } finally {
      await other.close();
    }
  });
});
