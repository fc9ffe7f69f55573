/**
 * The stored shape of a room: plain JSON, so the memory and Redis stores hold the same
 * thing and any instance can apply the next change. Wire views are built in snapshot.ts.
 */
import type { MissedEvent, ParticipantResult, ParticipantStatus, Phase, RoomStatus } from '../contract/events.js';

export interface Participant {
  id: string;
  user_name: string;
  status: ParticipantStatus;
  joined_at: number;
  connected: boolean;
  /** sha256 of the resume token; the token itself is never stored. */
  token_hash: string;
  /** The socket currently attached, so a stale socket's disconnect cannot evict a resumed seat. */
  socket_id: string | null;
  disconnected_at: number | null;
  focused_ms: number;
  /** When the current focusing stretch began (null when not accruing). */
  focus_since: number | null;
  pauses: number;
  user_sub: string | null;
  /**
   * Who the seat belongs to across rooms (conflict detection, /me routes, the store of
   * record): `sub:<jwt sub>` or `key:<sha256 of a user_key>` (identity.ts); null for
   * anonymous seats. Absent in rooms stored before it.
   */
  identity?: string | null;
  /** A booked run's no-show check (no-show.ts): connected at some moment since the start. */
  present?: boolean;
  /** (ext) What the participant set out to do (`set_intention`); absent or null until set. */
  intention?: string | null;
  /** (ext) The participant's latest recap (`set_recap`), shown to everyone; absent or null until one. */
  recap?: { round: number; outcome: 'done' | 'partly' | 'not'; note: string | null } | null;
  /** focused_ms and pauses when the current pomodoro round began: a round's record counts only its own. */
  round_base?: { focused_ms: number; pauses: number };
}

export interface Task {
  id: string;
  title: string;
  done: boolean;
  created_by: string;
  created_at: number;
}

export interface RoomSettings {
  session_duration: number;
  max_participants: number;
  late_join: boolean;
  /** Pomodoro: focus rounds per start (1 = a single countdown) and the break between them. */
  rounds: number;
  break_duration: number;
}

export interface Room {
  id: string;
  code: string;
  created_at: number;
  /** Last change; the room expires `ttl_ms` after it (or after `ends_at`, whichever is later). */
  updated_at: number;
  host_id: string;
  settings: RoomSettings;
  status: RoomStatus;
  started_at: number | null;
  ends_at: number | null;
  /** Countdown left while paused. */
  remaining_ms: number | null;
  completed_at: number | null;
  /** Pomodoro position: which phase `ends_at` closes, in which round (1-based). */
  phase: Phase;
  round: number;
  /** When the current focus round began (start, or the end of the break before it). */
  round_started_at?: number | null;
  /** Join order: the first is the longest-present. */
  participants: Participant[];
  tasks: Task[];
  /** Bumped by every change clients can see. */
  seq: number;
  /** Fixed at creation so every instance computes the same deadlines. */
  grace_ms: number;
  ttl_ms: number;
  /** Scheduled start (docs/protocol.md "Scheduled sessions"), null when unscheduled; absent in rooms stored before it. */
  starts_at?: number | null;
  /** The session's title, null when none. */
  title?: string | null;
  /**
   * Focus rounds that ended within the recap window (recap.ts), oldest first: what a
   * `set_recap { round }` refers to, with the run it belongs to (the round's natural key).
   */
  ended_rounds?: EndedRound[];
  /**
   * The results as they stood when the last round completed: history, so a participant who
   * leaves a finished room keeps their row (absent in rooms stored before it, and until then).
   */
  final_results?: ParticipantResult[] | null;
  /** NO_SHOW_GRACE_MS when the room was created (fixed, like grace_ms); absent in older rooms. */
  no_show_grace_ms?: number;
  /** While a booked run's no-show check is pending: when it runs (no-show.ts); null otherwise. */
  no_show_at?: number | null;
  /**
   * Web Push (push-notices.ts): how long before `starts_at` the booked participants are
   * reminded (0 or absent = never; fixed at creation so every instance computes the same
   * deadline), and the start the reminder was sent for (a moved start is reminded again).
   */
  remind_lead_ms?: number;
  reminded_for?: number | null;
}

export interface EndedRound {
  round: number;
  run_started_at: number;
  ended_at: number;
  /** Who was in the round's results: only they can recap it. */
  participant_ids: string[];
}

export const findParticipant = (room: Room, id: string): Participant | undefined =>
  room.participants.find((p) => p.id === id);

/**
 * A deep copy of a room, for a Draft to change. Written out rather than structuredClone:
 * a room is plain JSON of known shape, and this is ~10× cheaper (the scheduled-start
 * bench clones 2,500 rooms in one second). Every nested object must be copied here: a
 * new one added to Room above is caught by test/unit/domain-room-clone.test.ts.
 */
export function cloneRoom(room: Room): Room {
  return {
    ...room,
    settings: { ...room.settings },
    participants: room.participants.map((p) => ({ ...p, ...(p.round_base ? { round_base: { ...p.round_base } } : {}), ...(p.recap ? { recap: { ...p.recap } } : {}) })),
    tasks: room.tasks.map((t) => ({ ...t })),
    ...(room.ended_rounds ? { ended_rounds: room.ended_rounds.map((e) => ({ ...e, participant_ids: [...e.participant_ids] })) } : {}),
    ...(room.final_results ? { final_results: room.final_results.map((r) => ({ ...r })) } : {}),
  };
}
