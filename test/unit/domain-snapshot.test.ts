/**
 * Wire views: timeLeft per status, the snapshot (viewer-relative, no secrets), results, roomTimer.
 */
import { describe, expect, it } from 'vitest';
import { pause, start, updateStatus } from '../../src/domain/countdown.js';
import { runDue } from '../../src/domain/deadlines.js';
import { disconnect, join, leave } from '../../src/domain/membership.js';
import type { Room } from '../../src/domain/room-state.js';
import { results, roomTimer, snapshot, timeLeft } from '../../src/domain/snapshot.js';
import { addTask } from '../../src/domain/tasks.js';
import { at, hostedRoom, ok, person, T0, withJoined } from './fixtures.js';

const D = 60_000;
function duo(): Room {
  return withJoined(hostedRoom({ settings: { session_duration: D } }), [['b', T0 + 1_000]]);
}

describe('timeLeft', () => {
  it('waiting → the full duration, whatever the time', () => {
    expect(timeLeft(duo(), T0)).toBe(D);
    expect(timeLeft(duo(), at(999_999))).toBe(D);
  });

  it('active → ends_at − now, never negative', () => {
    const active = ok(start(duo(), 'h', at(2_000)));
    expect(timeLeft(active, at(2_000))).toBe(D);
    expect(timeLeft(active, at(2_001))).toBe(D - 1);
    expect(timeLeft(active, at(2_000 + D - 1))).toBe(1);
    expect(timeLeft(active, at(2_000 + D))).toBe(0);
    expect(timeLeft(active, at(2_000 + D + 5_000))).toBe(0);
  });

  it('paused → the remaining time frozen at the pause', () => {
    const paused = ok(pause(ok(start(duo(), 'h', T0)), 'h', at(12_345)));
    expect(timeLeft(paused, at(12_345))).toBe(D - 12_345);
    expect(timeLeft(paused, at(900_000))).toBe(D - 12_345);
  });

  it('completed → 0', () => {
    const done = ok(runDue(ok(start(duo(), 'h', T0)), at(D)));
    expect(timeLeft(done, at(D))).toBe(0);
    expect(timeLeft(done, at(D + 1))).toBe(0);
  });
});

describe('snapshot', () => {
  it('a waiting room, as the host sees it', () => {
    const room = duo();
    expect(snapshot(room, at(3_000), 'h')).toEqual({
      id: 'room-1',
      room_code: 'ABC234',
      participants: [
        { id: 'h', user_name: 'user-h', status: 'ready', joined_at: T0, connected: true, intention: null, recap: null },
        { id: 'b', user_name: 'user-b', status: 'ready', joined_at: at(1_000), connected: true, intention: null, recap: null },
      ],
      max_participants: 4,
      status: 'waiting',
      session_duration: D,
      time_left_ms: D,
      started_at: null,
      created_at: T0,
      is_creator: true,
      host_id: 'h',
      ends_at: null,
      server_now: at(3_000),
      seq: 2,
      late_join: true,
      tasks: [],
      phase: 'focus',
      round: 1,
      rounds: 1,
      break_duration: 300_000,
      results: null,
      starts_at: null,
      title: null,
    });
  });

  it('is_creator is relative to the viewer and follows a hand-over', () => {
    const room = duo();
    expect(snapshot(room, T0, 'h').is_creator).toBe(true);
    expect(snapshot(room, T0, 'b').is_creator).toBe(false);
    expect(snapshot(room, T0, null).is_creator).toBe(false);
    expect(snapshot(room, T0, 'stranger').is_creator).toBe(false);
    const handed = ok(leave(room, 'h', 'left', at(5_000)));
    expect(snapshot(handed, at(5_000), 'b')).toMatchObject({ is_creator: true, host_id: 'b' });
  });

  it('active: ends_at and time_left_ms; paused: ends_at null, time_left_ms = remaining', () => {
    const active = ok(start(duo(), 'h', at(2_000)));
    expect(snapshot(active, at(10_000), 'b')).toMatchObject({
      status: 'active', started_at: at(2_000), ends_at: at(2_000 + D), time_left_ms: D - 8_000, server_now: at(10_000), seq: 3,
    });
    const paused = ok(pause(active, 'h', at(10_000)));
    expect(snapshot(paused, at(50_000), 'b')).toMatchObject({ status: 'paused', ends_at: null, time_left_ms: D - 8_000, seq: 4 });
  });

  it('shows connected:false for a dropped participant and statuses as they are', () => {
    let r = ok(start(duo(), 'h', T0));
    r = ok(updateStatus(r, 'b', 'paused', at(1_000)));
    r = ok(disconnect(r, 'b', 'sock-b', at(2_000)));
    expect(snapshot(r, at(2_000), 'h').participants[1]).toEqual({ id: 'b', user_name: 'user-b', status: 'paused', joined_at: at(1_000), connected: false, intention: null, recap: null });
  });

  it('never contains token hashes, socket ids or other server-only fields', () => {
    let r = ok(start(ok(join(duo(), { ...person('c'), user_sub: 'sub-c' }, at(1_500))), 'h', at(2_000)));
    r = ok(addTask(r, 'c', 'task-1', 'Write tests', at(3_000)));
    const snap = snapshot(r, at(3_000), 'c');
    const json = JSON.stringify(snap);
    for (const secret of ['token_hash', 'hash-', 'socket_id', 'sock-', 'user_sub', 'sub-c', 'focus_since', 'focused_ms', 'disconnected_at', 'grace_ms', 'ttl_ms', '"log"']) {
      expect(json).not.toContain(secret);
    }
    for (const p of snap.participants) expect(Object.keys(p).sort()).toEqual(['connected', 'id', 'intention', 'joined_at', 'recap', 'status', 'user_name']);
  });

  it('tasks are copies: editing the snapshot does not touch the room', () => {
    const r = ok(addTask(duo(), 'b', 'task-1', 'Read', at(3_000)));
    const snap = snapshot(r, at(3_000), 'b');
    expect(snap.tasks).toEqual([{ id: 'task-1', title: 'Read', done: false, created_by: 'b', created_at: at(3_000) }]);
    snap.tasks[0]!.title = 'changed';
    snap.participants[0]!.user_name = 'changed';
    expect(r.tasks[0]!.title).toBe('Read');
    expect(r.participants[0]!.user_name).toBe('user-h');
  });
});

describe('results and roomTimer', () => {
  it('results list every participant with status, focused_ms and pauses', () => {
    let r = ok(start(duo(), 'h', T0));
    r = ok(updateStatus(r, 'b', 'paused', at(7_000)));
    expect(results(r)).toEqual([
      { participant_id: 'h', user_name: 'user-h', status: 'focusing', focused_ms: 0, pauses: 0 },
      { participant_id: 'b', user_name: 'user-b', status: 'paused', focused_ms: 7_000, pauses: 1 },
    ]);
  });

  it('roomTimer exposes ends_at only while active', () => {
    const waiting = duo();
    expect(roomTimer(waiting)).toEqual({ room_code: 'ABC234', status: 'waiting', ends_at: null, phase_duration: D, phase: 'focus', round: 1 });
    const active = ok(start(waiting, 'h', T0));
    expect(roomTimer(active)).toEqual({ room_code: 'ABC234', status: 'active', ends_at: at(D), phase_duration: D, phase: 'focus', round: 1 });
    expect(roomTimer(ok(pause(active, 'h', at(1))))).toMatchObject({ status: 'paused', ends_at: null });
  });
});
