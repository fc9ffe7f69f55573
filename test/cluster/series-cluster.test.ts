/**
 * Recurring series across two instances sharing Redis, on standalone Redis, Sentinel and
 * Redis Cluster (in-process servers with their own injected clocks): when the horizon
 * moves, both instances sweep at once and every new occurrence becomes exactly one room;
 * one identity racing a series booking on one instance against a clashing booking on the
 * other gets exactly one of them; members racing into a series at its seat cap, some of
 * them clashing with their own other bookings, get all of it or nothing, and a reader
 * polling meanwhile never sees a loser seated or a member beyond the cap; a member booking
 * on one instance while the other sweeps the next occurrence into existence ends up seated
 * in every occurrence, the new one included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issuedUserKey } from '../helpers/test-env.js';
import { ManualClock } from '../../src/domain/clock.js';
import { call, closeAllClients, connect } from '../helpers/client.js';
import { http } from '../helpers/http.js';
import { startRedisCluster, type TestRedisCluster } from '../helpers/redis-cluster.js';
import { startSentinelSet, type TestSentinelSet } from '../helpers/redis-sentinel.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { newServer, type TestServer } from '../helpers/server.js';
import { raceIntoFullSeries, raceMemberAgainstJoinByCode, raceMemberAgainstSweep } from '../helpers/series-race.js';

const DAY = 86_400_000;
const newKey = issuedUserKey;

describe.each(['standalone', 'sentinel', 'cluster'] as const)('series on Redis %s', (kind) => {
  let redis: TestRedis | undefined;
  let cluster: TestRedisCluster | undefined;
  let sentinel: TestSentinelSet | undefined;
  let a: TestServer;
  let b: TestServer;
  const clockA = new ManualClock(Date.now());
  const clockB = new ManualClock(Date.now());

  beforeAll(async () => {
    let env: Record<string, string>;
    if (kind === 'cluster') env = { REDIS_CLUSTER: 'true', REDIS_URL: (cluster = await startRedisCluster()).seeds };
    else if (kind === 'sentinel') env = { REDIS_SENTINELS: (sentinel = await startSentinelSet()).sentinelsEnv, REDIS_SENTINEL_NAME: sentinel.name };
    else env = { REDIS_URL: (redis = await startRedis()).url };
    const prefix = `ser${kind[0]}:`;
    a = await newServer({ ...env, DATA_DIR: 'off', INSTANCE_ID: `${kind}-a` }, { redisPrefix: prefix, clock: clockA });
    b = await newServer({ ...env, DATA_DIR: 'off', INSTANCE_ID: `${kind}-b` }, { redisPrefix: prefix, clock: clockB });
  }, 120_000);
  afterAll(async () => {
    closeAllClients();
    await Promise.all([a?.close(), b?.close()]);
    await Promise.all([cluster?.stop(), sentinel?.stop(), redis?.stop()]);
  }, 60_000);

  it('both instances sweep the moved horizon at once: each new occurrence is one room', async () => {
    const owner = newKey();
    const start = Math.ceil((clockA.now() + 3_600_000) / 60_000) * 60_000;
    const created = await http(`${a.url}/series`, { token: owner, body: { title: 'Daily', starts_at: start, rrule: 'FREQ=DAILY;COUNT=30', tz: 'Europe/Berlin' } });
    expect(created.status, created.text).toBe(201);
    const id = created.body.series_id as string;
    clockA.advance(5 * DAY);
    clockB.advance(5 * DAY);
    await Promise.all([a.app.series.sweep(), b.app.series.sweep(), a.app.series.sweep(), b.app.series.sweep()]);
    const seen = await http(`${b.url}/series/${id}`, { token: owner });
    const codes = (seen.body.occurrences as { room_code: string | null }[]).map((o) => o.room_code).filter((c): c is string => c !== null);
    // 14 at creation + 5 days more = 19 occurrences with rooms, all distinct, all existing.
    expect(codes).toHaveLength(19);
    expect(new Set(codes).size).toBe(19);
    const total = (await a.app.store.countRooms()) as number;
    expect(total).toBeGreaterThanOrEqual(19 - 5);
    for (const code of codes.slice(-5)) expect((await http(`${a.url}/sessions/${code}`)).status).toBe(200);
    // The owner holds exactly one seat in each new occurrence.
    for (const code of codes.slice(-5)) expect((await a.app.store.get(code))!.participants.filter((p) => p.identity !== null)).toHaveLength(1);
  }, 60_000);

  it('a series booking on one instance racing a clashing booking on the other: exactly one wins', async () => {
    const owner = newKey();
    const start = Math.ceil((clockA.now() + 7_200_000) / 60_000) * 60_000;
    const created = await http(`${a.url}/series`, { token: owner, body: { title: 'Weekly', starts_at: start, rrule: 'FREQ=WEEKLY;COUNT=3', tz: 'America/New_York' } });
    expect(created.status, created.text).toBe(201);
    const second = created.body.occurrences[1].starts_at as number;
    for (let i = 0; i < 5; i++) {
      const racer = newKey();
      const s = await connect(b.url);
      const [member, solo] = await Promise.all([
        http(`${a.url}/series/${created.body.series_id}/members`, { token: racer, body: {} }),
        call(s, 'create_session', { user_name: 'Solo', user_key: racer, starts_at: second + 60_000 }, 10_000),
      ]);
      const wins = [member.status === 200, solo.ok === true].filter(Boolean);
      expect(wins, `${member.status} ${member.text} / ${JSON.stringify(solo.error ?? null)}`).toHaveLength(1);
      if (member.status !== 200) expect(member.body.error.code).toBe('time_slot_taken');
      else expect(solo.error.code).toBe('time_slot_taken');
    }
  }, 60_000);

  it('members racing into a series at its seat cap from both instances: all or nothing, never seen half-booked', async () => {
    await raceIntoFullSeries({ a, b, now: clockA.now() });
  }, 60_000);

  it('a member booking on one instance racing a join by code on the other for the last seat: all occurrences or none', async () => {
    await raceMemberAgainstJoinByCode({ a, b, now: clockA.now(), label: kind });
  }, 90_000);

  it('a member booking on one instance while the other sweeps the next occurrence: seated in every occurrence, the new one included', async () => {
    const offsets = Array.from({ length: 12 }, (_, i) => i * 3);
    await raceMemberAgainstSweep({ a, b, clocks: [clockA, clockB], hop: () => new Promise((r) => setImmediate(r)), offsets, others: 12, label: kind });
  }, 120_000);
});
