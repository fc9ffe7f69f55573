/**
 * Recurring series: an RFC 5545 RRULE (FREQ=DAILY|WEEKLY, INTERVAL, BYDAY,
 * COUNT or UNTIL, at most a year) expanded by the `rrule` library in an IANA zone, so
 * every occurrence keeps its wall-clock time across DST changes — never "add 7 days of
 * milliseconds". The rule is expanded on floating wall-clock times (UTC fields standing
 * for the zone's local time) and each result is then placed in the zone. Pure: `now` and
 * the horizon come in.
 */
import rrule from 'rrule';
import { AppError } from '../contract/errors.js';

const { RRule } = rrule;

/** An occurrence later than the first start by more than this is refused. */
export const SERIES_SPAN_MAX_MS = 366 * 24 * 3_600_000;
const DAY_CODES = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'] as const;
const ALLOWED = new Set(['FREQ', 'INTERVAL', 'BYDAY', 'COUNT', 'UNTIL']);

export interface ParsedRule {
  freq: 'DAILY' | 'WEEKLY';
  interval: number;
  byday: (typeof DAY_CODES)[number][];
  count: number | null;
  /** UNTIL as an instant (epoch ms). */
  until: number | null;
}

const bad = (message: string): AppError => new AppError('invalid_payload', `rrule: ${message}`);

function parseUntil(v: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z)?$/.exec(v);
  if (!m) throw bad('UNTIL must be YYYYMMDD or YYYYMMDDTHHMMSSZ');
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  const t = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  const back = new Date(t);
  if (back.getUTCMonth() !== mo! - 1 || back.getUTCDate() !== d! || h! > 23 || mi! > 59 || s! > 59) throw bad('UNTIL is not a real date');
  // A date-only UNTIL includes that whole day.
  return m[4] === undefined ? t + 86_400_000 - 1 : t;
}

/** The rule, checked strictly (the library's own parser lets unknown values through). */
export function parseRule(text: string): ParsedRule {
  const body = text.trim().replace(/^RRULE:/i, '');
  if (body.length === 0 || body.length > 200) throw bad('must be a non-empty RRULE of at most 200 characters');
  const parts = new Map<string, string>();
  for (const part of body.split(';')) {
    const m = /^([A-Z]+)=([A-Z0-9,]+)$/.exec(part);
    if (!m) throw bad(`"${part.slice(0, 40)}" is not KEY=VALUE`);
    if (!ALLOWED.has(m[1]!)) throw bad(`${m[1]} is not supported (FREQ, INTERVAL, BYDAY, COUNT, UNTIL)`);
    if (parts.has(m[1]!)) throw bad(`${m[1]} is given twice`);
    parts.set(m[1]!, m[2]!);
  }
  const freq = parts.get('FREQ');
  if (freq !== 'DAILY' && freq !== 'WEEKLY') throw bad('FREQ must be DAILY or WEEKLY');
  const interval = parts.has('INTERVAL') ? Number(parts.get('INTERVAL')) : 1;
  if (!/^\d{1,3}$/.test(parts.get('INTERVAL') ?? '1') || interval < 1 || interval > 365) throw bad('INTERVAL must be a whole number 1–365');
  const byday = parts.has('BYDAY') ? parts.get('BYDAY')!.split(',') : [];
  if (byday.some((d) => !DAY_CODES.includes(d as never)) || new Set(byday).size !== byday.length) throw bad('BYDAY must list distinct days MO, TU, WE, TH, FR, SA, SU');
  if (parts.has('COUNT') === parts.has('UNTIL')) throw bad('give exactly one of COUNT and UNTIL');
  let count: number | null = null;
  if (parts.has('COUNT')) {
    count = Number(parts.get('COUNT'));
    if (!/^\d{1,3}$/.test(parts.get('COUNT')!) || count < 1 || count > 366) throw bad('COUNT must be a whole number 1–366');
  }
  const until = parts.has('UNTIL') ? parseUntil(parts.get('UNTIL')!) : null;
  return { freq, interval, byday: byday as ParsedRule['byday'], count, until };
}

// ---- wall-clock time in an IANA zone ----

const formatters = new Map<string, Intl.DateTimeFormat>();
function fieldsFormatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    if (formatters.size > 500) formatters.clear();
    formatters.set(tz, f);
  }
  return f;
}

/** The zone's wall-clock reading at `instant`, as a floating time (its UTC fields are the local ones). */
export function toFloating(instant: number, tz: string): number {
  const parts = Object.fromEntries(fieldsFormatter(tz).formatToParts(new Date(instant)).map((p) => [p.type, p.value]));
  const ms = instant - Math.floor(instant / 1000) * 1000;
  return Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second)) + ms;
}

/**
 * The instant the zone's clocks read `floating`. A time that occurs twice (clocks set
 * back) is its first occurrence; one that does not occur (clocks set forward) moves
 * forward by the gap, as RFC 5545 says for DTSTART in a gap.
 */
export function fromFloating(floating: number, tz: string): number {
  const offsetAt = (t: number) => toFloating(t, tz) - t;
  const before = floating - offsetAt(floating - 12 * 3_600_000);
  const after = floating - offsetAt(floating + 12 * 3_600_000);
  const valid = [before, after].filter((t) => toFloating(t, tz) === floating).sort((a, b) => a - b);
  return valid[0] ?? before;
}

export interface SeriesRule {
  /** The first occurrence (epoch ms); its wall-clock time in `tz` is every occurrence's. */
  starts_at: number;
  rrule: string;
  tz: string;
}

/**
 * Every occurrence of the series (epoch ms, ascending), checked: at least one, none more
 * than a year after the first start. `invalid_payload` otherwise.
 */
export function expandSeries(rule: SeriesRule): number[] {
  const parsed = parseRule(rule.rrule);
  const dtstart = new Date(toFloating(rule.starts_at, rule.tz));
  const limit = dtstart.getTime() + SERIES_SPAN_MAX_MS;
  if (parsed.until !== null && parsed.until > rule.starts_at + SERIES_SPAN_MAX_MS) throw bad('UNTIL must be at most a year after starts_at');
  const options = {
    freq: parsed.freq === 'DAILY' ? RRule.DAILY : RRule.WEEKLY,
    interval: parsed.interval,
    dtstart,
    ...(parsed.byday.length > 0 ? { byweekday: parsed.byday.map((d) => RRule[d]) } : {}),
    ...(parsed.count !== null ? { count: parsed.count } : {}),
    ...(parsed.until !== null ? { until: new Date(toFloating(parsed.until, rule.tz)) } : {}),
  };
  const floating = new RRule(options).all((d, i) => i < 367 && d.getTime() <= limit + 1);
  if (floating.length === 0) throw bad('the rule yields no occurrence');
  const last = floating.at(-1)!.getTime();
  if (last > limit || floating.length > 366 || (parsed.count !== null && floating.length < parsed.count)) throw bad('the series must end within a year of starts_at');
  // Only occurrences at or after the first start (BYDAY may not include starts_at's day).
  return [...new Set(floating.map((d) => fromFloating(d.getTime(), rule.tz)))].filter((t) => t >= rule.starts_at).sort((a, b) => a - b);
}
