/**
 * Series and calendar feeds on a single instance survive a restart on the same DATA_DIR
 * (docs/persistence.md "What a crash can lose"): the definition, its members, its
 * occurrences' codes and cancellations, and each identity's feed token come back before
 * the server listens; the feed URL still serves the same events, and the horizon, moved by
 * an injected clock, still creates each new occurrence once.
 */
import { afterEach, expect, it } from 'vitest';
import { ManualClock } from '../../src/domain/clock.js';
import { closeAllClients } from '../helpers/client.js';
import { expectHttpError, http } from '../helpers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { freshDataDir, issuedUserKey } from '../helpers/test-env.js';

const DAY = 86_400_000;
let server: TestServer | undefined;
afterEach(async () => {
  closeAllClients();
  await server?.close();
  server = undefined;
});

interface Occ {
  starts_at: number;
  room_code: string | null;
}
const withRooms = (occ: Occ[]) => occ.filter((o) => o.room_code !== null);
const feedPath = (url: string) => new URL(url).pathname;
/** The events of a feed: UID → its UID, SEQUENCE, STATUS and DTSTART lines. */
const eventsOf = (ics: string): Map<string, string> =>
  new Map(
    ics
      .split('BEGIN:VEVENT')
      .slice(1)
      .map((ev) => {
        const lines = ev.split(/\r\n(?! )/).filter((l) => /^(UID|SEQUENCE|STATUS|DTSTART)[:;]/.test(l));
        return [lines.find((l) => l.startsWith('UID:'))!, lines.sort().join('\n')] as const;
      }),
  );

it('series, members, cancellations and feed tokens come back after a restart; the horizon advances once', async () => {
  const dataDir = freshDataDir();
  const clock = new ManualClock(Date.now());
  server = await startServer({ DATA_DIR: dataDir }, { clock });
  const owner = issuedUserKey();
  const member = issuedUserKey();
  const start = Math.ceil((clock.now() + 3_600_000) / 60_000) * 60_000;
  const created = await http(`${server.url}/series`, {
    token: owner,
    body: { title: 'Kept', starts_at: start, rrule: 'FREQ=DAILY;COUNT=20', tz: 'Europe/Berlin', max_participants: 4 },
  });
  expect(created.status, created.text).toBe(201);
  const id = created.body.series_id as string;
  expect((await http(`${server.url}/series/${id}/members`, { token: member, body: { user_name: 'Mo' } })).status).toBe(200);
  const occ = created.body.occurrences as Occ[];
  expect((await http(`${server.url}/series/${id}/occurrences/${occ[2]!.starts_at}`, { method: 'DELETE', token: owner })).status).toBe(204);
  const feed = await http(`${server.url}/me/calendar-feed`, { method: 'POST', token: member });
  expect(feed.status, feed.text).toBe(201);
  const path = feedPath(feed.body.url);
  const before = await http(`${server.url}${path}`);
  expect(before.status).toBe(200);
  const seriesBefore = (await http(`${server.url}/series/${id}`, { token: member })).body;
  expect(withRooms(seriesBefore.occurrences)).toHaveLength(13);

  // A graceful restart on the same data dir, the clock a day on.
  await server.close();
  const later = new ManualClock(clock.now() + DAY);
  server = await startServer({ DATA_DIR: dataDir }, { clock: later });

  // The feed URL (same token) serves the same events: every one that neither started meanwhile
  // nor came into the horizon is unchanged, UID, SEQUENCE, STATUS and DTSTART alike.
  const after = await http(`${server.url}${path}`);
  expect(after.status, after.text).toBe(200);
  const [was, is] = [eventsOf(before.text), eventsOf(after.text)];
  expect([...is.keys()]).toEqual([...was.keys()]);
  for (const o of occ.slice(1, 14)) expect(is.get(`UID:${id}.${o.starts_at}@focusroom`)).toBe(was.get(`UID:${id}.${o.starts_at}@focusroom`));
  expect(after.text).toContain('STATUS:CANCELLED');
  expect((await http(`${server.url}/me/calendar-feed`, { method: 'POST', token: member })).body.url).toMatch(new RegExp(`${path}$`));

  // Members, codes and the cancellation are intact: the same occurrences, the same rooms, each still seating both.
  const kept = await http(`${server.url}/series/${id}`, { token: member });
  expect(kept.body).toMatchObject({ is_member: true, is_owner: false, members: 2, cancelled: false, title: 'Kept' });
  expect((kept.body.occurrences as Occ[]).map((o) => o.starts_at)).toEqual((seriesBefore.occurrences as Occ[]).map((o) => o.starts_at));
  for (const o of withRooms(seriesBefore.occurrences)) expect(kept.body.occurrences).toContainEqual(o);
  for (const o of withRooms(kept.body.occurrences as Occ[]).filter((o) => o.starts_at > later.now())) {
    const room = await http(`${server.url}/sessions/${o.room_code}`);
    expect(room.status, o.room_code!).toBe(200);
    expect(room.body.participants).toBe(2);
  }

  // The horizon moved a day while it was down: the next occurrence is created once (the
  // start's own sweep, then two at once and one more).
  await Promise.all([server.app.series.sweep(), server.app.series.sweep()]);
  await server.app.series.sweep();
  const swept = (await http(`${server.url}/series/${id}`, { token: owner })).body.occurrences as Occ[];
  const rooms = withRooms(swept);
  expect(rooms).toHaveLength(14);
  expect(new Set(rooms.map((o) => o.room_code)).size).toBe(14);
  const added = rooms.find((o) => !withRooms(seriesBefore.occurrences).some((b) => b.starts_at === o.starts_at))!;
  expect(added.starts_at).toBe(occ[14]!.starts_at);
  expect((await http(`${server.url}/sessions/${added.room_code}`)).body).toMatchObject({ status: 'waiting', participants: 2 });

  // Kept again across a second restart (the sweep's claim too); a revoke is kept as well.
  expect((await http(`${server.url}/me/calendar-feed`, { method: 'DELETE', token: member })).status).toBe(204);
  await server.close();
  server = await startServer({ DATA_DIR: dataDir }, { clock: later });
  expectHttpError(await http(`${server.url}${path}`), 404, 'not_found');
  expect(withRooms((await http(`${server.url}/series/${id}`, { token: owner })).body.occurrences)).toEqual(rooms);
}, 60_000);
