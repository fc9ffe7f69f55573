/**
 * GET /session/:code — the Fidan room lookup — and its REST-API name GET /sessions/:code.
 * Counts only: no names, ids or tokens, so knowing a code does not tell who is in the
 * room. Unknown codes count against the same per-address limit as failed joins, so this
 * is no side door for guessing codes.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { AppError, RoomNotFoundError } from '../contract/errors.js';
import { errorBodySchema, roomCodeParamsSchema, sessionLookupSchema } from '../contract/http-schemas.js';
import type { Clock } from '../domain/clock.js';
import { timeLeft } from '../domain/snapshot.js';
import { addressKey } from '../limits/client-address.js';
import type { RateLimits } from '../limits/rate-limits.js';
import type { RoomStore } from '../store/room-store.js';

export interface SessionRouteDeps {
  store: RoomStore;
  clock: Clock;
  limits: RateLimits;
}

export function sessionRoute(app: FastifyInstance, deps: SessionRouteDeps): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  for (const url of ['/session/:code', '/sessions/:code']) {
    api.get(
      url,
      {
        schema: {
          summary: url === '/session/:code' ? 'Room lookup (Fidan route)' : 'Room lookup',
          description: 'Counts and timer of a room; no names, ids or tokens. Unknown codes count toward the per-address failed-join limit.',
          tags: ['sessions'],
          params: roomCodeParamsSchema,
          response: { 200: sessionLookupSchema, 400: errorBodySchema, 404: errorBodySchema, 429: errorBodySchema, 503: errorBodySchema },
        },
      },
      async (req) => {
        const { code } = req.params;
        await deps.limits.checkJoin(addressKey(req.ip));
        const room = await deps.store.get(code).catch(() => {
          throw new AppError('unavailable', 'the service is temporarily unavailable');
        });
        if (!room) {
          await deps.limits.joinFailed(addressKey(req.ip));
          throw new RoomNotFoundError(code);
        }
        const now = deps.clock.now();
        return {
          room_code: room.code,
          participants: room.participants.length,
          max_participants: room.settings.max_participants,
          status: room.status,
          time_left_ms: timeLeft(room, now),
          created_at: room.created_at,
          ends_at: room.status === 'active' ? room.ends_at : null,
          server_now: now,
          seq: room.seq,
        };
      },
    );
  }
}
