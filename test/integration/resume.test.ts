/**
 * Disconnects and resume_session (DISCONNECT_GRACE_MS=1000): the seat waits out its grace,
 * a new socket with the token gets it back with the events it missed; after the grace the
 * participant leaves with reason timeout (and hands the host role over).
 */
import { describe, expect, it } from 'vitest';
import { call, type Client, connect, eventually, record, roomWith, waitFor } from '../helpers/client.js';
import { useSharedServer } from '../helpers/server.js';
import { expectAckError, expectJoinedPayload, expectSnapshot, quietWindow, withoutOk } from '../helpers/shapes.js';

const GRACE = 1_000;
const server = useSharedServer({ DISCONNECT_GRACE_MS: String(GRACE) });

const resumeArgs = (code: string, reply: any, lastSeq?: number) => ({
  room_code: code,
  participant_id: reply.participant_id,
  resume_token: reply.resume_token,
  ...(lastSeq === undefined ? {} : { last_seq: lastSeq }),
});

/** The highest seq a client has seen, as an app would track it. */
function seqTracker(c: Client, initial: number): () => number {
  let seq = initial;
  (c as any).onAny((_e: string, data: any) => {
    const s = data?.seq ?? data?.session?.seq;
    if (typeof s === 'number' && s > seq) seq = s;
  });
  return () => seq;
}

describe('a dropped guest within grace', () => {
  it('the others see connected:false; resume on a new socket restores the seat with the missed events', async () => {
    const [host, guest, third] = await Promise.all([connect(server.url), connect(server.url), connect(server.url)]);
    const { code, joined } = await roomWith(host, [guest, third], { session_duration: 60_000 });
    const guestJoin = joined[0]!;
    const lastSeen = seqTracker(guest, guestJoin.session.seq);
    await call(host, 'start_session');
    await call(guest, 'update_status', { status: 'paused' });
    // The guest saw participant_joined (Guest2) and session_started; its own status change
    // reaches others only (its ack carries that seq; this tracker follows events only), so it stops before it.
    await eventually(() => expect(lastSeen()).toBe((guestJoin.session.seq as number) + 2));
    const lastSeq = lastSeen();

    const hostConn = record(host, 'participant_connection');
    const thirdConn = record(third, 'participant_connection');
    const dropAt = Date.now();
    guest.disconnect();
    await eventually(() => expect(hostConn).toHaveLength(1));
    const { _at, ...down } = hostConn[0]!;
    expect(down).toEqual({ participant_id: guestJoin.participant_id, connected: false, grace_ms: GRACE, seq: lastSeq + 2 });
    expect(_at - dropAt).toBeLessThan(200);

    // While away: a task, a status change, a room pause.
    const task = await call(host, 'add_task', { title: 'while away' });
    await call(third, 'update_status', { status: 'failed' });
    await call(host, 'pause_session');

    const back = await connect(server.url);
    const joinedEvent = waitFor(back, 'session_joined');
    const reply = await call(back, 'resume_session', resumeArgs(code, guestJoin, lastSeq));
    const payload = withoutOk(reply);
    expectJoinedPayload(payload, ['missed', 'missed_complete', 'resumed']);
    expect(await joinedEvent).toEqual(payload);
    expect(payload).toMatchObject({ resumed: true, missed_complete: true, participant_id: guestJoin.participant_id, resume_token: guestJoin.resume_token });
    expectSnapshot(payload.session, { status: 'paused', is_creator: false });
    const me = payload.session.participants.find((p: any) => p.id === guestJoin.participant_id);
    expect(me).toMatchObject({ status: 'paused', connected: true, user_name: 'Guest1' });
    expect(payload.session.participants).toHaveLength(3);
    // The missed events, oldest first, without snapshots; the last one is the resume itself.
    expect(payload.missed.map((e: any) => e.event)).toEqual([
      'participant_status_updated',
      'participant_connection',
      'task_added',
      'participant_status_updated',
      'session_paused',
      'participant_connection',
    ]);
    expect(payload.missed.map((e: any) => e.seq)).toEqual([1, 2, 3, 4, 5, 6].map((i) => lastSeq + i));
    for (const e of payload.missed) expect(Object.keys(e).sort()).toEqual(['data', 'event', 'seq']);
    expect(payload.missed[0].data).toEqual({ participant_id: guestJoin.participant_id, status: 'paused', user_name: 'Guest1' });
    expect(payload.missed[1].data).toEqual({ participant_id: guestJoin.participant_id, connected: false, grace_ms: GRACE });
    expect(payload.missed[2].data).toEqual({ task: task.task });
    expect(payload.missed[3].data).toEqual({ participant_id: joined[1]!.participant_id, status: 'failed', user_name: 'Guest2' });
    expect(payload.missed[4].data).toEqual({});
    expect(payload.missed.at(-1).seq).toBe(payload.session.seq);

    await eventually(() => expect(thirdConn).toHaveLength(2));
    expect(thirdConn[1]).toMatchObject({ participant_id: guestJoin.participant_id, connected: true, grace_ms: GRACE, seq: payload.session.seq });
    // The seat works on the new socket, and the old id is never timed out.
    expect(await call(back, 'update_status', { status: 'focusing' })).toEqual({ ok: true, status: 'focusing', seq: expect.any(Number) });
    const left = record(host, 'participant_left');
    await quietWindow(Math.max(0, dropAt + GRACE + 200 - Date.now())); // past the old grace: no timeout
    expect(left).toEqual([]);
  });

  it('without last_seq: snapshot only, missed is empty and not complete', async () => {
    const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
    const { code, joined } = await roomWith(host, [guest]);
    guest.disconnect();
    await waitFor(host, 'participant_connection');
    const reply = await call(await connect(server.url), 'resume_session', resumeArgs(code, joined[0]));
    expect(reply).toMatchObject({ ok: true, resumed: true, missed: [], missed_complete: false });
  });

  it('the host resumes as host', async () => {
    const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
    const { code, created } = await roomWith(host, [guest]);
    host.disconnect();
    await waitFor(guest, 'participant_connection');
    const back = await connect(server.url);
    const reply = await call(back, 'resume_session', resumeArgs(code, created, created.session.seq));
    expect(reply.session).toMatchObject({ is_creator: true, host_id: created.participant_id });
    expect((await call(back, 'start_session')).ok).toBe(true);
  });
});

