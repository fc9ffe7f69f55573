/** What the sender puts on each push message for the big push services' rules (docs/push.md). */
import { describe, expect, it } from 'vitest';
import type { PushNotice } from '../../src/domain/push-notices.js';
import { MAX_TTL_S, topicOf, ttlSeconds, unreachableSubject, urgencyOf } from '../../src/push/push-message.js';

const notice = (over: Partial<PushNotice> = {}): PushNotice => ({
  room_id: 'room-1',
  room_code: 'ABC123',
  type: 'reminder',
  title: null,
  starts_at: 0,
  ends_at: null,
  phase: 'focus',
  round: 1,
  identities: ['i'],
  expires_at: 60_000,
  ...over,
});

describe('push message headers', () => {
  it('TTL: the seconds left, at least 1, at most 4 weeks (FCM refuses more)', () => {
    expect(ttlSeconds(notice({ expires_at: 60_000 }), 0)).toBe(60);
    expect(ttlSeconds(notice({ expires_at: 10 }), 1_000)).toBe(1);
    expect(ttlSeconds(notice({ expires_at: 90 * 86_400_000 }), 0)).toBe(MAX_TTL_S);
    expect(MAX_TTL_S).toBe(2_419_200);
  });

  it('Topic: one per room, at most 32 base64url characters; Urgency high for reminders and starts only', () => {
    const t = topicOf(notice());
    expect(t).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
    expect(topicOf(notice({ type: 'session_started' }))).toBe(t);
    expect(topicOf(notice({ room_id: 'room-2' }))).not.toBe(t);
    expect(['reminder', 'session_started', 'phase_changed', 'session_completed'].map((type) => urgencyOf(notice({ type: type as PushNotice['type'] })))).toEqual(['high', 'high', 'normal', 'normal']);
  });

  it('a VAPID subject Apple refuses (no real contact) is recognised', () => {
    for (const s of ['mailto:a@localhost', 'mailto:x@relay.local', 'https://focusroom.test/contact', 'mailto:ops@example.com', 'https://x.invalid/']) expect(unreachableSubject(s)).toBe(true);
    for (const s of ['mailto:ops@focusroom.app', 'https://github.com/focusroom']) expect(unreachableSubject(s)).toBe(false);
  });
});
