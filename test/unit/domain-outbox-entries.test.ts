/**
 * What a change puts in the outbox: one round record per completed focus round (with
 * the round's own focus and pauses, its identity, deterministic ids), the webhook events,
 * and nothing for types no reader takes. Pure, with an injected clock.
 */
import { describe, expect, it } from 'vitest';
import { start, updateStatus } from '../../src/domain/countdown.js';
import { runDue } from '../../src/domain/deadlines.js';
import { join, leave } from '../../src/domain/membership.js';
import { OUTBOX_ENTRY_TYPES, outboxEntries } from '../../src/domain/outbox-entries.js';
import { at, hostedRoom, ok, person } from './fixtures.js';

const ALL = new Set(OUTBOX_ENTRY_TYPES);

describe('outboxEntries', () => {
  it('a pomodoro of 2 rounds: one record per focus round, each with its own focus and pauses', () => {
    let room = ok(join(hostedRoom({ settings: { session_duration: 60_000, rounds: 2, break_duration: 10_000 } }), { ...person('g'), identity: 'key:abc' }, at(0)));
    room = ok(start(room, 'h', at(1_000)));
    room = ok(updateStatus(room, 'g', 'paused', at(31_000))); // g focused 30 s in round 1, one pause
    const first = runDue(room, at(61_000));
    const [r1] = outboxEntries(room, first, ALL).filter((e) => e.type === 'round.completed');
    expect(r1).toMatchObject({ id: `room-1.${first.events.find((e) => e.event === 'session_completed')!.seq}`, type: 'round.completed', at: at(61_000) });
    expect(r1!.data).toMatchObject({ room_id: 'room-1', room_code: 'ABC234', round: 1, run_started_at: at(1_000), started_at: at(1_000), ended_at: at(61_000), planned_ms: 60_000 });
    expect(r1!.data.results).toEqual([
      { participant_id: 'h', identity: null, intention: null, user_name: 'user-h', status: 'completed', focused_ms: 60_000, pauses: 0 },
      { participant_id: 'g', identity: 'key:abc', intention: null, user_name: 'user-g', status: 'paused', focused_ms: 30_000, pauses: 1 },
    ]);
    // Break, then round 2 starts at the break's end and completes 60 s later.
    room = ok(first);
    const second = runDue(room, at(131_000));
    const records = outboxEntries(room, second, ALL).filter((e) => e.type === 'round.completed');
    expect(records).toHaveLength(1);
    expect(records[0]!.data).toMatchObject({ round: 2, started_at: at(71_000), ended_at: at(131_000) });
    expect(records[0]!.data.results.map((r) => [r.participant_id, r.focused_ms, r.pauses])).toEqual([
      ['h', 60_000, 0],
      ['g', 60_000, 0],
    ]);
    const started = outboxEntries(room, second, ALL).filter((e) => e.type === 'session.started');
    expect(started.map((e) => e.data.round)).toEqual([2]);
  });

  it('joins, leaves and the host’s start become webhook entries; nothing for types no reader takes', () => {
    const room = hostedRoom();
    const joined = join(room, person('g'), at(0));
    expect(outboxEntries(room, joined, ALL)).toEqual([
      { id: `room-1.${joined.events[0]!.seq}`, type: 'participant.joined', at: at(0), data: { room_id: 'room-1', room_code: 'ABC234', participant_id: 'g', user_name: 'user-g' } },
    ]);
    const started = start(ok(joined), 'h', at(5));
    expect(outboxEntries(ok(joined), started, ALL).map((e) => [e.type, (e.data as { round?: number }).round])).toEqual([['session.started', 1]]);
    const left = leave(ok(started), 'g', 'left', at(9));
    expect(outboxEntries(ok(started), left, ALL).map((e) => [e.type, (e.data as { reason?: string }).reason])).toEqual([['participant.left', 'left']]);
    expect(outboxEntries(room, joined, new Set(['round.completed']))).toEqual([]);
    expect(outboxEntries(room, joined, new Set())).toEqual([]);
  });
});
