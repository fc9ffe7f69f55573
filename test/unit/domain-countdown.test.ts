/**
 * Countdown rules: start, room-wide pause/resume arithmetic, settings. Injected `now`.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/clock.js';
import { pause, resumeTimer, start, updateSettings, updateStatus } from '../../src/domain/countdown.js';
import { runDue } from '../../src/domain/deadlines.js';
import { join } from '../../src/domain/membership.js';
import type { Room, RoomSettings } from '../../src/domain/room-state.js';
import { codeOf, hostedRoom, ok, person, T0, withJoined } from './fixtures.js';

const D = 60_000;
/** Host h plus b and c (joined at T0+1s, T0+2s); duration D. */
function trio(settings: Partial<RoomSettings> = {}): Room {
  return withJoined(hostedRoom({ settings: { session_duration: D, ...settings } }), [
    ['b', T0 + 1_000],
    ['c', T0 + 2_000],
  ]);
}

describe('start', () => {
  it('only the host starts; a stranger is not_in_session', () => {
    const room = trio();
    expect(codeOf(() => start(room, 'b', T0 + 5_000))).toBe('not_host');
    expect(codeOf(() => start(room, 'zz', T0 + 5_000))).toBe('not_in_session');
  });

  it('sets ends_at = now + duration, everyone focusing from now, and emits session_started', () => {
    const room = trio();
    const now = T0 + 5_123;
    const o = start(room, 'h', now);
    const r = ok(o);
    expect(r).toMatchObject({ status: 'active', started_at: now, ends_at: now + D, remaining_ms: null, completed_at: null, updated_at: now, seq: room.seq + 1 });
    expect(r.participants.map((p) => [p.id, p.status, p.focus_since, p.focused_ms, p.pauses])).toEqual([
      ['h', 'focusing', now, 0, 0],
      ['b', 'focusing', now, 0, 0],
      ['c', 'focusing', now, 0, 0],
    ]);
    expect(o.events).toEqual([{ seq: room.seq + 1, event: 'session_started', data: {} }]);
  });

  it('already_started while active or paused', () => {
    const active = ok(start(trio(), 'h', T0 + 5_000));
    expect(codeOf(() => start(active, 'h', T0 + 6_000))).toBe('already_started');
    const paused = ok(pause(active, 'h', T0 + 7_000));
    expect(codeOf(() => start(paused, 'h', T0 + 8_000))).toBe('already_started');
  });

  it('restart from completed resets statuses, focused_ms, pauses and completed_at', () => {
    let r = ok(start(trio(), 'h', T0 + 10_000));
    r = ok(updateStatus(r, 'b', 'paused', T0 + 20_000));
    r = ok(updateStatus(r, 'c', 'failed', T0 + 30_000));
    r = ok(runDue(r, T0 + 10_000 + D));
    expect(r.status).toBe('completed');
    expect(r.completed_at).toBe(T0 + 70_000);
    expect(r.participants.map((p) => [p.status, p.focused_ms, p.pauses])).toEqual([
      ['completed', 60_000, 0],
      ['paused', 10_000, 1],
      ['failed', 20_000, 0],
    ]);
    const again = ok(start(r, 'h', T0 + 100_000));
    expect(again).toMatchObject({ status: 'active', started_at: T0 + 100_000, ends_at: T0 + 100_000 + D, completed_at: null, remaining_ms: null });
    expect(again.participants.map((p) => [p.status, p.focused_ms, p.pauses, p.focus_since])).toEqual([
      ['focusing', 0, 0, T0 + 100_000],
      ['focusing', 0, 0, T0 + 100_000],
      ['focusing', 0, 0, T0 + 100_000],
    ]);
  });
});

