/**
 * Deadlines: completion at ends_at (exactly once), grace expiry, room expiry, nextDeadline.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/clock.js';
import { pause, resumeTimer, start, updateStatus } from '../../src/domain/countdown.js';
import { expiresAt, nextDeadline, runDue } from '../../src/domain/deadlines.js';
import { disconnect, reconnect } from '../../src/domain/membership.js';
import type { Room } from '../../src/domain/room-state.js';
import { at, hostedRoom, ok, T0, withJoined } from './fixtures.js';

const D = 60_000;
const GRACE = 30_000;
const TTL = 7_200_000;
function trio(ttl_ms = TTL, duration = D): Room {
  return withJoined(hostedRoom({ settings: { session_duration: duration }, grace_ms: GRACE, ttl_ms }), [
    ['b', T0],
    ['c', T0],
  ]);
}

describe('completion via runDue', () => {
  it('does nothing before ends_at', () => {
    const active = ok(start(trio(), 'h', T0));
    for (const now of [T0, at(1), at(D - 1)]) {
      const o = runDue(active, now);
      expect(o).toEqual({ room: active, events: [], result: undefined, changed: false });
      expect(o.room).toBe(active);
    }
  });

  it('at ends_at: completed, completed_at = ends_at, one session_completed with results', () => {
    let r = ok(start(trio(), 'h', T0));
    r = ok(updateStatus(r, 'b', 'failed', at(20_000)));
    r = ok(updateStatus(r, 'c', 'paused', at(45_000)));
    const o = runDue(r, at(D));
    const done = ok(o);
    expect(done).toMatchObject({ status: 'completed', completed_at: at(D), started_at: T0, seq: r.seq + 1, updated_at: at(D) });
    expect(o.events).toEqual([
      {
        seq: r.seq + 1,
        event: 'session_completed',
        data: {
          results: [
            { participant_id: 'h', user_name: 'user-h', status: 'completed', focused_ms: 60_000, pauses: 0 },
            { participant_id: 'b', user_name: 'user-b', status: 'failed', focused_ms: 20_000, pauses: 0 },
            { participant_id: 'c', user_name: 'user-c', status: 'paused', focused_ms: 45_000, pauses: 1 },
          ],
          phase: 'focus',
          round: 1,
          final: true,
        },
      },
    ]);
    expect(done.participants.every((p) => p.focus_since === null)).toBe(true);
  });

  it('fires exactly once: running runDue again yields no events', () => {
    const active = ok(start(trio(), 'h', T0));
    const first = ok(runDue(active, at(D)));
    for (const now of [at(D), at(D + 1), at(D + 3_600_000)]) {
      const again = runDue(first, now);
      expect(again.events).toEqual([]);
      expect(again.changed).toBe(false);
      expect(again.room).toBe(first);
    }
  });

  it('counts focus to ends_at exactly even when runDue runs late', () => {
    const clock = new ManualClock(T0);
    const active = ok(start(trio(), 'h', clock.now()));
    clock.advance(D + 4_321);
    const o = runDue(active, clock.now());
    const done = ok(o);
    expect(done.completed_at).toBe(at(D));
    expect(done.updated_at).toBe(at(D + 4_321));
    expect(done.participants.map((p) => [p.status, p.focused_ms])).toEqual([
      ['completed', D],
      ['completed', D],
      ['completed', D],
    ]);
  });

  it('a room-wide paused room never completes, whatever the time', () => {
    const paused = ok(pause(ok(start(trio(), 'h', T0)), 'h', at(10_000)));
    const o = runDue(paused, at(D + 10_000));
    expect(o.events).toEqual([]);
    expect(o.changed).toBe(false);
    const resumed = ok(resumeTimer(paused, 'h', at(100_000)));
    expect(runDue(resumed, at(149_999)).events).toEqual([]);
    expect(ok(runDue(resumed, at(150_000))).completed_at).toBe(at(150_000));
  });

  it('completion and grace timeouts due together come out in order: completed, then left', () => {
    let r = ok(start(trio(), 'h', T0));
    r = ok(disconnect(r, 'c', 'sock-c', at(D - 10_000)));
    const o = runDue(r, at(D + GRACE));
    expect(o.events.map((e) => [e.seq, e.event])).toEqual([
      [r.seq + 1, 'session_completed'],
      [r.seq + 2, 'participant_left'],
    ]);
    expect(o.events[1]!.data).toEqual({ participant_id: 'c', reason: 'timeout' });
    // c was still focusing while disconnected, until the end.
    expect((o.events[0]!.data['results'] as Array<{ focused_ms: number }>)[2]!.focused_ms).toBe(D);
  });
});

describe('nextDeadline and expiry', () => {
  it('waiting room: expires ttl after its last change', () => {
    const room = trio();
    expect(expiresAt(room)).toBe(T0 + TTL);
    expect(nextDeadline(room)).toBe(T0 + TTL);
  });

  it('active room: ends_at comes first', () => {
    const active = ok(start(trio(), 'h', at(5_000)));
    expect(nextDeadline(active)).toBe(at(5_000 + D));
  });

  it('the earliest disconnected_at + grace wins when it is before ends_at', () => {
    let r = ok(start(trio(TTL, 600_000), 'h', T0));
    r = ok(disconnect(r, 'b', 'sock-b', at(10_000)));
    r = ok(disconnect(r, 'c', 'sock-c', at(20_000)));
    expect(nextDeadline(r)).toBe(at(10_000 + GRACE));
    r = ok(reconnect(r, 'b', 'sock-b2', at(21_000)));
    expect(nextDeadline(r)).toBe(at(20_000 + GRACE));
    r = ok(reconnect(r, 'c', 'sock-c2', at(22_000)));
    expect(nextDeadline(r)).toBe(at(600_000));
  });

  it('paused room: no ends_at deadline, only expiry and grace', () => {
    const paused = ok(pause(ok(start(trio(), 'h', T0)), 'h', at(10_000)));
    expect(nextDeadline(paused)).toBe(at(10_000) + TTL);
    const down = ok(disconnect(paused, 'b', 'sock-b', at(11_000)));
    expect(nextDeadline(down)).toBe(at(11_000 + GRACE));
  });

  it('expiresAt is never before a running countdown ends', () => {
    const ttl = 1_000;
    const active = ok(start(trio(ttl, 4 * 3_600_000), 'h', at(5_000)));
    const endsAt = at(5_000 + 4 * 3_600_000);
    expect(expiresAt(active)).toBe(endsAt + ttl);
    expect(nextDeadline(active)).toBe(endsAt);
    const o = runDue(active, endsAt);
    expect(o.events.map((e) => e.event)).toEqual(['session_completed']);
    expect(o.room).not.toBeNull();
  });

  it('runDue before expiry changes nothing; at expiry it emits room_closed and deletes the room', () => {
    const room = trio();
    expect(runDue(room, T0 + TTL - 1).changed).toBe(false);
    const o = runDue(room, T0 + TTL);
    expect(o.room).toBeNull();
    expect(o.changed).toBe(true);
    expect(o.events).toEqual([{ seq: room.seq + 1, event: 'room_closed', data: { room_code: 'ABC234', reason: 'expired' } }]);
  });

  it('an active room found long past expiry completes first, then closes', () => {
    const active = ok(start(trio(1_000), 'h', T0));
    const o = runDue(active, at(D + 1_000));
    expect(o.room).toBeNull();
    expect(o.events.map((e) => [e.seq, e.event])).toEqual([
      [active.seq + 1, 'session_completed'],
      [active.seq + 2, 'room_closed'],
    ]);
  });

  it('a completed room expires ttl after completion ran', () => {
    const done = ok(runDue(ok(start(trio(), 'h', T0)), at(D + 500)));
    expect(nextDeadline(done)).toBe(at(D + 500) + TTL);
  });
});
