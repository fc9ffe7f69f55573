/**
 * Zod schemas of everything the server sends: the payload of every server → client event
 * and the ack result of every client event. They are the one written form of each wire
 * shape: the payload types (below, re-exported by events.ts) are their `z.output`, the
 * AsyncAPI document (asyncapi.ts) and the REST responses that reuse the same shapes are
 * generated from them, and the integration tests parse what the server sends with their
 * strict form (test/helpers/shapes.ts).
 *
 * The SDK (src/client) imports these types only (`import type`): no zod reaches its bundle,
 * and its published declarations have them written out (packages/client/scripts/build.mjs).
 */
import { z } from 'zod';
import { ERROR_CODES } from './errors.js';
import { CLIENT_STATUSES, type ClientEventName, RECAP_OUTCOMES } from './schemas.js';

const int = z.number().int();
const epochMs = int.meta({ description: 'epoch milliseconds (server clock)' });
const seq = int.meta({ description: "the room's sequence number after this change" });

/** `no_show` (ext): a booked seat nobody connected from the start to the no-show grace (docs/protocol.md "No-shows"). */
export const participantStatusSchema = z.enum([...CLIENT_STATUSES, 'completed', 'no_show']);
export const roomStatusSchema = z.enum(['waiting', 'active', 'paused', 'completed']);
/** Pomodoro cycle: focus and break phases alternate for `rounds` focus rounds. */
export const phaseSchema = z.enum(['focus', 'break']);
export const leaveReasonSchema = z.enum(['left', 'timeout', 'kicked']);
/**
 * `expired`: idle for ROOM_TTL_MS. `lost` (cluster mode): the store no longer has the room
 * (Redis restarted without persistence); its log is gone too, so `seq` is 0. `no_show`
 * (ext): a booked room nobody attended by the no-show grace; `cancelled` (ext): a series
 * occurrence cancelled by its owner.
 */
export const roomClosedReasonSchema = z.enum(['expired', 'lost', 'no_show', 'cancelled']);

export const recapOutcomeSchema = z.enum(RECAP_OUTCOMES);
export const recapViewSchema = z
  .object({ round: int, outcome: recapOutcomeSchema, note: z.string().nullable() })
  .meta({ id: 'Recap', description: 'how a completed focus round went for one participant' });

export const participantViewSchema = z
  .object({
    id: z.string(),
    user_name: z.string(),
    status: participantStatusSchema,
    joined_at: epochMs,
    connected: z.boolean(),
    /** (ext) What this participant set out to do (`set_intention`), null until set. */
    intention: z.string().nullable().meta({ description: 'what the participant set out to do (set_intention), null until set' }),
    recap: recapViewSchema.nullable().meta({ description: 'the participant’s latest recap (set_recap): which round, how it went, the note; null until one' }),
  })
  .meta({ id: 'Participant' });

export const taskViewSchema = z
  .object({
    id: z.string(),
    title: z.string(),
    done: z.boolean(),
    created_by: z.string().meta({ description: 'participant_id of the creator' }),
    created_at: epochMs,
  })
  .meta({ id: 'Task' });

export const participantResultSchema = z
  .object({ participant_id: z.string(), user_name: z.string(), status: participantStatusSchema, focused_ms: int, pauses: int })
  .meta({ id: 'ParticipantResult' });

export const sessionSnapshotSchema = z
  .object({
    id: z.string(),
    room_code: z.string(),
    participants: z.array(participantViewSchema),
    max_participants: int,
    status: roomStatusSchema,
    session_duration: int,
    time_left_ms: int,
    started_at: epochMs.nullable(),
    created_at: epochMs,
    is_creator: z.boolean().meta({ description: 'relative to the receiving client' }),
    host_id: z.string(),
    ends_at: epochMs.nullable(),
    server_now: epochMs,
    seq,
    late_join: z.boolean(),
    tasks: z.array(taskViewSchema),
    /** Pomodoro (ext): current phase and round (1-based), and the cycle's settings. */
    phase: phaseSchema,
    round: int,
    rounds: int,
    break_duration: int,
    /** (ext) Results once the room is `completed` (null before), so a client that reloads still has them. */
    results: z.array(participantResultSchema).nullable(),
    /** (ext) Scheduled start (docs/protocol.md "Scheduled sessions"), null when unscheduled. */
    starts_at: epochMs.nullable().meta({ description: 'scheduled start (null when unscheduled)' }),
    /** The session's title, null when none. */
    title: z.string().nullable(),
  })
  .meta({ id: 'Session', description: 'The room as the receiving client sees it.' });

