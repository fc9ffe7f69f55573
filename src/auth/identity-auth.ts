/**
 * `Authorization: Bearer <JWT>` on REST routes that act as a person (POST /sessions,
 * seats, /me/*): the same verification as the socket handshake (auth/jwt.ts), the
 * same identity (domain/identity.ts). Device keys (docs/persistence.md) extend `caller` here.
 */
import type { UserKeys } from '../domain/user-keys.js';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { AppError } from '../contract/errors.js';
import { identityFromSub, identityFromUserKey } from '../domain/identity.js';
import { userKeySchema } from '../contract/schemas.js';
import { KeySetUnavailable, nameFromClaim, tokenVerifier } from './jwt.js';

export interface Caller {
  identity: string | null;
  sub: string | null;
  /** The token's `name` claim, when it qualifies as a user_name. */
  name: string | null;
}

const ANONYMOUS: Caller = { identity: null, sub: null, name: null };

export function bearerToken(req: FastifyRequest): string | null {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return null;
  const m = /^Bearer\s+(\S{1,4096})\s*$/i.exec(header);
  return m ? m[1]! : null;
}

export class IdentityAuth {
  private readonly verify;

  constructor(
    config: Config,
    private readonly userKeys: UserKeys,
  ) {
    this.verify = tokenVerifier(config);
  }

  /** With auth on a valid JWT is required (else `unauthorized`); with auth off everyone is anonymous. */
  async caller(req: FastifyRequest): Promise<Caller> {
    if (!this.verify) return ANONYMOUS;
    return this.verified(req);
  }

  /** /me routes: an identity is required whatever the mode (anonymous callers have no "me"). */
  async identity(req: FastifyRequest): Promise<Caller & { identity: string }> {
    const caller = this.verify ? await this.verified(req) : this.deviceKey(req);
    if (!caller.identity) throw new AppError('unauthorized', this.verify ? 'this route needs Authorization: Bearer <JWT>' : 'this route needs Authorization: Bearer <user_key>');
    return caller as Caller & { identity: string };
  }

  /** Without auth, a device key (the `user_key` of a create/join reply) is the identity. */
  private deviceKey(req: FastifyRequest): Caller {
    const token = bearerToken(req);
    // Only a key this server issued (HMAC tag, domain/user-keys.ts); a guessed one is anonymous.
    if (!token || !userKeySchema.safeParse(token).success || !this.userKeys.valid(token)) return ANONYMOUS;
    return { identity: identityFromUserKey(token), sub: null, name: null };
  }

  private async verified(req: FastifyRequest): Promise<Caller> {
    const token = bearerToken(req);
    if (!token) throw new AppError('unauthorized', 'missing Authorization: Bearer <JWT>');
    try {
      const payload = await this.verify!(token);
      const sub = String(payload.sub).slice(0, 128);
      return { identity: identityFromSub(sub), sub, name: nameFromClaim(payload.name) };
    } catch (err) {
      if (err instanceof KeySetUnavailable) throw new AppError('unavailable', 'could not fetch the keys to verify the token; try again');
      throw new AppError('unauthorized', 'invalid or expired token');
    }
  }
}
