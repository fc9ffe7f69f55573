/**
 * Zod schemas of the REST routes' requests and responses. They validate requests, check
 * and serialize responses, and generate the OpenAPI document (src/http/api.ts): written
 * once, so the document cannot drift from the code. Request parts reuse the socket
 * payload schemas, so a REST call is validated exactly like its socket twin.
 */
import { z } from 'zod';
import { ERROR_CODES } from './errors.js';
import { roomCodeSchema } from './schemas.js';
import { roomStatusSchema, taskViewSchema } from './server-schemas.js';

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
    redis: z.enum(['ok', 'down', 'disabled']),
    database: z.enum(['ok', 'down', 'disabled']).meta({ description: 'the store of record; down keeps 200 (results wait in the outbox)' }),
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

export const historySchema = z
  .object({
    events: z.array(
      z
        .object({
          seq: z.number().int(),
          event: z.string().meta({ description: 'a room event name, as broadcast' }),
          data: z.record(z.string(), z.unknown()).meta({ description: 'the payload as broadcast, without seq and session' }),
          at: z.number().int().meta({ description: 'epoch ms of the change' }),
        })
        .meta({ id: 'HistoryEvent' }),
    ),
    complete: z.boolean().meta({ description: 'false when events after `after` were already trimmed' }),
  })
  .meta({ id: 'History' });

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
