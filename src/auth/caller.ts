/**
 * Who calls: one parser of `Authorization: Bearer <credential>` and one resolver, used by
 * every REST route and by the Socket.IO handshake. Each caller of `resolve` names the mode
 * it accepts:
 *
 * | mode | auth on (AUTH_JWT_SECRET / AUTH_JWKS_URL) | auth off |
 * |---|---|---|
 * | `anonymous` | nobody is asked | nobody is asked |
 * | `jwt` | a verified JWT, required | anonymous |
 * | `jwt-or-user-key` | a verified JWT, required | a `user_key` this server issued, required |
 * | `seat` | the `resume_token` of a seat in the room | the same |
 *
 * One answer per failure, whatever the route or transport: no or a bad credential is 401
 * (`unauthorized`; `invalid_token` for a seat token); the key set cannot be fetched is
 * 503 `unavailable` (the token may be fine: REST adds Retry-After, http/api.ts), as is a
 * store that cannot be read (a typed StoreUnavailable, store/store-errors.ts).
 */
import type { Config } from '../config.js';
import { AppError, RoomNotFoundError } from '../contract/errors.js';
import { userKeySchema } from '../contract/schemas.js';
import { type Identity, identityFromSub, identityFromUserKey } from '../domain/identity.js';
import type { Room } from '../domain/room-state.js';
import { seatByToken } from '../domain/tokens.js';
import type { UserKeys } from '../domain/user-keys.js';
import { KeySetUnavailable, nameFromClaim, tokenVerifier } from './jwt.js';

/** Longest credential read (a header's or the handshake's): far above any ordinary JWT. */
export const CREDENTIAL_MAX = 4096;

const BEARER = new RegExp(`^Bearer\\s+(\\S{1,${CREDENTIAL_MAX}})\\s*$`, 'i');

/** The credential of `Authorization: Bearer <credential>`; null without one (no header, another scheme, too long). */
export function bearerToken(header: unknown): string | null {
  if (typeof header !== 'string') return null;
  return BEARER.exec(header)?.[1] ?? null;
}

export type CallerMode = 'anonymous' | 'jwt' | 'jwt-or-user-key' | 'seat';

export interface Caller {
  /** Who this is across rooms (domain/identity.ts); null when anonymous. */
  identity: Identity | null;
  /** The JWT's `sub`. */
  sub: string | null;
  /** The JWT's `name` claim, when it qualifies as a user_name. */
  name: string | null;
  /** The JWT's `exp` in ms since the epoch: a connection does not outlive it. */
  expiresAt: number | null;
}

export type IdentifiedCaller = Caller & { identity: Identity };

/** A seat's token checked against room `code` (mode `seat`). */
export interface SeatLookup {
  code: string;
  getRoom(code: string): Promise<Room | null>;
  /** Runs before a miss (no room, wrong token) is answered: the failed-join limit counts it. */
  onMiss(): Promise<void>;
}

export interface SeatCaller {
  /** The room as read for the check (read-only). */
  room: Room;
  participantId: string;
}

const ANONYMOUS: Caller = { identity: null, sub: null, name: null, expiresAt: null };

/** Resume tokens are 32 URL-safe characters (domain/tokens.ts); anything else is not one of ours. */
const SEAT_TOKEN = /^[A-Za-z0-9_-]{1,128}$/;

export class CallerResolver {
  /** A JWT verifier is configured: then JWTs, not user keys, say who calls. */
  readonly authOn: boolean;
  private readonly verify;

  constructor(
    config: Config,
    private readonly userKeys: UserKeys,
    /** Told of each key-set outage (the caller gets 503 `unavailable`). */
    private readonly onKeySetUnavailable: (err: KeySetUnavailable) => void = () => {},
  ) {
    this.verify = tokenVerifier(config);
    this.authOn = this.verify !== null;
  }

  resolve(mode: 'anonymous' | 'jwt', credential: string | null): Promise<Caller>;
  resolve(mode: 'jwt-or-user-key', credential: string | null): Promise<IdentifiedCaller>;
  resolve(mode: 'seat', credential: string | null, seat: SeatLookup): Promise<SeatCaller>;
  async resolve(mode: CallerMode, credential: string | null, seat?: SeatLookup): Promise<Caller | SeatCaller> {
    switch (mode) {
      case 'anonymous':
        return ANONYMOUS;
      case 'jwt':
        return this.verify ? this.jwt(credential) : ANONYMOUS;
      case 'jwt-or-user-key':
        return this.verify ? this.jwt(credential) : this.userKey(credential);
      case 'seat':
        return this.seat(credential, seat!);
    }
  }

  private async jwt(credential: string | null): Promise<IdentifiedCaller> {
    if (!credential || credential.length > CREDENTIAL_MAX) throw new AppError('unauthorized', 'send a JWT: Authorization: Bearer <JWT> (auth.token on the socket)');
    let payload;
    try {
      payload = await this.verify!(credential);
    } catch (err) {
      if (err instanceof KeySetUnavailable) {
        this.onKeySetUnavailable(err);
        throw new AppError('unavailable', 'could not fetch the keys to verify the token; try again');
      }
      throw new AppError('unauthorized', 'invalid or expired token');
    }
    // `sub` is a required claim (jwt.ts).
    const sub = String(payload.sub).slice(0, 128);
    const identity = identityFromSub(sub);
    if (!identity) throw new AppError('unauthorized', 'invalid or expired token');
    return { identity, sub, name: nameFromClaim(payload.name), expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : null };
  }

  /** Without auth a device key (the `user_key` of a create/join reply) is the identity. */
  private userKey(credential: string | null): IdentifiedCaller {
    // Only a key this server issued (HMAC tag, domain/user-keys.ts): a guessed one is refused without a store read.
    if (!credential || !userKeySchema.safeParse(credential).success || !this.userKeys.valid(credential)) {
      throw new AppError('unauthorized', 'send the user_key of a create/join reply: Authorization: Bearer <user_key>');
    }
    return { identity: identityFromUserKey(credential), sub: null, name: null, expiresAt: null };
  }

  /** The seat whose resume_token the credential is (matched in constant time, domain/tokens.ts). */
  private async seat(credential: string | null, lookup: SeatLookup): Promise<SeatCaller> {
    if (!credential || !SEAT_TOKEN.test(credential)) throw new AppError('invalid_token', 'send Authorization: Bearer <resume_token> of a seat in this room');
    const room = await lookup.getRoom(lookup.code);
    const seat = room ? seatByToken(room.participants, credential) : null;
    if (!room || !seat) {
      await lookup.onMiss();
      if (!room) throw new RoomNotFoundError(lookup.code);
      throw new AppError('invalid_token', 'no seat in this room holds that token');
    }
    return { room, participantId: seat.id };
  }
}
