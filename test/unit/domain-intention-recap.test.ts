/**
 * Intention and recap with an injected clock: who may set them, when, what
 * the room broadcasts, what a round's record and the outbox keep.
 */
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/contract/limits.js';
import { start } from '../../src/domain/countdown.js';
import { runDue } from '../../src/domain/deadlines.js';
import { setIntention } from '../../src/domain/intention.js';
import { join } from '../../src/domain/membership.js';
import { outboxEntries } from '../../src/domain/outbox-entries.js';
import { setRecap } from '../../src/domain/recap.js';
import type { Room } from '../../src/domain/room-state.js';
import { snapshot } from '../../src/domain/snapshot.js';
import { webhookBody } from '../../src/webhooks/webhook-payload.js';
import { at, codeOf, hostedRoom, ok, person, T0, withJoined } from './fixtures.js';

const FOCUS = 60_000;
const BREAK = 30_000;
const ALL = new Set(['round.completed', 'participant.recap'] as const);

function duo(rounds = 1): Room {
  return withJoined(hostedRoom({ settings: { rounds, break_duration: BREAK }, now: T0 }), [['b', T0]]);
}

describe('setIntention', () => {
  it('sets the text, broadcasts participant_intention with the next seq, and shows in snapshots', () => {
    const room = duo();
    const o = setIntention(room, 'b', 'Draft chapter 3', at(10));
    expect(o.result).toEqual({ intention: 'Draft chapter 3' });
    expect(o.events).toEqual([{ seq: room.seq + 1, event: 'participant_intention', data: { participant_id: 'b', text: 'Draft chapter 3' } }]);
    const view = snapshot(ok(o), at(10), 'h');
    expect(view.participants.map((p) => p.intention)).toEqual([null, 'Draft chapter 3']);
  });

  it('the same text again changes nothing; a stranger is not_in_session', () => {
    const r = ok(setIntention(duo(), 'h', 'x', at(1)));
    expect(setIntention(r, 'h', 'x', at(2)).changed).toBe(false);
    expect(codeOf(() => setIntention(r, 'zz', 'x', at(2)))).toBe('not_in_session');
  });

  it('the intention standing when a focus round ends is kept with that round’s record', () => {
    let r = ok(setIntention(duo(), 'h', 'Write the intro', at(1)));
    r = ok(start(r, 'h', at(2)));
    r = ok(setIntention(r, 'h', 'Write the intro and outline', at(30)));
    const done = runDue(r, at(2 + FOCUS));
    expect(done.records![0]!.results.map((x) => [x.participant_id, x.intention])).toEqual([
      ['h', 'Write the intro and outline'],
      ['b', null],
    ]);
  });
});

describe('setRecap', () => {
  /** Two rounds; the first has ended at T0 + 2 + FOCUS. */
  function afterFirstRound(): Room {
    const r = ok(start(duo(2), 'h', at(2)));
    return ok(runDue(r, at(2 + FOCUS)));
  }
  const end1 = at(2 + FOCUS);

  it('recaps a completed round: participant_recap with outcome and note', () => {
    const r = afterFirstRound();
    const o = setRecap(r, 'b', { round: 1, outcome: 'partly', note: 'got halfway' }, end1 + 1_000);
    expect(o.result).toEqual({ recap: { round: 1, outcome: 'partly', note: 'got halfway' } });
    expect(o.events).toEqual([{ seq: r.seq + 1, event: 'participant_recap', data: { participant_id: 'b', round: 1, outcome: 'partly', note: 'got halfway' } }]);
    expect(setRecap(r, 'h', { round: 1, outcome: 'done' }, end1).result.recap.note).toBeNull();
  });

  it('is refused for a round that has not ended, after the 10-minute window, and for someone not in the round', () => {
    const r = afterFirstRound();
    expect(codeOf(() => setRecap(r, 'h', { round: 2, outcome: 'done' }, end1 + 1))).toBe('invalid_state');
    expect(codeOf(() => setRecap(duo(), 'h', { round: 1, outcome: 'done' }, at(1)))).toBe('invalid_state');
    expect(codeOf(() => setRecap(r, 'h', { round: 1, outcome: 'done' }, end1 + LIMITS.recapWindowMs))).toBeUndefined();
    expect(codeOf(() => setRecap(r, 'h', { round: 1, outcome: 'done' }, end1 + LIMITS.recapWindowMs + 1))).toBe('invalid_state');
    const late = ok(join(r, person('c'), end1 + 5));
    expect(codeOf(() => setRecap(late, 'c', { round: 1, outcome: 'done' }, end1 + 10))).toBe('invalid_state');
    expect(codeOf(() => setRecap(r, 'zz', { round: 1, outcome: 'done' }, end1 + 10))).toBe('not_in_session');
  });

  it('forgets rounds whose window has closed, and keeps the run each round belongs to', () => {
    let r = afterFirstRound();
    expect(r.ended_rounds).toEqual([{ round: 1, run_started_at: at(2), ended_at: end1, participant_ids: ['h', 'b'] }]);
    // Round 2 ends after the break; round 1 is still within its window then.
    r = ok(runDue(r, at(2 + 2 * FOCUS + BREAK)));
    expect(r.ended_rounds!.map((e) => e.round)).toEqual([1, 2]);
    // A restart much later: the old rounds are dropped when the next one ends.
    r = ok(start(r, 'h', at(3_600_000)));
    r = ok(runDue(r, at(3_600_000 + FOCUS)));
    expect(r.ended_rounds!.map((e) => [e.round, e.run_started_at])).toEqual([[1, at(3_600_000)]]);
  });

  it('goes to the outbox as participant.recap with the round’s natural key; the webhook leaves out the identity', () => {
    const r = afterFirstRound();
    r.participants[1]!.identity = 'key:abc';
    const o = setRecap(r, 'b', { round: 1, outcome: 'not', note: 'meetings' }, end1 + 5);
    const [entry] = outboxEntries(r, o, ALL);
    expect(entry).toEqual({
      id: `room-1.${r.seq + 1}`,
      type: 'participant.recap',
      at: end1 + 5,
      data: { room_id: 'room-1', room_code: 'ABC234', run_started_at: at(2), round: 1, participant_id: 'b', identity: 'key:abc', user_name: 'user-b', outcome: 'not', note: 'meetings' },
    });
    const body = webhookBody(entry!);
    expect(body.type).toBe('participant.recap');
    expect(body.data).not.toHaveProperty('identity');
    expect(body.data).toMatchObject({ round: 1, outcome: 'not', note: 'meetings', participant_id: 'b' });
  });
});
