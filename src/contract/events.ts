/**
 * The typed wire contract: every event name and payload shape, shared by the server,
 * the tests and the benchmark clients. Field names are snake_case on the wire.
 */
import type { WireError } from './errors.js';
import type { z } from 'zod';
import type { CLIENT_EVENT_SCHEMAS, ClientEventName, ClientStatus } from './schemas.js';

export type RoomStatus = 'waiting' | 'active' | 'paused' | 'completed';
/** `no_show` (ext): a booked seat nobody connected from the start to the no-show grace (docs/protocol.md "No-shows"). */
export type ParticipantStatus = ClientStatus | 'completed' | 'no_show';
export type LeaveReason = 'left' | 'timeout' | 'kicked';
/** Pomodoro cycle: focus and break phases alternate for `rounds` focus rounds. */
export type Phase = 'focus' | 'break';

export interface ParticipantView {
  id: string;
  user_name: string;
  status: ParticipantStatus;
  joined_at: number;
  connected: boolean;
  /** (ext) What this participant set out to do (`set_intention`), null until set. */
  intention: string | null;
}

/** (ext) How a focus round went for one participant (`set_recap`). */
export type RecapOutcome = 'done' | 'partly' | 'not';
export interface RecapView {
  round: number;
  outcome: RecapOutcome;
  note: string | null;
}

export interface TaskView {
  id: string;
  title: string;
  done: boolean;
  created_by: string;
  created_at: number;
}

/** The room as every client sees it. `is_creator` is relative to the receiving client. */
export interface SessionSnapshot {
  id: string;
  room_code: string;
  participants: ParticipantView[];
  max_participants: number;
  status: RoomStatus;
  session_duration: number;
  time_left_ms: number;
  started_at: number | null;
  created_at: number;
  is_creator: boolean;
  host_id: string;
  ends_at: number | null;
  server_now: number;
  seq: number;
  late_join: boolean;
  tasks: TaskView[];
  /** Pomodoro (ext): current phase and round (1-based), and the cycle's settings. */
  phase: Phase;
  round: number;
  rounds: number;
  break_duration: number;
  /** (ext) Results once the room is `completed` (null before), so a client that reloads still has them. */
  results: ParticipantResult[] | null;
  /** (ext) Scheduled start (docs/protocol.md "Scheduled sessions"), null when unscheduled; the session's title, null when none. */
  starts_at: number | null;
  title: string | null;
}

export interface ParticipantResult {
  participant_id: string;
  user_name: string;
  status: ParticipantStatus;
  focused_ms: number;
  pauses: number;
}

/** Reply to create/join/resume: the `session_created`/`session_joined` payload and the ack result. */
export interface SessionJoinedPayload {
  success: true;
  session_id: string;
  room_code: string;
  session: SessionSnapshot;
  participant_id: string;
  resume_token: string;
  /**
   * Without auth, on create/join from a client that sent no `user_key`: a new secret
   * device key (≥ 128 bits) to keep and send back on later creates/joins and as the
   * Bearer of /me routes. Only its hash is stored.
   */
  user_key?: string;
}

/** A room event as kept in the room log and replayed on resume (without its `session`). */
export interface MissedEvent {
  seq: number;
  event: RoomEventName;
  data: Record<string, unknown>;
}

/** One entry of a room's history (GET /sessions/:code/events): a room event and when it happened. */
export interface HistoryEvent extends MissedEvent {
  /** Epoch ms of the change that produced it. */
  at: number;
}

export interface RoomHistory {
  /** Oldest first. */
  events: HistoryEvent[];
  /** False when events after the requested seq were already trimmed from the bounded history. */
  complete: boolean;
}

export interface SessionResumedPayload extends SessionJoinedPayload {
  resumed: true;
  /** Room events after `last_seq`, oldest first. */
  missed: MissedEvent[];
  /** False when `last_seq` is older than the bounded log: rely on the snapshot alone. */
  missed_complete: boolean;
}

export interface TimeUpdatePayload {
  time_left_ms: number;
  elapsed: number;
  ends_at: number;
  server_now: number;
  phase: Phase;
  round: number;
}

export type AckResponse<T = object> = ({ ok: true } & T) | { ok: false; error: WireError };
export type Ack<T = object> = (response: AckResponse<T>) => void;

/** What the client sends for event `E`: the input type of the zod schema that validates it. */
export type ClientPayload<E extends ClientEventName> = z.input<(typeof CLIENT_EVENT_SCHEMAS)[E]>;
export type CreateSessionPayload = ClientPayload<'create_session'>;

