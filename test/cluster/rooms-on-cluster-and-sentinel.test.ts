/**
 * Results, scheduling, bookings and history on Redis Cluster and on Sentinel (real redis-server processes, two focusroom
 * instances in this process, a real PostgreSQL): a room spanning both instances ticks and
 * completes once per client with its result written once; a scheduled room starts by
 * itself once; one identity cannot hold overlapping bookings across the instances; the
 * room's history is served over REST from its stream; and on a cluster every key of a
 * room sits in its partition's slot with the indexes its writes touch.
 */
import { SignJWT } from 'jose';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisKeys } from '../../src/redis/redis-keys.js';
import { call, closeAllClients, connect, eventually, record, roomWith, waitFor } from '../helpers/client.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startRedisCluster, type TestRedisCluster } from '../helpers/redis-cluster.js';
import { startSentinelSet, type TestSentinelSet } from '../helpers/redis-sentinel.js';
import { newInstance } from '../helpers/cluster.js';
import { newServer, type TestServer } from '../helpers/server.js';

const SECRET = 'topologies-secret-0123456789abcdef';
const tokenFor = (sub: string) =>
  new SignJWT({ sub }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));
const as = async (url: string, sub: string) => connect(url, { auth: { token: await tokenFor(sub) } });
const fast = { consumer: { batch: 100, blockMs: 200, backoffMinMs: 100, backoffMaxMs: 400 } };

let pgs: TestPostgres;
beforeAll(async () => {
  pgs = await startPostgres();
}, 60_000);
afterAll(async () => {
  closeAllClients();
  await pgs?.destroy();
});

