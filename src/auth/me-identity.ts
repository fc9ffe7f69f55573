/**
 * Who calls a /me route: `Authorization: Bearer <JWT>` with auth on (its `sub`), the
 * `user_key` without (domain/identity.ts), charged to the /me budgets. Shared by every
 * /me route (me-routes.ts, push-routes.ts), so they all accept the same credential,
 * agree on the identity and spend one budget.
 */
import type { UserKeys } from '../domain/user-keys.js';
import type { FastifyRequest } from 'fastify';
import type { JWTPayload } from 'jose';
import { AppError } from '../contract/errors.js';
import { userKeySchema } from '../contract/schemas.js';
import { type Identity, identityFromSub, identityFromUserKey } from '../domain/identity.js';
import { addressKey } from '../limits/client-address.js';
import type { RateLimits } from '../limits/rate-limits.js';
import type { SeatAuthDeps } from './seat-auth.js';

/** `verifyToken`: the JWT verifier when auth is on (then only JWTs are accepted), null without auth. */
export function meIdentity(verifyToken: ((token: string) => Promise<JWTPayload>) | null, userKeys: UserKeys): (req: FastifyRequest) => Promise<Identity> {
  return async (req) => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (m) {
      const credential = m[1]!;
      if (verifyToken) {
        try {
          const payload = await verifyToken(credential);
          const identity = identityFromSub(payload.sub ? String(payload.sub).slice(0, 128) : null);
          if (identity) return identity;
        } catch {
          // a forged, expired or unreadable token: unauthorized below
        }
      } else if (userKeySchema.safeParse(credential).success && userKeys.valid(credential)) {
        // Only a key this server issued (HMAC tag): a guessed one is refused without a store read.
        return identityFromUserKey(credential);
      }
    }
    throw new AppError('unauthorized', verifyToken ? 'a valid Bearer JWT is required' : 'a Bearer user_key is required');
  };
}

export interface MeCallerDeps {
  verifyToken: ((token: string) => Promise<JWTPayload>) | null;
  /** Per address and per identity budgets of /me/* (cost points a minute). */
  limits: RateLimits;
  /** Checks that a user_key Bearer was issued by this server. */
  userKeys: UserKeys;
  /** The flood budget (address, instance, shed under overload), charged the same cost. */
  budget?: SeatAuthDeps['budget'];
}

/**
 * The caller of a /me route, or `unauthorized`; `cost` (limits/read-cost.ts) is charged to
 * the flood budget and the address's /me budget before anything is verified, and to the
 * identity's once it is known, so neither many keys nor many addresses get around it.
 */
export function meCaller(deps: MeCallerDeps): (req: FastifyRequest, cost: number) => Promise<Identity> {
  const verified = meIdentity(deps.verifyToken, deps.userKeys);
  return async (req, cost) => {
    const shed = deps.budget?.take(req.ip, `http:${req.ip}`, cost);
    if (shed === 'lag') throw new AppError('unavailable', 'the server is busy; try again shortly');
    if (shed) throw new AppError('rate_limited', 'too many requests from your network; slow down');
    await deps.limits.meAddressRequest(addressKey(req.ip), cost);
    const identity = await verified(req);
    await deps.limits.meIdentityRequest(identity, cost);
    return identity;
  };
}
