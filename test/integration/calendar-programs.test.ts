/**
 * The calendar feed read by programs outside Node (checked with two real parsers and
 * importable into a calendar program): python3-icalendar parses it, and khal
 * (a CLI calendar over a vdir) imports it with `khal import --batch` and lists it back.
 * Two series in two zones whose occurrences cross a DST change (America/New_York on
 * 2027-03-14, Europe/Berlin on 2027-03-28; the server's clock is injected): every
 * occurrence keeps its wall-clock time under its TZID while its UTC instant moves by the
 * hour, UIDs are stable, a cancelled one is STATUS:CANCELLED with a raised SEQUENCE.
 * Both programs are Debian packages .ci/run installs; without them the test fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/clock.js';
import { closeAllClients } from '../helpers/client.js';
import { http } from '../helpers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { issuedUserKey } from '../helpers/test-env.js';

/** 2027-03-08 12:00 UTC: both DST changes are inside the feed's 60 days. */
const NOW = Date.UTC(2027, 2, 8, 12);
let server: TestServer;
beforeAll(async () => {
  server = await startServer({ DATA_DIR: 'off' }, { clock: new ManualClock(NOW) });
});
afterAll(async () => {
  closeAllClients();
  await server.close();
});

/** The zone's wall-clock reading of an instant, "YYYY-MM-DD HH:MM". */
function wall(instant: number, tz: string): string {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' })
      .formatToParts(new Date(instant))
      .map((x) => [x.type, x.value]),
  );
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

