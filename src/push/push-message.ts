/**
 * A push notice as one push message: the payload the service worker gets and the
 * RFC 8030 headers (TTL until the moment is past, Urgency, a Topic per room so a newer
 * notice replaces an older one still waiting on the push service).
 */
import { createHash } from 'node:crypto';
import type { PushPayload } from '../contract/push-schemas.js';
import type { PushNotice } from '../domain/push-notices.js';

export function pushPayload(n: PushNotice): PushPayload {
  return { type: n.type, room_code: n.room_code, title: n.title, starts_at: n.starts_at, ends_at: n.ends_at, phase: n.phase, round: n.round };
}

/** The longest TTL every push service takes (FCM's cap, 4 weeks; the others allow at least that much). */
export const MAX_TTL_S = 28 * 24 * 3600;

/** Seconds left until the notice is pointless (at least 1: a TTL of 0 means "now or never"; at most MAX_TTL_S). */
export const ttlSeconds = (n: PushNotice, now: number): number => Math.min(MAX_TTL_S, Math.max(1, Math.ceil((n.expires_at - now) / 1000)));

/**
 * A VAPID subject Apple's push service refuses (403 BadJwtToken) although it is a
 * mailto: or https: URL: a host that can never be a real contact (localhost, and the
 * reserved .local, .localhost, .invalid, .test, .example and example.com/net/org names).
 * FCM and Mozilla take it.
 */
export function unreachableSubject(subject: string): boolean {
  const host = subject.startsWith('mailto:') ? subject.slice(subject.lastIndexOf('@') + 1) : URL.canParse(subject) ? new URL(subject).hostname : '';
  return /(^|\.)(localhost|local|invalid|test|example|example\.(com|net|org))$/i.test(host.replace(/[>\s].*$/, ''));
}

/** A reminder or a start wakes the device; a phase change or a completion can wait for it. */
export const urgencyOf = (n: PushNotice): 'high' | 'normal' => (n.type === 'reminder' || n.type === 'session_started' ? 'high' : 'normal');

/** RFC 8030 §5.4: at most 32 base64url characters; the room id hashed keeps codes out of it. */
export const topicOf = (n: PushNotice): string => createHash('sha256').update(n.room_id).digest('base64url').slice(0, 32);
