/**
 * Who calls a /me route: `Authorization: Bearer <JWT>` with auth on (its `sub`), the
 * `user_key` without (domain/identity.ts). Shared by every /me route, so they all
 * accept the same credential and agree on the identity.
 */
import type { FastifyRequest } from 'fastify';
import type { JWTPayload } from 'jose';
import { AppError } from '../contract/errors.js';
import { userKeySchema } from '../contract/schemas.js';
import { type Identity, identityFromSub, identityFromUserKey } from '../domain/identity.js';

/** `verifyToken`: the JWT verifier when auth is on (then only JWTs are accepted), null without auth. */
export function meIdentity(verifyToken: ((token: string) => Promise<JWTPayload>) | null): (req: FastifyRequest) => Promise<Identity> {
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
      } else if (userKeySchema.safeParse(credential).success) {
        return identityFromUserKey(credential);
      }
    }
    throw new AppError('unauthorized', verifyToken ? 'a valid Bearer JWT is required' : 'a Bearer user_key is required');
  };
}
