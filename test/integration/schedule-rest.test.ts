/**
 * The scheduling REST routes with auth on: POST /sessions and
 * POST /sessions/:code/seats book seats without a socket (taken back with resume_session),
 * validate like the socket events, answer { error } with 400/401/404/409/429; GET
 * /me/sessions lists the caller's sessions; the .ics parses with ical.js.
 */
import fc from 'fast-check';
import ICAL from 'ical.js';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { call, connect, waitFor } from '../helpers/client.js';
import { expectHttpError, http } from '../helpers/http.js';
import { startServer, useSharedServer } from '../helpers/server.js';
import { expectJoinedPayload } from '../helpers/shapes.js';

const SECRET = 'schedule-rest-secret-0123456789abcdef';
// The fuzz below reads /me/sessions hundreds of times as one identity: past its /me budget (RATE_ME_POINTS_PER_MIN).
const server = useSharedServer({ AUTH_JWT_SECRET: SECRET, RATE_ME_POINTS_PER_MIN: '1000000' });
const MIN = 60_000;

const tokenFor = (sub: string, claims: Record<string, unknown> = {}) =>
  new SignJWT({ sub, ...claims }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));
// From one instant for the whole file (every use is minutes ahead): an expectation built
// later than its request must not land on the next whole second.
const BASE = Date.now();
const at = (mins: number) => Math.ceil((BASE + mins * MIN) / 1000) * 1000;
const post = async (path: string, sub: string | null, body: unknown) =>
  http(`${server.url}${path}`, { method: 'POST', body, ...(sub ? { headers: { authorization: `Bearer ${await tokenFor(sub)}` } } : {}) });
const get = async (path: string, sub: string | null) => http(`${server.url}${path}`, sub ? { headers: { authorization: `Bearer ${await tokenFor(sub)}` } } : {});

describe('POST /sessions', () => {
  it('201 with the session_created payload; the host seat is a booking resumed over the socket', async () => {
    const startsAt = at(120);
    const res = await post('/sessions', 'rest-ann', { user_name: 'Ann', starts_at: startsAt, title: 'Writing', session_duration: 25 * MIN });
    expect(res.status).toBe(201);
    expectJoinedPayload(res.body);
    expect(res.body.session).toMatchObject({ starts_at: startsAt, title: 'Writing', status: 'waiting', is_creator: true });
    expect(res.body.session.participants).toEqual([expect.objectContaining({ id: res.body.participant_id, user_name: 'Ann', connected: false })]);
    const socket = await connect(server.url, { auth: { token: await tokenFor('rest-ann') } });
    const resumed = await call(socket, 'resume_session', { room_code: res.body.room_code, participant_id: res.body.participant_id, resume_token: res.body.resume_token });
    expect(resumed.ok).toBe(true);
    expect(resumed.session.participants[0].connected).toBe(true);
  });

  it('the name may come from the token; validation as on the socket, nothing created', async () => {
    const named = await http(`${server.url}/sessions`, { method: 'POST', body: {}, headers: { authorization: `Bearer ${await tokenFor('rest-bo', { name: 'Bo' })}` } });
    expect(named.status).toBe(201);
    expect(named.body.session.participants[0].user_name).toBe('Bo');
    const before = await server.app.store.countRooms();
    for (const body of [{ user_name: 'X', starts_at: Date.now() - 1 }, { user_name: 'X', starts_at: 'tomorrow' }, { user_name: 'X', title: 'x'.repeat(81) }, { user_name: 'X', nope: 1 }, {}, 'not json']) {
      expectHttpError(await post('/sessions', 'rest-cy', body), 400, 'invalid_payload');
    }
    expect(await server.app.store.countRooms()).toBe(before);
  });

  it('401 unauthorized without or with a bad Bearer token', async () => {
    expectHttpError(await post('/sessions', null, { user_name: 'X' }), 401, 'unauthorized');
    expectHttpError(await http(`${server.url}/sessions`, { method: 'POST', body: { user_name: 'X' }, headers: { authorization: 'Bearer nope' } }), 401, 'unauthorized');
    expectHttpError(await http(`${server.url}/sessions/ABCDEF/seats`, { method: 'POST', body: { user_name: 'X' } }), 401, 'unauthorized');
  });
});

