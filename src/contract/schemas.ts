/**
 * Payload validation for every client event. Validation comes before any lookup, and
 * nothing is coerced or clamped: a value of the wrong type or out of range is rejected.
 * Objects are strict, so an unknown key is an error rather than silently ignored.
 */
import { z } from 'zod';
import { LIMITS, ROOM_CODE_ALPHABET, ROOM_CODE_LENGTH } from './limits.js';

const CONTROL_CHARS = /[\p{Cc}\p{Cs}]/u;
/**
 * Bidirectional embeddings/overrides (U+202A–U+202E) and isolates (U+2066–U+2069): a name
 * like "\u202Eevil" renders reversed and can pass for someone else's. Other format
 * characters stay allowed, above all the zero-width joiner U+200D that builds emoji
 * sequences (family, flags with tags, skin tones).
 */
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/u;
const codePoints = (s: string): number => [...s].length;

/**
 * The one rule for text people show each other (names, task and session titles): trimmed,
 * 1..max code points, no control characters, lone surrogates or bidirectional controls.
 * Exported so every new title field reuses it instead of a second copy.
 */
export const displayTextSchema = (field: string, max: number) =>
  z
    .string({ error: `${field} must be a string` })
    .max(max * 4, { error: `${field} is too long` })
    .transform((s) => s.trim())
    .refine((s) => codePoints(s) >= 1, { error: `${field} must not be empty` })
    .refine((s) => codePoints(s) <= max, { error: `${field} must be at most ${max} characters` })
    .refine((s) => !CONTROL_CHARS.test(s), { error: `${field} must not contain control characters` })
    .refine((s) => !BIDI_CONTROLS.test(s), { error: `${field} must not contain bidirectional override or isolate characters` });

const roomCodePattern = new RegExp(`^[${ROOM_CODE_ALPHABET}]{${ROOM_CODE_LENGTH}}$`);

/** Room codes are joined case-insensitively with surrounding spaces ignored. */
export const roomCodeSchema = z
  .string({ error: 'room_code must be a string' })
  .max(64, { error: 'room_code is not a valid room code' })
  .transform((s) => s.trim().toUpperCase())
  .refine((s) => roomCodePattern.test(s), { error: 'room_code is not a valid room code' });

const int = (field: string, min: number, max: number) =>
  z
    .number({ error: `${field} must be a number` })
    .int({ error: `${field} must be a whole number` })
    .min(min, { error: `${field} must be at least ${min}` })
    .max(max, { error: `${field} must be at most ${max}` });

export const sessionDurationSchema = int('session_duration', LIMITS.sessionDurationMin, LIMITS.sessionDurationMax);
export const breakDurationSchema = int('break_duration', LIMITS.breakDurationMin, LIMITS.breakDurationMax);
export const roundsSchema = int('rounds', LIMITS.roundsMin, LIMITS.roundsMax);
export const maxParticipantsSchema = int('max_participants', LIMITS.maxParticipantsMin, LIMITS.maxParticipantsMax);

export const userNameSchema = displayTextSchema('user_name', LIMITS.userNameMax);
export const taskTitleSchema = displayTextSchema('title', LIMITS.taskTitleMax);
export const sessionTitleSchema = displayTextSchema('title', LIMITS.sessionTitleMax);

/**
 * Epoch ms of a scheduled start. Only the type and a sane range here; "later than now,
 * at most 30 days ahead" needs the clock and is checked by domain/schedule.ts first thing.
 */
export const startsAtSchema = z
  .number({ error: 'starts_at must be a number (epoch ms)' })
  .int({ error: 'starts_at must be a whole number of ms' })
  .min(0, { error: 'starts_at must be later than now' })
  .max(8.64e15, { error: 'starts_at must be at most 30 days ahead' });

const idSchema = (field: string) =>
  z
    .string({ error: `${field} must be a string` })
    .min(1, { error: `${field} must not be empty` })
    .max(64, { error: `${field} is too long` });

/** A device key the server issued (user_key): 22–64 URL-safe characters. */
export const userKeySchema = z
  .string({ error: 'user_key must be a string' })
  .regex(/^[A-Za-z0-9_-]{22,64}$/, { error: 'user_key is not a valid user key' });

export const createSessionSchema = z.strictObject({
  /** Optional only when the handshake carried a JWT with a name. */
  user_name: userNameSchema.optional(),
  session_duration: sessionDurationSchema.optional(),
  max_participants: maxParticipantsSchema.optional(),
  break_duration: breakDurationSchema.optional(),
  rounds: roundsSchema.optional(),
  late_join: z.boolean({ error: 'late_join must be a boolean' }).optional(),
  starts_at: startsAtSchema.optional(),
  title: sessionTitleSchema.optional(),
  /** Without auth: the key from an earlier reply, so this is the same user (docs/persistence.md). */
  user_key: userKeySchema.optional(),
});

export const joinSessionSchema = z.strictObject({
  room_code: roomCodeSchema,
  user_name: userNameSchema.optional(),
  user_key: userKeySchema.optional(),
});

export const resumeSessionSchema = z.strictObject({
  room_code: roomCodeSchema,
  participant_id: idSchema('participant_id'),
  resume_token: idSchema('resume_token'),
  last_seq: z
    .number({ error: 'last_seq must be a number' })
    .int({ error: 'last_seq must be a whole number' })
    .min(0, { error: 'last_seq must be at least 0' })
    .max(Number.MAX_SAFE_INTEGER)
    .optional(),
});

/** Events that take no arguments accept `{}` or no payload at all. */
export const emptySchema = z.strictObject({});

