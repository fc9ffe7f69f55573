/**
 * The docker-compose topology without Docker, on loopback: one redis-server, two
 * focusroom processes, and test/helpers/load-balancer.ts (round-robin per TCP connection,
 * /health checks) in front. Clients know only the load balancer's address and use the
 * WebSocket transport, so no sticky sessions are needed. One instance is then drained
 * with SIGTERM: its clients reconnect through the load balancer, land on the other
 * instance and resume their seats, and the countdown completes once for everyone.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LoadBalancer, startLoadBalancer } from '../helpers/load-balancer.js';
import { call, type Client, closeAllClients, connect, eventually, record, roomWith, waitFor } from '../helpers/client.js';
import { newInstance, newRedis } from '../helpers/cluster.js';
import type { TestRedis } from '../helpers/redis-server.js';
import type { ChildInstance } from '../helpers/process.js';
import { getJson } from '../helpers/http.js';
import { setTimeout as sleep } from 'node:timers/promises';

let redis: TestRedis;
let one: ChildInstance | undefined;
let two: ChildInstance | undefined;
let lb: LoadBalancer | undefined;
let lbUrl = '';

beforeAll(async () => {
  redis = await newRedis();
  const env = { DISCONNECT_GRACE_MS: '15000', SHUTDOWN_GRACE_MS: '5000' };
  [one, two] = await Promise.all([newInstance({ redisUrl: redis.url, id: 'app1', env }), newInstance({ redisUrl: redis.url, id: 'app2', env })]);
  lb = await startLoadBalancer({
    port: 0,
    backends: [one!, two!].map((i) => ({ host: '127.0.0.1', port: i.port })),
    healthIntervalMs: 200,
  });
  lbUrl = `http://127.0.0.1:${lb.port}`;
}, 30_000);
afterAll(async () => {
  closeAllClients();
  await lb?.close();
});
afterEach(() => closeAllClients());

/** Connections open on an instance, asked directly (not through the load balancer). */
const connectionsOn = async (inst: ChildInstance) => (await getJson(`${inst.url}/health`)).body.connections as number;

interface Seat {
  room_code: string;
  participant_id: string;
  resume_token: string;
}

/**
 * What an app does (public/app.js): reconnect when the server closed the connection,
 * and resume the seat on every new connection. Resolves each resume's reply in order.
 */
function keepSeat(client: Client, seat: Seat, lastSeq: () => number) {
  const resumes: Array<Record<string, any>> = [];
  client.on('disconnect', (reason) => {
    if (reason === 'io server disconnect') setTimeout(() => client.connect(), 50);
  });
  client.on('connect', () => {
    void call(client, 'resume_session', { ...seat, last_seq: lastSeq() }).then((r) => resumes.push({ ...r, _at: Date.now() }));
  });
  return resumes;
}

describe('two instances behind the Node load balancer', () => {
  it('spreads clients over both instances and runs a room across them', async () => {
    expect(lb!.healthy()).toHaveLength(2);
    const health = await getJson(`${lbUrl}/health`);
    expect(health.body).toMatchObject({ status: 'ok', redis: 'ok' });

    const clients: Client[] = [];
    for (let i = 0; i < 4; i++) clients.push(await connect(lbUrl));
    await eventually(async () => {
      expect(await connectionsOn(one!)).toBe(2);
      expect(await connectionsOn(two!)).toBe(2);
    });
    const [host, ...guests] = clients;
    const { code } = await roomWith(host!, guests, { session_duration: 2_000 });
    const done = clients.map((c) => record(c, 'session_completed'));
    expect((await call(host!, 'start_session')).ok).toBe(true);
    await Promise.all(clients.map((c) => waitFor(c, 'session_completed', 4_000)));
    await sleep(500);
    expect(done.map((d) => d.length)).toEqual([1, 1, 1, 1]);
    const viaLb = await getJson(`${lbUrl}/session/${code}`);
    expect(viaLb.body).toMatchObject({ status: 'completed', participants: 4 });
  });

  it('draining one instance (SIGTERM): its clients resume through the load balancer on the other', async () => {
    const opts = { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 500 };
    const clients: Client[] = [];
    for (let i = 0; i < 4; i++) clients.push(await connect(lbUrl, opts));
    const [host, ...guests] = clients;
    const { created, joined, code } = await roomWith(host!, guests, { session_duration: 4_000 });
    const seats = [created, ...joined].map((r) => ({ room_code: code, participant_id: r.participant_id as string, resume_token: r.resume_token as string }));
    const lastSeq = clients.map(() => 0);
    const resumes = clients.map((c, i) => keepSeat(c, seats[i]!, () => lastSeq[i]!));
    const drops = clients.map((c) => record(c, 'disconnect'));
    const done = clients.map((c) => record(c, 'session_completed'));

    const started = await call(host!, 'start_session');
    expect(started.ok).toBe(true);
    const endsAt = started.session.ends_at as number;
    lastSeq.fill(started.session.seq as number);
    await waitFor(host!, 'time_update', 2_000);

    const drainedAt = Date.now();
    one!.signal('SIGTERM');
    // The instance leaves the rotation, drains its sockets and exits 0.
    const exit = await one!.exited;
    expect(exit.code).toBe(0);
    expect(Date.now() - drainedAt).toBeLessThan(5_000);
    await eventually(() => expect(lb!.healthy()).toEqual([`127.0.0.1:${two!.port}`]), 2_000);

    // Exactly the clients that were on the drained instance dropped, and each resumed
    // its own seat (same id, host role kept) through the load balancer, within grace.
    const moved = drops.map((d) => d.length > 0);
    expect(moved.filter(Boolean)).toHaveLength(2);
    await eventually(() => {
      for (const [i, m] of moved.entries()) expect(resumes[i]!.filter((r) => r.ok)).toHaveLength(m ? 1 : 0);
    }, 3_000);
    for (const [i, m] of moved.entries()) {
      if (!m) continue;
      const r = resumes[i]!.find((x) => x.ok)!;
      expect(r.participant_id).toBe(seats[i]!.participant_id);
      expect(r.session.is_creator).toBe(i === 0);
      expect(r.session.participants.find((p: { id: string }) => p.id === seats[i]!.participant_id)).toMatchObject({ status: 'focusing', connected: true });
      expect(r._at - drainedAt).toBeLessThan(2_000);
    }
    expect(await connectionsOn(two!)).toBe(4);

    // The countdown outlives the drained instance: completion once per client, on time.
    await Promise.all(clients.map((c) => waitFor(c, 'session_completed', endsAt - Date.now() + 2_000)));
    await sleep(600);
    expect(done.map((d) => d.length)).toEqual([1, 1, 1, 1]);
    const lateness = Math.max(...done.map((d) => d[0]!._at - endsAt));
    expect(lateness).toBeLessThan(1_000);
    expect(done[0]![0]!.session.participants.every((p: { connected: boolean }) => p.connected)).toBe(true);
    const resumeMs = Math.max(...resumes.flat().map((r) => r._at - drainedAt));
    console.log(`[cluster] drain via LB: clients resumed on the other instance within ${resumeMs} ms of SIGTERM; completion ${lateness} ms after ends_at`);

    // New rooms keep working through the load balancer with one instance left.
    const [a, b] = [await connect(lbUrl), await connect(lbUrl)];
    await roomWith(a, [b], { session_duration: 1_000 });
    expect((await call(a, 'start_session')).ok).toBe(true);
    await Promise.all([waitFor(a, 'session_completed', 3_000), waitFor(b, 'session_completed', 3_000)]);
  });
});
