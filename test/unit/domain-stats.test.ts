/** Stats and streaks with an injected clock, across time zones and DST changes. */
import { describe, expect, it } from 'vitest';
import { computeStats, isValidTimeZone, localDate, type StatsRow } from '../../src/domain/stats.js';

let n = 0;
const row = (iso: string, status = 'completed', focused_ms = 1_500_000): StatsRow => ({
  room_id: `r${++n}`,
  run_started_at: Date.parse(iso) - focused_ms,
  ended_at: Date.parse(iso),
  status,
  focused_ms,
});

describe('time zones', () => {
  it('a round counts on its local calendar date', () => {
    // 23:30 UTC is already the next day in Berlin, still the same day in New York.
    const t = Date.parse('2026-03-10T23:30:00Z');
    expect(localDate(t, 'UTC')).toBe('2026-03-10');
    expect(localDate(t, 'Europe/Berlin')).toBe('2026-03-11');
    expect(localDate(t, 'America/New_York')).toBe('2026-03-10');
    expect(localDate(t, 'Asia/Tokyo')).toBe('2026-03-11');
  });

  it('the same rounds make a streak in one zone and not in another', () => {
    // 22:30 UTC on three days, then 00:30 UTC on the fourth day: in New York (UTC−4/−5)
    // the last one is still the third day's evening, so it adds no day there.
    const rows = [row('2026-06-01T22:30:00Z'), row('2026-06-02T22:30:00Z'), row('2026-06-04T00:30:00Z')];
    const now = Date.parse('2026-06-04T12:00:00Z');
    expect(computeStats(rows, 'UTC', now)).toMatchObject({ current_streak_days: 1, longest_streak_days: 2 });
    expect(computeStats(rows, 'America/New_York', now)).toMatchObject({ current_streak_days: 3, longest_streak_days: 3 });
  });

  it('rejects unknown zones', () => {
    expect(isValidTimeZone('Europe/Berlin')).toBe(true);
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
    expect(isValidTimeZone('')).toBe(false);
    expect(isValidTimeZone('Europe/Berlin; drop table')).toBe(false);
  });
});

describe('streaks', () => {
  it('across the spring-forward day (23 hours) and the fall-back day (25 hours)', () => {
    // Europe/Berlin: 2026-03-29 has 23 hours, 2026-10-25 has 25. One round each evening.
    const spring = ['2026-03-28T19:00:00Z', '2026-03-29T18:00:00Z', '2026-03-30T18:00:00Z'].map((t) => row(t));
    expect(computeStats(spring, 'Europe/Berlin', Date.parse('2026-03-30T20:00:00Z'))).toMatchObject({ current_streak_days: 3, longest_streak_days: 3 });
    // Early on each day: 00:30 local both sides of the fall-back change.
    const fall = ['2026-10-24T22:30:00Z', '2026-10-25T23:30:00Z', '2026-10-26T23:30:00Z'].map((t) => row(t));
    const stats = computeStats(fall, 'Europe/Berlin', Date.parse('2026-10-27T10:00:00Z'));
    expect(stats).toMatchObject({ current_streak_days: 3, longest_streak_days: 3 });
    expect(stats.days.slice(-4).map((d) => d.date)).toEqual(['2026-10-24', '2026-10-25', '2026-10-26', '2026-10-27']);
  });

  it('is alive through today until today ends, and broken by a missed day', () => {
    const rows = [row('2026-01-01T10:00:00Z'), row('2026-01-02T10:00:00Z')];
    expect(computeStats(rows, 'UTC', Date.parse('2026-01-02T23:59:59Z')).current_streak_days).toBe(2);
    expect(computeStats(rows, 'UTC', Date.parse('2026-01-03T23:59:59Z')).current_streak_days).toBe(2);
    expect(computeStats(rows, 'UTC', Date.parse('2026-01-04T00:00:00Z')).current_streak_days).toBe(0);
    expect(computeStats(rows, 'UTC', Date.parse('2026-01-04T00:00:00Z')).longest_streak_days).toBe(2);
  });

  it('a day with only failed rounds does not count; totals count everything', () => {
    const rows = [row('2026-01-01T10:00:00Z'), row('2026-01-02T10:00:00Z', 'failed', 600_000), row('2026-01-03T10:00:00Z'), row('2026-01-03T11:00:00Z')];
    const s = computeStats(rows, 'UTC', Date.parse('2026-01-03T12:00:00Z'));
    expect(s).toMatchObject({
      focused_ms: 3 * 1_500_000 + 600_000,
      rounds_completed: 3,
      rounds_failed: 1,
      sessions: 4,
      current_streak_days: 1,
      longest_streak_days: 1,
    });
  });

  it('days: the last 30 local dates, today last, with the focus of each', () => {
    const rows = [row('2026-02-27T10:00:00Z', 'completed', 1_000), row('2026-02-27T12:00:00Z', 'failed', 500), row('2026-01-01T10:00:00Z')];
    const s = computeStats(rows, 'UTC', Date.parse('2026-03-01T08:00:00Z'));
    expect(s.days).toHaveLength(30);
    expect(s.days.at(-1)).toEqual({ date: '2026-03-01', focused_ms: 0 });
    expect(s.days.at(-3)).toEqual({ date: '2026-02-27', focused_ms: 1_500 });
    expect(s.days[0]!.date).toBe('2026-01-31');
  });

  it('no rows: zeros and 30 empty days', () => {
    const s = computeStats([], 'Asia/Kolkata', Date.parse('2026-05-05T20:00:00Z'));
    expect(s).toMatchObject({ focused_ms: 0, rounds_completed: 0, rounds_failed: 0, sessions: 0, current_streak_days: 0, longest_streak_days: 0 });
    expect(s.days.at(-1)!.date).toBe('2026-05-06');
  });
});