describe('POST /sessions/:code/seats', () => {
  it('201 with the session_joined payload, broadcast to the room; 404, 400, 409 room_full', async () => {
    const host = await connect(server.url, { auth: { token: await tokenFor('seat-host') } });
    const created = await call(host, 'create_session', { user_name: 'Host', starts_at: at(240), max_participants: 2 });
    const joined = waitFor(host, 'participant_joined');
    const seat = await post(`/sessions/${created.room_code.toLowerCase()}/seats`, 'seat-guest', { user_name: 'Guest' });
    expect(seat.status).toBe(201);
    expectJoinedPayload(seat.body);
    expect(seat.body.session.is_creator).toBe(false);
    expect((await joined).participant).toMatchObject({ id: seat.body.participant_id, user_name: 'Guest', connected: false });
    expectHttpError(await post(`/sessions/${created.room_code}/seats`, 'seat-third', { user_name: 'Third' }), 409, 'room_full');
    expectHttpError(await post('/sessions/ZZZZZZ/seats', 'seat-guest', { user_name: 'Guest' }), 404, 'not_found');
    expectHttpError(await post('/sessions/bad!/seats', 'seat-guest', { user_name: 'Guest' }), 400, 'invalid_payload');
    expectHttpError(await post(`/sessions/${created.room_code}/seats`, 'seat-guest', { user_name: 7 }), 400, 'invalid_payload');
  });

  it('409 time_slot_taken for an overlapping seat of the same identity, over REST and socket alike', async () => {
    const t = at(400);
    const mine = await post('/sessions', 'slot-dee', { user_name: 'Dee', starts_at: t });
    expect(mine.status).toBe(201);
    const other = await post('/sessions', 'slot-eve', { user_name: 'Eve', starts_at: t + 5 * MIN });
    expectHttpError(await post(`/sessions/${other.body.room_code}/seats`, 'slot-dee', { user_name: 'Dee' }), 409, 'time_slot_taken');
    expectHttpError(await post('/sessions', 'slot-dee', { user_name: 'Dee', starts_at: t + 10 * MIN }), 409, 'time_slot_taken');
    const socket = await connect(server.url, { auth: { token: await tokenFor('slot-dee') } });
    const refused = await call(socket, 'join_session', { room_code: other.body.room_code, user_name: 'Dee' });
    expect(refused.ok).toBe(false);
    expect(refused.error.code).toBe('time_slot_taken');
  });
});

describe('GET /me/sessions', () => {
  it('the identity’s sessions, soonest first, with is_host; from/to filter; 401 without a token', async () => {
    const later = await post('/sessions', 'me-fay', { user_name: 'Fay', starts_at: at(600), title: 'Later' });
    const sooner = await post('/sessions', 'me-gus', { user_name: 'Gus', starts_at: at(500), session_duration: 30 * MIN });
    expect((await post(`/sessions/${sooner.body.room_code}/seats`, 'me-fay', { user_name: 'Fay' })).status).toBe(201);
    const res = await get('/me/sessions', 'me-fay');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      sessions: [
        { room_code: sooner.body.room_code, title: null, starts_at: at(500), planned_end: at(500) + 30 * MIN, status: 'waiting', is_host: false },
        { room_code: later.body.room_code, title: 'Later', starts_at: at(600), planned_end: at(600) + 25 * MIN, status: 'waiting', is_host: true },
      ],
    });
    const filtered = await get(`/me/sessions?from=${at(550)}`, 'me-fay');
    expect(filtered.body.sessions.map((s: any) => s.room_code)).toEqual([later.body.room_code]);
    expect((await get(`/me/sessions?to=${at(500)}`, 'me-fay')).body.sessions).toEqual([]);
    expectHttpError(await get('/me/sessions', null), 401, 'unauthorized');
    expectHttpError(await get('/me/sessions?from=soon', 'me-fay'), 400, 'invalid_payload');
  });
});

