/**
 * start_session / pause_session / resume_timer / update_settings: host only, in the right
 * states, with their room events; a refused request changes nothing.
 */
import { describe, expect, it } from 'vitest';
import { call, callUnchecked, type Client, connect, record, roomWith, waitFor } from '../helpers/client.js';
import { useSharedServer } from '../helpers/server.js';
import { expectAckError, expectSnapshot, quietWindow } from '../helpers/shapes.js';

const server = useSharedServer();
const { seqOf } = server;

async function pair(create: Record<string, unknown> = {}) {
  const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
  const room = await roomWith(host, [guest], { session_duration: 60_000, ...create });
  return { host, guest, ...room };
}

describe('host only', () => {
  it('a guest gets not_host for start, pause, resume and settings; nothing changes', async () => {
    const { host, guest, code } = await pair();
    const errors = record(guest, 'error');
    const seq = await seqOf(code);
    expectAckError(await call(guest, 'start_session'), 'not_host');
    expectAckError(await call(guest, 'update_settings', { session_duration: 5_000 }), 'not_host');
    expect(await seqOf(code)).toBe(seq);
    await call(host, 'start_session');
    expectAckError(await call(guest, 'pause_session', {}), 'not_host');
    await call(host, 'pause_session');
    expectAckError(await call(guest, 'resume_timer'), 'not_host');
    await quietWindow(100);
    expect(errors.map((e) => e.code)).toEqual(['not_host', 'not_host', 'not_host', 'not_host']);
    expect(Object.keys(errors[0]!).sort()).toEqual(['_at', 'code', 'message']);
    expect((await server.app.store.get(code))!.status).toBe('paused');
  });
});

describe('states', () => {
  it('start twice → already_started; pause while waiting/paused and resume while active/waiting → invalid_state', async () => {
    const { host, code } = await pair();
    expectAckError(await call(host, 'pause_session'), 'invalid_state');
    expectAckError(await call(host, 'resume_timer'), 'invalid_state');
    await call(host, 'start_session');
    expectAckError(await call(host, 'start_session'), 'already_started');
    expectAckError(await call(host, 'resume_timer'), 'invalid_state');
    const seq = await seqOf(code);
    await call(host, 'pause_session');
    expectAckError(await call(host, 'pause_session'), 'invalid_state');
    expectAckError(await call(host, 'start_session'), 'already_started');
    expect(await seqOf(code)).toBe(seq + 1);
  });

  it('settings only change while waiting (or completed), and never below the people present', async () => {
    const { host, code } = await pair();
    await call(await connect(server.url), 'join_session', { room_code: code, user_name: 'Third' });
    const seq = await seqOf(code);
    expectAckError(await call(host, 'update_settings', { max_participants: 2 }), 'invalid_state');
    expect(await seqOf(code)).toBe(seq);
    expect((await call(host, 'update_settings', { max_participants: 3 })).session.max_participants).toBe(3);
    await call(host, 'start_session');
    expectAckError(await call(host, 'update_settings', { session_duration: 5_000 }), 'invalid_state');
    await call(host, 'pause_session');
    expectAckError(await call(host, 'update_settings', { session_duration: 5_000 }), 'invalid_state');
    expect((await server.app.store.get(code))!.settings.session_duration).toBe(60_000);
  });
});

describe('room events', () => {
  it('session_started, session_paused, session_resumed reach every client with its own is_creator', async () => {
    const { host, guest, created } = await pair();
    const events = ['session_started', 'session_paused', 'session_resumed'] as const;
    const hostSeen = events.map((e) => record(host, e));
    const guestSeen = events.map((e) => record(guest, e));

    const acks = [];
    for (const [i, ev] of (['start_session', 'pause_session', 'resume_timer'] as const).entries()) {
      const got = waitFor(guest, events[i]!);
      acks.push(await call(host, ev));
      await got;
    }
    await quietWindow(150);
    for (const [i, status] of (['active', 'paused', 'active'] as const).entries()) {
      expect(hostSeen[i]).toHaveLength(1);
      expect(guestSeen[i]).toHaveLength(1);
      const h = hostSeen[i]![0]!;
      const g = guestSeen[i]![0]!;
      expect(Object.keys(g).sort()).toEqual(['_at', 'seq', 'session']);
      expectSnapshot(h.session, { status, is_creator: true });
      expectSnapshot(g.session, { status, is_creator: false });
      expect(g.seq).toBe(g.session.seq);
      expect(h.seq).toBe(g.seq);
      // The ack's snapshot is the same room state.
      expect(acks[i]!.session.seq).toBe(g.seq);
      expect(acks[i]!.session.host_id).toBe(created.participant_id);
    }
    expect(guestSeen.map((s) => s[0]!.seq)).toEqual([3, 4, 5]);
    expect(guestSeen[1]![0]!.session.participants.map((p: any) => p.status)).toEqual(['focusing', 'focusing']);
  });

  it('update_settings: ack and settings_updated to everyone; the next start uses the new duration', async () => {
    const { host, guest, code } = await pair();
    const toGuest = waitFor(guest, 'settings_updated');
    const toHost = waitFor(host, 'settings_updated');
    const ack = await call(host, 'update_settings', { session_duration: 5_000, max_participants: 3, late_join: false });
    expectSnapshot(ack.session, { status: 'waiting', is_creator: true });
    expect(ack.session).toMatchObject({ session_duration: 5_000, time_left_ms: 5_000, max_participants: 3, late_join: false });
    const g = await toGuest;
    expect(Object.keys(g).sort()).toEqual(['seq', 'session']);
    expectSnapshot(g.session, { is_creator: false });
    expect(g.session).toMatchObject({ session_duration: 5_000, max_participants: 3, late_join: false, seq: g.seq });
    expect((await toHost).session.is_creator).toBe(true);
    const started = await call(host, 'start_session');
    expect(started.session.ends_at - started.session.started_at).toBe(5_000);
    // late_join is now false: a joiner after the start is refused.
    expectAckError(await call(await connect(server.url), 'join_session', { room_code: code, user_name: 'L' }), 'already_started');
  });

  it('invalid settings are invalid_payload, not clamped', async () => {
    const { host, code } = await pair();
    const seq = await seqOf(code);
    for (const bad of [{}, { session_duration: 999 }, { session_duration: 4 * 3600_000 + 1 }, { max_participants: 1 }, { max_participants: 51 }, { late_join: 'no' }, { session_duration: 1500.5 }, { colour: 'red' }]) {
      expectAckError(await callUnchecked(host, 'update_settings', bad), 'invalid_payload');
    }
    expect(await seqOf(code)).toBe(seq);
  });
});

describe('completed rooms', () => {
  it('after completion settings can change and the host can start again', async () => {
    const host: Client = await connect(server.url);
    await roomWith(host, [], { session_duration: 1_000 });
    await call(host, 'start_session');
    await waitFor(host, 'session_completed', 2_500);
    const ack = await call(host, 'update_settings', { session_duration: 2_000 });
    expect(ack.session).toMatchObject({ status: 'completed', session_duration: 2_000, time_left_ms: 0 });
    const again = await call(host, 'start_session');
    expect(again.session.status).toBe('active');
    expect(again.session.ends_at - again.session.started_at).toBe(2_000);
  });
});
