/**
 * A participant's intention: what they set out to do. It may be set or
 * changed any time the seat is in the room; the one in place when a focus round ends is
 * kept with that round's result (countdown.ts), and snapshots show everyone's.
 */
import { AppError } from '../contract/errors.js';
import { Draft, type Outcome, unchanged } from './draft.js';
import { findParticipant, type Room } from './room-state.js';

export function setIntention(room: Room, participantId: string, text: string, now: number): Outcome<{ intention: string }> {
  const current = findParticipant(room, participantId);
  if (!current) throw new AppError('not_in_session', 'you are not in this session');
  if (current.intention === text) return unchanged(room, { intention: text });
  const d = Draft.of(room, now);
  findParticipant(d.room, participantId)!.intention = text;
  d.emit('participant_intention', { participant_id: participantId, text });
  return d.done({ intention: text });
}