describe.each(['cluster', 'sentinel'] as const)('on Redis %s', (kind) => {
  let cluster: TestRedisCluster | undefined;
  let sentinel: TestSentinelSet | undefined;
  let a: TestServer;
  let b: TestServer;
  let env: Record<string, string>;
  const prefix = `t2${kind[0]}:`;

  beforeAll(async () => {
    env =
      kind === 'cluster'
        ? { REDIS_CLUSTER: 'true', REDIS_URL: (cluster = await startRedisCluster()).seeds }
        : { REDIS_SENTINELS: (sentinel = await startSentinelSet()).sentinelsEnv, REDIS_SENTINEL_NAME: sentinel.name };
    await pgs.query(`create database topo_${kind}`);
    const common = { ...env, AUTH_JWT_SECRET: SECRET, DATABASE_URL: pgs.urlOf(`topo_${kind}`) };
    a = await newServer({ ...common, INSTANCE_ID: `${kind}-a` }, { redisPrefix: prefix, ...fast });
    b = await newServer({ ...common, INSTANCE_ID: `${kind}-b` }, { redisPrefix: prefix, ...fast });
    await Promise.all([a.app.persistence!.start(), b.app.persistence!.start()]);
  }, 90_000);
  afterAll(async () => {
    closeAllClients();
    await Promise.all([a?.close(), b?.close()]);
    await Promise.all([cluster?.stop(), sentinel?.stop()]);
  }, 30_000);

  it('a room spanning both instances: events cross, ticks, one completion per client, its result stored once', async () => {
    const host = await as(a.url, `${kind}-host`);
    const guest = await as(b.url, `${kind}-guest`);
    const { code, created } = await roomWith(host, [guest], { session_duration: 2_000 });
    const added = waitFor(guest, 'task_added', 3_000);
    expect((await call(host, 'add_task', { title: 'across' })).ok).toBe(true);
    expect((await added).task.title).toBe('across');
    const doneHost = record(host, 'session_completed');
    const doneGuest = record(guest, 'session_completed');
    const started = await call(host, 'start_session');
    expect(started.ok).toBe(true);
    const tick = await waitFor(guest, 'time_update', 2_500);
    expect(tick.ends_at).toBe(started.session.ends_at);
    await waitFor(guest, 'session_completed', 6_000);
    await eventually(() => expect(doneHost).toHaveLength(1), 2_000);
    await eventually(async () => {
      const rows = await pgs.query<{ n: number }>('select count(*)::int as n from round_results', [], `topo_${kind}`);
      expect(rows[0]!.n).toBe(2);
    }, 10_000, 100);
    expect(doneGuest).toHaveLength(1);
    // The history, over REST from either instance, in seq order.
    const reply = await fetch(`${b.url}/sessions/${code}/events`, { headers: { authorization: `Bearer ${created.resume_token}` } });
    expect(reply.status).toBe(200);
    const history = (await reply.json()) as { events: { seq: number; event: string }[] };
    const names = history.events.map((e) => e.event);
    expect(names).toEqual(expect.arrayContaining(['participant_joined', 'task_added', 'session_started', 'session_completed']));
    expect(history.events.map((e) => e.seq)).toEqual([...history.events.map((e) => e.seq)].sort((x, y) => x - y));
  }, 30_000);

  it('a scheduled room starts by itself once, within a second of starts_at, for clients on both instances', async () => {
    const host = await as(a.url, `${kind}-sched-host`);
    const guest = await as(b.url, `${kind}-sched-guest`);
    const startsAt = Date.now() + 2_500;
    const created = await call(host, 'create_session', { user_name: 'Host', starts_at: startsAt, session_duration: 60_000 });
    expect(created.ok).toBe(true);
    expect((await call(guest, 'join_session', { room_code: created.room_code, user_name: 'Guest' })).ok).toBe(true);
    const starts = record(guest, 'session_started');
    await waitFor(guest, 'session_started', 6_000);
    const late = starts[0]!._at - startsAt;
    expect(late).toBeGreaterThanOrEqual(-50);
    expect(late).toBeLessThan(1_000);
    await new Promise((r) => setTimeout(r, 1_500).unref());
    expect(starts).toHaveLength(1);
    console.log(`[cluster] ${kind}: scheduled start reached a client on the other instance ${late} ms after starts_at`);
  }, 20_000);

  it('one identity racing 20 overlapping bookings over both instances gets exactly one (time_slot_taken for the rest)', async () => {
    const startsAt = Date.now() + 3_600_000;
    const hosts = await Promise.all(Array.from({ length: 20 }, (_, i) => as(i % 2 ? b.url : a.url, `${kind}-h${i}`)));
    const rooms = await Promise.all(hosts.map((h, i) => call(h, 'create_session', { user_name: `Host${i}`, starts_at: startsAt + i * 1_000 })));
    expect(rooms.every((r) => r.ok)).toBe(true);
    const seats = await Promise.all(rooms.map((_, i) => as(i % 2 ? a.url : b.url, `${kind}-racer`)));
    const replies = await Promise.all(seats.map((s, i) => call(s, 'join_session', { room_code: rooms[i]!.room_code, user_name: 'Racer' }, 10_000)));
    expect(replies.filter((r) => r.ok)).toHaveLength(1);
    expect(replies.filter((r) => !r.ok).map((r) => r.error.code)).toEqual(Array(19).fill('time_slot_taken'));
  }, 30_000);

  it('the instance that created a scheduled room is killed (-9) before starts_at: the room still starts once, on time', async () => {
    // A child process on the same Redis and prefix (redisPrefix is an in-process option; the child uses the default prefix,
    // so the in-process instances here cannot see its rooms): the guest joins on a second child instead.
    const childEnv = { ...env, AUTH_JWT_SECRET: SECRET, INSTANCE_TIMEOUT_MS: '2000', DISCONNECT_GRACE_MS: '5000' };
    const doomed = await newInstance({ redisUrl: env.REDIS_URL ?? '', id: `${kind}-doomed`, env: childEnv });
    const survivor = await newInstance({ redisUrl: env.REDIS_URL ?? '', id: `${kind}-survivor`, env: childEnv });
    const host = await as(doomed.url, `${kind}-kill-host`);
    const guest = await as(survivor.url, `${kind}-kill-guest`);
    const startsAt = Date.now() + 3_000;
    const created = await call(host, 'create_session', { user_name: 'Host', starts_at: startsAt, session_duration: 60_000 });
    expect(created.ok).toBe(true);
    expect((await call(guest, 'join_session', { room_code: created.room_code, user_name: 'Guest' })).ok).toBe(true);
    const started = record(guest, 'session_started');
    doomed.signal('SIGKILL');
    await doomed.exited;
    await waitFor(guest, 'session_started', startsAt - Date.now() + 3_000);
    const late = started[0]!._at - startsAt;
    expect(late).toBeGreaterThanOrEqual(-50);
    expect(late).toBeLessThan(1_000);
    await new Promise((r) => setTimeout(r, 1_000).unref());
    expect(started).toHaveLength(1);
    console.log(`[cluster] ${kind}: creating instance killed; the survivor started the room ${late} ms after starts_at`);
  }, 40_000);

  it.runIf(kind === 'cluster')('every key of a room shares its partition slot with the indexes its writes touch', async () => {
    const host = await as(a.url, 'key-host');
    const created = await call(host, 'create_session', { user_name: 'Host' });
    expect((await call(host, 'add_task', { title: 'history' })).ok).toBe(true);
    const keys = new RedisKeys({ prefix, partitions: 32 });
    const p = keys.partitionOf(created.room_code);
    const admin = new Cluster(cluster!.seedNodes);
    try {
      const slots = await Promise.all(
        [keys.room(created.room_code), keys.events(created.room_code), keys.due(p), keys.status(p), keys.outbox(p)].map((k) => cluster!.slotOf(k)),
      );
      expect(new Set(slots).size).toBe(1);
      expect(await admin.exists(keys.room(created.room_code), keys.events(created.room_code))).toBe(2);
      expect(await admin.zscore(keys.due(p), created.room_code)).not.toBeNull();
      // The partitions spread over the 3 masters: 32 partitions as 10 or 11 per master.
      const perMaster = new Map<number, number>();
      for (const q of keys.all()) {
        const m = await cluster!.masterForKey(keys.due(q));
        perMaster.set(m.port, (perMaster.get(m.port) ?? 0) + 1);
      }
      expect([...perMaster.values()].sort()).toEqual([10, 11, 11]);
    } finally {
      admin.disconnect();
    }
  });
});
