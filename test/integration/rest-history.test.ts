/**
 * Room history over REST (docs/protocol.md "Room history"): GET /sessions/:code/events?after&limit, oldest
 * first, the same log resume_session's `missed` comes from, never a token; at least the
 * last LIMITS.roomHistorySize events kept, `complete: false` once `after` is older than
 * that; gone with the room. Memory mode here; Redis in test/cluster/rest-cluster.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/contract/limits.js';
import { call, closeAllClients, connect, roomWith, waitFor } from '../helpers/client.js';
import { expectHttpError, http } from '../helpers/http.js';
import { useSharedServer } from '../helpers/server.js';

// A high event budget: one test makes more than a thousand changes in a second.
const server = useSharedServer({ RATE_SOCKET_EVENTS_PER_SEC: '100000' });
afterEach(() => closeAllClients());

describe('GET /sessions/:code/events', () => {
  it('every room event, oldest first, with seq, event, data and at; the same entries resume_session replays as missed', async () => {
    const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
    const { code, created, joined } = await roomWith(host, [guest]);
    const t0 = Date.now();
    const task = await call(host, 'add_task', { title: 'plan' });
    await call(host, 'start_session');
    await call(guest, 'update_status', { status: 'paused' });
    const url = `${server.url}/sessions/${code}/events`;
    const all = await http(url, { token: created.resume_token });
    expect(all.status).toBe(200);
    expect(Object.keys(all.body).sort()).toEqual(['complete', 'events']);
    expect(all.body.complete).toBe(true);
    expect(all.body.events.map((e: any) => e.event)).toEqual(['participant_joined', 'task_added', 'session_started', 'participant_status_updated']);
    const seqs = all.body.events.map((e: any) => e.seq);
    expect(seqs).toEqual([2, 3, 4, 5]);
    for (const e of all.body.events) {
      expect(Object.keys(e).sort()).toEqual(['at', 'data', 'event', 'seq']);
      expect(e.at).toBeGreaterThanOrEqual(created.session.created_at);
      expect(e.at).toBeLessThanOrEqual(Date.now());
    }
    expect(all.body.events[1]).toMatchObject({ event: 'task_added', data: { task: task.task } });
    expect(all.body.events[1].at).toBeGreaterThanOrEqual(t0 - 5);
    // Never a token, a token hash or a socket id.
    for (const secret of [created.resume_token, joined[0]!.resume_token, host.id!, guest.id!, 'token_hash', 'socket_id']) expect(all.text).not.toContain(secret);

    // Paging: after and limit.
    const page = await http(`${url}?after=2&limit=2`, { token: joined[0]!.resume_token });
    expect(page.body).toEqual({ events: all.body.events.slice(1, 3), complete: true });
    expect((await http(`${url}?after=5`, { token: created.resume_token })).body).toEqual({ events: [], complete: true });
    expect((await http(`${url}?after=999`, { token: created.resume_token })).body).toEqual({ events: [], complete: true });

    // resume_session's missed is the same log (without `at`).
    guest.disconnect();
    await waitFor(host, 'participant_connection');
    const back = await connect(server.url);
    const resumed = await call(back, 'resume_session', { room_code: code, participant_id: joined[0]!.participant_id, resume_token: joined[0]!.resume_token, last_seq: 2 });
    expect(resumed.ok).toBe(true);
    const after = await http(`${url}?after=2`, { token: created.resume_token });
    expect(resumed.missed).toEqual(after.body.events.map(({ at: _at, ...e }: any) => e));
    expect(resumed.missed_complete).toBe(true);
  });

  it('strict query: after/limit are whole numbers given once; nothing is coerced; unknown parameters are refused', async () => {
    const host = await connect(server.url);
    const { code, created } = await roomWith(host, []);
    const url = `${server.url}/sessions/${code}/events`;
    for (const q of ['after=-1', 'after=1.5', 'after=1e3', 'after=%205', 'after=0x10', 'after=', 'after=1&after=2', 'limit=0', `limit=${LIMITS.roomHistorySize + 1}`, 'limit=abc', 'foo=1', 'after=99999999999999999']) {
      expectHttpError(await http(`${url}?${q}`, { token: created.resume_token }), 400, 'invalid_payload');
    }
    expect((await http(`${url}?after=0&limit=${LIMITS.roomHistorySize}`, { token: created.resume_token })).status).toBe(200);
  });

  it('401 without or with a wrong token, 404 for an unknown room, and the history is deleted with the room', async () => {
    const host = await connect(server.url);
    const { code, created } = await roomWith(host, []);
    const url = `${server.url}/sessions/${code}/events`;
    expectHttpError(await http(url), 401, 'invalid_token');
    expectHttpError(await http(url, { token: 'x'.repeat(32) }), 401, 'invalid_token');
    const unknown = code === 'ZZZZZZ' ? 'YYYYYY' : 'ZZZZZZ';
    expectHttpError(await http(`${server.url}/sessions/${unknown}/events`, { token: created.resume_token }), 404, 'not_found');
    await call(host, 'add_task', { title: 'x' });
    expect((await server.app.store.history(code, 0, 10))!.events).toHaveLength(1);
    await call(host, 'leave_session');
    expect(await server.app.store.get(code)).toBeNull();
    expect(await server.app.store.history(code, 0, 10)).toBeNull();
    expectHttpError(await http(url, { token: created.resume_token }), 404, 'not_found');
  });

  it(`keeps the last ${LIMITS.roomHistorySize} events: complete: false once after is older than that`, async () => {
    const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
    const { code, created, joined } = await roomWith(host, [guest]);
    await call(host, 'start_session');
    const n = LIMITS.roomHistorySize + 20;
    for (let i = 0; i < n; i++) {
      const r = await call(guest, 'update_status', { status: i % 2 === 0 ? 'paused' : 'focusing' });
      expect(r.ok).toBe(true);
    }
    const room = (await server.app.store.get(code))!;
    const url = `${server.url}/sessions/${code}/events`;
    const oldest = room.seq - LIMITS.roomHistorySize + 1;
    const kept = await http(`${url}?after=${oldest - 1}&limit=${LIMITS.roomHistorySize}`, { token: created.resume_token });
    expect(kept.body.complete).toBe(true);
    expect(kept.body.events).toHaveLength(LIMITS.roomHistorySize);
    expect(kept.body.events[0].seq).toBe(oldest);
    expect(kept.body.events.at(-1).seq).toBe(room.seq);
    const tooOld = await http(`${url}?after=${oldest - 2}&limit=5`, { token: created.resume_token });
    expect(tooOld.body.complete).toBe(false);
    expect(tooOld.body.events.map((e: any) => e.seq)).toEqual([oldest, oldest + 1, oldest + 2, oldest + 3, oldest + 4]);
    // A resume from before the kept range gets the snapshot only: never a partial replay.
    guest.disconnect();
    await waitFor(host, 'participant_connection');
    const seat = { room_code: code, participant_id: joined[0]!.participant_id, resume_token: joined[0]!.resume_token };
    const stale = await call(await connect(server.url), 'resume_session', { ...seat, last_seq: oldest - 2 });
    expect(stale).toMatchObject({ ok: true, missed: [], missed_complete: false });
    // From inside the kept range: everything since, complete (the last one is its own reconnect).
    const fresh = await call(await connect(server.url), 'resume_session', { ...seat, last_seq: oldest + 10 });
    expect(fresh.missed_complete).toBe(true);
    expect(fresh.missed[0].seq).toBe(oldest + 11);
    expect(fresh.missed.at(-1).seq).toBe(fresh.session.seq);
  });
});
