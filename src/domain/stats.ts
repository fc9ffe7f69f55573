/**
 * An identity's stats from its stored results: totals, and daily streaks counted in the
 * caller's time zone. Days are calendar dates in that zone (never 24-hour spans), so a
 * DST change — a 23- or 25-hour day — neither breaks nor doubles a streak. Pure: the
 * rows and `now` come in.
 */

export interface StatsRow {
  room_id: string;
  run_started_at: number;
  ended_at: number;
  status: string;
  focused_ms: number;
}

export interface DayTotal {
  /** YYYY-MM-DD in the requested zone. */
  date: string;
  focused_ms: number;
}

export interface Stats {
  focused_ms: number;
  rounds_completed: number;
  rounds_failed: number;
  /** Runs (a host's start, with all its rounds) the identity took part in. */
  sessions: number;
  /** Consecutive days with a completed round, ending today or yesterday (today may still come). */
  current_streak_days: number;
  longest_streak_days: number;
  /** The last `DAYS` dates, oldest first, today last. */
  days: DayTotal[];
}

export const DAYS = 30;
const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' });
    if (formatters.size > 500) formatters.clear();
    formatters.set(tz, f);
  }
  return f;
}

/** An IANA zone name such as Europe/Berlin (or UTC) that this runtime knows. */
export function isValidTimeZone(tz: string): boolean {
  if (tz.length === 0 || tz.length > 64 || !/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(tz)) return false;
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

/** The calendar date of `t` (epoch ms) in `tz`, as YYYY-MM-DD. */
export function localDate(t: number, tz: string): string {
  const parts = formatter(tz).formatToParts(new Date(t));
  const get = (type: string) => parts.find((p) => p.type === type)!.value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/** Day number of a YYYY-MM-DD date (its UTC midnight / one day): consecutive dates differ by 1. */
const dayNumber = (date: string): number => Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) / DAY_MS;
const dateOf = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);

/**
 * Results are summed per UTC quarter hour (ended_at / BUCKET_MS, in SQL): every zone's
 * offset is a whole number of quarter hours, so a local midnight is a bucket boundary and
 * a bucket lies on one local date. The work of a stats request is then bounded by the
 * span of time it covers, not by how many rows the identity has.
 */
export const BUCKET_MS = 900_000;

/** What the store sums for one identity (results-repository.ts `statsOf`). */
export interface StatsAggregate {
  focused_ms: number;
  rounds_completed: number;
  rounds_failed: number;
  sessions: number;
  /** Buckets (ended_at / BUCKET_MS) with at least one completed round, any order. */
  completedBuckets: number[];
  /** Focus per bucket since the start of the `days` window (at least DAYS + 1 days back). */
  focusBuckets: { bucket: number; focused_ms: number }[];
}

/** Offset of `tz` from UTC at `t` (ms), read from the zone's wall clock. */
function offsetAt(t: number, tz: string): number {
  const parts = offsetFormatter(tz).formatToParts(new Date(t));
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour') % 24, get('minute'));
  return wall - (t - (((t % 60_000) + 60_000) % 60_000));
}

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();
function offsetFormatter(tz: string): Intl.DateTimeFormat {
  let f = offsetFormatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    if (offsetFormatters.size > 500) offsetFormatters.clear();
    offsetFormatters.set(tz, f);
  }
  return f;
}

/**
 * Local day numbers of buckets, with the zone's offset read once per UTC day (twice
 * where it changes that day, then per bucket): a few hundred reads for a year, whatever
 * the rounds.
 */
class LocalDays {
  private readonly byUtcDay = new Map<number, number | null>();
  constructor(private readonly tz: string) {}

  of(bucket: number): number {
    const t = bucket * BUCKET_MS;
    const utcDay = Math.floor(t / DAY_MS);
    let offset = this.byUtcDay.get(utcDay);
    if (offset === undefined) {
      const first = offsetAt(utcDay * DAY_MS, this.tz);
      offset = first === offsetAt((utcDay + 1) * DAY_MS - BUCKET_MS, this.tz) ? first : null;
      this.byUtcDay.set(utcDay, offset);
    }
    return Math.floor((t + (offset ?? offsetAt(t, this.tz))) / DAY_MS);
  }
}

/** The aggregate of `rows` as the store computes it (tests, and the reference for the SQL). */
export function aggregateRows(rows: StatsRow[], since = -Infinity): StatsAggregate {
  const sessions = new Set<string>();
  const completed = new Set<number>();
  const focus = new Map<number, number>();
  const agg: StatsAggregate = { focused_ms: 0, rounds_completed: 0, rounds_failed: 0, sessions: 0, completedBuckets: [], focusBuckets: [] };
  for (const r of rows) {
    agg.focused_ms += r.focused_ms;
    if (r.status === 'completed') agg.rounds_completed += 1;
    if (r.status === 'failed') agg.rounds_failed += 1;
    sessions.add(`${r.room_id}:${r.run_started_at}`);
    const bucket = Math.floor(r.ended_at / BUCKET_MS);
    if (r.status === 'completed') completed.add(bucket);
    if (r.ended_at >= since) focus.set(bucket, (focus.get(bucket) ?? 0) + r.focused_ms);
  }
  agg.sessions = sessions.size;
  agg.completedBuckets = [...completed];
  agg.focusBuckets = [...focus].map(([bucket, focused_ms]) => ({ bucket, focused_ms }));
  return agg;
}

/** The earliest ended_at the `days` window of a stats request at `now` can need (any zone). */
export const focusWindowStart = (now: number): number => now - (DAYS + 2) * DAY_MS;

export function computeStats(rows: StatsRow[], tz: string, now: number): Stats {
  return statsFromAggregate(aggregateRows(rows), tz, now);
}

export function statsFromAggregate(agg: StatsAggregate, tz: string, now: number): Stats {
  const days = new LocalDays(tz);
  const streakDays = new Set<number>();
  for (const b of agg.completedBuckets) streakDays.add(days.of(b));
  const focusByDay = new Map<number, number>();
  for (const { bucket, focused_ms } of agg.focusBuckets) {
    const day = days.of(bucket);
    focusByDay.set(day, (focusByDay.get(day) ?? 0) + focused_ms);
  }
  const today = dayNumber(localDate(now, tz));

  let longest = 0;
  let run = 0;
  let previous: number | null = null;
  for (const day of [...streakDays].sort((a, b) => a - b)) {
    run = previous !== null && day === previous + 1 ? run + 1 : 1;
    longest = Math.max(longest, run);
    previous = day;
  }

  // A streak that reached yesterday is still alive today until today ends.
  let current = 0;
  let cursor = streakDays.has(today) ? today : today - 1;
  while (streakDays.has(cursor)) {
    current += 1;
    cursor -= 1;
  }

  const list: DayTotal[] = [];
  for (let day = today - DAYS + 1; day <= today; day++) list.push({ date: dateOf(day), focused_ms: focusByDay.get(day) ?? 0 });

  return {
    focused_ms: agg.focused_ms,
    rounds_completed: agg.rounds_completed,
    rounds_failed: agg.rounds_failed,
    sessions: agg.sessions,
    current_streak_days: current,
    longest_streak_days: longest,
    days: list,
  };
}
