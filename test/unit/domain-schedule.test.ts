/**
 * Scheduled sessions with an injected clock: starts_at rules, windows and overlap edges,
 * the scheduled start (once, at starts_at), booking lifetime, reschedule.
 */
import { describe, expect, it } from 'vitest';
import { start, updateSettings } from '../../src/domain/countdown.js';
import { expiresAt, nextDeadline, runDue } from '../../src/domain/deadlines.js';
import { createRoom, disconnect, join, leave } from '../../src/domain/membership.js';
import type { Room } from '../../src/domain/room-state.js';
import { checkStartsAt, overlaps, plannedLength, seatExpiresAt, windowOf } from '../../src/domain/schedule.js';
import { at, codeOf, DEFAULT_SETTINGS, ok, person, T0 } from './fixtures.js';

const DAY = 24 * 60 * 60 * 1000;
const GRACE = 30_000;
const TTL = 600_000;
const S = at(3_600_000); // an hour after T0

function booked(startsAt = S, settings = {}): Room {
  return createRoom(
    { id: 'room-1', code: 'ABC234', host: person('h'), settings: { ...DEFAULT_SETTINGS, ...settings }, grace_ms: GRACE, ttl_ms: TTL, starts_at: startsAt, title: 'Deep work' },
    T0,
  );
}

describe('starts_at rules', () => {
  it('must be later than now and at most 30 days ahead (both edges)', () => {
    expect(codeOf(() => checkStartsAt(T0, T0))).toBe('invalid_payload');
    expect(codeOf(() => checkStartsAt(T0 - 1, T0))).toBe('invalid_payload');
    expect(codeOf(() => checkStartsAt(T0 + 1, T0))).toBeUndefined();
    expect(codeOf(() => checkStartsAt(T0 + 30 * DAY, T0))).toBeUndefined();
    expect(codeOf(() => checkStartsAt(T0 + 30 * DAY + 1, T0))).toBe('invalid_payload');
  });
});

describe('windows', () => {
  it('planned length = rounds × focus + (rounds − 1) × break', () => {
    expect(plannedLength({ session_duration: 1_500_000, rounds: 1, break_duration: 300_000 })).toBe(1_500_000);
    expect(plannedLength({ session_duration: 1_500_000, rounds: 4, break_duration: 300_000 })).toBe(4 * 1_500_000 + 3 * 300_000);
  });

  it('starts at starts_at, else started_at, else now; none once completed', () => {
    const r = booked(S, { session_duration: 60_000, rounds: 2, break_duration: 10_000 });
    expect(windowOf(r, T0)).toEqual({ start: S, end: S + 130_000 });
    const unscheduled = ok(updateSettings(r, 'h', { starts_at: null }, at(5)));
    expect(windowOf(unscheduled, at(10))).toEqual({ start: at(10), end: at(10) + 130_000 });
    const running = ok(start(r, 'h', at(20)));
    expect(windowOf(running, at(50))).toEqual({ start: at(20), end: at(20) + 130_000 });
    const done = ok(runDue(running, at(20) + 130_000));
    expect(done.status).toBe('completed');
    expect(windowOf(done, at(20) + 130_000)).toBeNull();
  });

  it('half-open: touching windows do not overlap, one ms more does', () => {
    const a = { start: 1_000, end: 2_000 };
    expect(overlaps(a, { start: 2_000, end: 3_000 })).toBe(false);
    expect(overlaps({ start: 0, end: 1_000 }, a)).toBe(false);
    expect(overlaps(a, { start: 1_999, end: 3_000 })).toBe(true);
    expect(overlaps({ start: 0, end: 1_001 }, a)).toBe(true);
    expect(overlaps(a, { start: 1_200, end: 1_300 })).toBe(true);
    expect(overlaps(a, a)).toBe(true);
  });
});