function run(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', timeout: 30_000, env: { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' } });
  if (r.error) throw new Error(`${cmd} could not run (${r.error.message}): .ci/run installs it (apt-get install python3-icalendar khal)`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

const PYTHON = `
import sys, json, datetime
from icalendar import Calendar
cal = Calendar.from_ical(sys.stdin.read())
out = []
for e in cal.walk("VEVENT"):
    start = e["DTSTART"]
    dt = start.dt
    out.append({
        "uid": str(e["UID"]),
        "sequence": int(e.get("SEQUENCE", 0)),
        "status": str(e.get("STATUS", "")),
        "tzid": start.params.get("TZID"),
        "local": dt.strftime("%Y-%m-%d %H:%M"),
        "epoch_ms": int(dt.timestamp() * 1000),
    })
print(json.dumps({"events": out, "timezones": [str(t["TZID"]) for t in cal.walk("VTIMEZONE")]}))
`;

interface PyEvent {
  uid: string;
  sequence: number;
  status: string;
  tzid: string | null;
  local: string;
  epoch_ms: number;
}

it('python3-icalendar parses the feed and khal imports it: UIDs, SEQUENCE, STATUS:CANCELLED, TZID wall-clock times across DST in two zones', async () => {
  const owner = issuedUserKey();
  const series = [
    // 18:00 in New York, daily across 2027-03-14 (EST → EDT).
    { tz: 'America/New_York', title: 'Evening NY', starts_at: Date.UTC(2027, 2, 11, 23), rrule: 'FREQ=DAILY;COUNT=6' },
    // 08:30 in Berlin, daily across 2027-03-28 (CET → CEST).
    { tz: 'Europe/Berlin', title: 'Morning Berlin', starts_at: Date.UTC(2027, 2, 25, 7, 30), rrule: 'FREQ=DAILY;COUNT=6' },
  ];
  const created: { id: string; tz: string; occ: { starts_at: number }[] }[] = [];
  for (const s of series) {
    const r = await http(`${server.url}/series`, { token: owner, body: s });
    expect(r.status, r.text).toBe(201);
    created.push({ id: r.body.series_id, tz: s.tz, occ: r.body.occurrences });
  }
  // The wall-clock time is kept: each zone's UTC instants move by an hour at its change.
  expect(created[0]!.occ.map((o) => wall(o.starts_at, 'America/New_York').slice(11))).toEqual(Array(6).fill('18:00'));
  expect(new Set(created[0]!.occ.map((o) => new Date(o.starts_at).getUTCHours()))).toEqual(new Set([23, 22]));
  expect(created[1]!.occ.map((o) => wall(o.starts_at, 'Europe/Berlin').slice(11))).toEqual(Array(6).fill('08:30'));
  expect(new Set(created[1]!.occ.map((o) => new Date(o.starts_at).getUTCHours()))).toEqual(new Set([7, 6]));
  // One occurrence of each cancelled, each after its zone's change.
  const cancelled = [created[0]!.occ[4]!.starts_at, created[1]!.occ[4]!.starts_at];
  for (const [i, t] of cancelled.entries()) expect((await http(`${server.url}/series/${created[i]!.id}/occurrences/${t}`, { method: 'DELETE', token: owner })).status).toBe(204);

  const feed = await http(`${server.url}/me/calendar-feed`, { method: 'POST', token: owner });
  const ics = (await http(feed.body.url)).text;
  const expected = created.flatMap((s) => s.occ.map((o) => ({ uid: `${s.id}.${o.starts_at}@focusroom`, tz: s.tz, start: o.starts_at, cancelled: cancelled.includes(o.starts_at) })));
  expected.sort((a, b) => a.start - b.start);

  // python3-icalendar (Debian's, beside /usr/bin/python3).
  const py = JSON.parse(run('/usr/bin/python3', ['-c', PYTHON], ics)) as { events: PyEvent[]; timezones: string[] };
  expect(py.timezones.sort()).toEqual(['America/New_York', 'Europe/Berlin']);
  expect(py.events.map((e) => e.uid)).toEqual(expected.map((e) => e.uid));
  for (const [i, e] of py.events.entries()) {
    const want = expected[i]!;
    expect(e, want.uid).toMatchObject({ tzid: want.tz, local: wall(want.start, want.tz), epoch_ms: want.start, status: want.cancelled ? 'CANCELLED' : 'CONFIRMED' });
    if (want.cancelled) expect(e.sequence, want.uid).toBeGreaterThanOrEqual(1);
  }

  // khal: a vdir calendar in a temporary config, imported in batch mode, listed back.
  const dir = mkdtempSync(join(tmpdir(), 'focusroom-khal-'));
  const vdir = join(dir, 'calendar');
  const config = join(dir, 'config');
  writeFileSync(
    config,
    [
      '[calendars]',
      '[[focus]]',
      `path = ${vdir}`,
      'type = calendar',
      '[sqlite]',
      `path = ${join(dir, 'khal.db')}`,
      '[locale]',
      'timeformat = %H:%M',
      'dateformat = %Y-%m-%d',
      'longdateformat = %Y-%m-%d',
      'datetimeformat = %Y-%m-%d %H:%M',
      'longdatetimeformat = %Y-%m-%d %H:%M',
      'local_timezone = Europe/Berlin',
      'default_timezone = Europe/Berlin',
      '',
    ].join('\n'),
  );
  run('mkdir', ['-p', vdir]);
  const feedFile = join(dir, 'feed.ics');
  writeFileSync(feedFile, ics);
  run('khal', ['-c', config, 'import', '--batch', feedFile]);
  // One file per UID in the vdir, each keeping its SEQUENCE, STATUS and TZID.
  const files = readdirSync(vdir).filter((f) => f.endsWith('.ics'));
  expect(files).toHaveLength(expected.length);
  const stored = new Map(files.map((f) => [/^UID:(.*)$/m.exec(readFileSync(join(vdir, f), 'utf8').replace(/\r\n /g, ''))![1]!.trim(), readFileSync(join(vdir, f), 'utf8')]));
  for (const [i, want] of expected.entries()) {
    const text = stored.get(want.uid)!;
    expect(text, want.uid).toBeDefined();
    expect(text).toMatch(new RegExp(`^DTSTART;TZID=${want.tz}`, 'm'));
    expect(text).toContain(`SEQUENCE:${py.events[i]!.sequence}`);
    expect(text).toContain(`STATUS:${want.cancelled ? 'CANCELLED' : 'CONFIRMED'}`);
  }
  // Listed back by khal in Berlin time: each event at its instant, the cancelled ones marked.
  const listed = run('khal', ['-c', config, 'list', '--format', '{uid}|{start}|{status}', '--day-format', '', '2027-03-01', '60d'])
    .split('\n')
    .filter((l) => l.includes('@focusroom'))
    .map((l) => l.split('|'));
  expect(new Set(listed.map(([uid]) => uid))).toEqual(new Set(expected.map((e) => e.uid)));
  for (const [uid, start, status] of listed) {
    const want = expected.find((e) => e.uid === uid)!;
    expect(start, uid).toBe(wall(want.start, 'Europe/Berlin'));
    expect(status!.trim(), uid).toBe(want.cancelled ? 'CANCELLED' : 'CONFIRMED');
  }
  // The same feed fetched again is unchanged for khal: a re-import replaces nothing by a duplicate.
  run('khal', ['-c', config, 'import', '--batch', feedFile]);
  expect(readdirSync(vdir).filter((f) => f.endsWith('.ics'))).toHaveLength(expected.length);
}, 60_000);