describe('GET /sessions/:code/calendar.ics', () => {
  it('RFC 5545 that ical.js parses: stable UID, DTSTART/DTEND from the window, SUMMARY, code in DESCRIPTION', async () => {
    const startsAt = at(700);
    const created = await post('/sessions', 'ics-hal', { user_name: 'Hal', starts_at: startsAt, title: 'Thesis, chapter 2', session_duration: 50 * MIN, rounds: 2, break_duration: 10 * MIN });
    const code = created.body.room_code;
    const res = await http(`${server.url}/sessions/${code}/calendar.ics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/calendar/);
    const vcal = new ICAL.Component(ICAL.parse(res.text));
    const events = vcal.getAllSubcomponents('vevent');
    expect(events).toHaveLength(1);
    const ev = new ICAL.Event(events[0]!);
    expect(ev.startDate.toJSDate().getTime()).toBe(startsAt);
    expect(ev.endDate.toJSDate().getTime()).toBe(startsAt + 110 * MIN);
    expect(ev.summary).toBe('Thesis, chapter 2');
    expect(ev.description).toContain(code);
    const again = new ICAL.Event(new ICAL.Component(ICAL.parse((await http(`${server.url}/sessions/${code}/calendar.ics`)).text)).getFirstSubcomponent('vevent')!);
    expect(again.uid).toBe(ev.uid);
    expect(ev.uid).toContain(created.body.session.id);
  });

  it('"Focus session" without a title; 404 for an unscheduled or unknown room', async () => {
    const plain = await post('/sessions', 'ics-ivy', { user_name: 'Ivy', starts_at: at(800) });
    const ev = new ICAL.Event(new ICAL.Component(ICAL.parse((await http(`${server.url}/sessions/${plain.body.room_code}/calendar.ics`)).text)).getFirstSubcomponent('vevent')!);
    expect(ev.summary).toBe('Focus session');
    const unscheduled = await post('/sessions', 'ics-jo', { user_name: 'Jo' });
    expectHttpError(await http(`${server.url}/sessions/${unscheduled.body.room_code}/calendar.ics`), 404, 'not_found');
    expectHttpError(await http(`${server.url}/sessions/ZZZZZZ/calendar.ics`), 404, 'not_found');
  });

  it('URL is the join link: PUBLIC_URL when set, else the request\'s origin; the description has it too', async () => {
    const plain = await post('/sessions', 'ics-url', { user_name: 'Uma', starts_at: at(900) });
    const code = plain.body.room_code as string;
    const ev = (text: string) => new ICAL.Event(new ICAL.Component(ICAL.parse(text)).getFirstSubcomponent('vevent')!);
    const own = ev((await http(`${server.url}/sessions/${code}/calendar.ics`)).text);
    expect(own.component.getFirstPropertyValue('url')).toBe(`${server.url}/?code=${code}`);
    expect(own.description).toContain(`${server.url}/?code=${code}`);

    const pub = await startServer({ PUBLIC_URL: 'https://focus.example.com/' });
    try {
      const host = await connect(pub.url);
      const created = await call(host, 'create_session', { user_name: 'Pia', starts_at: Date.now() + 60 * MIN });
      const e = ev((await http(`${pub.url}/sessions/${created.room_code}/calendar.ics`)).text);
      expect(e.component.getFirstPropertyValue('url')).toBe(`https://focus.example.com/?code=${created.room_code}`);
    } finally {
      await pub.close();
    }
  });

  it('a completed room keeps serving its event, as the past run it was', async () => {
    const host = await connect(server.url, { auth: { token: await tokenFor('ics-done') } });
    const startsAt = Date.now() + 1_000;
    const created = await call(host, 'create_session', { user_name: 'Dee', starts_at: startsAt, session_duration: 1_000, title: 'Short one' });
    const done = await waitFor(host, 'session_completed', 6_000);
    const res = await http(`${server.url}/sessions/${created.room_code}/calendar.ics`);
    expect(res.status).toBe(200);
    const ev = new ICAL.Event(new ICAL.Component(ICAL.parse(res.text)).getFirstSubcomponent('vevent')!);
    expect(ev.summary).toBe('Short one');
    expect(ev.startDate.toJSDate().getTime()).toBe(Math.floor(done.session.started_at! / 1000) * 1000);
    expect(ev.endDate.toJSDate().getTime()).toBeLessThanOrEqual(Date.now());
    expect(ev.endDate.toJSDate().getTime() - ev.startDate.toJSDate().getTime()).toBeGreaterThanOrEqual(1_000);
  });
});

