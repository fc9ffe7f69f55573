/**
 * Scheduled sessions across instances (real processes, real Redis): the scheduled start
 * runs once even when the instance that created the room is killed before starts_at, and
 * one identity racing 50 overlapping seat requests over two instances gets one seat.
 */
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call, closeAllClients, connect, record, waitFor } from '../helpers/client.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { type ChildInstance, killInstance, spawnInstance } from '../helpers/process.js';
import { setTimeout as sleep } from 'node:timers/promises';

const SECRET = 'schedule-cluster-secret-0123456789abc';
let redis: TestRedis;
let one: ChildInstance | undefined;
let two: ChildInstance | undefined;

beforeAll(async () => {
  redis = await startRedis();
  const env = { AUTH_JWT_SECRET: SECRET, DISCONNECT_GRACE_MS: '2000', INSTANCE_TIMEOUT_MS: '2000' };
  [one, two] = await Promise.all(['node-1', 'node-2'].map((id) => spawnInstance({ redisUrl: redis.url, id, env })));
}, 40_000);
afterAll(async () => {
  closeAllClients();
  await Promise.all([killInstance(one), killInstance(two)]);
  await redis?.stop();
});
afterEach(() => closeAllClients());

const tokenFor = (sub: string) =>
  new SignJWT({ sub }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));
const as = async (url: string, sub: string) => connect(url, { auth: { token: await tokenFor(sub) } });

describe('one identity, two instances', () => {
  it('50 concurrent overlapping seat requests: exactly one wins, 49 are time_slot_taken', async () => {
    const startsAt = Date.now() + 3_600_000;
    // 50 rooms of 50 other people, alternating instances, all overlapping.
    const hosts = await Promise.all(Array.from({ length: 50 }, (_, i) => as(i % 2 ? two!.url : one!.url, `host-${i}`)));
    const rooms = await Promise.all(hosts.map((h, i) => call(h, 'create_session', { user_name: `Host${i}`, starts_at: startsAt + i * 1_000 })));
    expect(rooms.every((r) => r.ok)).toBe(true);
    const seats = await Promise.all(Array.from({ length: 50 }, (_, i) => as(i % 2 ? one!.url : two!.url, 'racer')));
    const replies = await Promise.all(seats.map((s, i) => call(s, 'join_session', { room_code: rooms[i]!.room_code, user_name: 'Racer' }, 10_000)));
    const won = replies.filter((r) => r.ok);
    expect(won).toHaveLength(1);
    expect(replies.filter((r) => !r.ok).map((r) => r.error.code)).toEqual(Array(49).fill('time_slot_taken'));
    // The rooms agree: the racer sits in exactly one of them.
    const seated = [];
    for (const r of rooms) {
      const reply = await fetch(`${one!.url}/session/${r.room_code}`);
      seated.push(((await reply.json()) as { participants: number }).participants);
    }
    expect(seated.filter((n) => n === 2)).toHaveLength(1);
  }, 60_000);
});

/** focusroom_prepared_runs_total{outcome} of one instance. */
async function preparedRuns(url: string, outcome: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(text.match(new RegExp(`^focusroom_prepared_runs_total\\{outcome="${outcome}"\\} (\\d+)`, 'm'))?.[1] ?? 0);
}

describe('booked starts prepared on two instances', () => {
  it('each room starts once, from one prepared commit, anchored at starts_at, on both instances', async () => {
    const n = 20;
    const before = { committed: 0, changed: 0 };
    for (const url of [one!.url, two!.url]) {
      before.committed += await preparedRuns(url, 'committed');
      before.changed += await preparedRuns(url, 'changed');
    }
    const startsAt = Math.ceil((Date.now() + 4_000) / 1_000) * 1_000;
    // Host on one instance, guest on the other: both instances watch (and prepare) each start.
    const hosts = await Promise.all(Array.from({ length: n }, (_, i) => as(i % 2 ? two!.url : one!.url, `prep-host-${i}`)));
    const guests = await Promise.all(Array.from({ length: n }, (_, i) => as(i % 2 ? one!.url : two!.url, `prep-guest-${i}`)));
    const rooms = await Promise.all(hosts.map((h, i) => call(h, 'create_session', { user_name: `H${i}`, starts_at: startsAt, session_duration: 60_000 })));
    expect(rooms.every((r) => r.ok)).toBe(true);
    const joins = await Promise.all(guests.map((g, i) => call(g, 'join_session', { room_code: rooms[i]!.room_code, user_name: `G${i}` })));
    expect(joins.every((r) => r.ok)).toBe(true);
    const seen = [...hosts, ...guests].map((s) => record(s, 'session_started'));
    await Promise.all([...hosts, ...guests].map((s) => waitFor(s, 'session_started', startsAt - Date.now() + 3_000)));
    await sleep(1_000); // a second start would arrive here
    for (const [i, got] of seen.entries()) {
      expect(got).toHaveLength(1);
      expect(got[0]!.session).toMatchObject({ status: 'active', started_at: startsAt, ends_at: startsAt + 60_000, is_creator: i < n });
    }
    const after = { committed: 0, changed: 0 };
    for (const url of [one!.url, two!.url]) {
      after.committed += await preparedRuns(url, 'committed');
      after.changed += await preparedRuns(url, 'changed');
    }
    // One prepared commit per room won; the other instance's lost its compare-and-set.
    expect(after.committed - before.committed).toBe(n);
    expect(after.changed - before.changed).toBeLessThanOrEqual(n);
  }, 40_000);
});

describe('kill -9 of the creating instance before starts_at', () => {
  it('the survivor starts the room once, within a second of starts_at', async () => {
    const host = await as(one!.url, 'kill-host');
    const guest = await as(two!.url, 'kill-guest');
    const startsAt = Date.now() + 3_000;
    const created = await call(host, 'create_session', { user_name: 'Host', starts_at: startsAt, session_duration: 60_000 });
    expect(created.ok).toBe(true);
    expect((await call(guest, 'join_session', { room_code: created.room_code, user_name: 'Guest' })).ok).toBe(true);
    const started = record(guest, 'session_started');
    one!.signal('SIGKILL');
    await one!.exited;
    const first = await waitFor(guest, 'session_started', startsAt - Date.now() + 3_000);
    const lateness = Date.now() - startsAt;
    expect(lateness).toBeGreaterThanOrEqual(0);
    expect(lateness).toBeLessThan(1_000);
    expect(first.session.status).toBe('active');
    await sleep(1_000); // a second start would arrive here
    expect(started).toHaveLength(1);
    // The host's seat is a booking on the dead instance: still there, disconnected after the instance timeout.
    expect(first.session.participants.map((p: any) => p.user_name)).toEqual(['Host', 'Guest']);
  }, 30_000);
});
