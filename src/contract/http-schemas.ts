/**
 * Zod schemas of the REST routes' requests and responses. They validate requests, check
 * and serialize responses, and generate the OpenAPI document (src/http/api.ts): written
 * once, so the document cannot drift from the code. Request parts reuse the socket
 * payload schemas, so a REST call is validated exactly like its socket twin.
 */
import { z } from 'zod';
import { ERROR_CODES } from './errors.js';
import { roomCodeSchema } from './schemas.js';
import { roomHistorySchema, roomStatusSchema, taskViewSchema } from './server-schemas.js';

export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES),
      message: z.string(),
    }),
  })
  .meta({ id: 'Error', description: 'Every failed request: a stable wire error code and a human sentence.' });

/** `:code` in a path: case-insensitive, surrounding spaces ignored, like `join_session`. */
export const roomCodeParamsSchema = z.strictObject({ code: roomCodeSchema.meta({ description: 'The 6-character room code (case-insensitive).' }) });

export const healthSchema = z
  .object({
    status: z.enum(['ok', 'draining', 'unavailable']),
    instance: z.string(),
    uptime_s: z.number().int(),
    sessions: z.number().int().nullable(),
    connections: z.number().int(),
    redis: z.enum(['ok', 'degraded', 'down', 'disabled']).meta({
      description: 'degraded: a Redis Cluster master is unreachable (its rooms answer unavailable until its replica takes over; the rest work), which keeps 200',
    }),
    database: z.enum(['ok', 'down', 'disabled']).meta({ description: 'the store of record; down keeps 200 (results wait in the outbox)' }),
    database_error: z
      .string()
      .optional()
      .meta({ description: 'when database is down for a reason an operator must fix (DATA_DIR not writable, disk full): what and how' }),
    push: z.enum(['enabled', 'disabled']).meta({
      description: 'Web Push (VAPID keys set): disabled means the /push and /me/push-subscriptions routes answer 503, so a page asks here first instead of logging a failed request',
    }),
    writer: z.enum(['ok', 'stalled', 'disabled']).meta({
      description: 'the results writer: stalled when completed rounds have waited a minute with none written (the database away, or a jam); keeps 200',
    }),
  })
  .meta({ id: 'Health' });


/** Counts only: the code alone must not tell who is in a room. */
export const sessionLookupSchema = z
  .object({
    room_code: z.string(),
    participants: z.number().int().meta({ description: 'How many seats are taken.' }),
    max_participants: z.number().int(),
    status: roomStatusSchema,
    time_left_ms: z.number().int(),
    created_at: z.number().int(),
    ends_at: z.number().int().nullable(),
    server_now: z.number().int(),
    seq: z.number().int(),
  })
  .meta({ id: 'SessionLookup' });

/** A task as every client sees it: the socket contract's own schema. */
export const taskSchema = taskViewSchema;

/** A room's history page: the socket contract's own schema. */
export const historySchema = roomHistorySchema;

/** The Bearer header of room-scoped routes: a seat's resume_token. */
export const seatAuthHeadersSchema = z.looseObject({
  authorization: z.string().optional().meta({ description: 'Bearer <resume_token> of a seat in this room' }),
});

/** Responses every room-scoped route may give besides its success. */
export const seatErrorResponses = {
  400: errorBodySchema,
  401: errorBodySchema,
  404: errorBodySchema,
  429: errorBodySchema,
  503: errorBodySchema,
} as const;

/** The Bearer of /me routes: the JWT (auth on) or the user_key (auth off). */
export const identityAuthHeadersSchema = z.looseObject({
  authorization: z.string().optional().meta({ description: 'Bearer <JWT> with auth on, Bearer <user_key> without' }),
});

export const meStatsSchema = z
  .object({
    focused_ms: z.number().int(),
    rounds_completed: z.number().int(),
    rounds_failed: z.number().int(),
    sessions: z.number().int().meta({ description: "runs (a host's start) taken part in" }),
    current_streak_days: z.number().int().meta({ description: 'consecutive days with a completed round, ending today or yesterday' }),
    longest_streak_days: z.number().int(),
    days: z
      .array(z.object({ date: z.string().meta({ description: 'YYYY-MM-DD in tz' }), focused_ms: z.number().int() }))
      .meta({ description: 'the last 30 days in tz, oldest first, today last' }),
    attendance: z
      .object({ booked: z.number().int(), attended: z.number().int(), no_shows: z.number().int() })
      .meta({ description: 'over your last 20 booked sessions (scheduled rooms you held a seat in when their no-show grace ended)' }),
  })
  .meta({ id: 'MeStats' });

export const meHistorySchema = z
  .object({
    rounds: z.array(
      z
        .object({
          room_code: z.string(),
          title: z.string().nullable(),
          round: z.number().int(),
          started_at: z.number().int(),
          ended_at: z.number().int(),
          planned_ms: z.number().int(),
          result: z.object({
            participant_id: z.string(),
            user_name: z.string(),
            status: z.string(),
            focused_ms: z.number().int(),
            pauses: z.number().int(),
            intention: z.string().nullable().meta({ description: 'what you set out to do, as it stood when the round ended' }),
            recap: z
              .object({ outcome: z.enum(['done', 'partly', 'not']), note: z.string().nullable() })
              .nullable()
              .meta({ description: 'your recap of the round (set_recap), null when none was given' }),
          }),
        })
        .meta({ id: 'MeRound' }),
    ),
    next_before: z.number().int().nullable().meta({ description: 'pass as `before` for the next page; null at the end' }),
  })
  .meta({ id: 'MeHistory' });

export const meErasedSchema = z.object({ deleted_results: z.number().int() }).meta({ id: 'MeErased' });

/** Responses every /me route may give besides its success. */
export const identityErrorResponses = {
  400: errorBodySchema,
  401: errorBodySchema,
  503: errorBodySchema,
} as const;