export const updateSettingsSchema = z
  .strictObject({
    session_duration: sessionDurationSchema.optional(),
    max_participants: maxParticipantsSchema.optional(),
    break_duration: breakDurationSchema.optional(),
    rounds: roundsSchema.optional(),
    late_join: z.boolean({ error: 'late_join must be a boolean' }).optional(),
    /** Reschedules; null unschedules. */
    starts_at: startsAtSchema.nullable().optional(),
  })
  .refine((s) => Object.keys(s).length > 0, { error: 'update_settings needs at least one setting' });

export const CLIENT_STATUSES = ['ready', 'focusing', 'paused', 'failed'] as const;
export const updateStatusSchema = z.strictObject({
  status: z.enum(CLIENT_STATUSES, { error: `status must be one of ${CLIENT_STATUSES.join(', ')}` }),
});

export const addTaskSchema = z.strictObject({ title: taskTitleSchema });
/** The fields a task change may set; `update_task` and `PATCH /sessions/:code/tasks/:id` share them. */
const taskChangeFields = {
  title: taskTitleSchema.optional(),
  done: z.boolean({ error: 'done must be a boolean' }).optional(),
};
const changesSomething = (t: { title?: string; done?: boolean }) => t.title !== undefined || t.done !== undefined;
export const taskIdSchema = idSchema('task_id');
export const updateTaskSchema = z
  .strictObject({ task_id: taskIdSchema, ...taskChangeFields })
  .refine(changesSomething, { error: 'update_task needs title or done' });
/** The REST twin of `update_task`: the task id is in the path. */
export const taskChangesSchema = z.strictObject(taskChangeFields).refine(changesSomething, { error: 'a task change needs title or done' });
export const removeTaskSchema = z.strictObject({ task_id: taskIdSchema });

/** (ext) Clock sync: `t0` is the client's own clock reading, echoed back beside `server_now`. */
export const timeSyncSchema = z.strictObject({
  t0: z.number({ error: 't0 must be a number' }).refine(Number.isFinite, { error: 't0 must be a finite number' }),
});
/** (ext) Quiet clients: `enabled: false` stops `time_update` ticks to this socket. */
export const setTicksSchema = z.strictObject({ enabled: z.boolean({ error: 'enabled must be a boolean' }) });

/** (ext) What the participant sets out to do; the REST twin (PUT /sessions/:code/intention) takes the same body. */
export const setIntentionSchema = z.strictObject({ text: displayTextSchema('text', LIMITS.intentionMax) });
export const RECAP_OUTCOMES = ['done', 'partly', 'not'] as const;
/** (ext) How a completed focus round went; the REST twin (PUT /sessions/:code/recap) takes the same body. */
export const setRecapSchema = z.strictObject({
  round: roundsSchema.meta({ description: 'the focus round (1-based) of the current or last run' }),
  outcome: z.enum(RECAP_OUTCOMES, { error: `outcome must be one of ${RECAP_OUTCOMES.join(', ')}` }),
  note: displayTextSchema('note', LIMITS.recapNoteMax).optional(),
});

export type CreateSessionInput = z.output<typeof createSessionSchema>;
export type JoinSessionInput = z.output<typeof joinSessionSchema>;
export type ResumeSessionInput = z.output<typeof resumeSessionSchema>;
export type UpdateSettingsInput = z.output<typeof updateSettingsSchema>;
export type UpdateStatusInput = z.output<typeof updateStatusSchema>;
export type AddTaskInput = z.output<typeof addTaskSchema>;
export type UpdateTaskInput = z.output<typeof updateTaskSchema>;
export type RemoveTaskInput = z.output<typeof removeTaskSchema>;
export type TimeSyncInput = z.output<typeof timeSyncSchema>;
export type SetTicksInput = z.output<typeof setTicksSchema>;
export type SetIntentionInput = z.output<typeof setIntentionSchema>;
export type SetRecapInput = z.output<typeof setRecapSchema>;
export type ClientStatus = (typeof CLIENT_STATUSES)[number];

/** Every client event and the schema of its payload: the dispatcher's source of truth. */
export const CLIENT_EVENT_SCHEMAS = {
  create_session: createSessionSchema,
  join_session: joinSessionSchema,
  resume_session: resumeSessionSchema,
  leave_session: emptySchema,
  start_session: emptySchema,
  pause_session: emptySchema,
  resume_timer: emptySchema,
  update_settings: updateSettingsSchema,
  update_status: updateStatusSchema,
  add_task: addTaskSchema,
  update_task: updateTaskSchema,
  remove_task: removeTaskSchema,
  time_sync: timeSyncSchema,
  set_ticks: setTicksSchema,
  set_intention: setIntentionSchema,
  set_recap: setRecapSchema,
} as const;

export type ClientEventName = keyof typeof CLIENT_EVENT_SCHEMAS;
export const CLIENT_EVENT_NAMES = Object.keys(CLIENT_EVENT_SCHEMAS) as ClientEventName[];
export const isClientEventName = (name: unknown): name is ClientEventName =>
  typeof name === 'string' && Object.prototype.hasOwnProperty.call(CLIENT_EVENT_SCHEMAS, name);

/** First issue of a failed parse, as one human sentence. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid payload';
  if (issue.code === 'unrecognized_keys') return `unknown field(s): ${issue.keys.slice(0, 5).map((k) => k.slice(0, 40)).join(', ')}`;
  if (issue.code === 'invalid_type' && issue.path.length === 0) return 'payload must be an object';
  const path = issue.path.join('.');
  if (issue.code === 'invalid_type' && issue.input === undefined && path) return `${path} is required`;
  return issue.message;
}
