/**
 * The Web Push rules of the domain (domain/push-notices.ts, deadlines.ts, outbox-entries.ts)
 * with a fake clock: a booked room's reminder is a deadline of its own, runs once, moves
 * with the start, and becomes one outbox notice naming every identity; starts, phase
 * changes and completions name only the identities without a connected seat.
 */
import { describe, expect, it } from 'vitest';
import { start } from '../../src/domain/countdown.js';
import { nextDeadline, runDue } from '../../src/domain/deadlines.js';
import { createRoom, disconnect, join } from '../../src/domain/membership.js';
import { outboxEntries } from '../../src/domain/outbox-entries.js';
import { reminderAt } from '../../src/domain/push-notices.js';
import type { Room } from '../../src/domain/room-state.js';
import { at, DEFAULT_SETTINGS, ok, person, T0 } from './fixtures.js';

const LEAD = 300_000;
const PUSH = new Set(['push.notice'] as const);
const booked = (startsIn: number, lead = LEAD): Room =>
  createRoom(
    { id: 'room-1', code: 'ABC234', host: { ...person('h'), identity: 'key:h' }, settings: { ...DEFAULT_SETTINGS }, grace_ms: 60_000, ttl_ms: 7_200_000, starts_at: at(startsIn), title: 'Write', remind_lead_ms: lead },
    T0,
  );

describe('reminders', () => {
  it('are due at starts_at − lead, run once, and become one notice for every identity', () => {
    let room = ok(join(booked(3_600_000), { ...person('g'), identity: 'key:g', connected: false }, at(1)));
    expect(reminderAt(room)).toBe(at(3_600_000 - LEAD));
    expect(nextDeadline(room)).toBe(at(3_600_000 - LEAD));
    expect(runDue(room, at(3_600_000 - LEAD - 1)).changed).toBe(false);
    const due = runDue(room, at(3_600_000 - LEAD));
    expect(due.events).toEqual([]);
    const entries = outboxEntries(room, due, PUSH);
    expect(entries).toEqual([
      {
        id: 'room-1.reminder.' + at(3_600_000),
        type: 'push.notice',
        at: expect.any(Number),
        data: { room_id: 'room-1', room_code: 'ABC234', type: 'reminder', title: 'Write', starts_at: at(3_600_000), ends_at: null, phase: 'focus', round: 1, identities: ['key:h', 'key:g'], expires_at: at(3_600_000) },
      },
    ]);
    room = ok(due);
    expect(reminderAt(room)).toBeNull();
    expect(nextDeadline(room)).toBe(at(3_600_000));
    expect(runDue(room, at(3_600_000 - LEAD + 10)).changed).toBe(false);
  });

  it('none when push is off (lead 0), or when booked closer to the start than the lead', () => {
    expect(reminderAt(booked(3_600_000, 0))).toBeNull();
    expect(reminderAt(booked(LEAD - 1))).toBeNull();
    expect(nextDeadline(booked(LEAD - 1))).toBe(at(LEAD - 1));
  });

  it('a start that is due first starts the room instead: no late reminder', () => {
    const room = booked(3_600_000);
    const late = runDue(room, at(3_600_000));
    expect(late.events.map((e) => e.event)).toContain('session_started');
    expect(outboxEntries(room, late, PUSH).map((e) => (e.type === 'push.notice' ? e.data.type : null))).not.toContain('reminder');
  });

  it('nothing is queued for the push group unless it is a reader', () => {
    const room = booked(3_600_000);
    expect(outboxEntries(room, runDue(room, at(3_600_000 - LEAD)), new Set(['session.started'] as const))).toEqual([]);
  });
});

describe('room notices', () => {
  it('name only the identities with no connected seat; anonymous seats are nobody', () => {
    // A grace longer than the round: the away seat is still there at the completion.
    let room = createRoom({ id: 'room-1', code: 'ABC234', host: { ...person('h'), identity: 'key:h' }, settings: { ...DEFAULT_SETTINGS }, grace_ms: 600_000, ttl_ms: 7_200_000 }, T0);
    room = ok(join(room, { ...person('a'), identity: 'key:a' }, at(1)));
    room = ok(join(room, person('anon'), at(2)));
    room = ok(disconnect(room, 'a', 'sock-a', at(3)));
    room = ok(disconnect(room, 'anon', 'sock-anon', at(3)));
    const started = start(room, 'h', at(10));
    const [notice] = outboxEntries(room, started, PUSH);
    expect(notice).toMatchObject({ id: `room-1.${ok(started).seq}.push`, data: { type: 'session_started', identities: ['key:a'], ends_at: at(60_010), expires_at: at(60_010) } });
    const done = runDue(ok(started), at(60_010));
    const [completed] = outboxEntries(ok(started), done, PUSH);
    expect(completed).toMatchObject({ data: { type: 'session_completed', identities: ['key:a'], ends_at: null, expires_at: at(60_010 + 600_000) } });
  });
});
