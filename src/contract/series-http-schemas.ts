/**
 * Zod schemas of the recurring-series routes: request bodies (validated like
 * every socket payload: strict, nothing coerced) and responses, feeding the OpenAPI
 * document. The RRULE itself and the zone are checked by the domain (recurrence.ts).
 */
import { z } from 'zod';
import { breakDurationSchema, maxParticipantsSchema, roundsSchema, sessionDurationSchema, sessionTitleSchema, startsAtSchema, userNameSchema } from './schemas.js';

export const createSeriesBodySchema = z.strictObject({
  title: sessionTitleSchema,
  starts_at: startsAtSchema.meta({ description: 'the first occurrence (epoch ms); its wall-clock time in `tz` is every occurrence’s' }),
  rrule: z
    .string({ error: 'rrule must be a string' })
    .max(200, { error: 'rrule is too long' })
    .meta({ description: 'RFC 5545 RRULE: FREQ=DAILY|WEEKLY, INTERVAL, BYDAY, and COUNT or UNTIL; at most a year', example: 'FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10' }),
  tz: z.string({ error: 'tz must be a string' }).max(64, { error: 'tz is too long' }).meta({ description: 'IANA time zone, e.g. Europe/Berlin', example: 'Europe/Berlin' }),
  session_duration: sessionDurationSchema.optional(),
  rounds: roundsSchema.optional(),
  break_duration: breakDurationSchema.optional(),
  max_participants: maxParticipantsSchema.optional(),
  /** The name on the owner's seats (default: the JWT's name claim, else "Host"). */
  user_name: userNameSchema.optional(),
});

export const seriesMemberBodySchema = z.strictObject({ user_name: userNameSchema.optional() });

export const seriesIdParamsSchema = z.strictObject({
  id: z.string({ error: 'id must be a string' }).regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'id is not a series id' }),
});

export const occurrenceParamsSchema = seriesIdParamsSchema.extend({
  starts_at: z
    .string({ error: 'starts_at must be epoch ms' })
    .regex(/^\d{1,16}$/, { error: 'starts_at must be epoch ms' })
    .transform(Number)
    .meta({ description: 'the occurrence’s starts_at (epoch ms)' }),
});

export const occurrenceSchema = z
  .object({
    starts_at: z.number().int(),
    room_code: z.string().nullable().meta({ description: 'null until the occurrence is inside the 14-day horizon' }),
  })
  .meta({ id: 'Occurrence' });

export const seriesCreatedSchema = z.object({ series_id: z.string(), occurrences: z.array(occurrenceSchema) }).meta({ id: 'SeriesCreated' });

export const seriesSchema = z
  .object({
    series_id: z.string(),
    title: z.string(),
    rrule: z.string(),
    tz: z.string(),
    starts_at: z.number().int(),
    session_duration: z.number().int(),
    rounds: z.number().int(),
    break_duration: z.number().int(),
    max_participants: z.number().int(),
    is_owner: z.boolean(),
    is_member: z.boolean(),
    members: z.number().int(),
    cancelled: z.boolean(),
    occurrences: z.array(occurrenceSchema),
  })
  .meta({ id: 'Series' });
