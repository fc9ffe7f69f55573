/**
 * The series' rules with an injected `now` (src/domain/series.ts, calendar-feed.ts): which
 * occurrences the rolling 14-day horizon holds and which it still has to create, as `now`
 * moves across a DST change in two zones (Europe/Berlin in March, America/New_York in
 * November), cancellations and the end of a series, and the calendar feed's events (UIDs,
 * SEQUENCE, cancelled ones, the series' zone for TZID).
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/contract/errors.js';
import { feedEvents } from '../../src/domain/calendar-feed.js';
import { cancelOccurrence, endSeries, liveOccurrences, missingOccurrences, occurrencesInHorizon, SERIES_HORIZON_MS, type Series } from '../../src/domain/series.js';

const DAY = 86_400_000;
const iso = (t: number) => new Date(t).toISOString();

const series = (over: Partial<Series>): Series => ({
  id: 'S1',
  owner: 'key:o',
  title: 'Series',
  starts_at: 0,
  rrule: 'FREQ=DAILY;COUNT=3',
  tz: 'UTC',
  settings: { session_duration: 1_500_000, rounds: 1, break_duration: 300_000, max_participants: 4 },
  members: [{ identity: 'key:o', user_name: 'O' }],
  occurrences: {},
  cancelled: [],
  ended_at: null,
  created_at: 0,
  ...over,
});

describe('horizon across DST', () => {
  // Mondays 09:00 in Berlin from 15 March 2027: 08:00Z until the change on 28 March, 07:00Z after.
  const berlin = series({ starts_at: Date.UTC(2027, 2, 15, 8), rrule: 'FREQ=WEEKLY;BYDAY=MO;COUNT=6', tz: 'Europe/Berlin' });

  it('Europe/Berlin: the horizon holds (now, now + 14 days], the local time kept across the March change', () => {
    const now = Date.UTC(2027, 2, 14, 12);
    expect(occurrencesInHorizon(berlin, now).map(iso)).toEqual(['2027-03-15T08:00:00.000Z', '2027-03-22T08:00:00.000Z']);
    // A week on: the first is past, the one after the change (07:00Z, still 09:00 local) comes in.
    const later = now + 7 * DAY;
    const created = { ...berlin, occurrences: { [String(Date.UTC(2027, 2, 15, 8))]: 'AAAAAA', [String(Date.UTC(2027, 2, 22, 8))]: 'BBBBBB' } };
    expect(occurrencesInHorizon(created, later).map(iso)).toEqual(['2027-03-22T08:00:00.000Z', '2027-03-29T07:00:00.000Z']);
    expect(missingOccurrences(created, later).map(iso)).toEqual(['2027-03-29T07:00:00.000Z']);
    // The boundary: an occurrence exactly at now + 14 days is in, one at now is not.
    const at = Date.UTC(2027, 2, 29, 7);
    expect(occurrencesInHorizon(berlin, at - SERIES_HORIZON_MS)).toContain(at);
    expect(occurrencesInHorizon(berlin, at)).not.toContain(at);
  });

  it('America/New_York: 18:00 daily across 7 November (22:00Z → 23:00Z); each missing occurrence once', () => {
    const ny = series({ starts_at: Date.UTC(2027, 10, 5, 22), rrule: 'FREQ=DAILY;COUNT=5', tz: 'America/New_York' });
    const now = Date.UTC(2027, 10, 1);
    expect(occurrencesInHorizon(ny, now).map(iso)).toEqual([
      '2027-11-05T22:00:00.000Z',
      '2027-11-06T22:00:00.000Z',
      '2027-11-07T23:00:00.000Z',
      '2027-11-08T23:00:00.000Z',
      '2027-11-09T23:00:00.000Z',
    ]);
    let s = ny;
    for (const t of missingOccurrences(s, now)) s = { ...s, occurrences: { ...s.occurrences, [String(t)]: `R${t}` } };
    expect(missingOccurrences(s, now)).toEqual([]);
    expect(missingOccurrences(s, now + 3 * DAY)).toEqual([]);
  });

  it('a cancelled occurrence and the end of the series leave the horizon; cancelling twice or a past one is not_found', () => {
    const now = Date.UTC(2027, 2, 14, 12);
    const second = Date.UTC(2027, 2, 22, 8);
    const one = cancelOccurrence(berlin, second, now);
    expect(occurrencesInHorizon(one, now).map(iso)).toEqual(['2027-03-15T08:00:00.000Z']);
    expect(liveOccurrences(one)).toHaveLength(5);
    for (const fn of [() => cancelOccurrence(one, second, now), () => cancelOccurrence(berlin, Date.UTC(2027, 2, 15, 8), Date.UTC(2027, 2, 16)), () => cancelOccurrence(berlin, second + 1, now)]) {
      expect(fn).toThrow(AppError);
    }
    const ended = endSeries(one, Date.UTC(2027, 2, 20));
    expect(occurrencesInHorizon(ended, Date.UTC(2027, 2, 20))).toEqual([]);
    expect(liveOccurrences(ended).map(iso)).toEqual(['2027-03-15T08:00:00.000Z']);
    expect(() => endSeries(ended, Date.UTC(2027, 2, 21))).toThrow(AppError);
  });
});

describe('feed events', () => {
  it('every occurrence with a stable UID and the series zone; cancelled ones marked with their SEQUENCE', () => {
    const s = series({
      starts_at: Date.UTC(2027, 2, 26, 7, 30),
      rrule: 'FREQ=DAILY;COUNT=4',
      tz: 'Europe/Berlin',
      cancelled: [Date.UTC(2027, 2, 28, 6, 30)],
      cancelled_seq: { [String(Date.UTC(2027, 2, 28, 6, 30))]: 7 },
    });
    const events = feedEvents([], [s], Date.UTC(2027, 2, 20));
    expect(events.map((e) => [e.uid, iso(e.start), e.sequence, e.cancelled, e.tz])).toEqual([
      [`S1.${Date.UTC(2027, 2, 26, 7, 30)}@focusroom`, '2027-03-26T07:30:00.000Z', 0, false, 'Europe/Berlin'],
      [`S1.${Date.UTC(2027, 2, 27, 7, 30)}@focusroom`, '2027-03-27T07:30:00.000Z', 0, false, 'Europe/Berlin'],
      [`S1.${Date.UTC(2027, 2, 28, 6, 30)}@focusroom`, '2027-03-28T06:30:00.000Z', 7, true, 'Europe/Berlin'],
      [`S1.${Date.UTC(2027, 2, 29, 6, 30)}@focusroom`, '2027-03-29T06:30:00.000Z', 0, false, 'Europe/Berlin'],
    ]);
    // Outside [now − 7 days, now + 60 days): not in the feed.
    expect(feedEvents([], [s], Date.UTC(2027, 5, 1))).toEqual([]);
  });
});
