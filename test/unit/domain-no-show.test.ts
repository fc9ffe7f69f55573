/**
 * No-shows with an injected clock: who is a no-show when the grace ends,
 * the host hand-over, the room nobody attended, the grace capped at the first focus
 * phase, and the attendance record that goes to the outbox.
 */
import { describe, expect, it } from 'vitest';
import { start, updateStatus } from '../../src/domain/countdown.js';
import { nextDeadline, runDue } from '../../src/domain/deadlines.js';
import { createRoom, disconnect, join, reconnect } from '../../src/domain/membership.js';
import { outboxEntries } from '../../src/domain/outbox-entries.js';
import type { Room } from '../../src/domain/room-state.js';
import { webhookBody } from '../../src/webhooks/webhook-payload.js';
import { codeOf, DEFAULT_SETTINGS, ok, person, T0 } from './fixtures.js';

const STARTS = T0 + 3_600_000;
const GRACE = 300_000;
const FOCUS = 25 * 60_000;

/** A room booked for STARTS: host h connected, b and c booked without a socket. */
function booked(settings: Partial<typeof DEFAULT_SETTINGS> = {}): Room {
  let r = createRoom(
    { id: 'room-1', code: 'ABC234', host: person('h'), settings: { ...DEFAULT_SETTINGS, session_duration: FOCUS, ...settings }, grace_ms: 60_000, ttl_ms: 7_200_000, starts_at: STARTS, no_show_grace_ms: GRACE },
    T0,
  );
  r = ok(join(r, { ...person('b'), connected: false, identity: 'key:b' }, T0 + 10));
  r = ok(join(r, { ...person('c'), connected: false }, T0 + 20));
  return r;
}

const started = (r: Room) => ok(runDue(r, STARTS));

