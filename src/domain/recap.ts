/**
 * Recaps: after a focus round ends, each participant who was in it may say
 * how it went (`done | partly | not`, an optional note) within LIMITS.recapWindowMs. The
 * room remembers the rounds that ended inside that window (`ended_rounds`), so a recap
 * names its round by number and is kept with that round's stored result.
 */
import { AppError } from '../contract/errors.js';
import type { RecapView } from '../contract/events.js';
import { LIMITS } from '../contract/limits.js';
import type { SetRecapInput } from '../contract/schemas.js';
import { Draft, type Outcome } from './draft.js';
import { type EndedRound, findParticipant, type Room } from './room-state.js';

/** Remembers a focus round that just ended at `boundary`, forgetting those whose window has closed. */
export function noteRoundEnded(room: Room, boundary: number): void {
  const kept = (room.ended_rounds ?? []).filter((e) => e.ended_at + LIMITS.recapWindowMs > boundary);
  kept.push({
    round: room.round,
    run_started_at: room.started_at ?? boundary,
    ended_at: boundary,
    participant_ids: room.participants.map((p) => p.id),
  });
  room.ended_rounds = kept;
}

/** The latest ended round with this number (a room restarted after completion counts rounds from 1 again). */
export function endedRound(room: Room, round: number): EndedRound | undefined {
  return room.ended_rounds?.filter((e) => e.round === round).at(-1);
}

export function setRecap(room: Room, participantId: string, input: SetRecapInput, now: number): Outcome<{ recap: RecapView }> {
  if (!findParticipant(room, participantId)) throw new AppError('not_in_session', 'you are not in this session');
  const ended = endedRound(room, input.round);
  if (!ended) throw new AppError('invalid_state', `round ${input.round} has not ended (a recap follows a completed focus round)`);
  if (now > ended.ended_at + LIMITS.recapWindowMs) throw new AppError('invalid_state', `the recap of round ${input.round} closed 10 minutes after it ended`);
  if (!ended.participant_ids.includes(participantId)) throw new AppError('invalid_state', `you were not in round ${input.round}`);
  const recap: RecapView = { round: input.round, outcome: input.outcome, note: input.note ?? null };
  const d = Draft.of(room, now);
  findParticipant(d.room, participantId)!.recap = { ...recap };
  d.emit('participant_recap', { participant_id: participantId, ...recap });
  return d.done({ recap });
}
