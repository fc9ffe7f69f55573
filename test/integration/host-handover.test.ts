/**
 * leave_session: participant_left to the others, host hand-over to the longest-present,
 * and the room deleted when its last participant leaves.
 */
import { describe, expect, it } from 'vitest';
import { call, connect, eventually, record, roomWith, waitFor } from '../helpers/client.js';
import { useSharedServer } from '../helpers/server.js';
import { expectAckError, expectSnapshot, quietWindow } from '../helpers/shapes.js';
import { getJson } from '../helpers/http.js';

const server = useSharedServer();

/** Every event a client receives, in arrival order. */
function journal(c: any): Array<{ event: string; data: any }> {
  const all: Array<{ event: string; data: any }> = [];
  c.onAny((event: string, data: any) => all.push({ event, data }));
  return all;
}

describe('leave_session', () => {
  it('a guest leaves: {ok:true}; the others get participant_left reason left; the leaver gets nothing', async () => {
    const clients = await Promise.all([connect(server.url), connect(server.url), connect(server.url)]);
    const [host, g1, g2] = clients;
    const { joined, code } = await roomWith(host!, [g1!, g2!]);
    const logs = clients.map(journal);
    const got = [waitFor(host!, 'participant_left'), waitFor(g2!, 'participant_left')] as const;
    expect(await call(g1!, 'leave_session', {})).toEqual({ ok: true });
    const [h, g] = await Promise.all(got);
    expect(Object.keys(g).sort()).toEqual(['participant_id', 'reason', 'seq', 'session']);
    expect(g).toMatchObject({ participant_id: joined[0]!.participant_id, reason: 'left' });
    expectSnapshot(g.session, { is_creator: false });
    expectSnapshot(h.session, { is_creator: true });
    expect(g.session.participants.map((p: any) => p.user_name)).toEqual(['Host', 'Guest2']);
    expect(g.seq).toBe(g.session.seq);
    await quietWindow(150);
    expect(logs[1]).toEqual([]);
    expect(logs[0]!.map((e) => e.event)).toEqual(['participant_left']);
    // The leaver is free again: room requests are not_in_session, and it may join anew.
    expectAckError(await call(g1!, 'update_status', { status: 'ready' }), 'not_in_session');
    const back = await call(g1!, 'join_session', { room_code: code, user_name: 'Back' });
    expect(back.ok).toBe(true);
    expect(back.participant_id).not.toBe(joined[0]!.participant_id);
  });

  it('the host leaves: participant_left then creator_changed to the longest-present; the new host has the controls', async () => {
    const clients = await Promise.all([connect(server.url), connect(server.url), connect(server.url)]);
    const [host, g1, g2] = clients;
    const { created, joined } = await roomWith(host!, [g1!, g2!], { session_duration: 60_000 });
    const logs = clients.map(journal);
    expect(await call(host!, 'leave_session')).toEqual({ ok: true });
    await eventually(() => expect(logs[2]!.length).toBe(2));
    await quietWindow(150);
    const newHost = joined[0]!.participant_id;
    for (const [i, log] of [logs[1]!, logs[2]!].entries()) {
      expect(log.map((e) => e.event)).toEqual(['participant_left', 'creator_changed']);
      const [left, changed] = log;
      expect(left!.data).toMatchObject({ participant_id: created.participant_id, reason: 'left' });
      expect(left!.data.session.host_id).toBe(newHost);
      expect(left!.data.session.is_creator).toBe(i === 0);
      expect(changed!.data).toEqual({ new_creator_id: newHost, seq: left!.data.seq + 1 });
    }
    expect(logs[0]).toEqual([]);
    expectAckError(await call(g2!, 'start_session'), 'not_host');
    const started = await call(g1!, 'start_session');
    expect(started.session).toMatchObject({ status: 'active', is_creator: true, host_id: newHost });
  });

  it('the last one leaving deletes the room: GET /session/:code → 404', async () => {
    const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
    const { code } = await roomWith(host, [guest]);
    expect((await getJson(`${server.url}/session/${code}`)).status).toBe(200);
    await call(host, 'leave_session');
    await call(guest, 'leave_session');
    const res = await getJson(`${server.url}/session/${code}`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    expect(await server.app.store.get(code)).toBeNull();
    expectAckError(await call(await connect(server.url), 'join_session', { room_code: code, user_name: 'Z' }), 'not_found');
  });

  it('leaving a running room keeps its countdown for the others', async () => {
    const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
    await roomWith(host, [guest], { session_duration: 2_000 });
    const started = await call(host, 'start_session');
    const leaverHears = record(host, 'time_update');
    const leaverDone = record(host, 'session_completed');
    await call(host, 'leave_session');
    const ticks = record(guest, 'time_update');
    const done = await waitFor(guest, 'session_completed', 3_000);
    expect(ticks.map((t) => t.ends_at)).toEqual([started.session.ends_at]);
    // The leaver is out of the room: no ticks, no completion.
    expect(leaverHears).toEqual([]);
    expect(leaverDone).toEqual([]);
    expect(done.session.is_creator).toBe(true);
    expect(done.results).toHaveLength(1);
  });
});
