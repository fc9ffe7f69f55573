/**
 * Zod schemas of everything the server sends: the payload of every server → client event
 * and the ack result of every client event. They feed the AsyncAPI document
 * (asyncapi.ts) and the REST responses that reuse the same shapes.
 *
 * They cannot drift from the TypeScript contract in events.ts: each schema's output type
 * is checked to be the very type events.ts declares (both ways), and the maps must have a
 * key for every event. Changing a payload type without changing its schema here does not
 * compile.
 */
import { z } from 'zod';
import { ERROR_CODES } from './errors.js';
import { ROOM_EVENT_NAMES } from './event-facts.js';
import type {
  ClientEventResults,
  MissedEvent,
  ParticipantResult,
  ParticipantView,
  RecapView,
  RoomEventName,
  RoomEvents,
  ServerToClientEvents,
  SessionJoinedPayload,
  SessionResumedPayload,
  SessionSnapshot,
  TaskView,
  TimeUpdatePayload,
} from './events.js';
import { CLIENT_STATUSES, type ClientEventName, RECAP_OUTCOMES } from './schemas.js';

const int = z.number().int();
const epochMs = int.meta({ description: 'epoch milliseconds (server clock)' });
const seq = int.meta({ description: "the room's sequence number after this change" });

export const participantStatusSchema = z.enum([...CLIENT_STATUSES, 'completed', 'no_show']);
export const roomStatusSchema = z.enum(['waiting', 'active', 'paused', 'completed']);
export const phaseSchema = z.enum(['focus', 'break']);

export const participantViewSchema = z
  .object({
    id: z.string(),
    user_name: z.string(),
    status: participantStatusSchema,
    joined_at: epochMs,
    connected: z.boolean(),
    intention: z.string().nullable().meta({ description: 'what the participant set out to do (set_intention), null until set' }),
  })
  .meta({ id: 'Participant' });

export const recapOutcomeSchema = z.enum(RECAP_OUTCOMES);
export const recapViewSchema = z
  .object({ round: int, outcome: recapOutcomeSchema, note: z.string().nullable() })
  .meta({ id: 'Recap', description: 'how a completed focus round went for one participant' });

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
    phase: phaseSchema,
    round: int,
    rounds: int,
    break_duration: int,
    results: z.array(participantResultSchema).nullable(),
    starts_at: epochMs.nullable().meta({ description: 'scheduled start (null when unscheduled)' }),
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
  })
  .meta({ id: 'SessionJoined' });

export const missedEventSchema = z
  .object({
    seq,
    event: z.enum(ROOM_EVENT_NAMES as [RoomEventName, ...RoomEventName[]]),
    data: z.record(z.string(), z.unknown()).meta({ description: "the event's payload without `seq` and `session`" }),
  })
  .meta({ id: 'MissedEvent' });

export const sessionResumedSchema = sessionJoinedSchema
  .extend({
    resumed: z.literal(true),
    missed: z.array(missedEventSchema),
    missed_complete: z.boolean(),
  })
  .meta({ id: 'SessionResumed' });

export const timeUpdateSchema = z
  .object({ time_left_ms: int, elapsed: int, ends_at: epochMs, server_now: epochMs, phase: phaseSchema, round: int })
  .meta({ id: 'TimeUpdate' });

const withSession = { session: sessionSnapshotSchema, seq };
const taskEvent = z.object({ task: taskViewSchema, seq });

export const ROOM_EVENT_SCHEMAS = {
  participant_joined: z.object({ participant: participantViewSchema, ...withSession }),
  participant_left: z.object({ participant_id: z.string(), reason: z.enum(['left', 'timeout', 'kicked']), ...withSession }),
  participant_connection: z.object({ participant_id: z.string(), connected: z.boolean(), grace_ms: int, seq }),
  creator_changed: z.object({ new_creator_id: z.string(), seq }),
  session_started: z.object(withSession),
  session_paused: z.object(withSession),
  session_resumed: z.object(withSession),
  settings_updated: z.object(withSession),
  session_completed: z.object({ results: z.array(participantResultSchema), phase: phaseSchema, round: int, final: z.boolean(), ...withSession }),
  phase_changed: z.object({ phase: phaseSchema, round: int, ends_at: epochMs, ...withSession }),
  participant_status_updated: z.object({ participant_id: z.string(), status: participantStatusSchema, user_name: z.string(), seq }),
  task_added: taskEvent,
  task_updated: taskEvent,
  task_removed: taskEvent,
  participant_intention: z.object({ participant_id: z.string(), text: z.string(), seq }),
  participant_recap: z.object({ participant_id: z.string(), round: int, outcome: recapOutcomeSchema, note: z.string().nullable(), seq }),
  room_closed: z.object({ room_code: z.string(), reason: z.enum(['expired', 'lost', 'no_show', 'cancelled']), seq }),
} as const;

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
  time_sync: z.object({ t0: z.number(), server_now: epochMs }),
  set_ticks: z.object({ enabled: z.boolean() }),
  set_intention: z.object({ intention: z.string(), seq }),
  set_recap: z.object({ recap: recapViewSchema, seq }),
} as const;

export const ackErrorSchema = z
  .object({ ok: z.literal(false), error: z.object({ code: errorCodeSchema, message: z.string() }) })
  .meta({ id: 'AckError' });

// ---- Compile-time checks: the schemas are the contract's types, exactly. ----

/** True when A and B are assignable to each other. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type AllTrue<T extends Record<string, true>> = T;

type PayloadOf<F> = F extends (payload: infer P) => void ? P : never;

export type ServerEventSchemasMatch = AllTrue<{
  [K in keyof ServerToClientEvents]: K extends keyof typeof SERVER_EVENT_SCHEMAS
    ? Same<z.output<(typeof SERVER_EVENT_SCHEMAS)[K]>, PayloadOf<ServerToClientEvents[K]>>
    : false;
}>;
export type ServerEventSchemasComplete = AllTrue<{ [K in keyof typeof SERVER_EVENT_SCHEMAS]: K extends keyof ServerToClientEvents ? true : false }>;
export type ClientAckSchemasMatch = AllTrue<{
  [K in ClientEventName]: Same<z.output<(typeof CLIENT_ACK_SCHEMAS)[K]>, ClientEventResults[K]>;
}>;
export type ClientAckSchemasComplete = AllTrue<{ [K in keyof typeof CLIENT_ACK_SCHEMAS]: K extends ClientEventName ? true : false }>;
export type SharedShapesMatch = AllTrue<{
  snapshot: Same<z.output<typeof sessionSnapshotSchema>, SessionSnapshot>;
  participant: Same<z.output<typeof participantViewSchema>, ParticipantView>;
  task: Same<z.output<typeof taskViewSchema>, TaskView>;
  recap: Same<z.output<typeof recapViewSchema>, RecapView>;
  result: Same<z.output<typeof participantResultSchema>, ParticipantResult>;
  joined: Same<z.output<typeof sessionJoinedSchema>, SessionJoinedPayload>;
  resumed: Same<z.output<typeof sessionResumedSchema>, SessionResumedPayload>;
  missed: Same<z.output<typeof missedEventSchema>, MissedEvent>;
  tick: Same<z.output<typeof timeUpdateSchema>, TimeUpdatePayload>;
  roomEventPayloads: Same<{ [K in RoomEventName]: z.output<(typeof ROOM_EVENT_SCHEMAS)[K]> }, RoomEvents>;
}>;
