/**
 * GET /session/:code — the Fidan room lookup. Counts only: no names, ids or tokens,
 * so knowing a code does not tell who is in the room. Unknown codes count against the
 * same per-address limit as failed joins, so this is no side door for guessing codes.
 */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../contract/errors.js';
import type { Clock } from '../domain/clock.js';
import { normalizeRoomCode } from '../domain/room-code.js';
import { timeLeft } from '../domain/snapshot.js';
import type { RateLimits } from '../limits/rate-limits.js';
import type { RoomStore } from '../store/room-store.js';

export interface SessionRouteDeps {
  store: RoomStore;
  clock: Clock;
  limits: RateLimits;
}

const errorBody = (code: string, message: string) => ({ error: { code, message } });

export function sessionRoute(app: FastifyInstance, deps: SessionRouteDeps): void {
  app.get<{ Params: { code: string } }>('/session/:code', async (req, reply) => {
    const code = normalizeRoomCode(req.params.code);
    if (!code) return reply.code(400).send(errorBody('invalid_payload', 'not a valid room code'));
    try {
      await deps.limits.checkJoin(req.ip);
    } catch (err) {
      if (err instanceof AppError) return reply.code(429).send(errorBody(err.code, err.message));
      throw err;
    }
    let room;
    try {
      room = await deps.store.get(code);
    } catch {
      return reply.code(503).send(errorBody('unavailable', 'the service is temporarily unavailable'));
    }
    if (!room) {
      await deps.limits.joinFailed(req.ip);
      return reply.code(404).send(errorBody('not_found', `no session with code ${code}`));
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
  });
}
