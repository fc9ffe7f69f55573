/**
 * What a committed room change tells people who are not looking (Web Push):
 * a reminder before a booked room's start, and the start, phase changes and completion
 * for the identities with no connected seat in the room. Pure and deterministic, like
 * the other outbox entries: the ids are the room id and the event's seq (or the start a
 * reminder is for), so a compare-and-set that is retried computes the same notices and a
 * sender can deduplicate by (notice id, subscription).
 */
import type { Phase } from '../contract/events.js';
import type { Room } from './room-state.js';
import { isBooked, startsAtOf } from './schedule.js';

export const PUSH_NOTICE_TYPES = ['reminder', 'session_started', 'phase_changed', 'session_completed'] as const;
export type PushNoticeType = (typeof PUSH_NOTICE_TYPES)[number];

/** A completion notice is worth showing for this long (the recap window). */
export const COMPLETION_NOTICE_TTL_MS = 10 * 60_000;

export interface PushNotice {
  room_id: string;
  room_code: string;
  type: PushNoticeType;
  title: string | null;
  starts_at: number | null;
  /** End of the phase the room is in after the change (null when not running). */
  ends_at: number | null;
  phase: Phase;
  round: number;
  /** Whom to tell: identities (domain/identity.ts), each once. */
  identities: string[];
  /** After this the notice is pointless: its push TTL, and when retries stop. */
  expires_at: number;
}

/** When a booked room's reminder is due; null when it has none (push off, not booked, or already sent for this start). */
export function reminderAt(room: Room): number | null {
  const lead = room.remind_lead_ms ?? 0;
  if (lead <= 0 || !isBooked(room)) return null;
  const startsAt = startsAtOf(room)!;
  if (room.reminded_for === startsAt) return null;
  return startsAt - lead;
}

const identitiesOf = (room: Room, onlyAway: boolean): string[] => {
  const present = new Set(room.participants.filter((p) => p.connected && p.identity).map((p) => p.identity!));
  const out = new Set<string>();
  for (const p of room.participants) if (p.identity && !(onlyAway && present.has(p.identity))) out.add(p.identity);
  return [...out];
};

function notice(room: Room, type: PushNoticeType, identities: string[], expiresAt: number): PushNotice {
  return {
    room_id: room.id,
    room_code: room.code,
    type,
    title: room.title ?? null,
    starts_at: startsAtOf(room),
    ends_at: room.status === 'active' ? room.ends_at : null,
    phase: room.phase,
    round: room.round,
    identities,
    expires_at: expiresAt,
  };
}

/** The reminder this change sent (`reminded_for` moved to the room's start), if any. */
export function reminderNotice(before: Room, after: Room | null): PushNotice | null {
  if (!after || after.reminded_for == null || after.reminded_for === before.reminded_for) return null;
  const identities = identitiesOf(after, false);
  return identities.length > 0 ? notice(after, 'reminder', identities, after.reminded_for) : null;
}

/**
 * The notice for one room event, or null when it is not one people are told about, or
 * it repeats the moment the previous event already told (a pomodoro break's end is a
 * phase change and a start; a focus round's end is a completion and a phase change).
 */
export function eventNotice(after: Room, event: string, previous: string | null, now: number): PushNotice | null {
  let type: PushNoticeType;
  if (event === 'session_started') {
    if (previous === 'phase_changed') return null;
    type = 'session_started';
  } else if (event === 'phase_changed') {
    if (previous === 'session_completed') return null;
    type = 'phase_changed';
  } else if (event === 'session_completed') {
    type = 'session_completed';
  } else {
    return null;
  }
  const identities = identitiesOf(after, true);
  if (identities.length === 0) return null;
  const phaseEnd = after.status === 'active' && after.ends_at !== null ? after.ends_at : null;
  return notice(after, type, identities, phaseEnd ?? now + COMPLETION_NOTICE_TTL_MS);
}
