/**
 * Membership rules: create, join, leave, disconnect/reconnect with grace, host hand-over.
 * Pure functions with an injected `now`: no sleeping, no timers.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/clock.js';
import { pause, start } from '../../src/domain/countdown.js';
import { runDue } from '../../src/domain/deadlines.js';
import { createRoom, disconnect, disconnectAll, join, leave, reconnect } from '../../src/domain/membership.js';
import type { Room, RoomSettings } from '../../src/domain/room-state.js';
import { snapshot } from '../../src/domain/snapshot.js';
import { codeOf, hostedRoom, ok, person, T0, withJoined } from './fixtures.js';

function newRoom(settings: Partial<RoomSettings> = {}, grace_ms = 60_000, now = T0): Room {
  return hostedRoom({ settings, grace_ms, now });
}
/** Host h plus joiners, each one second apart. */
function roomWith(ids: string[], settings: Partial<RoomSettings> = {}, grace_ms = 60_000): Room {
  return withJoined(
    newRoom(settings, grace_ms),
    ids.map((id, i) => [id, T0 + (i + 1) * 1000] as const),
  );
}

describe('createRoom', () => {
  it('seats the creator as host, ready and connected, with seq 1 and an empty log', () => {
    const settings: RoomSettings = { session_duration: 60_000, max_participants: 4, late_join: true, rounds: 1, break_duration: 300_000 };
    const room = createRoom({ id: 'room-1', code: 'ABC234', host: person('h'), settings, grace_ms: 5_000, ttl_ms: 9_000 }, T0);
    expect(room).toEqual({
      id: 'room-1',
      code: 'ABC234',
      created_at: T0,
      updated_at: T0,
      host_id: 'h',
      settings: { session_duration: 60_000, max_participants: 4, late_join: true, rounds: 1, break_duration: 300_000 },
      status: 'waiting',
      started_at: null,
      ends_at: null,
      remaining_ms: null,
      completed_at: null,
      phase: 'focus',
      round: 1,
      participants: [
        {
          id: 'h', user_name: 'user-h', status: 'ready', joined_at: T0, connected: true, token_hash: 'hash-h',
          socket_id: 'sock-h', disconnected_at: null, focused_ms: 0, focus_since: null, pauses: 0, user_sub: null,
          identity: null,
        },
      ],
      tasks: [],
      seq: 1,
      grace_ms: 5_000,
      ttl_ms: 9_000,
      starts_at: null,
      title: null,
      no_show_grace_ms: 300_000,
      no_show_at: null,
    });
    settings.max_participants = 50;
    expect(room.settings.max_participants).toBe(4);
  });
});

describe('join', () => {
  it('adds ready participants in join order and emits participant_joined with the public view', () => {
    const clock = new ManualClock(T0);
    const r0 = newRoom();
    const o = join(r0, { ...person('b'), user_sub: 'sub-b' }, clock.advance(1_500));
    expect(o.changed).toBe(true);
    expect(o.result).toBeUndefined();
    expect(o.events).toEqual([
      { seq: 2, event: 'participant_joined', data: { participant: { id: 'b', user_name: 'user-b', status: 'ready', joined_at: T0 + 1_500, connected: true, intention: null, recap: null } } },
    ]);
    const r1 = ok(o);
    expect(r1.seq).toBe(2);
    expect(r1.updated_at).toBe(T0 + 1_500);
    expect(r1.participants[1]).toMatchObject({ id: 'b', status: 'ready', socket_id: 'sock-b', token_hash: 'hash-b', user_sub: 'sub-b', focus_since: null });
    const r2 = ok(join(r1, person('c'), clock.advance(10)));
    expect(r2.participants.map((p) => [p.id, p.status, p.joined_at])).toEqual([
      ['h', 'ready', T0],
      ['b', 'ready', T0 + 1_500],
      ['c', 'ready', T0 + 1_510],
    ]);
    expect(r2.host_id).toBe('h');
  });

  it('refuses with room_full once max_participants are seated', () => {
    const room = roomWith(['b'], { max_participants: 2 });
    expect(codeOf(() => join(room, person('c'), T0 + 5_000))).toBe('room_full');
    const three = roomWith(['b', 'c'], { max_participants: 3 });
    expect(three.participants).toHaveLength(3);
    expect(codeOf(() => join(three, person('d'), T0 + 5_000))).toBe('room_full');
  });

  it('late join while active: the joiner is focusing and accrues from the join time', () => {
    const started = ok(start(roomWith(['b']), 'h', T0 + 10_000));
    const o = join(started, person('c'), T0 + 25_000);
    const c = ok(o).participants[2]!;
    expect(c).toMatchObject({ status: 'focusing', focus_since: T0 + 25_000, joined_at: T0 + 25_000 });
    expect(o.events[0]!.data).toEqual({ participant: { id: 'c', user_name: 'user-c', status: 'focusing', joined_at: T0 + 25_000, connected: true, intention: null, recap: null } });
    const done = ok(runDue(ok(o), T0 + 70_000));
    expect(done.participants.find((p) => p.id === 'c')).toMatchObject({ status: 'completed', focused_ms: 45_000 });
  });

  it('late join while paused: focusing, but nothing accrues until the countdown resumes', () => {
    const paused = ok(pause(ok(start(newRoom(), 'h', T0)), 'h', T0 + 10_000));
    const c = ok(join(paused, person('c'), T0 + 20_000)).participants[1]!;
    expect(c).toMatchObject({ status: 'focusing', focus_since: null, focused_ms: 0 });
  });

  it('with late_join false, a running countdown refuses with already_started; waiting is fine', () => {
    const waiting = newRoom({ late_join: false, rounds: 1, break_duration: 300_000 });
    expect(ok(join(waiting, person('b'), T0 + 1)).participants).toHaveLength(2);
    const active = ok(start(waiting, 'h', T0 + 10));
    expect(codeOf(() => join(active, person('b'), T0 + 20))).toBe('already_started');
    const paused = ok(pause(active, 'h', T0 + 30));
    expect(codeOf(() => join(paused, person('b'), T0 + 40))).toBe('already_started');
  });

  it('join after completion seats a ready participant in the completed room (even with late_join false)', () => {
    const done = ok(runDue(ok(start(newRoom({ late_join: false }), 'h', T0)), T0 + 60_000));
    expect(done.status).toBe('completed');
    const r = ok(join(done, person('b'), T0 + 61_000));
    expect(r.status).toBe('completed');
    expect(r.participants.map((p) => [p.id, p.status])).toEqual([
      ['h', 'completed'],
      ['b', 'ready'],
    ]);
  });
});

