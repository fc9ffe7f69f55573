/**
 * A recurring series: its rule, its members, and which occurrences exist as
 * rooms. Plain JSON, so memory and Redis hold the same thing. Occurrences inside the
 * rolling horizon (14 days) exist as scheduled rooms with their own codes; the code of
 * each occurrence is claimed once in the series itself (a compare-and-set), which makes
 * horizon creation happen exactly once across instances. Pure: `now` comes in.
 */
import { AppError } from '../contract/errors.js';
import { expandSeries } from './recurrence.js';
import type { RoomSettings } from './room-state.js';

export const SERIES_HORIZON_MS = 14 * 24 * 3_600_000;

export interface SeriesMember {
  identity: string;
  user_name: string;
}

export interface Series {
  id: string;
  /** The identity that created it: only it cancels. */
  owner: string;
  title: string;
  starts_at: number;
  rrule: string;
  tz: string;
  settings: Omit<RoomSettings, 'late_join'>;
  /** Owner first, then in the order they joined. */
  members: SeriesMember[];
  /** starts_at (as a string key) → room code, for occurrences created as rooms. */
  occurrences: Record<string, string>;
  /** Occurrences cancelled one by one. */
  cancelled: number[];
  /**
   * starts_at → the calendar SEQUENCE of its cancellation (the room's `room_closed` seq,
   * above every seq the room had), so a subscribed calendar takes the cancellation.
   */
  cancelled_seq?: Record<string, number>;
  /** Set by cancelling the series: no occurrence from then on. */
  ended_at: number | null;
  created_at: number;
}

/** Every occurrence the series still has (not cancelled, not after it ended), ascending. */
export function liveOccurrences(s: Series): number[] {
  const cancelled = new Set(s.cancelled);
  return expandSeries(s).filter((t) => !cancelled.has(t) && (s.ended_at === null || t < s.ended_at));
}

/** Occurrences that should exist as rooms now: in (now, now + horizon], live. */
export function occurrencesInHorizon(s: Series, now: number): number[] {
  return liveOccurrences(s).filter((t) => t > now && t <= now + SERIES_HORIZON_MS);
}

/** Occurrences in the horizon that have no room yet. */
export const missingOccurrences = (s: Series, now: number): number[] => occurrencesInHorizon(s, now).filter((t) => s.occurrences[String(t)] === undefined);

export function requireOwner(s: Series, identity: string): void {
  if (s.owner !== identity) throw new AppError('not_host', 'only the creator of the series can do that');
}

/** Cancels one occurrence; `not_found` when the series has no such live future occurrence. */
export function cancelOccurrence(s: Series, startsAt: number, now: number): Series {
  if (startsAt <= now || !liveOccurrences(s).includes(startsAt)) throw new AppError('not_found', 'the series has no upcoming occurrence at that starts_at');
  return { ...s, cancelled: [...s.cancelled, startsAt] };
}

/** Cancels the rest of the series. */
export function endSeries(s: Series, now: number): Series {
  if (s.ended_at !== null) throw new AppError('not_found', 'the series is already cancelled');
  return { ...s, ended_at: now };
}