describe('resume during a countdown', () => {
  it('the only client drops and comes back: ticks and completion continue on the new socket', async () => {
    const host = await connect(server.url);
    const { code, created } = await roomWith(host, [], { session_duration: 3_000 });
    const started = await call(host, 'start_session');
    const endsAt = started.session.ends_at as number;
    host.disconnect();
    const back = await connect(server.url);
    const ticks = record(back, 'time_update');
    const reply = await call(back, 'resume_session', resumeArgs(code, created, started.session.seq));
    expect(reply.session).toMatchObject({ status: 'active', ends_at: endsAt, is_creator: true });
    expect(reply.session.participants[0].status).toBe('focusing');
    const done = await waitFor(back, 'session_completed', 4_000);
    expect(Date.now()).toBeGreaterThanOrEqual(endsAt - 5);
    expect(ticks.map((t) => [t.time_left_ms, t.ends_at])).toEqual([
      [2000, endsAt],
      [1000, endsAt],
    ]);
    expect(done.results[0]).toMatchObject({ status: 'completed', focused_ms: 3_000 });
  });
});

describe('refused resumes', () => {
  it('wrong token or unknown participant → invalid_token (ack and error event); unknown room → not_found', async () => {
    const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
    const { code, joined } = await roomWith(host, [guest]);
    guest.disconnect();
    await waitFor(host, 'participant_connection');
    const thief = await connect(server.url);
    const errorEvent = waitFor(thief, 'error');
    expectAckError(await call(thief, 'resume_session', { ...resumeArgs(code, joined[0]), resume_token: 'x'.repeat(32) }), 'invalid_token');
    expect(await errorEvent).toMatchObject({ code: 'invalid_token' });
    expectAckError(await call(thief, 'resume_session', { ...resumeArgs(code, joined[0]), participant_id: 'nobody' }), 'invalid_token');
    const other = code === 'ZZZZZZ' ? 'YYYYYY' : 'ZZZZZZ';
    expectAckError(await call(thief, 'resume_session', { ...resumeArgs(other, joined[0]) }), 'not_found');
    // Nothing was taken over: the seat is still waiting for its owner.
    expect((await server.app.store.get(code))!.participants[1]!.connected).toBe(false);
    expectAckError(await call(thief, 'update_status', { status: 'ready' }), 'not_in_session');
  });
});

