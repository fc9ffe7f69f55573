/**
 * GET /sessions/:code/events?after=SEQ&limit=N — the room's history, oldest first: the
 * same log `resume_session` replays `missed` from (one log, many readers). Events carry
 * their domain data, never a snapshot and never a token; `complete: false` says events
 * after `after` were already trimmed (the room keeps at least its last
 * LIMITS.roomHistorySize), so the caller should rely on GET /sessions/:code instead of
 * replaying. Page with `after` = the last seq received.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { RoomNotFoundError } from '../contract/errors.js';
import { historySchema, roomCodeParamsSchema, seatAuthHeadersSchema, seatErrorResponses } from '../contract/http-schemas.js';
import { LIMITS } from '../contract/limits.js';
import type { RateLimits } from '../limits/rate-limits.js';
import { historyPageCost } from '../limits/read-cost.js';
import type { RoomService } from '../rooms/room-service.js';
import type { CallerResolver } from '../auth/caller.js';
import { authorizeSeat, type FloodBudget } from '../auth/rest-auth.js';

export interface HistoryRouteDeps {
  rooms: RoomService;
  limits: RateLimits;
  callers: CallerResolver;
  budget?: FloodBudget;
}

export const HISTORY_PAGE_DEFAULT = 100;

/** A query value is text: a whole number is parsed from digits only ("1e3", " 5", "0x10" are refused). */
const wholeNumber = (field: string, max: number) =>
  z
    .string({ error: `${field} must be given once, as a whole number` })
    .regex(/^\d{1,16}$/, { error: `${field} must be a whole number` })
    .transform(Number)
    .refine((n) => n <= max, { error: `${field} must be at most ${max}` });

const historyQuerySchema = z.strictObject({
  after: wholeNumber('after', Number.MAX_SAFE_INTEGER).optional().meta({ description: 'Return events with seq greater than this (default 0: from the oldest kept).' }),
  limit: wholeNumber('limit', LIMITS.roomHistorySize)
    .refine((n) => n >= 1, { error: 'limit must be at least 1' })
    .optional()
    .meta({ description: `At most this many events (1–${LIMITS.roomHistorySize}, default ${HISTORY_PAGE_DEFAULT}).` }),
});

export function historyRoute(app: FastifyInstance, deps: HistoryRouteDeps): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/sessions/:code/events',
    {
      schema: {
        summary: "The room's history",
        description:
          'Room events oldest first, as broadcast (without snapshots), with `at` (epoch ms). `complete: false` when events after `after` were trimmed. Same log as `resume_session`’s `missed`.',
        tags: ['history'],
        security: [{ seatToken: [] }],
        params: roomCodeParamsSchema,
        querystring: historyQuerySchema,
        headers: seatAuthHeadersSchema,
        response: { 200: historySchema, ...seatErrorResponses },
      },
    },
    async (req) => {
      const limit = req.query.limit ?? HISTORY_PAGE_DEFAULT;
      const seat = await authorizeSeat(req, req.params.code, { callers: deps.callers, getRoom: (c) => deps.rooms.get(c), limits: deps.limits, budget: deps.budget }, historyPageCost(limit));
      const history = await deps.rooms.history(seat.code, req.query.after ?? 0, limit);
      if (!history) throw new RoomNotFoundError(seat.code);
      return history;
    },
  );
}
