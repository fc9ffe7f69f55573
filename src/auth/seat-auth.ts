/**
 * Room-scoped REST routes are authorized by a seat's secret: `Authorization: Bearer
 * <resume_token>`, matched against the room's seats in constant time (tokens.ts). A
 * wrong token counts toward the per-address failed-join limit, exactly like a wrong
 * `resume_session`, so the header is no faster way to guess tokens than the socket.
 * A seat that passes spends its per-seat event budget, shared with its socket.
 */
import type { FastifyRequest } from 'fastify';
import { AppError, RoomNotFoundError } from '../contract/errors.js';
import type { Room } from '../domain/room-state.js';
import { addressKey } from '../limits/client-address.js';
import type { RateLimits } from '../limits/rate-limits.js';
import { seatByToken } from '../domain/tokens.js';

export interface Seat {
  code: string;
  participantId: string;
  /** The room as read for the check (read-only). */
  room: Room;
}

export interface SeatAuthDeps {
  getRoom: (code: string) => Promise<Room | null>;
  limits: RateLimits;
  /**
   * The socket events' flood budget (per address, per instance, shed while the event loop
   * lags): a REST call spends it like an event, before any work, so REST is no way around
   * the flood control of docs/reliability.md.
   */
  budget?: { take(address: string, sender?: unknown, cost?: number): 'address' | 'instance' | 'lag' | null };
}

/** Tokens are 32 characters; anything much longer is not one of ours. */
const BEARER = /^Bearer +([A-Za-z0-9_-]{1,128}) *$/i;

export function bearerToken(header: string | string[] | undefined): string | null {
  if (typeof header !== 'string') return null;
  return BEARER.exec(header)?.[1] ?? null;
}

/**
 * The caller's seat in room `code`, or an AppError: 503 `unavailable` / 429 `rate_limited`
 * when the flood budget sheds the call (the event loop lags / the address or instance is
 * over its events per second), 401 `invalid_token` (no, malformed or
 * wrong token), 404 `not_found` (no such room), 429 `rate_limited` (this address failed
 * too often: unknown rooms and wrong tokens then look alike; or the seat's event budget
 * is spent). A correct token is never refused by the failed-join limit. `cost`: what the
 * call is worth in events (a long history page costs more than a task change, limits/read-cost.ts).
 */
export async function authorizeSeat(req: FastifyRequest, code: string, deps: SeatAuthDeps, cost = 1): Promise<Seat> {
  // REST callers are counted as one sender per address (a socket is its own sender).
  const shed = deps.budget?.take(req.ip, `http:${req.ip}`, cost);
  if (shed === 'lag') throw new AppError('unavailable', 'the server is busy; try again shortly');
  if (shed) throw new AppError('rate_limited', 'too many events from your network; slow down');
  const token = bearerToken(req.headers.authorization);
  if (!token) throw new AppError('invalid_token', 'send Authorization: Bearer <resume_token> of a seat in this room');
  const room = await deps.getRoom(code);
  const seat = room ? seatByToken(room.participants, token) : null;
  if (!room || !seat) {
    await deps.limits.checkJoin(addressKey(req.ip));
    await deps.limits.joinFailed(addressKey(req.ip));
    if (!room) throw new RoomNotFoundError(code);
    throw new AppError('invalid_token', 'no seat in this room holds that token');
  }
  await deps.limits.seatEvent(seat.id, cost);
  return { code: room.code, participantId: seat.id, room };
}
