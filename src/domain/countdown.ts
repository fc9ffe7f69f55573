/**
 * The room countdown and participant statuses. Clock-based, never a decrementing
 * counter: the room keeps `ends_at` (or `remaining_ms` while paused) and every
 * reading is `ends_at − now`.
 */
import type { ClientStatus, UpdateSettingsInput } from '../contract/schemas.js';
import { AppError } from '../contract/errors.js';
import { Draft, type Outcome, unchanged } from './draft.js';
import { accrueFocus, isFocusing } from './membership.js';
import { findParticipant, type Participant, type Room } from './room-state.js';
import { checkStartsAt } from './schedule.js';
import type { RoundRecord } from './round-record.js';
import { results } from './snapshot.js';
import { noteRoundEnded } from './recap.js';
import { armNoShow } from './no-show.js';

function requireParticipant(room: Room, participantId: string): Participant {
  const p = findParticipant(room, participantId);
  if (!p) throw new AppError('not_in_session', 'you are not in this session');
  return p;
}

function requireHost(room: Room, participantId: string): void {
  requireParticipant(room, participantId);
  if (room.host_id !== participantId) throw new AppError('not_host', 'only the host can do that');
}

/** Starts the countdown; also restarts a completed room for another round. */
export function start(room: Room, participantId: string, now: number): Outcome {
  requireHost(room, participantId);
  if (room.status === 'active' || room.status === 'paused') {
    throw new AppError('already_started', 'the session has already started');
  }
  const d = Draft.of(room, now);
  startDraft(d);
  return d.done(undefined);
}

/**
 * The start itself, shared by the host's start_session and the scheduled start
 * (deadlines.ts). The countdown runs from `at`: the moment of the host's start, or a
 * booked room's `starts_at` however late its start is processed (anchoredStartAt).
 */
export function startDraft(d: Draft, at: number = d.now): void {
  const r = d.room;
  armNoShow(r, at);
  r.status = 'active';
  r.started_at = at;
  r.ends_at = at + r.settings.session_duration;
  r.remaining_ms = null;
  r.completed_at = null;
  r.final_results = null;
  r.phase = 'focus';
  r.round = 1;
  r.round_started_at = at;
  for (const p of r.participants) {
    p.status = 'focusing';
    p.focus_since = at;
    p.focused_ms = 0;
    p.pauses = 0;
    delete p.round_base;
  }
  d.emit('session_started', {});
}

export function pause(room: Room, participantId: string, now: number): Outcome {
  requireHost(room, participantId);
  if (room.status !== 'active') throw new AppError('invalid_state', `cannot pause a session that is ${room.status}`);
  if (room.ends_at! <= now) throw new AppError('invalid_state', 'the countdown has already finished');
  const d = Draft.of(room, now);
  const r = d.room;
  r.status = 'paused';
  r.remaining_ms = r.ends_at! - now;
  r.ends_at = null;
  for (const p of r.participants) accrueFocus(p, now);
  d.emit('session_paused', {});
  return d.done(undefined);
}

export function resumeTimer(room: Room, participantId: string, now: number): Outcome {
  requireHost(room, participantId);
  if (room.status !== 'paused') throw new AppError('invalid_state', `cannot resume a session that is ${room.status}`);
  const d = Draft.of(room, now);
  const r = d.room;
  r.status = 'active';
  r.ends_at = now + r.remaining_ms!;
  r.remaining_ms = null;
  if (r.phase === 'focus') for (const p of r.participants) if (p.status === 'focusing') p.focus_since = now;
  d.emit('session_resumed', {});
  return d.done(undefined);
}

export function updateSettings(room: Room, participantId: string, input: UpdateSettingsInput, now: number): Outcome {
  requireHost(room, participantId);
  if (room.status !== 'waiting' && room.status !== 'completed') {
    throw new AppError('invalid_state', 'settings can only change before the countdown starts');
  }
  if (input.max_participants !== undefined && input.max_participants < room.participants.length) {
    throw new AppError('invalid_state', `max_participants cannot be below the ${room.participants.length} participants present`);
  }
  if (input.starts_at !== undefined && room.status !== 'waiting') {
    throw new AppError('invalid_state', 'only a session that has not started yet can be scheduled');
  }
  if (input.starts_at !== undefined && input.starts_at !== null) checkStartsAt(input.starts_at, now);
  const d = Draft.of(room, now);
  if (input.starts_at !== undefined) d.room.starts_at = input.starts_at;
  const s = d.room.settings;
  if (input.session_duration !== undefined) s.session_duration = input.session_duration;
  if (input.max_participants !== undefined) s.max_participants = input.max_participants;
  if (input.late_join !== undefined) s.late_join = input.late_join;
  if (input.rounds !== undefined) s.rounds = input.rounds;
  if (input.break_duration !== undefined) s.break_duration = input.break_duration;
  d.emit('settings_updated', {});
  return d.done(undefined);
}