describe('the scheduled start', () => {
  it('is the next deadline, and runDue at starts_at starts the room exactly as start_session', () => {
    const r = ok(join(booked(), person('b'), at(1)));
    expect(nextDeadline(r)).toBe(S);
    expect(runDue(r, S - 1).changed).toBe(false);
    const o = runDue(r, S);
    const started = ok(o);
    const byHost = ok(start(r, 'h', S));
    expect(started).toEqual(byHost);
    expect(o.events.map((e) => e.event)).toEqual(['session_started']);
    expect(started).toMatchObject({ status: 'active', started_at: S, ends_at: S + 60_000, starts_at: S, title: 'Deep work' });
    expect(started.participants.map((p) => p.status)).toEqual(['focusing', 'focusing']);
    // Once: a second run at the same time (another instance) changes nothing.
    expect(runDue(started, S).changed).toBe(false);
    expect(nextDeadline(started)).toBe(S + 60_000);
  });

  it('a late run is anchored at starts_at: the round ends at starts_at + length however late the start went out', () => {
    const r = ok(join(booked(S, { session_duration: 60_000, rounds: 2, break_duration: 10_000 }), person('b'), at(1)));
    // The same room started on time and 700 ms late (a busy second): the same countdown.
    const onTime = runDue(r, S);
    const late = runDue(r, S + 700);
    expect(ok(late)).toMatchObject({ started_at: S, ends_at: S + 60_000, round_started_at: S });
    expect(ok(late).participants.map((p) => p.focus_since)).toEqual([S, S]);
    expect(late.events).toEqual(onTime.events);
    // Focus is counted from starts_at: the round ends, and is recorded, at the booked time.
    const done = runDue(ok(late), S + 60_000);
    expect(done.events.map((e) => e.event)).toEqual(['session_completed', 'phase_changed']);
    expect(done.records![0]).toMatchObject({ started_at: S, ended_at: S + 60_000, run_started_at: S });
    expect(done.records![0]!.results.map((x) => x.focused_ms)).toEqual([60_000, 60_000]);
    // The window it runs in is the booked one.
    expect(windowOf(ok(late), S + 700)).toEqual(windowOf(r, S));
  });

  it('a start later than a whole phase runs the boundaries it missed in the same step, in order', () => {
    const r = booked(S, { session_duration: 60_000, rounds: 2, break_duration: 10_000 });
    const o = runDue(r, S + 65_000);
    expect(o.events.map((e) => e.event)).toEqual(['session_started', 'session_completed', 'phase_changed']);
    expect(ok(o)).toMatchObject({ status: 'active', phase: 'break', round: 1, ends_at: S + 70_000 });
    expect(o.records![0]).toMatchObject({ started_at: S, ended_at: S + 60_000 });
  });

  it('an early host start needs no scheduler, and runs from the moment the host started it', () => {
    const early = ok(start(booked(), 'h', at(10)));
    expect(early).toMatchObject({ started_at: at(10), ends_at: at(10) + 60_000 });
    // At starts_at the early countdown has long completed; nothing starts it again.
    expect(runDue(early, S).events.map((e) => e.event)).not.toContain('session_started');
  });

  it('reschedule moves the start; null unschedules; both broadcast settings_updated', () => {
    const r = booked();
    const moved = updateSettings(r, 'h', { starts_at: S + 60_000 }, at(5));
    expect(moved.events.map((e) => e.event)).toEqual(['settings_updated']);
    expect(nextDeadline(ok(moved))).toBe(S + 60_000);
    expect(runDue(ok(moved), S).changed).toBe(false);
    const off = ok(updateSettings(r, 'h', { starts_at: null }, at(5)));
    expect(off.starts_at).toBeNull();
    expect(nextDeadline(off)).toBe(expiresAt(off));
    expect(expiresAt(off)).toBe(at(5) + TTL);
  });

  it('reschedule validates like create, and only before the start', () => {
    const r = booked();
    expect(codeOf(() => updateSettings(r, 'h', { starts_at: at(5) }, at(5)))).toBe('invalid_payload');
    expect(codeOf(() => updateSettings(r, 'h', { starts_at: at(5) + 31 * DAY }, at(5)))).toBe('invalid_payload');
    expect(codeOf(() => updateSettings(ok(join(r, person('b'), T0)), 'b', { starts_at: S + 1 }, at(5)))).toBe('not_host');
    const running = ok(start(r, 'h', at(1)));
    expect(codeOf(() => updateSettings(running, 'h', { starts_at: S + 1 }, at(5)))).toBe('invalid_state');
  });
});

