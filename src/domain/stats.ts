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

export function computeStats(rows: StatsRow[], tz: string, now: number): Stats {
  let focused = 0;
  let completed = 0;
  let failed = 0;
  const sessions = new Set<string>();
  const focusByDay = new Map<number, number>();
  const streakDays = new Set<number>();
  for (const r of rows) {
    focused += r.focused_ms;
    if (r.status === 'completed') completed += 1;
    if (r.status === 'failed') failed += 1;
    sessions.add(`${r.room_id}:${r.run_started_at}`);
    const day = dayNumber(localDate(r.ended_at, tz));
    focusByDay.set(day, (focusByDay.get(day) ?? 0) + r.focused_ms);
    if (r.status === 'completed') streakDays.add(day);
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

  const days: DayTotal[] = [];
  for (let day = today - DAYS + 1; day <= today; day++) days.push({ date: dateOf(day), focused_ms: focusByDay.get(day) ?? 0 });

  return {
    focused_ms: focused,
    rounds_completed: completed,
    rounds_failed: failed,
    sessions: sessions.size,
    current_streak_days: current,
    longest_streak_days: longest,
    days,
  };
}
