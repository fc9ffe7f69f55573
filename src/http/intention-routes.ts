/**
 * Intention and recap over REST: the twins of `set_intention` and
 * `set_recap`. Same schemas, same domain changes, same RoomService.apply, so the room
 * hears the same `participant_intention` / `participant_recap` with the next `seq`.
 * Authorized by a seat's resume_token (auth/rest-auth.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../contract/errors.js';
import { roomCodeParamsSchema, seatAuthHeadersSchema, seatErrorResponses } from '../contract/http-schemas.js';
import { setIntentionSchema, setRecapSchema } from '../contract/schemas.js';
import { recapViewSchema } from '../contract/server-schemas.js';
import { setIntention } from '../domain/intention.js';
import { setRecap } from '../domain/recap.js';
import type { SeatChange } from '../domain/task-changes.js';
import { withSeq } from '../domain/task-changes.js';
import { authorizeSeat } from '../auth/rest-auth.js';
import type { TaskRouteDeps } from './task-routes.js';

const security = [{ seatToken: [] }];
const tags = ['intention'];
const seq = z.number().int();

export function intentionRoutes(app: FastifyInstance, deps: TaskRouteDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  async function apply<T extends object>(req: Parameters<typeof authorizeSeat>[0], code: string, change: SeatChange<T>) {
    const seat = await authorizeSeat(req, code, { callers: deps.callers, getRoom: (c) => deps.rooms.get(c), limits: deps.limits, budget: deps.budget });
    try {
      return withSeq(await deps.rooms.apply(seat.code, (room) => change(room, seat.participantId, deps.clock.now())));
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_in_session') throw new AppError('invalid_token', 'that seat is no longer in this session');
      throw err;
    }
  }

  api.put(
    '/sessions/:code/intention',
    {
      schema: {
        summary: 'Set your intention (twin of set_intention)',
        description: 'What you set out to do (1–140 characters). Broadcasts `participant_intention { participant_id, text, seq }`; kept with each focus round that ends while it stands.',
        tags,
        security,
        params: roomCodeParamsSchema,
        headers: seatAuthHeadersSchema,
        body: setIntentionSchema,
        response: { 200: z.object({ intention: z.string(), seq }).meta({ id: 'IntentionSet' }), ...seatErrorResponses },
      },
    },
    async (req) => apply(req, req.params.code, (room, pid, now) => setIntention(room, pid, req.body.text, now)),
  );

  api.put(
    '/sessions/:code/recap',
    {
      schema: {
        summary: 'Recap a focus round (twin of set_recap)',
        description:
          'How a completed focus round went (`done | partly | not`, optional note ≤ 280 characters), within 10 minutes of its end. Broadcasts `participant_recap`; kept with the round\'s stored result. 409 `invalid_state` when the round has not ended, its window closed, or you were not in it.',
        tags,
        security,
        params: roomCodeParamsSchema,
        headers: seatAuthHeadersSchema,
        body: setRecapSchema,
        response: { 200: z.object({ recap: recapViewSchema, seq }).meta({ id: 'RecapSet' }), ...seatErrorResponses, 409: seatErrorResponses[400] },
      },
    },
    async (req) => apply(req, req.params.code, (room, pid, now) => setRecap(room, pid, req.body, now)),
  );
}