/** The ack result of each client event (the part after `ok: true`). */
export interface ClientEventResults {
  create_session: SessionJoinedPayload;
  join_session: SessionJoinedPayload;
  resume_session: SessionResumedPayload;
  leave_session: object;
  start_session: { session: SessionSnapshot };
  pause_session: { session: SessionSnapshot };
  resume_timer: { session: SessionSnapshot };
  update_settings: { session: SessionSnapshot };
  update_status: { status: ParticipantStatus; seq: number };
  add_task: { task: TaskView; seq: number };
  update_task: { task: TaskView; seq: number };
  remove_task: { task: TaskView; seq: number };
  /** (ext) One clock sample: the ack echoes `t0` with the server's clock (`server_now`, epoch ms). */
  time_sync: TimeSyncResult;
  /** (ext) `enabled: false` = no `time_update` to this socket (it counts down from `ends_at`). Ticks are on by default. */
  set_ticks: { enabled: boolean };
  /** (ext) The caller's intention as stored (trimmed). */
  set_intention: { intention: string; seq: number };
  /** (ext) The caller's recap of a completed focus round. */
  set_recap: { recap: RecapView; seq: number };
}

/** Events whose payload may be left out: their schema is the empty strict object (`Record<string, never>`). */
type PayloadOptional<E extends ClientEventName> = string extends keyof ClientPayload<E> ? true : false;

/**
 * Client → server. Payloads are validated at runtime by CLIENT_EVENT_SCHEMAS; these types,
 * derived from the same schemas, are for clients and tests.
 */
export type ClientToServerEvents = {
  [E in ClientEventName]: (
    ...args: PayloadOptional<E> extends true
      ? [payload?: ClientPayload<E>, ack?: Ack<ClientEventResults[E]>]
      : [payload: ClientPayload<E>, ack?: Ack<ClientEventResults[E]>]
  ) => void;
};

export interface TimeSyncResult {
  t0: number;
  server_now: number;
}

/** Room broadcasts: kept in the room log with their `seq`. */
export interface RoomEvents {
  participant_joined: { participant: ParticipantView; session: SessionSnapshot; seq: number };
  participant_left: { participant_id: string; reason: LeaveReason; session: SessionSnapshot; seq: number };
  participant_connection: { participant_id: string; connected: boolean; grace_ms: number; seq: number };
  creator_changed: { new_creator_id: string; seq: number };
  session_started: { session: SessionSnapshot; seq: number };
  session_paused: { session: SessionSnapshot; seq: number };
  session_resumed: { session: SessionSnapshot; seq: number };
  settings_updated: { session: SessionSnapshot; seq: number };
  /** End of a focus phase: `final` is true for the last round (the room is then `completed`). */
  session_completed: { session: SessionSnapshot; results: ParticipantResult[]; phase: Phase; round: number; final: boolean; seq: number };
  /** (ext) A pomodoro phase began: a break after a focus round, or the next focus round. */
  phase_changed: { session: SessionSnapshot; phase: Phase; round: number; ends_at: number; seq: number };
  participant_status_updated: { participant_id: string; status: ParticipantStatus; user_name: string; seq: number };
  task_added: { task: TaskView; seq: number };
  task_updated: { task: TaskView; seq: number };
  task_removed: { task: TaskView; seq: number };
  /** (ext) A participant set (or changed) what they set out to do. */
  participant_intention: { participant_id: string; text: string; seq: number };
  /** (ext) A participant's recap of a completed focus round. */
  participant_recap: { participant_id: string; round: number; outcome: RecapOutcome; note: string | null; seq: number };
  /**
   * Final. `expired`: idle for ROOM_TTL_MS. `lost` (cluster mode): the store no longer has
   * the room (Redis restarted without persistence); its log is gone too, so `seq` is 0.
   */
  room_closed: { room_code: string; reason: RoomClosedReason; seq: number };
}
export type RoomEventName = keyof RoomEvents;
/**
 * `expired`, `lost` (above); `no_show` (ext): a booked room nobody attended by the
 * no-show grace; `cancelled` (ext): a series occurrence cancelled by its owner.
 */
export type RoomClosedReason = 'expired' | 'lost' | 'no_show' | 'cancelled';

export type ServerToClientEvents = {
  session_created: (payload: SessionJoinedPayload) => void;
  session_joined: (payload: SessionJoinedPayload | SessionResumedPayload) => void;
  join_error: (payload: { error: string; code: WireError['code'] }) => void;
  error: (payload: { message: string; code: WireError['code'] }) => void;
  time_update: (payload: TimeUpdatePayload) => void;
} & { [K in RoomEventName]: (payload: RoomEvents[K]) => void };
