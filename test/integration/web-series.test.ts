/**
 * The web page's booked-focus loop in a real Chromium, at desktop width and
 * at 390 px: create a weekly series and see its sessions, get the calendar feed URL, set
 * an intention before starting, pick a recap after the round, see the others' intentions
 * and recaps (live and after a reload), and see attendance in the stats panel. Skips
 * without Chromium.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, closeAllClients, connect, eventually, waitFor } from '../helpers/client.js';
import { http } from '../helpers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';

const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p): p is string => Boolean(p && existsSync(p)));
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

/** `t` as the value of a datetime-local input in the browser's (here: the test's) zone. */
const localInput = (t: number) => {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
};

describe.skipIf(!CHROMIUM)('web page: series, calendar feed, intention, recap, attendance (real Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await startServer({ DATA_DIR: ':memory:', NO_SHOW_GRACE_MS: '1000' });
    await server.app.persistence!.start();
    browser = await chromium.launch({ executablePath: CHROMIUM!, args: ARGS, timeout: 30_000 });
  }, 90_000);
  afterAll(async () => {
    closeAllClients();
    await browser?.close();
    await server?.close();
  }, 30_000);

  it.each([
    ['desktop', { width: 1280, height: 900 }],
    ['390 px', { width: 390, height: 844 }],
  ] as const)('at %s', async (_name, viewport) => {
    const page = await (await browser.newContext({ viewport })).newPage();
    page.setDefaultTimeout(10_000);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    await page.locator('#lobby').waitFor();

    // A weekly series: its sessions listed with their room codes.
    await page.getByLabel('Series title').fill('Thesis writing');
    await page.getByLabel('First session').fill(localInput(Date.now() + 2 * 3_600_000));
    await page.getByLabel('Weeks').fill('3');
    await page.getByRole('button', { name: 'Create weekly series' }).click();
    await expect.poll(() => page.locator('#series-occurrences li').count()).toBe(3);
    const codes = await page.locator('#series-occurrences a').allTextContents();
    expect(codes).toHaveLength(2); // weeks 1 and 2 are inside the 14-day horizon
    expect(codes.every((c) => /^[A-Z0-9]{6}$/.test(c))).toBe(true);
    const key = (await page.evaluate('localStorage.getItem("focusroom.user_key")')) as string;
    expect((await http(`${server.url}/me/sessions`, { token: key })).body.sessions.map((s: any) => s.room_code)).toEqual(codes);

    // The calendar feed URL, shown for copying, serves the series.
    await page.getByRole('button', { name: 'Calendar feed' }).click();
    await expect.poll(() => page.getByLabel('Calendar feed URL').inputValue()).toMatch(/\/calendar\/[A-Za-z0-9_-]{32}\.ics$/);
    const feedUrl = await page.getByLabel('Calendar feed URL').inputValue();
    expect(await page.getByRole('button', { name: 'Copy feed URL' }).isVisible()).toBe(true);
    expect((await http(feedUrl)).text.match(/BEGIN:VEVENT/g)).toHaveLength(3);

    // A booked session this identity attends (through the SDK socket, same user_key).
    const s = await connect(server.url);
    const booked = await call(s, 'create_session', { user_name: 'Ada', user_key: key, starts_at: Date.now() + 1_200, session_duration: 1_500 });
    expect(booked.ok).toBe(true);
    await waitFor(s, 'session_completed', 6_000);

    // In a room: an intention before starting, a recap after the round.
    await page.getByLabel('Your name').first().fill('Ada');
    await page.getByLabel('Focus (minutes)').fill('0.02');
    await page.getByRole('button', { name: 'Create room' }).click();
    await page.locator('#room[data-status="waiting"]').waitFor();
    // Another participant, already there with an intention: the page shows it from the snapshot.
    const code = (await page.locator('#room-code').textContent())!.trim();
    const guest = await connect(server.url);
    const guestJoin = await call(guest, 'join_session', { room_code: code, user_name: 'Grace' });
    expect(guestJoin.ok).toBe(true);
    await call(guest, 'set_intention', { text: 'Read two papers' });
    const row = (name: string) => page.locator('#participants li', { hasText: name });
    await expect.poll(() => row('Grace').locator('.intention').textContent()).toBe('Read two papers');
    // A fresh page load (the snapshot) shows it too.
    const seeker = await (await browser.newContext({ viewport })).newPage();
    await seeker.goto(server.url);
    await seeker.locator('#join-name').fill('Sam');
    await seeker.locator('#join-code').fill(code);
    await seeker.getByRole('button', { name: 'Join room' }).click();
    await seeker.locator('#room[data-status="waiting"]').waitFor();
    await expect.poll(() => seeker.locator('#participants li', { hasText: 'Grace' }).locator('.intention').textContent()).toBe('Read two papers');
    await page.getByLabel('Your intention').fill('Outline chapter 2');
    await page.getByRole('button', { name: 'Set intention' }).click();
    await expect.poll(() => page.locator('#message').textContent()).toBe('Intention set');
    await page.locator('#start').click();
    await page.locator('#room[data-status="completed"]').waitFor();
    await page.locator('#recap').waitFor({ state: 'visible' });
    await page.getByRole('button', { name: 'Done', exact: true }).click();
    await expect.poll(() => page.locator('#message').textContent()).toBe('Recap saved: Done');
    // Others' recaps arrive live (participant_recap) and are in the snapshot a reload gets.
    expect((await call(guest, 'set_recap', { round: 1, outcome: 'partly', note: 'one of two' })).ok).toBe(true);
    await expect.poll(() => row('Grace').locator('.recap').textContent()).toBe('Round 1: Partly — one of two');
    await expect.poll(() => row('Ada').locator('.recap').textContent()).toBe('Round 1: Done');
    await expect.poll(() => seeker.locator('#participants li', { hasText: 'Grace' }).locator('.recap').textContent()).toBe('Round 1: Partly — one of two');
    await seeker.reload();
    await seeker.locator('#room[data-status="completed"]').waitFor();
    await expect.poll(() => seeker.locator('#participants li', { hasText: 'Ada' }).locator('.intention').textContent()).toBe('Outline chapter 2');
    await expect.poll(() => seeker.locator('#participants li', { hasText: 'Grace' }).locator('.recap').textContent()).toBe('Round 1: Partly — one of two');
    for (const p of [page, seeker]) expect((await p.evaluate('document.documentElement.scrollWidth')) as number).toBeLessThanOrEqual(viewport.width);
    await seeker.context().close();
    await eventually(async () => {
      const h = await http(`${server.url}/me/history`, { token: key });
      expect(h.body.rounds[0].result).toMatchObject({ intention: 'Outline chapter 2', recap: { outcome: 'done' } });
    }, 5_000);

    // Attendance in the stats panel.
    await page.locator('#leave').click();
    await page.reload();
    await page.locator('#stats').waitFor({ state: 'visible' });
    await expect.poll(() => page.locator('#stats-summary').textContent()).toMatch(/attended 1 of 1 booked \(0 missed\)/);

    // Nothing wider than the screen.
    expect((await page.evaluate('document.documentElement.scrollWidth')) as number).toBeLessThanOrEqual(viewport.width);
    expect(errors).toEqual([]);
  }, 60_000);
});
