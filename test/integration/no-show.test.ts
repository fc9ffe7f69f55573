/**
 * No-shows end to end, with NO_SHOW_GRACE_MS=1000: a booked seat never
 * connected in the grace is a no_show in the round's results, a no-show host hands the
 * room over, a booked room nobody attends closes with room_closed no_show and writes no
 * round, and /me/stats counts attendance. Embedded database.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call, closeAllClients, connect, eventually, waitFor } from '../helpers/client.js';
import { http } from '../helpers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';

const NO_SHOW = 1_000;
let server: TestServer;
beforeAll(async () => {
  server = await startServer({ DATA_DIR: ':memory:', NO_SHOW_GRACE_MS: String(NO_SHOW), DISCONNECT_GRACE_MS: '200' });
  await server.app.persistence!.start();
}, 90_000);
afterAll(() => server.close(), 60_000);
afterEach(() => closeAllClients());

const attendanceOf = async (key: string) => (await http(`${server.url}/me/stats`, { token: key })).body.attendance;

describe('no-shows', () => {
  it('a booked seat that never came is no_show in the results; attendance counts both', async () => {
    const h = await connect(server.url);
    const startsAt = Date.now() + 1_500;
    const created = await call(h, 'create_session', { user_name: 'Host', starts_at: startsAt, session_duration: 3_000 });
    const g = await connect(server.url);
    const joined = await call(g, 'join_session', { room_code: created.room_code, user_name: 'Guest' });
    g.disconnect();
    const noShow = await waitFor(h, 'participant_status_updated', 5_000, (p) => p.status === 'no_show');
    expect(noShow.participant_id).toBe(joined.participant_id);
    expect(Date.now()).toBeGreaterThanOrEqual(startsAt + NO_SHOW - 5);
    const done = await waitFor(h, 'session_completed', 5_000);
    expect(done.results.map((r) => [r.user_name, r.status, r.focused_ms])).toEqual([
      ['Host', 'completed', expect.any(Number)],
      ['Guest', 'no_show', 0],
    ]);
    await eventually(async () => expect(await attendanceOf(joined.user_key)).toEqual({ booked: 1, attended: 0, no_shows: 1 }), 5_000);
    expect(await attendanceOf(created.user_key)).toEqual({ booked: 1, attended: 1, no_shows: 0 });
  });

  it('a no-show host passes the host to the participant present longest', async () => {
    const h = await connect(server.url);
    const startsAt = Date.now() + 1_000;
    const created = await call(h, 'create_session', { user_name: 'Host', starts_at: startsAt, session_duration: 5_000 });
    const g = await connect(server.url);
    const joined = await call(g, 'join_session', { room_code: created.room_code, user_name: 'Guest' });
    h.disconnect();
    const changed = await waitFor(g, 'creator_changed', 5_000);
    expect(changed.new_creator_id).toBe(joined.participant_id);
    expect(Date.now()).toBeGreaterThanOrEqual(startsAt + NO_SHOW - 5);
  });

  it('a booked room nobody attends closes with room_closed no_show and writes no round', async () => {
    const h = await connect(server.url);
    const startsAt = Date.now() + 800;
    const created = await call(h, 'create_session', { user_name: 'Host', starts_at: startsAt, session_duration: 2_000 });
    const code = created.room_code as string;
    h.disconnect();
    await eventually(async () => expect((await http(`${server.url}/sessions/${code}`)).status).toBe(404), 5_000);
    const log = await http(`${server.url}/me/history`, { token: created.user_key });
    expect(log.body.rounds).toEqual([]);
    await eventually(async () => expect(await attendanceOf(created.user_key)).toEqual({ booked: 1, attended: 0, no_shows: 1 }), 5_000);
  });
});
