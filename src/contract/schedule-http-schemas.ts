/**
 * Zod schemas of the scheduling routes (docs/protocol.md "Scheduled sessions"): POST /sessions, POST
 * /sessions/:code/seats, GET /me/sessions. They validate requests, check and serialize
 * responses and generate the OpenAPI document (http/api.ts). Bodies reuse the socket
 * payload schemas, so a REST create is validated exactly like `create_session`.
 */
import { z } from 'zod';
import { createSessionSchema, userKeySchema, userNameSchema } from './schemas.js';
import { roomStatusSchema } from './server-schemas.js';

export const createSessionBodySchema = createSessionSchema;
export const seatBodySchema = z.strictObject({
  user_name: userNameSchema.optional(),
  user_key: userKeySchema.optional().meta({ description: 'Without auth: your device key (from create_session / join_session), so the seat is yours in /me/* and conflict detection. Ignored with auth on (the JWT is the identity).' }),
});

/** Query strings are text: epoch ms as digits only (no "1e3", no sign). */
const queryTime = (field: string) =>
  z
    .string({ error: `${field} must be epoch ms` })
    .regex(/^\d{1,16}$/, { error: `${field} must be epoch ms` })
    .transform(Number)
    .optional()
    .meta({ description: `${field}, epoch ms` });

export const meSessionsQuerySchema = z
  .strictObject({ from: queryTime('from'), to: queryTime('to') })
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, { error: 'from must not be after to' });

export const mySessionSchema = z
  .object({
    room_code: z.string(),
    title: z.string().nullable(),
    starts_at: z.number().int().meta({ description: 'start of the window: starts_at, else started_at, else now' }),
    planned_end: z.number().int().meta({ description: 'end of the window: start + rounds × focus + (rounds − 1) × break' }),
    status: roomStatusSchema,
    is_host: z.boolean(),
  })
  .meta({ id: 'MySession' });
export type MySession = z.output<typeof mySessionSchema>;

export const meSessionsSchema = z.object({ sessions: z.array(mySessionSchema) }).meta({ id: 'MySessions' });

/** The Bearer header of routes that act as a person: a JWT (docs/persistence.md, identities). */
export const userAuthHeadersSchema = z.looseObject({
  authorization: z.string().optional().meta({ description: 'Bearer <JWT> (required when AUTH_JWT_SECRET or AUTH_JWKS_URL is set; always for /me)' }),
});
