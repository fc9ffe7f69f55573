/**
 * /me/* under abuse (docs/persistence.md "Stats", docs/reliability.md
 * "Costly reads"): stats are summed in the database, so a request's main-thread work is
 * bounded by the time the history spans, not its rows — 20,000 rows answer without
 * stalling the loop, the same as a per-row computation, on the embedded store and on
 * PostgreSQL — and every /me route is rate-limited per identity and per address, in
 * cost points (a stats read costs 10 of an identity's 120 a minute).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { issuedUserKey } from '../helpers/test-env.js';
import { identityFromUserKey } from '../../src/domain/identity.js';
import type { RoundRecord } from '../../src/domain/round-record.js';
import { computeStats } from '../../src/domain/stats.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startServer, type TestServer } from '../helpers/server.js';

const DAY = 86_400_000;
const get = async (url: string, bearer: string, method = 'GET') => {
  const res = await fetch(url, { method, headers: { authorization: `Bearer ${bearer}` } });
  return { status: res.status, body: (await res.json()) as any };
};

/** `rooms` rounds of `seats` results, all of one identity, spread over the last 60 days. */
function history(key: string, rooms: number, seats: number, now: number): RoundRecord[] {
  const identity = identityFromUserKey(key);
  return Array.from({ length: rooms }, (_, i) => {
    const ended = now - Math.floor((i * 60 * DAY) / rooms) - 3_600_000;
    return {
      room_id: `hist-${i}`,
      room_code: 'ABCDEF',
      title: null,
      run_started_at: ended - 1_500_000,
      round: 1,
      started_at: ended - 1_500_000,
      ended_at: ended,
      planned_ms: 1_500_000,
      results: Array.from({ length: seats }, (_, p) => ({
        participant_id: `p${p}`,
        identity,
        user_name: `Seat ${p}`,
        status: (p + i) % 7 === 0 ? ('failed' as const) : ('completed' as const),
        focused_ms: 1_000 + p,
        pauses: 0,
        intention: null,
      })),
    };
  });
}

let server: TestServer | undefined;
let pgs: TestPostgres | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});
afterAll(() => pgs?.destroy());

async function statsAreBoundedAndRight(env: Record<string, string>) {
  server = await startServer({ ...env, RATE_ME_POINTS_PER_MIN: '100000' });
  await server.app.persistence!.start();
  const key = issuedUserKey();
  const now = Date.now();
  const repo = server.app.persistence!.repository()!;
  const records = history(key, 400, 50, now);
  for (let i = 0; i < records.length; i += 50) await repo.insertRounds(records.slice(i, i + 50));
  expect(await repo.countResults()).toBe(20_000);

  // Warm: the zones' formatters are made once per process.
  await get(`${server.url}/me/stats?tz=Asia/Kathmandu`, key);
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const answers = await Promise.all(['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kathmandu'].map((tz) => get(`${server!.url}/me/stats?tz=${encodeURIComponent(tz)}`, key)));
  delay.disable();
  // Old main: one Intl call per row on the main thread, 150–200 ms a request on 10,000 rows.
  expect(delay.max / 1e6).toBeLessThan(150);

  const rows = await repo.resultsOf(identityFromUserKey(key));
  for (const [i, tz] of ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kathmandu'].entries()) {
    expect(answers[i]!.status).toBe(200);
    const { attendance: _a, ...stats } = answers[i]!.body;
    expect(stats).toEqual(computeStats(rows, tz, now));
  }
  expect(answers[0]!.body).toMatchObject({ rounds_completed: expect.any(Number), sessions: 400 });
  expect(answers[0]!.body.rounds_completed + answers[0]!.body.rounds_failed).toBe(20_000);
}

describe('GET /me/stats with 20,000 rows', () => {
  it('embedded store: bounded main-thread work, the same numbers as per row', async () => {
    await statsAreBoundedAndRight({});
  }, 120_000);

  it('PostgreSQL: the same SQL, the same numbers', async () => {
    pgs = await startPostgres();
    await pgs.query('create database me_stats');
    await statsAreBoundedAndRight({ DATABASE_URL: pgs.urlOf('me_stats') });
  }, 120_000);
});