describe('pause and resume', () => {
  it('pause stores remaining_ms = ends_at - now and clears ends_at; resume sets ends_at = now + remaining', () => {
    const clock = new ManualClock(T0);
    const active = ok(start(trio(), 'h', clock.now()));
    const p1 = pause(active, 'h', clock.advance(10_000));
    expect(p1.events).toEqual([{ seq: active.seq + 1, event: 'session_paused', data: {} }]);
    expect(ok(p1)).toMatchObject({ status: 'paused', remaining_ms: 50_000, ends_at: null, started_at: T0 });
    const r1 = resumeTimer(ok(p1), 'h', clock.advance(20_000));
    expect(r1.events).toEqual([{ seq: active.seq + 2, event: 'session_resumed', data: {} }]);
    expect(ok(r1)).toMatchObject({ status: 'active', ends_at: T0 + 80_000, remaining_ms: null, started_at: T0 });
    const p2 = ok(pause(ok(r1), 'h', clock.advance(15_000)));
    expect(p2.remaining_ms).toBe(35_000);
    const r2 = ok(resumeTimer(p2, 'h', clock.advance(55_000)));
    expect(r2.ends_at).toBe(T0 + 100_000 + 35_000);
  });

  it('pause accrues focus to the pause time and stops it; resume restarts it only for focusing participants', () => {
    let r = ok(start(trio(), 'h', T0));
    r = ok(updateStatus(r, 'b', 'paused', T0 + 4_000));
    r = ok(updateStatus(r, 'c', 'failed', T0 + 6_000));
    r = ok(pause(r, 'h', T0 + 10_000));
    expect(r.participants.map((p) => [p.id, p.status, p.focused_ms, p.focus_since])).toEqual([
      ['h', 'focusing', 10_000, null],
      ['b', 'paused', 4_000, null],
      ['c', 'failed', 6_000, null],
    ]);
    r = ok(resumeTimer(r, 'h', T0 + 30_000));
    expect(r.participants.map((p) => p.focus_since)).toEqual([T0 + 30_000, null, null]);
  });

  it('pause is invalid_state unless active; resume is invalid_state unless paused', () => {
    const waiting = trio();
    const active = ok(start(waiting, 'h', T0 + 1_000));
    const paused = ok(pause(active, 'h', T0 + 2_000));
    const completed = ok(runDue(active, T0 + 1_000 + D));
    expect(codeOf(() => pause(waiting, 'h', T0 + 3_000))).toBe('invalid_state');
    expect(codeOf(() => pause(paused, 'h', T0 + 3_000))).toBe('invalid_state');
    expect(codeOf(() => pause(completed, 'h', T0 + 99_000))).toBe('invalid_state');
    expect(codeOf(() => resumeTimer(waiting, 'h', T0 + 3_000))).toBe('invalid_state');
    expect(codeOf(() => resumeTimer(active, 'h', T0 + 3_000))).toBe('invalid_state');
    expect(codeOf(() => resumeTimer(completed, 'h', T0 + 99_000))).toBe('invalid_state');
  });

  it('pausing at or after ends_at (before completion ran) is invalid_state; 1 ms before is fine', () => {
    const active = ok(start(trio(), 'h', T0));
    expect(codeOf(() => pause(active, 'h', T0 + D))).toBe('invalid_state');
    expect(codeOf(() => pause(active, 'h', T0 + D + 5_000))).toBe('invalid_state');
    expect(ok(pause(active, 'h', T0 + D - 1)).remaining_ms).toBe(1);
  });

  it('pause and resume are host only', () => {
    const active = ok(start(trio(), 'h', T0));
    expect(codeOf(() => pause(active, 'b', T0 + 1))).toBe('not_host');
    expect(codeOf(() => pause(active, 'zz', T0 + 1))).toBe('not_in_session');
    const paused = ok(pause(active, 'h', T0 + 1));
    expect(codeOf(() => resumeTimer(paused, 'c', T0 + 2))).toBe('not_host');
  });
});

describe('updateSettings', () => {
  it('host only', () => {
    expect(codeOf(() => updateSettings(trio(), 'b', { session_duration: 5_000 }, T0 + 3_000))).toBe('not_host');
    expect(codeOf(() => updateSettings(trio(), 'zz', { session_duration: 5_000 }, T0 + 3_000))).toBe('not_in_session');
  });

  it('while waiting: applies only the given fields, emits settings_updated, and the next start uses them', () => {
    const room = trio();
    const o = updateSettings(room, 'h', { session_duration: 5_000 }, T0 + 3_000);
    expect(o.events).toEqual([{ seq: room.seq + 1, event: 'settings_updated', data: {} }]);
    expect(ok(o).settings).toEqual({ session_duration: 5_000, max_participants: 4, late_join: true, rounds: 1, break_duration: 300_000 });
    const o2 = ok(updateSettings(ok(o), 'h', { max_participants: 3, late_join: false }, T0 + 3_500));
    expect(o2.settings).toEqual({ session_duration: 5_000, max_participants: 3, late_join: false, rounds: 1, break_duration: 300_000 });
    expect(ok(start(o2, 'h', T0 + 4_000)).ends_at).toBe(T0 + 9_000);
  });

  it('allowed after completion, rejected while active or paused', () => {
    const active = ok(start(trio(), 'h', T0));
    expect(codeOf(() => updateSettings(active, 'h', { session_duration: 5_000 }, T0 + 1))).toBe('invalid_state');
    const paused = ok(pause(active, 'h', T0 + 2));
    expect(codeOf(() => updateSettings(paused, 'h', { session_duration: 5_000 }, T0 + 3))).toBe('invalid_state');
    const completed = ok(runDue(active, T0 + D));
    expect(ok(updateSettings(completed, 'h', { session_duration: 5_000 }, T0 + D + 1)).settings.session_duration).toBe(5_000);
  });

  it('max_participants below the current count is rejected; equal to it is fine', () => {
    const room = trio();
    expect(codeOf(() => updateSettings(room, 'h', { max_participants: 2 }, T0 + 3_000))).toBe('invalid_state');
    const three = ok(updateSettings(room, 'h', { max_participants: 3 }, T0 + 3_000));
    expect(three.settings.max_participants).toBe(3);
    expect(codeOf(() => join(three, person('d'), T0 + 4_000))).toBe('room_full');
  });
});
