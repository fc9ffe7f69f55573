/**
 * Identities: who a seat belongs to across rooms (conflict detection, /me routes, the
 * store of record). One string per person, namespaced by where it came from, so kinds
 * never collide: `sub:<JWT sub>` with auth on, `key:<sha256 of the user_key>` without
 * (docs/persistence.md). A user_key itself is never stored, only its hash.
 */
import { createHash } from 'node:crypto';
import { AppError } from '../contract/errors.js';

export type Identity = string;

export const identityFromSub = (sub: string | null): Identity | null => (sub ? `sub:${sub}` : null);

export const identityFromUserKey = (userKey: string): Identity => `key:${createHash('sha256').update(userKey).digest('hex')}`;

export interface ResolvedIdentity {
  identity: Identity;
  /** A key issued now (the client sent none): returned to it once, never stored. */
  issuedKey: string | null;
}

/**
 * With auth on the JWT's identity is the user; without, the client's user_key (refused
 * `unauthorized` unless `keys` issued it), or a new one from `keys` for a client that sent none.
 */
export function resolveIdentity(fromToken: Identity | null | undefined, userKey: string | undefined, keys: { issue(): string; valid(key: string): boolean }): ResolvedIdentity {
  if (fromToken) return { identity: fromToken, issuedKey: null };
  if (userKey) {
    // Only a key this server issued (domain/user-keys.ts): a guessed one names no one.
    if (!keys.valid(userKey)) throw new AppError('unauthorized', 'user_key was not issued by this server');
    return { identity: identityFromUserKey(userKey), issuedKey: null };
  }
  const issued = keys.issue();
  return { identity: identityFromUserKey(issued), issuedKey: issued };
}
