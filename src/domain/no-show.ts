/**
 * No-shows: in a booked room, a seat with no connected socket at any moment
 * from the start to the start + the no-show grace is a `no_show` in that round's results.
 * When the grace ends: no-show seats get status `no_show` (and no focus time), a no-show
 * host hands the room to the participant present longest, and a room nobody attended
 * closes with `room_closed { reason: "no_show" }` before any round is written. Pure:
 * runs inside runDue (deadlines.ts), so it happens once across the cluster.
 */
import { LIMITS } from '../contract/limits.js';
import type { AttendanceRecord } from './attendance-record.js';
import type { Draft } from './draft.js';
import type { Participant, Room } from './room-state.js';

/** The room's grace, never past its first focus phase. */
export const noShowGrace = (room: Room): number => Math.min(room.no_show_grace_ms ?? LIMITS.noShowGraceDefault, room.settings.session_duration);

/**
 * Called as a never-started booked room starts (scheduled or early by the host): arms the
 * check and counts who is connected right now as present. A restart of a completed room
 * is an ordinary run, with no check.
 */
export function armNoShow(room: Room, now: number): void {
  if (room.starts_at == null || room.started_at !== null) {
    room.no_show_at = null;
    return;
  }
  room.no_show_at = Math.min(room.starts_at, now) + noShowGrace(room);
  for (const p of room.participants) p.present = p.connected;
}

/** A seat connected while the check is pending is present. */
export function markPresent(room: Room, p: Participant): void {
  if (room.no_show_at != null && p.connected) p.present = true;
}

export const noShowDue = (room: Room, now: number): boolean => room.no_show_at != null && room.no_show_at <= now && (room.status === 'active' || room.status === 'paused');

/**
 * The grace has ended (at `room.no_show_at`): decides every seat, records attendance,
 * and hands over or closes the room. The caller checked `noShowDue`.
 */
export function settleNoShows(d: Draft): AttendanceRecord {
  const r = d.room;
  const decidedAt = r.no_show_at!;
  r.no_show_at = null;
  const record: AttendanceRecord = {
    room_id: r.id,
    room_code: r.code,
    title: r.title ?? null,
    starts_at: r.starts_at ?? r.started_at ?? decidedAt,
    run_started_at: r.started_at ?? decidedAt,
    decided_at: decidedAt,
    seats: r.participants.map((p) => ({ participant_id: p.id, identity: p.identity ?? null, user_name: p.user_name, attended: p.present === true })),
  };
  const present = r.participants.filter((p) => p.present === true);
  if (present.length === 0) {
    d.emit('room_closed', { room_code: r.code, reason: 'no_show' });
    d.delete();
    return record;
  }
  for (const p of r.participants) {
    if (p.present === true) continue;
    // A no-show counts no focus for this round, however long its seat was "focusing".
    p.status = 'no_show';
    p.focus_since = null;
    p.focused_ms = p.round_base?.focused_ms ?? 0;
    d.emit('participant_status_updated', { participant_id: p.id, status: 'no_show', user_name: p.user_name });
  }
  // Join order is presence order: the first present seat has been here longest.
  if (!present.some((p) => p.id === r.host_id)) {
    r.host_id = present[0]!.id;
    d.emit('creator_changed', { new_creator_id: r.host_id });
  }
  for (const p of r.participants) delete p.present;
  return record;
}
