/**
 * A room's next deadline and what happens when it is due: completion at `ends_at`,
 * grace expiry of dropped participants, and expiry of an idle room. The scheduler calls
 * `runDue` at or after `nextDeadline`; running it early or twice changes nothing.
 */
import { RoomNotFoundError } from '../contract/errors.js';
import { completeDraft, startDraft } from './countdown.js';
import { Draft, type Outcome, unchanged } from './draft.js';
import { removeParticipant } from './membership.js';
import { noShowDue, settleNoShows } from './no-show.js';
import type { Room } from './room-state.js';
import { reminderAt } from './push-notices.js';
import { anchoredStartAt, isBooked, scheduledKeepUntil, scheduledStartDue, seatExpiresAt } from './schedule.js';

/** When the room expires: `ttl_ms` after its last change, never before a running countdown ends. */
export function expiresAt(room: Room): number {
  const lastActivity = room.status === 'active' && room.ends_at !== null ? Math.max(room.updated_at, room.ends_at) : room.updated_at;
  // A booked room is kept until its start + ttl while someone holds it: a seat with a live
  // socket, or a seat of an identity (a booking it can take back). An empty one expires
  // like any idle room, so booking far ahead cannot hold rooms that nobody will use.
  return Math.max(lastActivity + room.ttl_ms, isBooked(room) && isHeld(room) ? scheduledKeepUntil(room) : 0);
}

/** Someone holds the room: a seat with a live socket, or one that names an identity. */
const isHeld = (room: Room): boolean => room.participants.some((p) => p.connected || !!p.identity);

export function nextDeadline(room: Room): number {
  let due = expiresAt(room);
  if (room.status === 'active' && room.ends_at !== null) due = Math.min(due, room.ends_at);
  if (isBooked(room)) due = Math.min(due, room.starts_at!);
  if (room.no_show_at != null && (room.status === 'active' || room.status === 'paused')) due = Math.min(due, room.no_show_at);
  const remind = reminderAt(room);
  if (remind !== null) due = Math.min(due, remind);
  for (const p of room.participants) {
    const at = seatExpiresAt(room, p);
    if (at !== null) due = Math.min(due, at);
  }
  return due;
}

/**
 * A booked room's reminder is due: record the start it is for. No room event (nothing
 * changes for the sockets); the store turns the change into a push notice in the outbox
 * (outbox-entries.ts), in the same atomic step, so it is queued exactly once.
 */
function markReminded(d: Draft): void {
  const at = reminderAt(d.room);
  if (at === null || at > d.now) return;
  d.room.reminded_for = d.room.starts_at!;
  d.touch();
}

export function runDue(room: Room, now: number): Outcome {
  if (nextDeadline(room) > now) return unchanged(room, undefined);
  const d = Draft.of(room, now);
  // The scheduled start, exactly as the host's start_session but anchored at starts_at:
  // a start processed late (a busy second, a failover) still ends at starts_at + length.
  if (scheduledStartDue(d.room, now)) startDraft(d, anchoredStartAt(d.room));
  else markReminded(d);
  // Before any completion: the grace ends within the first focus phase.
  if (noShowDue(d.room, now)) {
    d.attendance.push(settleNoShows(d));
    if (d.deleted) return d.done(undefined);
  }
  completeDraft(d);
  const expired = d.room.participants.filter((p) => {
    const at = seatExpiresAt(d.room, p);
    return at !== null && at <= now;
  });
  for (const p of expired) {
    if (d.deleted) break;
    removeParticipant(d, p.id, 'timeout');
  }
  if (!d.deleted && expiresAt(room) <= now) {
    d.emit('room_closed', { room_code: room.code, reason: 'expired' });
    d.delete();
  }
  return d.done(undefined);
}

/**
 * Applies `change` to the room as it is at `now`: whatever was already due (a countdown
 * past `ends_at`, an expired grace) happens first, so a request that arrives before the
 * scheduler has run still sees the truth (no focus time counted past `ends_at`, no
 * resume of a seat whose grace has passed). `not_found` when the due work deleted it.
 */
export function settledThen<T>(room: Room, now: number, change: (room: Room) => Outcome<T>): Outcome<T> {
  const due = runDue(room, now);
  if (!due.changed) return change(room);
  if (!due.room) throw new RoomNotFoundError(room.code);
  const next = change(due.room);
  const merged: Outcome<T> = { room: next.room, events: [...due.events, ...next.events], result: next.result, changed: true };
  const records = [...(due.records ?? []), ...(next.records ?? [])];
  if (records.length > 0) merged.records = records;
  const attendance = [...(due.attendance ?? []), ...(next.attendance ?? [])];
  if (attendance.length > 0) merged.attendance = attendance;
  return merged;
}