describe('resume from a seated socket', () => {
  it('the seat the socket already holds: an idempotent success; another live seat: invalid_state', async () => {
    const [host, guest, other] = await Promise.all([connect(server.url), connect(server.url), connect(server.url)]);
    const { code, created, joined } = await roomWith(host, [guest]);
    const again = await call(host, 'resume_session', resumeArgs(code, created, created.session.seq));
    expect(again).toMatchObject({ ok: true, resumed: true, participant_id: created.participant_id });
    expect(host.connected).toBe(true);
    await roomWith(other, []);
    expectAckError(await call(other, 'resume_session', resumeArgs(code, joined[0])), 'invalid_state');
    expect((await server.app.store.get(code))!.participants.map((p) => p.connected)).toEqual([true, true]);
  });
});

describe('after the grace', () => {
  it('the dropped host leaves with reason timeout and the host role moves on; resume is then refused', async () => {
    const [host, g1, g2] = await Promise.all([connect(server.url), connect(server.url), connect(server.url)]);
    const { code, created, joined } = await roomWith(host, [g1, g2]);
    const events: string[] = [];
    (g2 as any).onAny((e: string) => events.push(e));
    const changed = record(g1, 'creator_changed');
    const dropAt = Date.now();
    host.disconnect();
    const left = await waitFor(g2, 'participant_left', GRACE + 1_500);
    const leftAt = Date.now();
    expect(leftAt - dropAt).toBeGreaterThanOrEqual(GRACE - 5);
    expect(leftAt - dropAt).toBeLessThan(GRACE + 400);
    expect(left).toMatchObject({ participant_id: created.participant_id, reason: 'timeout' });
    expect(left.session.participants.map((p: any) => p.id)).toEqual([joined[0]!.participant_id, joined[1]!.participant_id]);
    await eventually(() => expect(events).toEqual(['participant_connection', 'participant_left', 'creator_changed']));
    await eventually(() => expect(changed.map(({ _at, ...c }) => c)).toEqual([{ new_creator_id: joined[0]!.participant_id, seq: left.seq + 1 }]));
    expect(left.session.host_id).toBe(joined[0]!.participant_id);
    expect((await server.app.store.get(code))!.host_id).toBe(joined[0]!.participant_id);
    expectAckError(await call(await connect(server.url), 'resume_session', resumeArgs(code, created, 0)), 'invalid_token');
  });

  it('when everyone has timed out the room is gone', async () => {
    const host = await connect(server.url);
    const { code, created } = await roomWith(host, []);
    host.disconnect();
    await eventually(async () => expect(await server.app.store.get(code)).toBeNull(), GRACE + 1_500);
    expectAckError(await call(await connect(server.url), 'resume_session', resumeArgs(code, created)), 'not_found');
  });
});

describe('resume while the old socket is still connected', () => {
  it('the old socket is disconnected, the new one carries the seat, and nobody sees a drop', async () => {
    const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
    const { code, joined } = await roomWith(host, [guest], { session_duration: 60_000 });
    const hostConn = record(host, 'participant_connection');
    const oldGone = waitFor(guest, 'disconnect');
    const fresh = await connect(server.url);
    const reply = await call(fresh, 'resume_session', resumeArgs(code, joined[0], joined[0]!.session.seq));
    expect(reply).toMatchObject({ ok: true, resumed: true, missed: [], missed_complete: true });
    expect(await oldGone).toBe('io server disconnect');
    const started = waitFor(fresh, 'session_started');
    await call(host, 'start_session');
    expect((await started).session.is_creator).toBe(false);
    expect(await call(fresh, 'update_status', { status: 'paused' })).toEqual({ ok: true, status: 'paused', seq: expect.any(Number) });
    await quietWindow(GRACE + 200); // the old socket's disconnect must not start a grace or evict the seat
    expect(hostConn).toEqual([]);
    const room = (await server.app.store.get(code))!;
    expect(room.participants.map((p) => [p.id, p.connected, p.status])).toEqual([
      [room.host_id, true, 'focusing'],
      [joined[0]!.participant_id, true, 'paused'],
    ]);
  });
});