describe('no-show check', () => {
  it('a start processed later than the grace is still anchored at starts_at, and the check is decided in the same step', () => {
    // b connected while the start was late; c never came.
    const r = ok(reconnect(booked(), 'b', 'sock-b2', STARTS + GRACE + 5_000));
    const o = runDue(r, STARTS + GRACE + 10_000);
    const room = ok(o);
    expect(room).toMatchObject({ status: 'active', started_at: STARTS, ends_at: STARTS + FOCUS, no_show_at: null });
    expect(o.events.map((e) => [e.event, e.data.participant_id ?? null])).toEqual([
      ['session_started', null],
      ['participant_status_updated', 'c'],
    ]);
    expect(o.attendance![0]).toMatchObject({ starts_at: STARTS, run_started_at: STARTS, decided_at: STARTS + GRACE });
    expect(o.attendance![0]!.seats.map((x) => [x.participant_id, x.attended])).toEqual([
      ['h', true],
      ['b', true],
      ['c', false],
    ]);
    expect(nextDeadline(room)).toBe(STARTS + FOCUS);
  });

  it('arms at the scheduled start and runs at starts_at + grace', () => {
    const r = started(booked());
    expect(r.status).toBe('active');
    expect(r.no_show_at).toBe(STARTS + GRACE);
    expect(nextDeadline(r)).toBe(STARTS + GRACE);
    expect(runDue(r, STARTS + GRACE - 1).changed).toBe(false);
  });

  it('seats never connected in the grace are no_show (no focus); one who came in time is not', () => {
    let r = started(booked());
    r = ok(reconnect(r, 'b', 'sock-b2', STARTS + GRACE - 1));
    const o = runDue(r, STARTS + GRACE);
    const room = ok(o);
    expect(room.participants.map((p) => [p.id, p.status])).toEqual([
      ['h', 'focusing'],
      ['b', 'focusing'],
      ['c', 'no_show'],
    ]);
    expect(o.events.map((e) => [e.event, e.data.participant_id ?? null])).toEqual([['participant_status_updated', 'c']]);
    expect(o.events[0]!.data).toMatchObject({ status: 'no_show' });
    expect(room.no_show_at).toBeNull();
    expect(o.attendance).toEqual([
      {
        room_id: 'room-1',
        room_code: 'ABC234',
        title: null,
        starts_at: STARTS,
        run_started_at: STARTS,
        decided_at: STARTS + GRACE,
        seats: [
          { participant_id: 'h', identity: null, user_name: 'user-h', attended: true },
          { participant_id: 'b', identity: 'key:b', user_name: 'user-b', attended: true },
          { participant_id: 'c', identity: null, user_name: 'user-c', attended: false },
        ],
      },
    ]);
    // The round's results keep no_show with no focus; a no-show cannot start focusing later.
    expect(codeOf(() => updateStatus(room, 'c', 'focusing', STARTS + GRACE + 1))).toBe('invalid_state');
    const done = runDue(room, STARTS + FOCUS);
    expect(done.records![0]!.results.map((x) => [x.participant_id, x.status, x.focused_ms])).toEqual([
      ['h', 'completed', FOCUS],
      ['b', 'completed', FOCUS],
      ['c', 'no_show', 0],
    ]);
  });

  it('a socket that was connected and left before the start is not present', () => {
    let r = booked();
    r = ok(reconnect(r, 'b', 'sock-b', T0 + 100));
    r = ok(disconnect(r, 'b', 'sock-b', T0 + 200));
    r = ok(runDue(started(r), STARTS + GRACE));
    expect(r.participants.find((p) => p.id === 'b')!.status).toBe('no_show');
  });

  it('a no-show host passes the host to the participant present longest', () => {
    let r = booked();
    r = ok(disconnect(r, 'h', 'sock-h', T0 + 30));
    r = started(r);
    r = ok(reconnect(r, 'c', 'sock-c', STARTS + 1_000));
    r = ok(reconnect(r, 'b', 'sock-b', STARTS + 2_000));
    const o = runDue(r, STARTS + GRACE);
    // b joined before c: join order is presence order.
    expect(o.events.map((e) => e.event)).toEqual(['participant_status_updated', 'creator_changed']);
    expect(o.events[1]!.data).toEqual({ new_creator_id: 'b' });
    expect(ok(o).host_id).toBe('b');
  });

  it('a booked room nobody attended closes with room_closed no_show and writes no round', () => {
    let r = booked();
    r = ok(disconnect(r, 'h', 'sock-h', T0 + 30));
    const o = runDue(started(r), STARTS + FOCUS + 10);
    expect(o.room).toBeNull();
    expect(o.events.map((e) => [e.event, e.data.reason])).toEqual([['room_closed', 'no_show']]);
    expect(o.records).toBeUndefined();
    expect(o.attendance![0]!.seats.every((s) => !s.attended)).toBe(true);
    const entries = outboxEntries(r, o, new Set(['round.completed', 'attendance.recorded']));
    expect(entries.map((e) => [e.type, e.id])).toEqual([['attendance.recorded', `room-1.attendance.${STARTS}`]]);
    const body = webhookBody(entries[0]!);
    expect(body.type).toBe('session.attendance');
    expect(JSON.stringify(body)).not.toContain('key:b');
  });

  it('the grace never passes the first focus phase: decided before that round completes', () => {
    const r = started(booked({ session_duration: 60_000 }));
    expect(r.no_show_at).toBe(STARTS + 60_000);
    const o = runDue(r, STARTS + 60_000);
    expect(o.records![0]!.results.map((x) => x.status)).toEqual(['completed', 'no_show', 'no_show']);
  });

  it('an early start by the host counts from that start; unscheduled rooms and restarts have no check', () => {
    const early = ok(start(booked(), 'h', T0 + 1_000));
    expect(early.no_show_at).toBe(T0 + 1_000 + GRACE);
    const plain = createRoom({ id: 'r2', code: 'ABC235', host: person('h'), settings: DEFAULT_SETTINGS, grace_ms: 60_000, ttl_ms: 7_200_000 }, T0);
    expect(ok(start(plain, 'h', T0 + 1)).no_show_at).toBeNull();
    const done = ok(runDue(ok(runDue(started(booked()), STARTS + GRACE)), STARTS + FOCUS));
    expect(done.status).toBe('completed');
    expect(ok(start(done, 'h', STARTS + FOCUS + 1)).no_show_at).toBeNull();
  });

  it('a no-show still away is not focusing in the next pomodoro round; back by then, they are', () => {
    let r = started(booked({ rounds: 2, break_duration: 60_000 }));
    r = ok(runDue(r, STARTS + GRACE));
    r = ok(reconnect(r, 'b', 'sock-b', STARTS + GRACE + 5));
    r = ok(runDue(r, STARTS + FOCUS + 60_000));
    expect(r.participants.map((p) => p.status)).toEqual(['focusing', 'focusing', 'no_show']);
  });
});
