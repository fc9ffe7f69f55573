/**
 * Recurrence (src/domain/recurrence.ts): RRULE validation, expansion in an IANA zone that
 * keeps wall-clock time across DST in two zones (Europe/Berlin, America/New_York), the
 * one-year bound, and the gap/overlap rules of wall-clock to instant.
 */
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/contract/errors.js';
import { expandSeries, fromFloating, parseRule, toFloating } from '../../src/domain/recurrence.js';

const iso = (t: number) => new Date(t).toISOString();
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return e instanceof AppError ? e.code : 'other';
  }
  return undefined;
};

describe('expandSeries across DST', () => {
  it('Europe/Berlin: 09:00 every Monday stays 09:00 local across the March change (08:00Z → 07:00Z)', () => {
    const first = Date.UTC(2027, 2, 15, 8, 0); // Mon 15 Mar 2027, 09:00 CET
    const all = expandSeries({ starts_at: first, rrule: 'FREQ=WEEKLY;BYDAY=MO;COUNT=3', tz: 'Europe/Berlin' });
    expect(all.map(iso)).toEqual(['2027-03-15T08:00:00.000Z', '2027-03-22T08:00:00.000Z', '2027-03-29T07:00:00.000Z']);
  });

  it('Europe/Berlin: back across the October change (07:00Z → 08:00Z), daily with INTERVAL', () => {
    const first = Date.UTC(2027, 9, 29, 7, 30); // Fri 29 Oct, 09:30 CEST
    const all = expandSeries({ starts_at: first, rrule: 'FREQ=DAILY;INTERVAL=2;COUNT=3', tz: 'Europe/Berlin' });
    expect(all.map(iso)).toEqual(['2027-10-29T07:30:00.000Z', '2027-10-31T08:30:00.000Z', '2027-11-02T08:30:00.000Z']);
  });

  it('America/New_York: 18:00 Tue/Thu across 14 March 2027 (23:00Z → 22:00Z) and 7 November (22:00Z → 23:00Z)', () => {
    const march = expandSeries({ starts_at: Date.UTC(2027, 2, 9, 23, 0), rrule: 'FREQ=WEEKLY;BYDAY=TU,TH;COUNT=4', tz: 'America/New_York' });
    expect(march.map(iso)).toEqual(['2027-03-09T23:00:00.000Z', '2027-03-11T23:00:00.000Z', '2027-03-16T22:00:00.000Z', '2027-03-18T22:00:00.000Z']);
    const nov = expandSeries({ starts_at: Date.UTC(2027, 10, 4, 22, 0), rrule: 'FREQ=WEEKLY;BYDAY=TH;UNTIL=20271112', tz: 'America/New_York' });
    expect(nov.map(iso)).toEqual(['2027-11-04T22:00:00.000Z', '2027-11-11T23:00:00.000Z']);
  });

  it('BYDAY that skips the first start day starts at the next matching day; UNTIL is inclusive', () => {
    const all = expandSeries({ starts_at: Date.UTC(2027, 0, 5, 9, 0), rrule: 'FREQ=WEEKLY;BYDAY=MO,FR;UNTIL=20270111T090000Z', tz: 'UTC' });
    expect(all.map(iso)).toEqual(['2027-01-08T09:00:00.000Z', '2027-01-11T09:00:00.000Z']);
  });

  it('at most a year: COUNT or UNTIL past it is invalid_payload', () => {
    const start = Date.UTC(2027, 0, 1, 9);
    expect(expandSeries({ starts_at: start, rrule: 'FREQ=DAILY;COUNT=366', tz: 'UTC' })).toHaveLength(366);
    expect(codeOf(() => expandSeries({ starts_at: start, rrule: 'FREQ=DAILY;COUNT=367', tz: 'UTC' }))).toBe('invalid_payload');
    expect(codeOf(() => expandSeries({ starts_at: start, rrule: 'FREQ=WEEKLY;COUNT=60', tz: 'UTC' }))).toBe('invalid_payload');
    expect(codeOf(() => expandSeries({ starts_at: start, rrule: 'FREQ=WEEKLY;UNTIL=20280301', tz: 'UTC' }))).toBe('invalid_payload');
  });
});

describe('parseRule', () => {
  it('accepts the supported subset (and an RRULE: prefix)', () => {
    expect(parseRule('RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=10')).toEqual({ freq: 'WEEKLY', interval: 2, byday: ['MO', 'WE'], count: 10, until: null });
  });

  it.each([
    '',
    'FREQ=MONTHLY;COUNT=3',
    'FREQ=HOURLY;COUNT=3',
    'FREQ=DAILY',
    'FREQ=DAILY;COUNT=3;UNTIL=20270101',
    'FREQ=DAILY;COUNT=0',
    'FREQ=DAILY;COUNT=1.5',
    'FREQ=DAILY;INTERVAL=0;COUNT=3',
    'FREQ=WEEKLY;BYDAY=XX;COUNT=3',
    'FREQ=WEEKLY;BYDAY=1MO;COUNT=3',
    'FREQ=WEEKLY;BYDAY=MO,MO;COUNT=3',
    'FREQ=DAILY;BYHOUR=3;COUNT=3',
    'FREQ=DAILY;UNTIL=20270230',
    'FREQ=DAILY;FREQ=WEEKLY;COUNT=2',
    'freq=daily;count=3',
    'FREQ=DAILY;COUNT=3;',
  ])('refuses %j with invalid_payload', (rule) => {
    expect(codeOf(() => parseRule(rule))).toBe('invalid_payload');
  });
});

describe('wall clock in a zone', () => {
  it('a time in the spring gap moves forward; a repeated autumn time is its first occurrence', () => {
    // 2027-03-28 02:30 does not exist in Berlin: 03:30 CEST (01:30Z).
    expect(iso(fromFloating(Date.UTC(2027, 2, 28, 2, 30), 'Europe/Berlin'))).toBe('2027-03-28T01:30:00.000Z');
    // 2027-10-31 02:30 happens twice in Berlin: the first is 00:30Z (CEST).
    expect(iso(fromFloating(Date.UTC(2027, 9, 31, 2, 30), 'Europe/Berlin'))).toBe('2027-10-31T00:30:00.000Z');
    expect(toFloating(Date.UTC(2027, 6, 1, 12), 'America/New_York')).toBe(Date.UTC(2027, 6, 1, 8));
  });
});