describe('booking lifetime', () => {
  it('a seat dropped before the start is kept until starts_at + grace, and through the no-show grace', () => {
    let r = ok(join(booked(), person('b'), at(1)));
    r = ok(disconnect(r, 'b', 'sock-b', at(10)));
    const b = r.participants.find((p) => p.id === 'b')!;
    expect(seatExpiresAt(r, b)).toBe(S + GRACE);
    // Far past its own grace, still booked.
    expect(runDue(r, at(10) + GRACE + 1).room!.participants).toHaveLength(2);
    // The start comes first (the booking is kept through it) ...
    const started = ok(runDue(r, S));
    expect(started.participants.find((p) => p.id === 'b')).toMatchObject({ connected: false, status: 'focusing' });
    // ... and past its grace after starts_at the seat waits for the no-show decision
    // (at most the first focus phase, here 60 s), where it becomes a no_show
    // and stays for the results.
    expect(runDue(started, S + GRACE).changed).toBe(false);
    const o = runDue(started, S + 60_000);
    expect(ok(o).participants.map((p) => [p.id, p.status])).toEqual([
      ['h', 'completed'],
      ['b', 'no_show'],
    ]);
    expect(o.events.map((e) => e.event)).toEqual(['participant_status_updated', 'session_completed']);
  });

  it('a seat dropped after the start keeps the ordinary grace', () => {
    let r = ok(runDue(ok(join(booked(), person('b'), at(1))), S));
    r = ok(disconnect(r, 'b', 'sock-b', S + 5_000));
    expect(seatExpiresAt(r, r.participants[1]!)).toBe(S + 5_000 + GRACE);
  });

  it('with grace 0 a booked seat of an identity still waits for the start', () => {
    const host = { ...person('h'), identity: 'key:h' };
    const r0 = createRoom({ id: 'r', code: 'ABC234', host, settings: DEFAULT_SETTINGS, grace_ms: 0, ttl_ms: TTL, starts_at: S }, T0);
    const r = ok(disconnect(r0, 'h', 'sock-h', at(5)));
    expect(r.participants[0]!.connected).toBe(false);
    expect(nextDeadline(r)).toBe(S);
  });

  it('a booked room nobody holds (no live socket, no identity seat) expires like an idle room', () => {
    // Anonymous host gone: the seat waits for the start, but nothing keeps the room past its TTL.
    const r = ok(disconnect(booked(at(20 * DAY)), 'h', 'sock-h', at(5)));
    expect(expiresAt(r)).toBe(at(5) + TTL);
    const o = runDue(r, at(5) + TTL);
    expect(o.room).toBeNull();
    expect(o.events.map((e) => e.event)).toContain('room_closed');
    // A REST booking seat (connected: false from the start) of an identity holds it.
    const rest = createRoom({ id: 'r', code: 'ABC234', host: { ...person('h'), connected: false, identity: 'key:h' }, settings: DEFAULT_SETTINGS, grace_ms: GRACE, ttl_ms: TTL, starts_at: at(20 * DAY) }, T0);
    expect(expiresAt(rest)).toBe(at(20 * DAY) + TTL);
    // The same without an identity does not.
    const anon = createRoom({ id: 'r', code: 'ABC234', host: { ...person('h'), connected: false }, settings: DEFAULT_SETTINGS, grace_ms: GRACE, ttl_ms: TTL, starts_at: at(20 * DAY) }, T0);
    expect(expiresAt(anon)).toBe(T0 + TTL);
  });

  it('an empty scheduled room expires after ROOM_TTL idle (not at starts_at + ROOM_TTL); its first newcomer hosts it', () => {
    const o = leave(booked(), 'h', 'left', at(5));
    const empty = ok(o);
    expect(empty.participants).toEqual([]);
    expect(o.events.map((e) => e.event)).toEqual(['participant_left']);
    expect(expiresAt(empty)).toBe(at(5) + TTL);
    const j = join(empty, person('c'), at(6));
    expect(ok(j).host_id).toBe('c');
    expect(j.events.map((e) => e.event)).toEqual(['participant_joined', 'creator_changed']);
    // Unscheduled, the last leave deletes the room as before.
    const plain = ok(updateSettings(booked(), 'h', { starts_at: null }, at(5)));
    expect(leave(plain, 'h', 'left', at(6)).room).toBeNull();
  });

  it('an idle booked room is not expired before starts_at + ttl', () => {
    const r = booked(at(DAY));
    expect(expiresAt(r)).toBe(at(DAY) + TTL);
    expect(runDue(r, at(TTL + 1)).changed).toBe(false);
  });
});
