/**
 * Scheduled sessions (docs/protocol.md "Scheduled sessions"): the rules of `starts_at`, a room's window, overlap
 * of two windows, and how long a booking keeps a seat or an empty room. Pure: every
 * rule takes `now`.
 */
import { AppError } from '../contract/errors.js';
import { LIMITS } from '../contract/limits.js';
import type { Participant, Room, RoomSettings } from './room-state.js';

/** [start, end) in epoch ms. */
export interface Window {
  start: number;
  end: number;
}

/** rounds × focus + (rounds − 1) × break: how long a started room runs without pauses. */
export const plannedLength = (s: Pick<RoomSettings, 'session_duration' | 'rounds' | 'break_duration'>): number =>
  s.rounds * s.session_duration + (s.rounds - 1) * s.break_duration;

/**
 * `starts_at` must lie in the future and at most `LIMITS.scheduleAheadMaxMs` ahead. A
 * wrong time is a malformed request (`invalid_payload`), checked before anything else.
 */
export function checkStartsAt(startsAt: number, now: number): void {
  if (startsAt <= now) throw new AppError('invalid_payload', 'starts_at must be later than now');
  if (startsAt > now + LIMITS.scheduleAheadMaxMs) throw new AppError('invalid_payload', 'starts_at must be at most 30 days ahead');
}

/** Stored rooms written before scheduling existed have no `starts_at`. */
export const startsAtOf = (room: Room): number | null => room.starts_at ?? null;

/**
 * The room's window: from `starts_at` (a scheduled room not started yet), else
 * `started_at` (a running room), else now (a waiting room with no time), for its planned
 * length. Null once the room has ended: its seats no longer count.
 */
export function windowOf(room: Room, now: number): Window | null {
  if (room.status === 'completed') return null;
  const running = room.status === 'active' || room.status === 'paused';
  const start = running ? room.started_at! : (startsAtOf(room) ?? now);
  return { start, end: start + plannedLength(room.settings) };
}

/** Half-open windows: one that ends exactly when the other starts does not overlap it. */
export const overlaps = (a: Window, b: Window): boolean => a.start < b.end && b.start < a.end;

/**
 * When a dropped participant's seat is given up. Before a scheduled start the seat is a
 * booking: it is kept until `starts_at + grace`, however early the participant left, and
 * until the no-show grace ends when that is later.
 */
export function seatExpiresAt(room: Room, p: Participant): number | null {
  if (p.connected || p.disconnected_at === null) return null;
  // A no-show keeps its seat, so the run's results show it (no-show.ts).
  if (p.status === 'no_show') return null;
  const expires = Math.max(p.disconnected_at, startsAtOf(room) ?? 0) + room.grace_ms;
  // A booked seat not yet seen is kept until its no-show grace is decided.
  return room.no_show_at != null && p.present !== true ? Math.max(expires, room.no_show_at) : expires;
}

/** A scheduled room is kept (even empty) until `starts_at + ttl`. */
export const scheduledKeepUntil = (room: Room): number => {
  const startsAt = startsAtOf(room);
  return startsAt === null ? 0 : startsAt + room.ttl_ms;
};

/** A scheduled room whose start has not come yet: waiting, with `starts_at` set. */
export const isBooked = (room: Room): boolean => room.status === 'waiting' && startsAtOf(room) !== null;

/** The scheduled start is due: the scheduler starts the room as `start_session` would. */
export const scheduledStartDue = (room: Room, now: number): boolean => isBooked(room) && startsAtOf(room)! <= now;

/**
 * When a booked room's countdown starts: at `starts_at`, however late the start is
 * processed, so its round ends at `starts_at + session_duration` (and the booked window
 * is the one it runs in). A start later than the no-show grace is still anchored: the
 * no-show check, due at `starts_at + grace`, is then decided in the same step, with the
 * seats connected as the start runs counted present (no-show.ts). The caller checked
 * `scheduledStartDue`.
 */
export const anchoredStartAt = (room: Room): number => startsAtOf(room)!;
