/**
 * Who is in a room: create, join, leave, disconnect/reconnect, host hand-over.
 * Pure: state and `now` in, new state and events out. No I/O, no timers.
 */
import type { LeaveReason } from '../contract/events.js';
import { AppError } from '../contract/errors.js';
import { Draft, type Outcome, unchanged } from './draft.js';
import { findParticipant, type Participant, type Room, type RoomSettings } from './room-state.js';
import { isBooked, scheduledKeepUntil } from './schedule.js';
import { participantView } from './snapshot.js';
import { markPresent } from './no-show.js';
import { LIMITS } from '../contract/limits.js';

export interface NewParticipant {
  id: string;
  user_name: string;
  token_hash: string;
  socket_id: string;
  user_sub?: string | null;
  /** See Participant.identity. */
  identity?: string | null;
  /** False for a seat booked without a socket (REST): it starts disconnected, as a booking. */
  connected?: boolean;
}

export interface NewRoom {
  id: string;
  code: string;
  host: NewParticipant;
  settings: RoomSettings;
  grace_ms: number;
  ttl_ms: number;
  starts_at?: number | null;
  title?: string | null;
  /** NO_SHOW_GRACE_MS (no-show.ts); the default when absent. */
  no_show_grace_ms?: number;
  /** REMINDER_LEAD_MS when Web Push is on, else 0 (no reminder deadline). */
  remind_lead_ms?: number;
}

const seat = (p: NewParticipant, now: number): Participant => ({
  id: p.id,
  user_name: p.user_name,
  status: 'ready',
  joined_at: now,
  connected: p.connected ?? true,
  token_hash: p.token_hash,
  socket_id: p.connected === false ? null : p.socket_id,
  disconnected_at: p.connected === false ? now : null,
  focused_ms: 0,
  focus_since: null,
  pauses: 0,
  user_sub: p.user_sub ?? null,
  identity: p.identity ?? null,
});

/** A new room with its creator as host and first participant. */
export function createRoom(input: NewRoom, now: number): Room {
  return {
    id: input.id,
    code: input.code,
    created_at: now,
    updated_at: now,
    host_id: input.host.id,
    settings: { ...input.settings },
    status: 'waiting',
    started_at: null,
    ends_at: null,
    remaining_ms: null,
    completed_at: null,
    phase: 'focus',
    round: 1,
    participants: [seat(input.host, now)],
    tasks: [],
    seq: 1,
    grace_ms: input.grace_ms,
    ttl_ms: input.ttl_ms,
    starts_at: input.starts_at ?? null,
    title: input.title ?? null,
    no_show_grace_ms: input.no_show_grace_ms ?? LIMITS.noShowGraceDefault,
    no_show_at: null,
    ...reminderFields(input, now),
  };
}

/** A room booked closer to its start than the lead gets no reminder: its booker was just here. */
function reminderFields(input: NewRoom, now: number): Pick<Room, 'remind_lead_ms' | 'reminded_for'> {
  const lead = input.remind_lead_ms ?? 0;
  if (lead <= 0) return {};
  const startsAt = input.starts_at ?? null;
  return { remind_lead_ms: lead, reminded_for: startsAt !== null && startsAt - lead <= now ? startsAt : null };
}

export function join(room: Room, p: NewParticipant, now: number): Outcome {
  if (room.participants.length >= room.settings.max_participants) {
    throw new AppError('room_full', `room ${room.code} is full (${room.settings.max_participants} participants)`);
  }
  const running = room.status === 'active' || room.status === 'paused';
  if (running && !room.settings.late_join) {
    throw new AppError('already_started', 'this session has already started and does not accept late joins');
  }
  const d = Draft.of(room, now);
  const joined = seat(p, now);
  if (running) {
    // A late joiner starts focusing on the running countdown; time accrues only while active.
    joined.status = 'focusing';
    joined.focus_since = isFocusing(room) ? now : null;
  }
  markPresent(d.room, joined);
  d.room.participants.push(joined);
  d.emit('participant_joined', { participant: participantView(joined) });
  // A booked room every seat has left stays open (schedule.ts); its first newcomer hosts it.
  if (d.room.participants.length === 1 && d.room.host_id !== joined.id) {
    d.room.host_id = joined.id;
    d.emit('creator_changed', { new_creator_id: joined.id });
  }
  return d.done(undefined);
}

/**
 * The identity's own seat in the room, connected or not: a join by that identity takes it
 * (a series member entering an occurrence booked for them, a second tab or device)
 * instead of a second seat, so one identity never counts twice in a round.
 */
export const heldSeat = (room: Room, identity: string | null | undefined): Participant | undefined =>
  identity ? room.participants.find((p) => p.identity === identity) : undefined;

/**
 * The identity's seat goes to the joiner, as resume_session does (one seat per identity per
 * room): a new resume token (the old one stops working), and with a `socketId`
 * the seat connects on it, its previous socket (if any) returned to be cut loose. Without
 * one (a REST join) only the token changes.
 */
