/**
 * Identities and the caller's own record: a user_key issued on an anonymous create,
 * sent back on a later join (same user), /me/stats, /me/history and DELETE /me with the
 * key as Bearer; with auth on, the JWT `sub` and no key. Against the embedded database.
 */
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { issuedUserKey } from '../helpers/test-env.js';
import { call, callUnchecked, closeAllClients, connect, eventually, waitFor } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const get = async (url: string, bearer?: string, method = 'GET') => {
  const res = await fetch(url, { method, headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });
  return { status: res.status, body: (await res.json()) as any };
};

/** Host creates, optional guests join, one round of `ms` runs to completion. */
async function completeRound(url: string, host: { user_key?: string }, guests: { user_key?: string; status?: 'failed' | 'paused' }[] = [], ms = 1_000) {
  const h = await connect(url);
  const created = await call(h, 'create_session', { user_name: 'Host', session_duration: ms, ...host });
  expect(created.ok).toBe(true);
  const joined = [];
  for (const [i, g] of guests.entries()) {
    const s = await connect(url);
    const j = await call(s, 'join_session', { room_code: created.room_code, user_name: `G${i}`, ...(g.user_key ? { user_key: g.user_key } : {}) });
    expect(j.ok).toBe(true);
    joined.push({ socket: s, reply: j, status: g.status });
  }
  const done = waitFor(h, 'session_completed', 5_000);
  expect((await call(h, 'start_session')).ok).toBe(true);
  for (const j of joined) if (j.status) expect((await call(j.socket, 'update_status', { status: j.status })).ok).toBe(true);
  await done;
  return { created, joined };
}

