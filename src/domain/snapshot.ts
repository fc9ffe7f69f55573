/** Wire views of a room: the snapshot every client sees, results, and the ticker's timer. */
import type { ParticipantResult, ParticipantView, Phase, RoomStatus, SessionSnapshot } from '../contract/events.js';
import type { Participant, Room } from './room-state.js';

/** What an instance needs to tick a room for its own sockets, without reading the store. */
export interface RoomTimer {
  room_code: string;
  status: RoomStatus;
  ends_at: number | null;
  /** Length of the current phase (focus or break), for `elapsed`. */
  phase_duration: number;
  phase: Phase;
  round: number;
}

export const participantView = (p: Participant): ParticipantView => ({
  id: p.id,
  user_name: p.user_name,
  status: p.status,
  joined_at: p.joined_at,
  connected: p.connected,
  intention: p.intention ?? null,
  recap: p.recap ? { ...p.recap } : null,
});

export function timeLeft(room: Room, now: number): number {
  switch (room.status) {
    case 'active':
      return Math.max(0, room.ends_at! - now);
    case 'paused':
      return room.remaining_ms!;
    case 'waiting':
      return room.settings.session_duration;
    case 'completed':
      return 0;
  }
}

/** The room as one client sees it; `viewerId` decides `is_creator`. */
export function snapshot(room: Room, now: number, viewerId: string | null): SessionSnapshot {
  return {
    id: room.id,
    room_code: room.code,
    participants: room.participants.map(participantView),
    max_participants: room.settings.max_participants,
    status: room.status,
    session_duration: room.settings.session_duration,
    time_left_ms: timeLeft(room, now),
    started_at: room.started_at,
    created_at: room.created_at,
    is_creator: viewerId !== null && viewerId === room.host_id,
    host_id: room.host_id,
    ends_at: room.status === 'active' ? room.ends_at : null,
    server_now: now,
    seq: room.seq,
    late_join: room.settings.late_join,
    tasks: room.tasks.map((t) => ({ ...t })),
    phase: room.phase,
    round: room.round,
    rounds: room.settings.rounds,
    break_duration: room.settings.break_duration,
    results: room.status === 'completed' ? (room.final_results ?? results(room)) : null,
    starts_at: room.starts_at ?? null,
    title: room.title ?? null,
  };
}

export function results(room: Room): ParticipantResult[] {
  return room.participants.map((p) => ({
    participant_id: p.id,
    user_name: p.user_name,
    status: p.status,
    focused_ms: p.focused_ms,
    pauses: p.pauses,
  }));
}

/** The fields of a room a ticker runs on; every SessionSnapshot carries them. */
export type TimerView = Pick<SessionSnapshot, 'room_code' | 'status' | 'ends_at' | 'phase' | 'round' | 'session_duration' | 'break_duration'>;

/**
 * The one timer view: what a ticker needs, from the room itself (`roomTimer`) or from a
 * snapshot another instance broadcast (cluster/delivery-gate.ts), so both agree.
 */
export function timerOf(view: TimerView): RoomTimer {
  return {
    room_code: view.room_code,
    status: view.status,
    ends_at: view.status === 'active' ? view.ends_at : null,
    phase_duration: view.phase === 'break' ? view.break_duration : view.session_duration,
    phase: view.phase,
    round: view.round,
  };
}

export const roomTimer = (room: Room): RoomTimer =>
  timerOf({
    room_code: room.code,
    status: room.status,
    ends_at: room.ends_at,
    phase: room.phase,
    round: room.round,
    session_duration: room.settings.session_duration,
    break_duration: room.settings.break_duration,
  });