describe('rate limits', () => {
  it('the create limit and the failed-code limit apply to REST as to sockets (429)', async () => {
    const limited = await startServer({ AUTH_JWT_SECRET: SECRET, RATE_CREATES_PER_MIN: '2', RATE_JOIN_FAILURES_PER_MIN: '2' });
    try {
      const auth = { authorization: `Bearer ${await tokenFor('rl-kim')}` };
      // Three people (one identity could not hold two rooms at once), one address.
      const create = async (sub: string) =>
        http(`${limited.url}/sessions`, { method: 'POST', body: { user_name: 'Kim' }, headers: { authorization: `Bearer ${await tokenFor(sub)}` } });
      expect((await create('rl-1')).status).toBe(201);
      expect((await create('rl-2')).status).toBe(201);
      expectHttpError(await create('rl-3'), 429, 'rate_limited');
      const seat = () => http(`${limited.url}/sessions/ZZZZZZ/seats`, { method: 'POST', body: { user_name: 'Kim' }, headers: auth });
      expectHttpError(await seat(), 404, 'not_found');
      expectHttpError(await seat(), 404, 'not_found');
      expectHttpError(await seat(), 429, 'rate_limited');
    } finally {
      await limited.close();
    }
  });
});

describe('OpenAPI and fuzz', () => {
  it('the routes are in /openapi.json', async () => {
    const doc = (await http(`${server.url}/openapi.json`)).body;
    for (const p of ['/sessions', '/sessions/{code}/seats', '/me/sessions', '/sessions/{code}/calendar.ics']) expect(Object.keys(doc.paths)).toContain(p);
    expect(doc.paths['/sessions'].post.responses).toHaveProperty('409');
  });

  it('generated bodies, codes and queries: 201/200 or a typed { error } with a 4xx, never a 5xx, nothing half-made', async () => {
    const badValue = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.object({ maxDepth: 1 }));
    const startsAt = fc.oneof(fc.integer({ min: -MIN, max: 31 * 24 * 60 * MIN }).map((d) => Date.now() + d), badValue);
    const body = fc.record(
      { user_name: fc.oneof(fc.string({ minLength: 1, maxLength: 45 }), badValue), starts_at: startsAt, title: fc.oneof(fc.string({ maxLength: 90 }), badValue), rounds: fc.oneof(fc.integer({ min: 0, max: 13 }), badValue), extra: badValue },
      { requiredKeys: [] },
    );
    const token = await tokenFor('fuzz-zed');
    const headers = { authorization: `Bearer ${token}` };
    const host = await post('/sessions', 'fuzz-host', { user_name: 'Host', starts_at: at(2_000), max_participants: 50 });
    const code = host.body.room_code as string;
    await fc.assert(
      fc.asyncProperty(body, fc.oneof(fc.constant(code), fc.string({ maxLength: 8 })), fc.oneof(fc.nat().map(String), fc.string({ maxLength: 6 })), async (b, c, q) => {
        const replies = await Promise.all([
          http(`${server.url}/sessions`, { method: 'POST', body: b, headers }),
          http(`${server.url}/sessions/${encodeURIComponent(c)}/seats`, { method: 'POST', body: b, headers }),
          http(`${server.url}/me/sessions?from=${encodeURIComponent(q)}`, { headers }),
          http(`${server.url}/sessions/${encodeURIComponent(c)}/calendar.ics`),
        ]);
        for (const r of replies) {
          expect(r.status).toBeLessThan(500);
          if (r.status >= 400) expect(Object.keys(r.body?.error ?? {}).sort()).toEqual(['code', 'message']);
        }
      }),
      { numRuns: 60 },
    );
    // The fuzzed identity holds at most one seat per slot: its sessions never overlap.
    const mine = (await get('/me/sessions', 'fuzz-zed')).body.sessions as Array<{ starts_at: number; planned_end: number }>;
    for (let i = 1; i < mine.length; i++) expect(mine[i]!.starts_at).toBeGreaterThanOrEqual(mine[i - 1]!.planned_end);
  }, 60_000);
});
