/**
 * Recurring series end to end, single instance: POST /series creates the
 * horizon's occurrences as scheduled rooms, members are booked into all of them at once
 * (a clash refuses everything and names the first clashing starts_at), a member enters an
 * occurrence by joining with their identity (taking the booked seat), /me/sessions lists
 * the occurrences, cancelling closes rooms with room_closed cancelled, the horizon moves
 * (an injected clock) — a member booking while the sweep creates the next occurrence is
 * seated there too — and bad input is a typed error with nothing created.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { issuedUserKey } from '../helpers/test-env.js';
import { ManualClock } from '../../src/domain/clock.js';
import { call, closeAllClients, connect, waitFor } from '../helpers/client.js';
import { raceIntoFullSeries, raceMemberAgainstJoinByCode, raceMemberAgainstSweep } from '../helpers/series-race.js';
import { expectHttpError, http } from '../helpers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';

const DAY = 86_400_000;
const newKey = issuedUserKey;
let server: TestServer | undefined;
afterEach(async () => {
  closeAllClients();
  await server?.close();
  server = undefined;
});

/** A whole minute about an hour ahead, so occurrences are easy to name. */
const firstStart = (now: number) => Math.ceil((now + 3_600_000) / 60_000) * 60_000;

describe('series', () => {
  it('creates the horizon, books members atomically, lets them in, lists and cancels', async () => {
    server = await startServer({ DATA_DIR: 'off' });
    const owner = newKey();
    const start = firstStart(Date.now());
    const created = await http(`${server.url}/series`, {
      token: owner,
      body: { title: 'Morning pages', starts_at: start, rrule: 'FREQ=DAILY;COUNT=20', tz: 'Europe/Berlin', session_duration: 1_500_000 },
    });
    expect(created.status, created.text).toBe(201);
    const occ = created.body.occurrences as { starts_at: number; room_code: string | null }[];
    expect(occ).toHaveLength(20);
    const inHorizon = occ.filter((o) => o.room_code !== null);
    expect(inHorizon.length).toBe(14);
    expect(new Set(inHorizon.map((o) => o.room_code)).size).toBe(14);
    const lookup = await http(`${server.url}/sessions/${inHorizon[0]!.room_code}`);
    expect(lookup.body).toMatchObject({ status: 'waiting', participants: 1 });

    const mine = await http(`${server.url}/me/sessions`, { token: owner });
    expect(mine.body.sessions.map((s: any) => s.starts_at)).toEqual(inHorizon.map((o) => o.starts_at));
    expect(mine.body.sessions.every((s: any) => s.is_host && s.title === 'Morning pages')).toBe(true);

    // A member is booked into every occurrence.
    const member = newKey();
    const joined = await http(`${server.url}/series/${created.body.series_id}/members`, { token: member, body: { user_name: 'Bea' } });
    expect(joined.status, joined.text).toBe(200);
    expect((await http(`${server.url}/me/sessions`, { token: member })).body.sessions).toHaveLength(14);
    expect((await http(`${server.url}/sessions/${inHorizon[0]!.room_code}`)).body.participants).toBe(2);

    // Someone booked elsewhere at the time of the 3rd occurrence: refused, nothing booked.
    const busy = newKey();
    const s = await connect(server.url);
    const other = await call(s, 'create_session', { user_name: 'Busy', user_key: busy, starts_at: inHorizon[2]!.starts_at + 60_000 });
    expect(other.ok).toBe(true);
    const refused = await http(`${server.url}/series/${created.body.series_id}/members`, { token: busy, body: {} });
    expectHttpError(refused, 409, 'time_slot_taken');
    expect(refused.body.error.message).toContain(new Date(inHorizon[2]!.starts_at).toISOString());
    expect((await http(`${server.url}/me/sessions`, { token: busy })).body.sessions.map((x: any) => x.room_code)).toEqual([other.room_code]);

    // The member enters an occurrence with their identity: the booked seat, not a new one.
    const b = await connect(server.url);
    const entered = await call(b, 'join_session', { room_code: inHorizon[1]!.room_code!, user_name: 'Bea', user_key: member });
    expect(entered.error).toBeUndefined();
    expect(entered.ok).toBe(true);
    expect(entered.session.participants).toHaveLength(2);
    expect(entered.session.participants.find((p: any) => p.id === entered.participant_id)).toMatchObject({ user_name: 'Bea', connected: true });

    // Only the owner cancels; the room closes with reason cancelled.
    const path = `${server.url}/series/${created.body.series_id}/occurrences/${inHorizon[1]!.starts_at}`;
    expectHttpError(await http(path, { method: 'DELETE', token: member }), 403, 'not_host');
    const closed = waitFor(b, 'room_closed');
    expect((await http(path, { method: 'DELETE', token: owner })).status).toBe(204);
    expect(await closed).toMatchObject({ room_code: inHorizon[1]!.room_code, reason: 'cancelled' });
    expect((await http(`${server.url}/sessions/${inHorizon[1]!.room_code}`)).status).toBe(404);
    expectHttpError(await http(path, { method: 'DELETE', token: owner }), 404, 'not_found');
    const after = await http(`${server.url}/series/${created.body.series_id}`, { token: member });
    expect(after.body).toMatchObject({ is_owner: false, is_member: true, members: 2, cancelled: false });
    expect(after.body.occurrences).toHaveLength(19);

    // Cancelling the series closes the rest.
    expect((await http(`${server.url}/series/${created.body.series_id}`, { method: 'DELETE', token: owner })).status).toBe(204);
    for (const o of inHorizon) expect((await http(`${server.url}/sessions/${o.room_code}`)).status).toBe(404);
    expect((await http(`${server.url}/me/sessions`, { token: member })).body.sessions).toEqual([]);
    expect((await http(`${server.url}/series/${created.body.series_id}`, { token: owner })).body).toMatchObject({ cancelled: true, occurrences: [] });
  });

  it('creates later occurrences as the horizon moves, once', async () => {
    const clock = new ManualClock(Date.now());
    server = await startServer({ DATA_DIR: 'off' }, { clock });
    const owner = newKey();
    const start = firstStart(clock.now());
    const created = await http(`${server.url}/series`, { token: owner, body: { title: 'Standup', starts_at: start, rrule: 'FREQ=DAILY;COUNT=20', tz: 'America/New_York' } });
    expect(created.status, created.text).toBe(201);
    const id = created.body.series_id as string;
    clock.advance(3 * DAY);
    await Promise.all([server.app.series.sweep(), server.app.series.sweep()]);
    const s = await http(`${server.url}/series/${id}`, { token: owner });
    const withRooms = (s.body.occurrences as { room_code: string | null }[]).filter((o) => o.room_code !== null);
    expect(withRooms).toHaveLength(17);
    expect(new Set(withRooms.map((o) => o.room_code)).size).toBe(17);
    await server.app.series.sweep();
    expect(((await http(`${server.url}/series/${id}`, { token: owner })).body.occurrences as any[]).filter((o) => o.room_code !== null)).toHaveLength(17);

    // An occurrence claimed but without its room (its creator died in between): the next sweep creates it, same code.
    const lost = withRooms.at(-1)!.room_code!;
    await server.app.store.update(lost, () => ({ room: null, events: [], result: undefined, changed: true }));
    expect((await http(`${server.url}/sessions/${lost}`)).status).toBe(404);
    await server.app.series.sweep();
    const back = await server.app.store.get(lost);
    expect(back).toMatchObject({ code: lost, title: 'Standup', status: 'waiting' });
    expect(back!.participants.map((p) => p.identity)).toHaveLength(1);
  });

  it('members racing into a series at its seat cap: all or nothing, never seen half-booked', async () => {
    server = await startServer({ DATA_DIR: 'off' });
    await raceIntoFullSeries({ a: server, b: server, now: Date.now() });
  });

  it('a member racing a join by code for the last seat of one occurrence: all occurrences or none, never over the cap', async () => {
    server = await startServer({ DATA_DIR: 'off' });
    await raceMemberAgainstJoinByCode({ a: server, b: server, now: Date.now() });
  }, 60_000);

  it('a member booking while the sweep creates the next occurrence: seated in every occurrence, the new one included', async () => {
    const clock = new ManualClock(Date.now());
    server = await startServer({ DATA_DIR: 'off' }, { clock });
    const offsets = Array.from({ length: 16 }, (_, i) => i * 10);
    await raceMemberAgainstSweep({ a: server, b: server, clocks: [clock], hop: () => Promise.resolve(), offsets, others: 30 });
  }, 90_000);

  it('bad input is a typed error and creates nothing', async () => {
    server = await startServer({ DATA_DIR: 'off' });
    const owner = newKey();
    const start = firstStart(Date.now());
    const ok = { title: 'x', starts_at: start, rrule: 'FREQ=WEEKLY;COUNT=2', tz: 'UTC' };
    expectHttpError(await http(`${server.url}/series`, { body: ok }), 401, 'unauthorized');
    for (const bad of [
      { ...ok, rrule: 'FREQ=MONTHLY;COUNT=2' },
      { ...ok, rrule: 'FREQ=DAILY' },
      { ...ok, rrule: 'FREQ=DAILY;COUNT=400' },
      { ...ok, tz: 'Mars/Olympus' },
      { ...ok, starts_at: Date.now() - 1_000 },
      { ...ok, title: '' },
      { ...ok, extra: 1 },
      { ...ok, session_duration: '1500000' },
    ]) {
      expectHttpError(await http(`${server.url}/series`, { token: owner, body: bad }), 400, 'invalid_payload');
    }
    expect((await http(`${server.url}/me/sessions`, { token: owner })).body.sessions).toEqual([]);
    expectHttpError(await http(`${server.url}/series/nope/members`, { token: owner, body: {} }), 404, 'not_found');
    expectHttpError(await http(`${server.url}/series/nope/occurrences/abc`, { method: 'DELETE', token: owner }), 400, 'invalid_payload');
  });
});
