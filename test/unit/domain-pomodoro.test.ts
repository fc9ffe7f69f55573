/** Pomodoro cycle: focus and break phases alternate, boundaries exactly at the previous ends_at. */
import { describe, expect, it } from 'vitest';
import { pause, resumeTimer, start, updateStatus } from '../../src/domain/countdown.js';
import { nextDeadline, runDue } from '../../src/domain/deadlines.js';
import type { Room } from '../../src/domain/room-state.js';
import { roomTimer, snapshot, timeLeft } from '../../src/domain/snapshot.js';
import { hostedRoom, ok, T0, withJoined } from './fixtures.js';

const FOCUS = 10_000;
const BREAK = 3_000;

function cycle(rounds = 2): Room {
  const room = hostedRoom({ settings: { session_duration: FOCUS, rounds, break_duration: BREAK }, ttl_ms: 3_600_000 });
  return ok(start(withJoined(room, [['b', T0]]), 'h', T0));
}

describe('pomodoro cycle', () => {
  it('focus → break → focus → completed, each boundary at the previous ends_at', () => {
    let r = cycle(2);
    expect(r).toMatchObject({ phase: 'focus', round: 1, ends_at: T0 + FOCUS });

    const firstEnd = runDue(r, T0 + FOCUS);
    r = ok(firstEnd);
    expect(firstEnd.events.map((e) => e.event)).toEqual(['session_completed', 'phase_changed']);
    expect(firstEnd.events[0]!.data).toMatchObject({ phase: 'focus', round: 1, final: false });
    expect(firstEnd.events[1]!.data).toEqual({ phase: 'break', round: 1, ends_at: T0 + FOCUS + BREAK });
    expect(r).toMatchObject({ status: 'active', phase: 'break', round: 1, ends_at: T0 + FOCUS + BREAK });
    expect(r.participants.map((p) => p.status)).toEqual(['completed', 'completed']);
    expect(roomTimer(r)).toMatchObject({ phase: 'break', phase_duration: BREAK, round: 1 });

    const breakEnd = runDue(r, T0 + FOCUS + BREAK);
    r = ok(breakEnd);
    expect(breakEnd.events.map((e) => e.event)).toEqual(['phase_changed', 'session_started']);
    expect(r).toMatchObject({ phase: 'focus', round: 2, ends_at: T0 + 2 * FOCUS + BREAK });
    expect(r.participants.map((p) => p.status)).toEqual(['focusing', 'focusing']);

    const last = runDue(r, T0 + 2 * FOCUS + BREAK);
    r = ok(last);
    expect(last.events.map((e) => e.event)).toEqual(['session_completed']);
    expect(last.events[0]!.data).toMatchObject({ phase: 'focus', round: 2, final: true });
    expect(r).toMatchObject({ status: 'completed', completed_at: T0 + 2 * FOCUS + BREAK });
    // Focus time counts focus phases only, across rounds.
    expect(r.participants.map((p) => p.focused_ms)).toEqual([2 * FOCUS, 2 * FOCUS]);
  });

  it('a late scheduler crosses several boundaries in one run, in order, without drift', () => {
    const r = cycle(3);
    const late = runDue(r, T0 + 3 * FOCUS + 2 * BREAK + 500);
    expect(late.events.map((e) => e.event)).toEqual([
      'session_completed', 'phase_changed', 'phase_changed', 'session_started',
      'session_completed', 'phase_changed', 'phase_changed', 'session_started',
      'session_completed',
    ]);
    const done = ok(late);
    expect(done).toMatchObject({ status: 'completed', round: 3, completed_at: T0 + 3 * FOCUS + 2 * BREAK });
    expect(done.participants.map((p) => p.focused_ms)).toEqual([3 * FOCUS, 3 * FOCUS]);
    // seq rose by exactly one per event.
    expect(late.events.map((e) => e.seq)).toEqual(late.events.map((_, i) => r.seq + 1 + i));
  });

  it('no focus time accrues during a break, even for someone who sets focusing', () => {
    let r = ok(runDue(cycle(2), T0 + FOCUS));
    r = ok(updateStatus(r, 'b', 'focusing', T0 + FOCUS + 1_000));
    r = ok(runDue(r, T0 + FOCUS + BREAK));
    expect(r.participants.find((p) => p.id === 'b')!.focused_ms).toBe(FOCUS);
  });

  it('a break can be paused and resumed; time left is the break’s', () => {
    let r = ok(runDue(cycle(2), T0 + FOCUS));
    r = ok(pause(r, 'h', T0 + FOCUS + 1_000));
    expect(timeLeft(r, T0 + FOCUS + 60_000)).toBe(BREAK - 1_000);
    r = ok(resumeTimer(r, 'h', T0 + FOCUS + 10_000));
    expect(r).toMatchObject({ phase: 'break', ends_at: T0 + FOCUS + 10_000 + BREAK - 1_000 });
    expect(nextDeadline(r)).toBe(r.ends_at);
  });

  it('failed participants stay failed through later rounds', () => {
    let r = ok(updateStatus(cycle(2), 'b', 'failed', T0 + 1_000));
    r = ok(runDue(r, T0 + FOCUS + BREAK));
    expect(r.participants.map((p) => p.status)).toEqual(['focusing', 'failed']);
  });

  it('snapshot shows phase, round, rounds and break_duration', () => {
    const r = ok(runDue(cycle(2), T0 + FOCUS));
    expect(snapshot(r, T0 + FOCUS + 1_000, 'h')).toMatchObject({ phase: 'break', round: 1, rounds: 2, break_duration: BREAK, time_left_ms: BREAK - 1_000 });
  });

  it('restarting a completed cycle begins again at round 1', () => {
    const done = ok(runDue(cycle(2), T0 + 2 * FOCUS + BREAK));
    const again = ok(start(done, 'h', T0 + 100_000));
    expect(again).toMatchObject({ status: 'active', phase: 'focus', round: 1, ends_at: T0 + 100_000 + FOCUS });
  });
});