export const sessionJoinedSchema = z
  .object({
    success: z.literal(true),
    session_id: z.string(),
    room_code: z.string(),
    session: sessionSnapshotSchema,
    participant_id: z.string(),
    resume_token: z.string().meta({ description: 'secret: resumes the seat, authorizes REST calls as this seat' }),
    /**
     * Without auth, on create/join from a client that sent no `user_key`: a new secret
     * device key (≥ 128 bits) to keep and send back on later creates/joins and as the
     * Bearer of /me routes. Only its hash is stored.
     */
    user_key: z
      .string()
      .optional()
      .meta({ description: 'secret, only on an anonymous create/join that sent none: the device key to send on later creates/joins and as the Bearer of /me routes' }),
  })
  .meta({ id: 'SessionJoined', description: 'Reply to create/join/resume: the `session_created`/`session_joined` payload and the ack result.' });

const withSession = { session: sessionSnapshotSchema, seq };
const taskEvent = z.object({ task: taskViewSchema, seq });

/** Room broadcasts: kept in the room log with their `seq`. */
export const ROOM_EVENT_SCHEMAS = {
  participant_joined: z.object({ participant: participantViewSchema, ...withSession }),
  participant_left: z.object({ participant_id: z.string(), reason: leaveReasonSchema, ...withSession }),
  participant_connection: z.object({ participant_id: z.string(), connected: z.boolean(), grace_ms: int, seq }),
  creator_changed: z.object({ new_creator_id: z.string(), seq }),
  session_started: z.object(withSession),
  session_paused: z.object(withSession),
  session_resumed: z.object(withSession),
  settings_updated: z.object(withSession),
  /** End of a focus phase: `final` is true for the last round (the room is then `completed`). */
  session_completed: z.object({ results: z.array(participantResultSchema), phase: phaseSchema, round: int, final: z.boolean(), ...withSession }),
  /** (ext) A pomodoro phase began: a break after a focus round, or the next focus round. */
  phase_changed: z.object({ phase: phaseSchema, round: int, ends_at: epochMs, ...withSession }),
  participant_status_updated: z.object({ participant_id: z.string(), status: participantStatusSchema, user_name: z.string(), seq }),
  task_added: taskEvent,
  task_updated: taskEvent,
  task_removed: taskEvent,
  /** (ext) A participant set (or changed) what they set out to do. */
  participant_intention: z.object({ participant_id: z.string(), text: z.string(), seq }),
  /** (ext) A participant's recap of a completed focus round. */
  participant_recap: z.object({ participant_id: z.string(), round: int, outcome: recapOutcomeSchema, note: z.string().nullable(), seq }),
  /** Final: the room is gone (`reason`: roomClosedReasonSchema). */
  room_closed: z.object({ room_code: z.string(), reason: roomClosedReasonSchema, seq }),
} as const;

/** A room event as kept in the room log and replayed on resume (without its `session`). */
export const missedEventSchema = z
  .object({
    seq,
    event: z.enum(Object.keys(ROOM_EVENT_SCHEMAS) as [RoomEventName, ...RoomEventName[]]),
    data: z.record(z.string(), z.unknown()).meta({ description: "the event's payload without `seq` and `session`" }),
  })
  .meta({ id: 'MissedEvent' });

/** One entry of a room's history (GET /sessions/:code/events): a room event and when it happened. */
export const historyEventSchema = missedEventSchema
  .extend({
    /** Epoch ms of the change that produced it. */
    at: epochMs.meta({ description: 'epoch ms of the change' }),
  })
  .meta({ id: 'HistoryEvent' });

export const roomHistorySchema = z
  .object({
    /** Oldest first. */
    events: z.array(historyEventSchema),
    /** False when events after the requested seq were already trimmed from the bounded history. */
    complete: z.boolean().meta({ description: 'false when events after `after` were already trimmed' }),
  })
  .meta({ id: 'History' });

export const sessionResumedSchema = sessionJoinedSchema
  .extend({
    resumed: z.literal(true),
    /** Room events after `last_seq`, oldest first. */
    missed: z.array(missedEventSchema),
    /** False when `last_seq` is older than the bounded log: rely on the snapshot alone. */
    missed_complete: z.boolean(),
  })
  .meta({ id: 'SessionResumed' });

export const timeUpdateSchema = z
  .object({ time_left_ms: int, elapsed: int, ends_at: epochMs, server_now: epochMs, phase: phaseSchema, round: int })
  .meta({ id: 'TimeUpdate' });

const errorCodeSchema = z.enum(ERROR_CODES);

