/**
 * create_session / join_session: ack and Fidan reply events, room codes, joining rules
 * (case, full, started, late join), one room per socket, and `is_creator` per receiver.
 */
import { describe, expect, it } from 'vitest';
import { ROOM_CODE_ALPHABET } from '../../src/contract/limits.js';
import { call, callUnchecked, connect, eventually, type PayloadOf, record, roomWith, waitFor } from '../helpers/client.js';
import { useSharedServer } from '../helpers/server.js';
import { expectAckError, expectJoinedPayload, expectParticipant, expectSnapshot, quietWindow, ROOM_CODE_RE, withoutOk } from '../helpers/shapes.js';

const server = useSharedServer();

/** A well-formed code that no live room has. */
async function unusedCode(): Promise<string> {
  for (;;) {
    const code = Array.from({ length: 6 }, () => ROOM_CODE_ALPHABET[Math.floor(Math.random() * ROOM_CODE_ALPHABET.length)]).join('');
    if (!(await server.app.store.get(code))) return code;
  }
}

describe('create_session', () => {
  it('acks and emits session_created with the same payload; the creator is host', async () => {
    const a = await connect(server.url);
    const event = waitFor(a, 'session_created');
    const t0 = Date.now();
    const ack = await call(a, 'create_session', { user_name: '  Ada  ' });
    const payload = withoutOk(ack);
    expectJoinedPayload(payload);
    expect(await event).toEqual(payload);
    const s = payload.session;
    expectSnapshot(s, { is_creator: true, status: 'waiting' });
    expect(payload.room_code).toMatch(ROOM_CODE_RE);
    expect(s).toMatchObject({
      participants: [{ id: payload.participant_id, user_name: 'Ada', status: 'ready', connected: true }],
      host_id: payload.participant_id,
      max_participants: 4,
      session_duration: 1_500_000,
      time_left_ms: 1_500_000,
      started_at: null,
      ends_at: null,
      late_join: true,
      seq: 1,
      tasks: [],
    });
    expect(s.created_at).toBeGreaterThanOrEqual(t0 - 5);
    expect(s.created_at).toBeLessThanOrEqual(Date.now());
  });

  it('gives every room a distinct code from the alphabet', async () => {
    const clients = await Promise.all(Array.from({ length: 8 }, () => connect(server.url)));
    const codes = await Promise.all(clients.map(async (c) => (await call(c, 'create_session', { user_name: 'X' })).room_code as string));
    for (const code of codes) expect(code).toMatch(ROOM_CODE_RE);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('takes the optional settings', async () => {
    const a = await connect(server.url);
    const ack = await call(a, 'create_session', { user_name: 'A', session_duration: 60_000, max_participants: 7, late_join: false });
    expect(ack.session).toMatchObject({ session_duration: 60_000, time_left_ms: 60_000, max_participants: 7, late_join: false });
  });
});

describe('join_session', () => {
  it('is case-insensitive with spaces trimmed; participant_joined reaches the others only', async () => {
    const [host, guest, third] = await Promise.all([connect(server.url), connect(server.url), connect(server.url)]);
    const created = await call(host, 'create_session', { user_name: 'Host' });
    const hostJoins = record(host, 'participant_joined');
    const guestJoins = record(guest, 'participant_joined');
    const thirdJoins = record(third, 'participant_joined');
    const joinedEvent = waitFor(guest, 'session_joined');

    const ack = await call(guest, 'join_session', { room_code: `  ${created.room_code.toLowerCase()} `, user_name: 'Guest' });
    const payload = withoutOk(ack);
    expectJoinedPayload(payload);
    expect(await joinedEvent).toEqual(payload);
    expect(payload.room_code).toBe(created.room_code);
    expect(payload.session_id).toBe(created.session_id);
    expect(payload.participant_id).not.toBe(created.participant_id);
    expect(payload.resume_token).not.toBe(created.resume_token);
    expectSnapshot(payload.session, { is_creator: false, status: 'waiting' });
    expect(payload.session.participants.map((p: any) => [p.user_name, p.status])).toEqual([
      ['Host', 'ready'],
      ['Guest', 'ready'],
    ]);
    expect(payload.session.seq).toBe(2);

    await eventually(() => expect(hostJoins).toHaveLength(1));
    await call(third, 'join_session', { room_code: created.room_code, user_name: 'Third' });
    await eventually(() => expect(guestJoins).toHaveLength(1));
    await quietWindow();

    // The joiner never hears about itself; each other client hears once per joiner.
    expect(hostJoins.map((e) => e.participant.user_name)).toEqual(['Guest', 'Third']);
    expect(guestJoins.map((e) => e.participant.user_name)).toEqual(['Third']);
    expect(thirdJoins).toEqual([]);
    const first = hostJoins[0]!;
    expect(Object.keys(first).sort()).toEqual(['_at', 'participant', 'seq', 'session']);
    expectParticipant(first.participant);
    expect(first.participant).toMatchObject({ id: payload.participant_id, user_name: 'Guest', status: 'ready', connected: true });
    expect(first.seq).toBe(2);
    expect(first.session.seq).toBe(2);
    // is_creator is relative to the receiver.
    expectSnapshot(hostJoins[1]!.session, { is_creator: true });
    expectSnapshot(guestJoins[0]!.session, { is_creator: false });
    expect(guestJoins[0]!.session.host_id).toBe(created.participant_id);
  });

  it('unknown code: not_found in the ack and a join_error event, no error event', async () => {
    const a = await connect(server.url);
    const joinErrors = record(a, 'join_error');
    const errors = record(a, 'error');
    const reply = await call(a, 'join_session', { room_code: await unusedCode(), user_name: 'A' });
    expectAckError(reply, 'not_found');
    await eventually(() => expect(joinErrors).toHaveLength(1));
    await quietWindow(100);
    expect(joinErrors).toHaveLength(1);
    const { _at, ...je } = joinErrors[0]!;
    expect(je).toEqual({ error: reply.error.message, code: 'not_found' });
    expect(errors).toEqual([]);
  });

  it('room_full at the default of 4', async () => {
    const clients = await Promise.all(Array.from({ length: 5 }, () => connect(server.url)));
    const [host, ...rest] = clients;
    const { code } = await roomWith(host!, rest.slice(0, 3));
    const joinError = waitFor(rest[3]!, 'join_error');
    const reply = await call(rest[3]!, 'join_session', { room_code: code, user_name: 'Fifth' });
    expectAckError(reply, 'room_full');
    expect(await joinError).toEqual({ error: reply.error.message, code: 'room_full' });
    expect((await server.app.store.get(code))!.participants).toHaveLength(4);
  });

  it('already_started when late_join is false', async () => {
    const [host, late] = await Promise.all([connect(server.url), connect(server.url)]);
    const { code } = await roomWith(host, [], { late_join: false, session_duration: 60_000 });
    expect((await call(host, 'start_session')).ok).toBe(true);
    const reply = await call(late, 'join_session', { room_code: code, user_name: 'Late' });
    expectAckError(reply, 'already_started');
  });

  it('a late joiner gets the running countdown and its ticks', async () => {
    const [host, late] = await Promise.all([connect(server.url), connect(server.url)]);
    const { code } = await roomWith(host, [], { session_duration: 60_000 });
    const started = await call(host, 'start_session');
    const endsAt = started.session.ends_at as number;
    const reply = await call(late, 'join_session', { room_code: code, user_name: 'Late' });
    expectJoinedPayload(withoutOk(reply));
    const s = reply.session;
    expectSnapshot(s, { status: 'active', is_creator: false });
    expect(s.ends_at).toBe(endsAt);
    expect(s.started_at).toBe(started.session.started_at);
    expect(s.participants.find((p: any) => p.id === reply.participant_id).status).toBe('focusing');
    expect(s.time_left_ms).toBeGreaterThan(57_000);
    const tick = await waitFor(late, 'time_update', 2_500);
    expect(tick.ends_at).toBe(endsAt);
    expect(tick.time_left_ms % 1000).toBe(0);
  });

  it('is_creator is true only in the host’s copy of session_started', async () => {
    const clients = await Promise.all([connect(server.url), connect(server.url), connect(server.url)]);
    const [host, g1, g2] = clients as [any, any, any];
    await roomWith(host, [g1, g2], { session_duration: 60_000 });
    const got = clients.map((c) => waitFor(c, 'session_started'));
    await call(host, 'start_session');
    const [h, a, b] = (await Promise.all(got)) as [PayloadOf<'session_started'>, PayloadOf<'session_started'>, PayloadOf<'session_started'>];
    expectSnapshot(h.session, { is_creator: true, status: 'active' });
    expectSnapshot(a.session, { is_creator: false, status: 'active' });
    expectSnapshot(b.session, { is_creator: false, status: 'active' });
    expect({ ...h.session, is_creator: false }).toEqual(a.session);
  });
});

describe('one room per socket, and requests outside a room', () => {
  it('create or join while in a room → invalid_state, nothing changes', async () => {
    const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
    const { code } = await roomWith(host, [guest]);
    const other = await call(await connect(server.url), 'create_session', { user_name: 'Other' });
    const errorEvent = waitFor(host, 'error');
    expectAckError(await call(host, 'create_session', { user_name: 'Again' }), 'invalid_state');
    expect(await errorEvent).toMatchObject({ code: 'invalid_state' });
    const joinError = waitFor(guest, 'join_error');
    expectAckError(await call(guest, 'join_session', { room_code: other.room_code, user_name: 'G' }), 'invalid_state');
    expect(await joinError).toMatchObject({ code: 'invalid_state' });
    expectAckError(await call(host, 'join_session', { room_code: code, user_name: 'Self' }), 'invalid_state');
    expect((await server.app.store.get(code))!.seq).toBe(2);
    expect((await server.app.store.get(other.room_code))!.participants).toHaveLength(1);
  });

  it('a double create on one socket makes one room; a race for the last seat has one winner', async () => {
    const a = await connect(server.url);
    const [first, second] = await Promise.all([call(a, 'create_session', { user_name: 'A' }), call(a, 'create_session', { user_name: 'A' })]);
    expect(first.ok).toBe(true);
    expectAckError(second, 'invalid_state');
    const racers = await Promise.all([connect(server.url), connect(server.url), connect(server.url)]);
    await call(racers[0]!, 'join_session', { room_code: first.room_code, user_name: 'B' });
    await call(racers[1]!, 'join_session', { room_code: first.room_code, user_name: 'C' });
    const late = await connect(server.url);
    const replies = await Promise.all([racers[2]!, late].map((c) => call(c, 'join_session', { room_code: first.room_code, user_name: 'D' })));
    expect(replies.map((r) => (r.ok ? 'ok' : r.error.code)).sort()).toEqual(['ok', 'room_full']);
    expect((await server.app.store.get(first.room_code))!.participants).toHaveLength(4);
  });

  it('room requests from a socket in no room → not_in_session (ack and error event)', async () => {
    const a = await connect(server.url);
    const requests: Array<[string, unknown]> = [
      ['start_session', {}],
      ['pause_session', {}],
      ['resume_timer', {}],
      ['update_settings', { session_duration: 60_000 }],
      ['update_status', { status: 'focusing' }],
      ['add_task', { title: 'x' }],
      ['update_task', { task_id: 'abc', done: true }],
      ['remove_task', { task_id: 'abc' }],
      ['leave_session', {}],
    ];
    const errors = record(a, 'error');
    for (const [event, payload] of requests) expectAckError(await callUnchecked(a, event, payload), 'not_in_session');
    await quietWindow(100);
    expect(errors.map(({ _at, ...e }) => e)).toEqual(requests.map(() => ({ code: 'not_in_session', message: expect.any(String) })));
  });
});

describe('MAX_PARTICIPANTS=2', () => {
  const small = useSharedServer({ MAX_PARTICIPANTS: '2' });

  it('the default room takes two', async () => {
    const [a, b, c] = await Promise.all([connect(small.url), connect(small.url), connect(small.url)]);
    const { created, code } = await roomWith(a, [b]);
    expect(created.session.max_participants).toBe(2);
    expectAckError(await call(c, 'join_session', { room_code: code, user_name: 'C' }), 'room_full');
  });
});