describe('leave', () => {
  it('a non-host leaving emits participant_left{reason:left} and keeps the host', () => {
    const room = roomWith(['b', 'c']);
    const o = leave(room, 'b', 'left', T0 + 9_000);
    expect(o.events).toEqual([{ seq: room.seq + 1, event: 'participant_left', data: { participant_id: 'b', reason: 'left' } }]);
    expect(ok(o).participants.map((p) => p.id)).toEqual(['h', 'c']);
    expect(ok(o).host_id).toBe('h');
  });

  it('a stranger leaving is not_in_session', () => {
    expect(codeOf(() => leave(newRoom(), 'zz', 'left', T0))).toBe('not_in_session');
  });

  it('the host leaving hands over to the longest-present participant: participant_left, then creator_changed', () => {
    const room = roomWith(['b', 'c']);
    const o = leave(room, 'h', 'left', T0 + 9_000);
    expect(o.events).toEqual([
      { seq: room.seq + 1, event: 'participant_left', data: { participant_id: 'h', reason: 'left' } },
      { seq: room.seq + 2, event: 'creator_changed', data: { new_creator_id: 'b' } },
    ]);
    expect(ok(o).host_id).toBe('b');
    expect(ok(o).seq).toBe(room.seq + 2);
  });

  it('hand-over skips a disconnected participant in favour of the longest-present connected one', () => {
    const room = ok(disconnect(roomWith(['b', 'c']), 'b', 'sock-b', T0 + 5_000));
    const o = leave(room, 'h', 'left', T0 + 6_000);
    expect(o.events.map((e) => [e.event, e.data])).toEqual([
      ['participant_left', { participant_id: 'h', reason: 'left' }],
      ['creator_changed', { new_creator_id: 'c' }],
    ]);
  });

  it('hand-over falls back to the longest-present when nobody else is connected', () => {
    let room = roomWith(['b', 'c']);
    room = ok(disconnect(room, 'c', 'sock-c', T0 + 5_000));
    room = ok(disconnect(room, 'b', 'sock-b', T0 + 5_001));
    expect(ok(leave(room, 'h', 'left', T0 + 6_000)).host_id).toBe('b');
  });

  it('results of a completed room are history: a leaver (or a timed-out seat) keeps their row', () => {
    const done = ok(runDue(ok(start(roomWith(['b', 'c']), 'h', T0 + 10_000)), T0 + 70_000));
    const before = snapshot(done, T0 + 70_000, null).results;
    expect(before?.map((r) => r.participant_id)).toEqual(['h', 'b', 'c']);
    const afterLeave = ok(leave(done, 'h', 'left', T0 + 71_000));
    expect(afterLeave.participants.map((p) => p.id)).toEqual(['b', 'c']);
    expect(snapshot(afterLeave, T0 + 71_000, null).results).toEqual(before);
    const afterJoin = ok(join(afterLeave, person('d'), T0 + 72_000));
    expect(snapshot(afterJoin, T0 + 72_000, null).results).toEqual(before);
    // A new run starts a new history.
    const again = ok(runDue(ok(start(afterJoin, 'b', T0 + 73_000)), T0 + 133_000));
    expect(snapshot(again, T0 + 133_000, null).results?.map((r) => r.participant_id)).toEqual(['b', 'c', 'd']);
  });

  it('the last participant leaving deletes the room', () => {
    const o = leave(newRoom(), 'h', 'left', T0 + 1_000);
    expect(o.room).toBeNull();
    expect(o.changed).toBe(true);
    expect(o.events).toEqual([]);
  });
});