describe('/me rate limits', () => {
  beforeAll(() => undefined);

  it('per identity: 12 stats reads a minute (10 points of 120), then 429; another identity is not affected', async () => {
    server = await startServer({});
    await server.app.persistence!.start();
    const key = issuedUserKey();
    const statuses: number[] = [];
    for (let i = 0; i < 13; i++) statuses.push((await get(`${server.url}/me/stats`, key)).status);
    expect(statuses.slice(0, 12)).toEqual(new Array(12).fill(200));
    const refused = await get(`${server.url}/me/stats`, key);
    expect(refused).toMatchObject({ status: 429, body: { error: { code: 'rate_limited' } } });
    expect((await get(`${server.url}/me/stats`, issuedUserKey())).status).toBe(200);
    // History pages cost by size: a 100-round page is 11 points.
    expect((await get(`${server.url}/me/history?limit=100`, issuedUserKey())).status).toBe(200);
  }, 30_000);

  it('per address: many identities from one address share its budget', async () => {
    server = await startServer({ RATE_ME_ADDRESS_POINTS_PER_MIN: '100' });
    await server.app.persistence!.start();
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await get(`${server.url}/me/stats`, issuedUserKey())).status);
    expect(statuses.slice(0, 10)).toEqual(new Array(10).fill(200));
    expect(statuses[10]).toBe(429);
    // Unauthorized attempts spend it too: guessing keys is no way around it.
    expect((await get(`${server.url}/me/stats`, 'nope')).status).toBe(429);
  }, 30_000);
});

describe('DELETE /me', () => {
  async function erasesTitles(env: Record<string, string>) {
    server = await startServer(env);
    await server.app.persistence!.start();
    const [a, b] = [issuedUserKey(), issuedUserKey()];
    const now = Date.now();
    const solo = history(a, 1, 1, now)[0]!;
    solo.room_id = 'solo';
    solo.title = 'My secret plan';
    const shared = history(a, 1, 2, now)[0]!;
    shared.room_id = 'shared';
    shared.title = 'Team focus';
    shared.results[1]!.identity = identityFromUserKey(b);
    await server.app.persistence!.repository()!.insertRounds([solo, shared]);

    const erased = await get(`${server.url}/me`, a, 'DELETE');
    expect(erased).toMatchObject({ status: 200, body: { deleted_results: 2 } });
    const db = server.app.persistence!.database()!;
    // Old main left both rounds rows (room code, title, times) behind.
    expect((await db.selectFrom('rounds').select(['room_id', 'title']).execute()).map((r) => r.room_id)).toEqual(['shared']);
    expect(await db.selectFrom('round_results').select('identity').execute()).toEqual([{ identity: identityFromUserKey(b) }]);
    expect((await get(`${server.url}/me/history`, a)).body.rounds).toEqual([]);
    expect((await get(`${server.url}/me/history`, b)).body.rounds).toMatchObject([{ title: 'Team focus' }]);
  }

  it('embedded store: erases the identity’s results, and its rounds no one else was in, titles included', async () => {
    await erasesTitles({});
  }, 30_000);

  it('PostgreSQL: the same', async () => {
    pgs ??= await startPostgres();
    await pgs.query('create database me_erase');
    await erasesTitles({ DATABASE_URL: pgs.urlOf('me_erase') });
  }, 60_000);
});

describe('user_key on POST /sessions and POST /sessions/:code/seats', () => {
  it('the booked seat belongs to the key: /me/sessions lists it, and an overlapping booking of the same key is 409', async () => {
    server = await startServer({});
    const key = issuedUserKey();
    const post = (path: string, body: unknown) =>
      fetch(`${server!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    const startsAt = Date.now() + 3_600_000;
    const created = await post('/sessions', { user_name: 'Ann', starts_at: startsAt, session_duration: 1_500_000, user_key: key });
    expect(created.status).toBe(201);
    // Old main ignored the key: the seat was anonymous and /me/sessions empty.
    expect((await get(`${server.url}/me/sessions`, key)).body.sessions).toMatchObject([{ room_code: created.body.room_code, is_host: true }]);
    const other = await post('/sessions', { user_name: 'Bob', starts_at: startsAt, session_duration: 1_500_000 });
    expect((await post(`/sessions/${other.body.room_code}/seats`, { user_name: 'Ann', user_key: key })).status).toBe(409);
    const third = await post('/sessions', { user_name: 'Cy', starts_at: startsAt + 7_200_000, session_duration: 1_500_000 });
    expect((await post(`/sessions/${third.body.room_code}/seats`, { user_name: 'Ann', user_key: key })).status).toBe(201);
    expect((await get(`${server.url}/me/sessions`, key)).body.sessions).toHaveLength(2);
  }, 30_000);
});