describe('without auth: user_key', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ DATA_DIR: ':memory:' });
    await server.app.persistence!.start();
  }, 30_000);
  afterAll(() => server.close());
  afterEach(() => closeAllClients());

  const stats = (key?: string, tz = 'Europe/Berlin') => get(`${server.url}/me/stats?tz=${encodeURIComponent(tz)}`, key);
  const results = () => server.app.persistence!.repository()!.countResults();

  it('issues a key to a client that sent none; sending it back is the same user; stats and history are that user’s only', async () => {
    const first = await completeRound(server.url, {}, [{}]);
    const key = first.created.user_key as string;
    expect(key).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const otherKey = first.joined[0]!.reply.user_key as string;
    expect(otherKey).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(otherKey).not.toBe(key);
    await eventually(async () => expect(await results()).toBe(2), 5_000);

    // The host joins someone else's room with its key: no new key, same user.
    const second = await completeRound(server.url, { user_key: otherKey }, [{ user_key: key, status: 'failed' }]);
    expect(second.created.user_key).toBeUndefined();
    expect(second.joined[0]!.reply.user_key).toBeUndefined();
    await eventually(async () => expect(await results()).toBe(4), 5_000);

    const mine = await stats(key);
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({ rounds_completed: 1, rounds_failed: 1, sessions: 2, current_streak_days: 1, longest_streak_days: 1 });
    expect(mine.body.days).toHaveLength(30);
    expect(mine.body.days.at(-1).focused_ms).toBe(mine.body.focused_ms);
    expect(mine.body.focused_ms).toBeGreaterThanOrEqual(1_000);

    const history = await get(`${server.url}/me/history?limit=1`, key);
    expect(history.status).toBe(200);
    expect(history.body.rounds).toHaveLength(1);
    expect(history.body.rounds[0]).toMatchObject({ room_code: second.created.room_code, round: 1, planned_ms: 1_000, result: { user_name: 'G0', status: 'failed' } });
    const older = await get(`${server.url}/me/history?limit=5&before=${history.body.next_before}`, key);
    expect(older.body.rounds.map((r: any) => r.room_code)).toEqual([first.created.room_code]);
    expect(older.body.next_before).toBeNull();
    // Nothing in a reply identifies another user or holds a secret.
    expect(JSON.stringify([history.body, older.body])).not.toMatch(/key:|user_key|resume_token/);

    // DELETE /me erases this identity only.
    const erased = await get(`${server.url}/me`, key, 'DELETE');
    expect(erased).toEqual({ status: 200, body: { deleted_results: 2 } });
    expect((await stats(key)).body).toMatchObject({ focused_ms: 0, rounds_completed: 0, sessions: 0 });
    expect((await stats(otherKey)).body).toMatchObject({ rounds_completed: 2 });
  });

  it('401 without a valid Bearer, 400 for a bad tz or query, before touching anything', async () => {
    expect((await stats()).status).toBe(401);
    expect((await stats('short')).body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    expect((await get(`${server.url}/me`, undefined, 'DELETE')).status).toBe(401);
    // A well-formed key this server did not issue (no valid HMAC tag) is refused like none.
    expect((await stats('A'.repeat(32))).body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    const key = issuedUserKey();
    expect(await stats(key, 'Mars/Olympus')).toEqual({ status: 400, body: { error: { code: 'invalid_payload', message: expect.stringContaining('tz') } } });
    expect((await get(`${server.url}/me/history?limit=0`, key)).status).toBe(400);
    expect((await get(`${server.url}/me/history?limit=101`, key)).status).toBe(400);
    expect((await get(`${server.url}/me/history?before=-1`, key)).status).toBe(400);
    expect((await get(`${server.url}/me/history?sort=asc`, key)).status).toBe(400);
    // A well-formed key nobody used is a user with nothing yet.
    expect((await stats(key)).body).toMatchObject({ focused_ms: 0, current_streak_days: 0 });
  });

  it('a malformed user_key on create/join is invalid_payload and creates nothing', async () => {
    const s = await connect(server.url);
    const rooms = await server.app.store.countRooms();
    for (const user_key of ['', 'x', 42, 'a'.repeat(65), 'bad key with spaces!!!!!!']) {
      const r = await callUnchecked(s, 'create_session', { user_name: 'A', user_key });
      expect(r).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    }
    expect(await server.app.store.countRooms()).toBe(rooms);
  });

  it('a well-formed user_key this server did not issue is unauthorized on create, join and REST, and creates nothing', async () => {
    const rooms = await server.app.store.countRooms();
    const guessed = 'G'.repeat(32);
    const s = await connect(server.url);
    expect(await callUnchecked(s, 'create_session', { user_name: 'A', user_key: guessed })).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    const host = await connect(server.url);
    const created = await call(host, 'create_session', { user_name: 'H' });
    expect(await callUnchecked(s, 'join_session', { room_code: created.room_code, user_name: 'A', user_key: guessed })).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    const rest = await fetch(`${server.url}/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_name: 'R', starts_at: Date.now() + 3_600_000, user_key: guessed }) });
    expect(rest.status).toBe(401);
    expect(await server.app.store.countRooms()).toBe(rooms + 1);
    // The key the server issued on that create is accepted by /me.
    expect((await get(`${server.url}/me/stats`, created.user_key)).status).toBe(200);
    // POST /user-keys issues one without a room (the web page's series and calendar feed).
    const issued = await fetch(`${server.url}/user-keys`, { method: 'POST' });
    expect(issued.status).toBe(201);
    const { user_key } = (await issued.json()) as { user_key: string };
    expect(user_key).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect((await get(`${server.url}/me/stats`, user_key)).status).toBe(200);
  });

  it('one seat per identity per room: a second join with the same key takes the seat over as resume does', async () => {
    const host = await connect(server.url);
    const created = await call(host, 'create_session', { user_name: 'H' });
    const key = issuedUserKey();
    const first = await connect(server.url);
    const a = await call(first, 'join_session', { room_code: created.room_code, user_name: 'Ann', user_key: key });
    const cut = waitFor(first, 'disconnect');
    const second = await connect(server.url);
    const b = await call(second, 'join_session', { room_code: created.room_code, user_name: 'Ann', user_key: key });
    // Before: a second seat (the key counted twice in the round's results and stats).
    expect(b.participant_id).toBe(a.participant_id);
    expect(b.session.participants).toHaveLength(2);
    await cut;
    // The old resume token no longer works; the new one does.
    const third = await connect(server.url);
    expect(await callUnchecked(third, 'resume_session', { room_code: created.room_code, participant_id: a.participant_id, resume_token: a.resume_token })).toMatchObject({ ok: false, error: { code: 'invalid_token' } });
    expect(await call(third, 'resume_session', { room_code: created.room_code, participant_id: b.participant_id, resume_token: b.resume_token })).toMatchObject({ ok: true });
    // A REST join by the same key gets the same seat too.
    const rest = await fetch(`${server.url}/sessions/${created.room_code}/seats`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_name: 'Ann', user_key: key }) });
    expect(rest.status).toBe(201);
    expect(((await rest.json()) as { participant_id: string }).participant_id).toBe(a.participant_id);
    expect((await server.app.store.get(created.room_code))!.participants).toHaveLength(2);
  });

  it('fuzz: any query or Bearer gets 200/400/401, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), fc.constantFrom('A'.repeat(22), 'nope', ''), async (q1, q2, bearer) => {
        const route = q1.length % 2 ? `/me/stats?tz=${encodeURIComponent(q2)}` : `/me/history?before=${encodeURIComponent(q1)}&limit=${encodeURIComponent(q2)}`;
        const r = await get(`${server.url}${route}`, bearer || undefined);
        expect([200, 400, 401]).toContain(r.status);
      }),
      { numRuns: 60 },
    );
  });
});

describe('with auth on: the JWT sub', () => {
  const SECRET = 'test-secret-of-at-least-16-chars-0123456789';
  const jwt = (sub: string) =>
    new SignJWT({ sub }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ DATA_DIR: ':memory:', AUTH_JWT_SECRET: SECRET });
    await server.app.persistence!.start();
  }, 30_000);
  afterAll(() => server.close());
  afterEach(() => closeAllClients());

  it('results are the sub’s; no user_key is issued; a user_key is no Bearer', async () => {
    const token = await jwt('alice');
    const h = await connect(server.url, { auth: { token } });
    const created = await call(h, 'create_session', { user_name: 'Alice', session_duration: 1_000 });
    expect(created.ok).toBe(true);
    expect(created.user_key).toBeUndefined();
    const done = waitFor(h, 'session_completed', 5_000);
    await call(h, 'start_session');
    await done;
    await eventually(async () => expect((await get(`${server.url}/me/stats?tz=UTC`, token)).body.rounds_completed).toBe(1), 5_000);
    expect((await get(`${server.url}/me/stats?tz=UTC`, await jwt('bob'))).body.rounds_completed).toBe(0);
    expect((await get(`${server.url}/me/stats`, 'A'.repeat(32))).status).toBe(401);
    expect((await get(`${server.url}/me/stats`, `${token}x`)).status).toBe(401);
  });
});
