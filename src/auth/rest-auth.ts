/**
 * The REST side of caller.ts: the Bearer of a request resolved in a route's mode, with the
 * budgets a call spends around it. Every REST call spends the flood budget first, like a
 * socket event (limits/event-budget.ts), so REST is no way around the flood control of
 * docs/reliability.md; seat routes count misses toward the failed-join limit and spend
 * the seat's event budget; /me routes spend the /me budgets, per address before the
 * credential is checked and per identity after.
 */
import type { FastifyRequest } from 'fastify';
import { AppError } from '../contract/errors.js';
import type { Room } from '../domain/room-state.js';
import { addressKey } from '../limits/client-address.js';
import type { RateLimits } from '../limits/rate-limits.js';
import { bearerToken, type Caller, type CallerResolver, type IdentifiedCaller } from './caller.js';

/** The flood budget (limits/event-budget.ts: per address, per instance, shed while the event loop lags). */
export interface FloodBudget {
  take(address: string, sender?: unknown, cost?: number): 'address' | 'instance' | 'lag' | null;
}

/** Spends `cost` events of the flood budget: 503 `unavailable` while the loop lags, 429 `rate_limited` over the address's or instance's rate. */
export function chargeFlood(req: FastifyRequest, budget: FloodBudget | undefined, cost: number): void {
  // REST callers are counted as one sender per address (a socket is its own sender).
  const shed = budget?.take(req.ip, `http:${req.ip}`, cost);
  if (shed === 'lag') throw new AppError('unavailable', 'the server is busy; try again shortly');
  if (shed) throw new AppError('rate_limited', 'too many requests from your network; slow down');
}

/** The request's caller in mode `jwt` (auth on: a JWT is required; off: anonymous) or `jwt-or-user-key`. */
export function requestCaller(callers: CallerResolver, req: FastifyRequest, mode: 'jwt'): Promise<Caller>;
export function requestCaller(callers: CallerResolver, req: FastifyRequest, mode: 'jwt-or-user-key'): Promise<IdentifiedCaller>;
export function requestCaller(callers: CallerResolver, req: FastifyRequest, mode: 'jwt' | 'jwt-or-user-key'): Promise<Caller> {
  const credential = bearerToken(req.headers.authorization);
  return mode === 'jwt' ? callers.resolve('jwt', credential) : callers.resolve('jwt-or-user-key', credential);
}

export interface Seat {
  code: string;
  participantId: string;
  /** The room as read for the check (read-only). */
  room: Room;
}

export interface SeatAuthDeps {
  callers: CallerResolver;
  getRoom: (code: string) => Promise<Room | null>;
  limits: RateLimits;
  budget?: FloodBudget;
}

/**
 * The caller's seat in room `code` (mode `seat`), or an AppError: 503 `unavailable` / 429
 * `rate_limited` when the flood budget sheds the call, 401 `invalid_token` (no, malformed
 * or wrong token), 404 `not_found` (no such room), 429 `rate_limited` (this address failed
 * too often: unknown rooms and wrong tokens then look alike; or the seat's event budget
 * is spent). A correct token is never refused by the failed-join limit. `cost`: what the
 * call is worth in events (a long history page costs more than a task change, limits/read-cost.ts).
 */
export async function authorizeSeat(req: FastifyRequest, code: string, deps: SeatAuthDeps, cost = 1): Promise<Seat> {
  chargeFlood(req, deps.budget, cost);
  const seat = await deps.callers.resolve('seat', bearerToken(req.headers.authorization), {
    code,
    getRoom: deps.getRoom,
    onMiss: async () => {
      await deps.limits.checkJoin(addressKey(req.ip));
      await deps.limits.joinFailed(addressKey(req.ip));
    },
  });
  await deps.limits.seatEvent(seat.participantId, cost);
  return { code: seat.room.code, participantId: seat.participantId, room: seat.room };
}

export interface MeCallerDeps {
  callers: CallerResolver;
  /** Per address and per identity budgets of /me/* (cost points a minute). */
  limits: RateLimits;
  budget?: FloodBudget;
}

/**
 * The caller of a /me route (mode `jwt-or-user-key`: anonymous callers have no "me");
 * `cost` (limits/read-cost.ts) is charged to the flood budget and the address's /me
 * budget before anything is verified, and to the identity's once it is known, so neither
 * many keys nor many addresses get around it. Every /me route takes its caller from here.
 */
export function meCaller(deps: MeCallerDeps): (req: FastifyRequest, cost: number) => Promise<IdentifiedCaller> {
  return async (req, cost) => {
    chargeFlood(req, deps.budget, cost);
    await deps.limits.meAddressRequest(addressKey(req.ip), cost);
    const caller = await requestCaller(deps.callers, req, 'jwt-or-user-key');
    await deps.limits.meIdentityRequest(caller.identity, cost);
    return caller;
  };
}
