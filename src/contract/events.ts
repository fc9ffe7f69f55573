/**
 * The typed wire contract: every event name and payload shape, shared by the server,
 * the tests and the benchmark clients. Field names are snake_case on the wire.
 */
import type { WireError } from './errors.js';
import type {
  AddTaskInput,
  ClientStatus,
  RemoveTaskInput,
  SetTicksInput,
  TimeSyncInput,
  UpdateSettingsInput,
  UpdateTaskInput,
} from './schemas.js';

export type RoomStatus = 'waiting' | 'active' | 'paused' | 'completed';
export type ParticipantStatus = ClientStatus | 'completed';
export type LeaveReason = 'left' | 'timeout' | 'kicked';
/** Pomodoro cycle: focus and break phases alternate for `rounds` focus rounds. */
export type Phase = 'focus' | 'break';

export interface ParticipantView {
  id: string;
  user_name: string;
  status: ParticipantStatus;
  joined_at: number;
  connected: boolean;
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
}

/** A room event as kept in the room log and replayed on resume (without its `session`). */
export interface MissedEvent {
  seq: number;
  event: RoomEventName;
  data: Record<string, unknown>;
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

export interface CreateSessionPayload {
  user_name?: string;
  session_duration?: number;
  max_participants?: number;
  break_duration?: number;
  rounds?: number;
  late_join?: boolean;
}

/** Client → server. Payloads are validated at runtime; these types are for clients and tests. */
export interface ClientToServerEvents {
  create_session: (payload: CreateSessionPayload, ack?: Ack<SessionJoinedPayload>) => void;
  join_session: (payload: { room_code: string; user_name?: string }, ack?: Ack<SessionJoinedPayload>) => void;
  resume_session: (
    payload: { room_code: string; participant_id: string; resume_token: string; last_seq?: number },
    ack?: Ack<SessionResumedPayload>,
  ) => void;
  leave_session: (payload?: Record<string, never>, ack?: Ack) => void;
  start_session: (payload?: Record<string, never>, ack?: Ack<{ session: SessionSnapshot }>) => void;
  pause_session: (payload?: Record<string, never>, ack?: Ack<{ session: SessionSnapshot }>) => void;
  resume_timer: (payload?: Record<string, never>, ack?: Ack<{ session: SessionSnapshot }>) => void;
  update_settings: (payload: UpdateSettingsInput, ack?: Ack<{ session: SessionSnapshot }>) => void;
  update_status: (payload: { status: ClientStatus }, ack?: Ack<{ status: ParticipantStatus; seq: number }>) => void;
  add_task: (payload: AddTaskInput, ack?: Ack<{ task: TaskView; seq: number }>) => void;
  update_task: (payload: UpdateTaskInput, ack?: Ack<{ task: TaskView; seq: number }>) => void;
  remove_task: (payload: RemoveTaskInput, ack?: Ack<{ task: TaskView; seq: number }>) => void;
  /** (ext) One clock sample: the ack echoes `t0` with the server's clock (`server_now`, epoch ms). */
  time_sync: (payload: TimeSyncInput, ack?: Ack<TimeSyncResult>) => void;
  /** (ext) `enabled: false` = no `time_update` to this socket (it counts down from `ends_at`). Ticks are on by default. */
  set_ticks: (payload: SetTicksInput, ack?: Ack<{ enabled: boolean }>) => void;
}

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
  /**
   * Final. `expired`: idle for ROOM_TTL_MS. `lost` (cluster mode): the store no longer has
   * the room (Redis restarted without persistence); its log is gone too, so `seq` is 0.
   */
  room_closed: { room_code: string; reason: 'expired' | 'lost'; seq: number };
}
export type RoomEventName = keyof RoomEvents;

/** Room events whose payload carries the room snapshot. */
export const SNAPSHOT_EVENTS: ReadonlySet<RoomEventName> = new Set<RoomEventName>([
  'participant_joined',
  'participant_left',
  'session_started',
  'session_paused',
  'session_resumed',
  'settings_updated',
  'session_completed',
  'phase_changed',
]);

export type ServerToClientEvents = {
  session_created: (payload: SessionJoinedPayload) => void;
  session_joined: (payload: SessionJoinedPayload | SessionResumedPayload) => void;
  join_error: (payload: { error: string; code: WireError['code'] }) => void;
  error: (payload: { message: string; code: WireError['code'] }) => void;
  time_update: (payload: TimeUpdatePayload) => void;
} & { [K in RoomEventName]: (payload: RoomEvents[K]) => void };

/**
 * Messages between instances (`serverSideEmit`): none. Instances share rooms through the
 * store, and tickers follow the snapshot events their own sockets receive
 * (cluster/timer-follower.ts): pub/sub messages would be lost in a Redis blink, the
 * adapter's stream is replayed. (A `room_timer` message used to duplicate that.)
 */
export type InterServerEvents = Record<string, never>;

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

/** Per-socket state (Socket.IO `socket.data`). */
export interface SocketData {
  roomCode: string | null;
  participantId: string | null;
  /** From a verified JWT (`sub`, `name`) when auth is on. */
  userSub: string | null;
  userName: string | null;
  /** The verified JWT's `exp` (ms since epoch) when auth is on: the socket is closed then. */
  tokenExpiresAt: number | null;
  ip: string;
  /** (ext) `set_ticks { enabled: false }`: this socket gets no `time_update`. */
  quiet: boolean;
}