/**
 * `ready` is for before the start; `focusing`, `paused` and `failed` for a running
 * countdown. `failed` (gave up) is final until the next start. Same status: no-op.
 */
export function updateStatus(room: Room, participantId: string, status: ClientStatus, now: number): Outcome<{ status: ClientStatus }> {
  const current = requireParticipant(room, participantId);
  const running = room.status === 'active' || room.status === 'paused';
  if (status === 'ready' && running) throw new AppError('invalid_state', 'ready is only for before the countdown starts');
  if (status !== 'ready' && !running) throw new AppError('invalid_state', `cannot be ${status} when the session is ${room.status}`);
  if (current.status === 'no_show') throw new AppError('invalid_state', 'you missed the start of this round; wait for the next one');
  if (current.status === 'failed' && status !== 'failed') {
    throw new AppError('invalid_state', 'you have given up this countdown; wait for the next one');
  }
  if (current.status === status) return unchanged(room, { status });
  const d = Draft.of(room, now);
  const p = findParticipant(d.room, participantId)!;
  if (p.status === 'focusing' && status === 'paused') p.pauses += 1;
  // Never count focus past the end, even if completion has not run yet.
  accrueFocus(p, isFocusing(d.room) ? Math.min(now, d.room.ends_at!) : now);
  p.status = status;
  if (status === 'focusing' && isFocusing(d.room)) p.focus_since = now;
  d.emit('participant_status_updated', { participant_id: p.id, status, user_name: p.user_name });
  return d.done({ status });
}

/**
 * Every phase boundary at or before `now`, in order: the end of a focus round
 * (`session_completed`; the room completes after the last round), the start of a break,
 * the start of the next focus round. Each boundary is at the previous `ends_at` exactly,
 * so phases never drift and focus time is counted to the boundary however late this runs.
 */
export function completeDraft(d: Draft): void {
  const r = d.room;
  while (r.status === 'active' && r.ends_at !== null && r.ends_at <= d.now) {
    const boundary = r.ends_at;
    if (r.phase === 'break') {
      r.round += 1;
      r.phase = 'focus';
      r.ends_at = boundary + r.settings.session_duration;
      r.round_started_at = boundary;
      for (const p of r.participants) {
        p.round_base = { focused_ms: p.focused_ms, pauses: p.pauses };
        // Given up, or a no-show still away: not focusing in this round either.
        if (p.status === 'failed' || (p.status === 'no_show' && !p.connected)) continue;
        p.status = 'focusing';
        p.focus_since = boundary;
      }
      d.emit('phase_changed', { phase: 'focus', round: r.round, ends_at: r.ends_at });
      d.emit('session_started', {});
      continue;
    }
    for (const p of r.participants) {
      accrueFocus(p, boundary);
      if (p.status === 'focusing') p.status = 'completed';
    }
    const final = r.round >= r.settings.rounds;
    if (final) {
      r.status = 'completed';
      r.completed_at = boundary;
      r.final_results = results(r);
    } else {
      r.phase = 'break';
      r.ends_at = boundary + r.settings.break_duration;
    }
    d.emit('session_completed', { results: results(r), phase: 'focus', round: r.round, final });
    d.records.push(roundRecord(r, boundary));
    noteRoundEnded(r, boundary);
    if (!final) d.emit('phase_changed', { phase: 'break', round: r.round, ends_at: r.ends_at! });
  }
}

/** The store-of-record view of the focus round that just ended at `boundary`. */
function roundRecord(r: Room, boundary: number): RoundRecord {
  const runStartedAt = r.started_at ?? boundary;
  return {
    room_id: r.id,
    room_code: r.code,
    title: r.title ?? null,
    run_started_at: runStartedAt,
    round: r.round,
    started_at: r.round_started_at ?? runStartedAt,
    ended_at: boundary,
    planned_ms: r.settings.session_duration,
    results: r.participants.map((p) => ({
      participant_id: p.id,
      identity: p.identity ?? null,
      user_name: p.user_name,
      status: p.status,
      intention: p.intention ?? null,
      focused_ms: p.focused_ms - (p.round_base?.focused_ms ?? 0),
      pauses: p.pauses - (p.round_base?.pauses ?? 0),
    })),
  };
}
