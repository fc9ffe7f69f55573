/** Participant identity: ids, secret resume tokens, and their constant-time check. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { nanoid } from 'nanoid';

export const newParticipantId = (): string => nanoid(16);
export const newSessionId = (): string => nanoid(16);
export const newTaskId = (): string => nanoid(10);
/** 32 nanoid characters = 192 random bits. */
export const newResumeToken = (): string => nanoid(32);

/* A device key (user_key) for identities without sign-up is HMAC-tagged: domain/user-keys.ts. */

/** Only the hash is stored, so a leaked room record cannot be replayed as a seat. */
export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

export function tokenMatches(token: string, storedHash: string): boolean {
  const a = Buffer.from(hashToken(token), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The seat a bearer of `token` holds in `room`, or null. Every seat is compared (no early
 * exit) with a constant-time compare, so the answer's timing says nothing about which
 * seat, or how much of a hash, matched.
 */
export function seatByToken<P extends { token_hash: string }>(participants: readonly P[], token: string): P | null {
  const presented = Buffer.from(hashToken(token), 'hex');
  let found: P | null = null;
  for (const p of participants) {
    const stored = Buffer.from(p.token_hash, 'hex');
    const match = stored.length === presented.length && timingSafeEqual(stored, presented);
    if (match && found === null) found = p;
  }
  return found;
}