export function takeSeat(room: Room, participantId: string, socketId: string | null, tokenHash: string, now: number): Outcome<{ participantId: string; replacedSocket: string | null }> {
  const d = Draft.of(room, now);
  const p = findParticipant(d.room, participantId);
  if (!p) throw new AppError('not_found', 'no such seat');
  p.token_hash = tokenHash;
  if (socketId === null) {
    d.touch();
    return d.done({ participantId: p.id, replacedSocket: null });
  }
  const replacedSocket = p.connected && p.socket_id && p.socket_id !== socketId ? p.socket_id : null;
  p.socket_id = socketId;
  markPresent(d.room, p);
  if (p.connected) {
    d.touch();
  } else {
    p.connected = true;
    p.disconnected_at = null;
    d.emit('participant_connection', { participant_id: p.id, connected: true, grace_ms: room.grace_ms });
  }
  return d.done({ participantId: p.id, replacedSocket });
}

/** A booked room closed by its owner (a cancelled series occurrence): `room_closed { reason: "cancelled" }`. */
export function cancelRoom(room: Room, now: number): Outcome {
  const d = Draft.of(room, now);
  d.emit('room_closed', { room_code: room.code, reason: 'cancelled' });
  d.delete();
  return d.done(undefined);
}

/** Removes a participant; hands the room over when the host goes; deletes the room when empty. */
export function leave(room: Room, participantId: string, reason: LeaveReason, now: number): Outcome {
  if (!findParticipant(room, participantId)) throw new AppError('not_in_session', 'you are not in this session');
  const d = Draft.of(room, now);
  removeParticipant(d, participantId, reason);
  return d.done(undefined);
}

export function removeParticipant(d: Draft, participantId: string, reason: LeaveReason): void {
  const room = d.room;
  const p = findParticipant(room, participantId);
  if (!p) return;
  accrueFocus(p, d.now);
  room.participants = room.participants.filter((x) => x.id !== participantId);
  if (room.participants.length === 0 && !(isBooked(room) && scheduledKeepUntil(room) > d.now)) {
    d.delete();
    return;
  }
  d.emit('participant_left', { participant_id: participantId, reason });
  if (room.participants.length === 0) return;
  if (room.host_id === participantId) {
    const next = nextHost(room.participants);
    room.host_id = next.id;
    d.emit('creator_changed', { new_creator_id: next.id });
  }
}

/** The longest-present participant, preferring one who is connected right now. */
function nextHost(participants: Participant[]): Participant {
  return participants.find((p) => p.connected) ?? participants[0]!;
}

/**
 * The participant's socket dropped. Only the socket currently attached counts, so a late
 * disconnect from a replaced socket cannot evict a seat that has already been resumed.
 */
export function disconnect(room: Room, participantId: string, socketId: string, now: number): Outcome {
  const p = findParticipant(room, participantId);
  if (!p || p.socket_id !== socketId) return unchanged(room, undefined);
  const d = Draft.of(room, now);
  if (room.grace_ms === 0 && !isBooked(room)) {
    removeParticipant(d, participantId, 'timeout');
    return d.done(undefined);
  }
  const dp = findParticipant(d.room, participantId)!;
  dp.connected = false;
  dp.socket_id = null;
  dp.disconnected_at = now;
  d.emit('participant_connection', { participant_id: participantId, connected: false, grace_ms: room.grace_ms });
  return d.done(undefined);
}

/**
 * Every seat that has a socket loses it, as `disconnect` one after the other would (the
 * same events, in seat order), in one change: a restart puts a kept room back with its
 * sockets gone (rooms/room-restore.ts), one commit per room rather than one per seat.
 */
export function disconnectAll(room: Room, now: number): Outcome {
  let merged: Outcome = unchanged(room, undefined);
  for (const p of room.participants) {
    if (!p.socket_id || !merged.room) continue;
    const o = disconnect(merged.room, p.id, p.socket_id, now);
    if (!o.changed) continue;
    const records = [...(merged.records ?? []), ...(o.records ?? [])];
    const attendance = [...(merged.attendance ?? []), ...(o.attendance ?? [])];
    merged = { room: o.room, events: [...merged.events, ...o.events], result: undefined, changed: true };
    if (records.length > 0) merged.records = records;
    if (attendance.length > 0) merged.attendance = attendance;
  }
  return merged;
}

/** Re-attaches a participant (token already verified by the caller) to a new socket. */
export function reconnect(room: Room, participantId: string, socketId: string, now: number): Outcome<{ replacedSocket: string | null }> {
  const p = findParticipant(room, participantId);
  if (!p) throw new AppError('invalid_token', 'unknown participant or wrong resume token');
  const d = Draft.of(room, now);
  const dp = findParticipant(d.room, participantId)!;
  const replacedSocket = dp.socket_id !== socketId ? dp.socket_id : null;
  dp.socket_id = socketId;
  if (dp.connected) {
    d.touch();
  } else {
    dp.connected = true;
    dp.disconnected_at = null;
    markPresent(d.room, dp);
    d.emit('participant_connection', { participant_id: participantId, connected: true, grace_ms: room.grace_ms });
  }
  return d.done({ replacedSocket });
}

/** Focus time accrues only while a focus phase is counting down. */
export const isFocusing = (room: Room): boolean => room.status === 'active' && room.phase === 'focus';

/** Adds the focusing stretch that ends at `at` to the participant's total. */
export function accrueFocus(p: Participant, at: number): void {
  if (p.focus_since !== null) {
    p.focused_ms += Math.max(0, at - p.focus_since);
    p.focus_since = null;
  }
}
