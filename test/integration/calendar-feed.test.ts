/**
 * The subscribable calendar: POST /me/calendar-feed gives one secret URL
 * (the same until revoked), the feed lists every booked session with stable UIDs, a
 * SEQUENCE that rises on each change and STATUS:CANCELLED for a cancelled occurrence;
 * checked with ical.js and, outside Node, with python3-icalendar when it is installed.
 */
import { spawnSync } from 'node:child_process';
import ICAL from 'ical.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issuedUserKey } from '../helpers/test-env.js';
import { call, closeAllClients, connect } from '../helpers/client.js';
import { expectHttpError, http } from '../helpers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';

const newKey = issuedUserKey;
let server: TestServer;
beforeAll(async () => {
  server = await startServer({ DATA_DIR: 'off' });
});
afterAll(async () => {
  closeAllClients();
  await server.close();
});

interface Ev {
  uid: string;
  sequence: number;
  status: string;
  start: number;
  summary: string;
}
function parse(text: string): Ev[] {
  const vcal = new ICAL.Component(ICAL.parse(text));
  return vcal.getAllSubcomponents('vevent').map((c) => {
    const e = new ICAL.Event(c);
    return { uid: e.uid, sequence: e.sequence, status: String(c.getFirstPropertyValue('status')), start: e.startDate.toJSDate().getTime(), summary: e.summary };
  });
}

/** python3-icalendar's reading of the feed, or null when python3 or the module is missing. */
function pythonEvents(text: string): { uid: string; sequence: number; status: string }[] | null {
  const script = `
import sys, json
from icalendar import Calendar
cal = Calendar.from_ical(sys.stdin.read())
print(json.dumps([{"uid": str(e["UID"]), "sequence": int(e.get("SEQUENCE", 0)), "status": str(e.get("STATUS", ""))} for e in cal.walk("VEVENT")]))
`;
  // Debian's python3-icalendar lives beside /usr/bin/python3; a python3 first on PATH may lack it.
  for (const python of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(python, ['-c', script], { input: text, encoding: 'utf8', timeout: 10_000 });
    if (r.status === 0) return JSON.parse(r.stdout);
    if (!r.error && !r.stderr.includes('No module named')) throw new Error(r.stderr);
  }
  return null;
}

describe('calendar feed', () => {
  it('one secret URL per identity; events with stable UIDs, rising SEQUENCE, cancelled ones marked; revocable', async () => {
    const owner = newKey();
    const member = newKey();
    const start = Math.ceil((Date.now() + 3_600_000) / 60_000) * 60_000;
    const created = await http(`${server.url}/series`, { token: owner, body: { title: 'Writing club', starts_at: start, rrule: 'FREQ=WEEKLY;COUNT=4', tz: 'Europe/Berlin' } });
    expect(created.status, created.text).toBe(201);
    const id = created.body.series_id as string;
    expect((await http(`${server.url}/series/${id}/members`, { token: member, body: { user_name: 'Mo' } })).status).toBe(200);

    const feed = await http(`${server.url}/me/calendar-feed`, { method: 'POST', token: member });
    expect(feed.status, feed.text).toBe(201);
    const url = feed.body.url as string;
    expect(url).toMatch(/\/calendar\/[A-Za-z0-9_-]{32}\.ics$/);
    expect((await http(`${server.url}/me/calendar-feed`, { method: 'POST', token: member })).body.url).toBe(url);
    expect((await http(`${server.url}/me/calendar-feed`, { method: 'POST', token: owner })).body.url).not.toBe(url);

    const first = await http(url);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^text\/calendar/);
    const events = parse(first.text);
    const occ = created.body.occurrences as { starts_at: number; room_code: string | null }[];
    expect(events.map((e) => e.uid)).toEqual(occ.map((o) => `${id}.${o.starts_at}@focusroom`));
    expect(events.map((e) => e.start)).toEqual(occ.map((o) => o.starts_at));
    expect(events.every((e) => e.status === 'CONFIRMED' && e.summary === 'Writing club')).toBe(true);

    // A change in an occurrence's room (the member takes the seat) raises its SEQUENCE.
    const s = await connect(server.url);
    expect((await call(s, 'join_session', { room_code: occ[0]!.room_code!, user_name: 'Mo', user_key: member })).ok).toBe(true);
    const second = parse((await http(url)).text);
    expect(second[0]!.uid).toBe(events[0]!.uid);
    expect(second[0]!.sequence).toBeGreaterThan(events[0]!.sequence);

    // A cancelled occurrence stays, marked, with a higher SEQUENCE.
    expect((await http(`${server.url}/series/${id}/occurrences/${occ[1]!.starts_at}`, { method: 'DELETE', token: owner })).status).toBe(204);
    const third = await http(url);
    const afterCancel = parse(third.text);
    expect(afterCancel).toHaveLength(4);
    expect(afterCancel[1]).toMatchObject({ uid: events[1]!.uid, status: 'CANCELLED' });
    expect(afterCancel[1]!.sequence).toBeGreaterThan(events[1]!.sequence);
    expect(afterCancel.filter((e) => e.status === 'CONFIRMED')).toHaveLength(3);

    // The same feed through a parser outside Node.
    const py = pythonEvents(third.text);
    if (py) {
      expect(py.map((e) => e.uid)).toEqual(afterCancel.map((e) => e.uid));
      expect(py.map((e) => e.status)).toEqual(afterCancel.map((e) => e.status));
      expect(py.map((e) => e.sequence)).toEqual(afterCancel.map((e) => e.sequence));
    } else {
      console.log('python3-icalendar not installed: the outside-Node parse was skipped');
    }

    // Revoked: the URL is gone at once; a new POST makes a new one.
    expect((await http(`${server.url}/me/calendar-feed`, { method: 'DELETE', token: member })).status).toBe(204);
    expectHttpError(await http(url), 404, 'not_found');
    expectHttpError(await http(`${server.url}/me/calendar-feed`, { method: 'DELETE', token: member }), 404, 'not_found');
    const renewed = await http(`${server.url}/me/calendar-feed`, { method: 'POST', token: member });
    expect(renewed.body.url).not.toBe(url);
    expect(parse((await http(renewed.body.url)).text)).toHaveLength(4);
  });

  it('bad input is a typed error', async () => {
    expectHttpError(await http(`${server.url}/me/calendar-feed`, { method: 'POST' }), 401, 'unauthorized');
    expectHttpError(await http(`${server.url}/calendar/short.ics`), 400, 'invalid_payload');
    expectHttpError(await http(`${server.url}/calendar/${'a'.repeat(32)}.ics`), 404, 'not_found');
    expectHttpError(await http(`${server.url}/calendar/${'a'.repeat(32)}`), 400, 'invalid_payload');
  });
});