export const SERVER_EVENT_SCHEMAS = {
  session_created: sessionJoinedSchema,
  session_joined: z.union([sessionResumedSchema, sessionJoinedSchema]),
  join_error: z.object({ error: z.string().meta({ description: 'the message' }), code: errorCodeSchema }),
  error: z.object({ message: z.string(), code: errorCodeSchema }),
  time_update: timeUpdateSchema,
  ...ROOM_EVENT_SCHEMAS,
} as const;

const sessionResult = z.object({ session: sessionSnapshotSchema });
const timeSyncSchema = z.object({ t0: z.number(), server_now: epochMs });
const taskResult = z.object({ task: taskViewSchema, seq });

/** What `{ ok: true, ...result }` carries for each client event. */
export const CLIENT_ACK_SCHEMAS = {
  create_session: sessionJoinedSchema,
  join_session: sessionJoinedSchema,
  resume_session: sessionResumedSchema,
  // An empty result; zod types `{}` as a record of nothing, the contract as `object`.
  leave_session: z.object({}) as unknown as z.ZodType<object>,
  start_session: sessionResult,
  pause_session: sessionResult,
  resume_timer: sessionResult,
  update_settings: sessionResult,
  update_status: z.object({ status: participantStatusSchema, seq }),
  add_task: taskResult,
  update_task: taskResult,
  remove_task: taskResult,
  /** (ext) One clock sample: the ack echoes `t0` with the server's clock (`server_now`, epoch ms). */
  time_sync: timeSyncSchema,
  /** (ext) `enabled: false` = no `time_update` to this socket (it counts down from `ends_at`). Ticks are on by default. */
  set_ticks: z.object({ enabled: z.boolean() }),
  /** (ext) The caller's intention as stored (trimmed). */
  set_intention: z.object({ intention: z.string(), seq }),
  /** (ext) The caller's recap of a completed focus round. */
  set_recap: z.object({ recap: recapViewSchema, seq }),
} as const;

export const ackErrorSchema = z
  .object({ ok: z.literal(false), error: z.object({ code: errorCodeSchema, message: z.string() }) })
  .meta({ id: 'AckError' });

// ---- The payload types: what the schemas above accept, as TypeScript. ----

export type RoomStatus = z.output<typeof roomStatusSchema>;
export type ParticipantStatus = z.output<typeof participantStatusSchema>;
export type LeaveReason = z.output<typeof leaveReasonSchema>;
export type Phase = z.output<typeof phaseSchema>;
export type RoomClosedReason = z.output<typeof roomClosedReasonSchema>;
export type ParticipantView = z.output<typeof participantViewSchema>;
/** (ext) How a focus round went for one participant (`set_recap`). */
export type RecapOutcome = z.output<typeof recapOutcomeSchema>;
export type RecapView = z.output<typeof recapViewSchema>;
export type TaskView = z.output<typeof taskViewSchema>;
export type ParticipantResult = z.output<typeof participantResultSchema>;
/** The room as every client sees it. `is_creator` is relative to the receiving client. */
export type SessionSnapshot = z.output<typeof sessionSnapshotSchema>;
/** Reply to create/join/resume: the `session_created`/`session_joined` payload and the ack result. */
export type SessionJoinedPayload = z.output<typeof sessionJoinedSchema>;
export type SessionResumedPayload = z.output<typeof sessionResumedSchema>;
/** A room event as kept in the room log and replayed on resume (without its `session`). */
export type MissedEvent = z.output<typeof missedEventSchema>;
/** One entry of a room's history (GET /sessions/:code/events): a room event and when it happened. */
export type HistoryEvent = z.output<typeof historyEventSchema>;
export type RoomHistory = z.output<typeof roomHistorySchema>;
export type TimeUpdatePayload = z.output<typeof timeUpdateSchema>;
export type TimeSyncResult = z.output<typeof timeSyncSchema>;
/** Room broadcasts, by event name: kept in the room log with their `seq`. */
export type RoomEvents = { -readonly [K in keyof typeof ROOM_EVENT_SCHEMAS]: z.output<(typeof ROOM_EVENT_SCHEMAS)[K]> };
export type RoomEventName = keyof typeof ROOM_EVENT_SCHEMAS;
/** The payload of every server → client event, by event name. */
export type ServerEventPayloads = { -readonly [K in keyof typeof SERVER_EVENT_SCHEMAS]: z.output<(typeof SERVER_EVENT_SCHEMAS)[K]> };
/** The ack result of each client event (the part after `ok: true`). */
export type ClientEventResults = { [K in ClientEventName]: z.output<(typeof CLIENT_ACK_SCHEMAS)[K]> };