describe('disconnect and reconnect', () => {
  it('a disconnect from a socket that is not attached is a no-op', () => {
    const room = roomWith(['b']);
    for (const o of [disconnect(room, 'b', 'sock-other', T0 + 5_000), disconnect(room, 'nobody', 'sock-b', T0 + 5_000)]) {
      expect(o).toEqual({ room, events: [], result: undefined, changed: false });
      expect(o.room).toBe(room);
    }
  });

  it('disconnect keeps the seat and emits participant_connection{connected:false, grace_ms}', () => {
    const room = roomWith(['b']);
    const o = disconnect(room, 'b', 'sock-b', T0 + 5_000);
    expect(o.events).toEqual([{ seq: room.seq + 1, event: 'participant_connection', data: { participant_id: 'b', connected: false, grace_ms: 60_000 } }]);
    expect(ok(o).participants[1]).toMatchObject({ id: 'b', connected: false, socket_id: null, disconnected_at: T0 + 5_000, status: 'ready' });
    const hostGone = ok(disconnect(room, 'h', 'sock-h', T0 + 5_000));
    expect(hostGone.host_id).toBe('h');
  });

  it('disconnectAll is the seats with a socket disconnected one after the other, in one change (a restart)', () => {
    const room = ok(disconnect(roomWith(['b', 'c']), 'b', 'sock-b', T0 + 4_000));
    const one = disconnectAll(room, T0 + 5_000);
    let seq = room;
    const events = [];
    for (const id of ['h', 'c']) {
      const o = disconnect(seq, id, `sock-${id}`, T0 + 5_000);
      events.push(...o.events);
      seq = ok(o);
    }
    expect(one.changed).toBe(true);
    expect(one.room).toEqual(seq);
    expect(one.events).toEqual(events);
    expect(one.events.map((e) => e.data.participant_id)).toEqual(['h', 'c']);
    // Nothing attached: nothing changes.
    expect(disconnectAll(ok(one), T0 + 6_000)).toEqual({ room: one.room, events: [], result: undefined, changed: false });
  });

  it('reconnect restores the seat, emits connected:true, and reports no replaced socket', () => {
    const down = ok(disconnect(roomWith(['b']), 'b', 'sock-b', T0 + 5_000));
    const o = reconnect(down, 'b', 'sock-b2', T0 + 30_000);
    expect(o.result).toEqual({ replacedSocket: null });
    expect(o.events).toEqual([{ seq: down.seq + 1, event: 'participant_connection', data: { participant_id: 'b', connected: true, grace_ms: 60_000 } }]);
    expect(ok(o).participants[1]).toMatchObject({ id: 'b', connected: true, socket_id: 'sock-b2', disconnected_at: null, joined_at: T0 + 1_000 });
    // The old socket's late disconnect can no longer evict the resumed seat.
    expect(disconnect(ok(o), 'b', 'sock-b', T0 + 31_000).changed).toBe(false);
  });

  it('reconnect while still attached elsewhere returns the replaced socket, without an event', () => {
    const room = roomWith(['b']);
    const o = reconnect(room, 'b', 'sock-b2', T0 + 8_000);
    expect(o.result).toEqual({ replacedSocket: 'sock-b' });
    expect(o.events).toEqual([]);
    expect(o.changed).toBe(true);
    expect(ok(o).seq).toBe(room.seq);
    expect(ok(o).updated_at).toBe(T0 + 8_000);
    expect(ok(o).participants[1]!.socket_id).toBe('sock-b2');
  });

  it('reconnect of an unknown participant is invalid_token', () => {
    expect(codeOf(() => reconnect(newRoom(), 'ghost', 'sock-x', T0))).toBe('invalid_token');
  });

  it('runDue after grace removes the dropped host with reason timeout and hands over', () => {
    const room = ok(disconnect(roomWith(['b', 'c']), 'h', 'sock-h', T0 + 5_000));
    const early = runDue(room, T0 + 64_999);
    expect(early.changed).toBe(false);
    expect(early.room).toBe(room);
    const o = runDue(room, T0 + 65_000);
    expect(o.events).toEqual([
      { seq: room.seq + 1, event: 'participant_left', data: { participant_id: 'h', reason: 'timeout' } },
      { seq: room.seq + 2, event: 'creator_changed', data: { new_creator_id: 'b' } },
    ]);
    expect(ok(o).participants.map((p) => p.id)).toEqual(['b', 'c']);
  });

  it('with grace 0 a disconnect removes the participant at once (timeout), and the last one deletes the room', () => {
    const room = roomWith(['b'], {}, 0);
    const o = disconnect(room, 'h', 'sock-h', T0 + 5_000);
    expect(o.events).toEqual([
      { seq: room.seq + 1, event: 'participant_left', data: { participant_id: 'h', reason: 'timeout' } },
      { seq: room.seq + 2, event: 'creator_changed', data: { new_creator_id: 'b' } },
    ]);
    const last = disconnect(ok(o), 'b', 'sock-b', T0 + 6_000);
    expect(last.room).toBeNull();
    expect(last.changed).toBe(true);
  });
});
