/**
 * A person's calendar feed: every booked session of the identity from 7 days
 * back to 60 ahead, as events with stable UIDs (the room id, which for a series
 * occurrence is `<series id>.<starts_at>`, so the event is the same before and after its
 * room exists), a SEQUENCE that only rises (the room's seq, which every change bumps; a
 * cancellation's is its `room_closed` seq), and cancelled occurrences marked so. Pure.
 */
import type { Room } from './room-state.js';
import { plannedLength, windowOf } from './schedule.js';
import { expandSeries } from './recurrence.js';
import type { Series } from './series.js';

export const FEED_BACK_MS = 7 * 86_400_000;
export const FEED_AHEAD_MS = 60 * 86_400_000;

export interface FeedEvent {
  uid: string;
  start: number;
  end: number;
  summary: string;
  sequence: number;
  cancelled: boolean;
  /** The room's code when it exists (for the join link). */
  room_code: string | null;
  /** DTSTAMP: when the event was first known. */
  stamp: number;
  /**
   * A series occurrence's IANA zone: its DTSTART/DTEND are written as wall-clock times
   * with that TZID (and a VTIMEZONE), so a calendar shows it at the same local time across
   * a DST change. Null (a one-off booking): UTC.
   */
  tz: string | null;
}

const uidOf = (roomId: string): string => `${roomId}@focusroom`;

/** `rooms`: the identity's booked rooms (it holds a seat); `series`: those it is a member of. */
export function feedEvents(rooms: Room[], series: Series[], now: number): FeedEvent[] {
  const from = now - FEED_BACK_MS;
  const to = now + FEED_AHEAD_MS;
  const events = new Map<string, FeedEvent>();
  for (const room of rooms) {
    if (room.starts_at == null) continue;
    const window = windowOf(room, now) ?? { start: room.started_at ?? room.starts_at, end: room.completed_at ?? room.starts_at + plannedLength(room.settings) };
    if (window.end <= from || window.start >= to) continue;
    events.set(uidOf(room.id), { uid: uidOf(room.id), start: window.start, end: window.end, summary: room.title ?? 'Focus session', sequence: room.seq, cancelled: false, room_code: room.code, stamp: room.created_at, tz: null });
  }
  for (const s of series) {
    const cancelled = new Set(s.cancelled);
    const length = plannedLength(s.settings);
    for (const t of expandSeries(s)) {
      if (t + length <= from || t >= to) continue;
      const uid = uidOf(`${s.id}.${t}`);
      const roomEvent = events.get(uid);
      if (roomEvent) {
        // The occurrence's room is there: its times and SEQUENCE, the series' zone.
        roomEvent.tz = s.tz;
        continue;
      }
      const isCancelled = cancelled.has(t) || (s.ended_at !== null && t >= s.ended_at);
      events.set(uid, {
        uid,
        start: t,
        end: t + length,
        summary: s.title,
        sequence: isCancelled ? (s.cancelled_seq?.[String(t)] ?? 1) : 0,
        cancelled: isCancelled,
        room_code: isCancelled ? null : (s.occurrences[String(t)] ?? null),
        stamp: s.created_at,
        tz: s.tz,
      });
    }
  }
  return [...events.values()].sort((a, b) => a.start - b.start || a.uid.localeCompare(b.uid));
}
