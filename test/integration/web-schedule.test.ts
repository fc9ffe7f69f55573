/**
 * The web client's scheduling bits in a real Chromium: a start time and title in the create
 * form, then the room shows when it starts and an "add to calendar" link to its .ics.
 * Skips, with a message, when no Chromium is installed (as web-client.test.ts).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.js';

const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p): p is string => Boolean(p && existsSync(p)));
if (!CHROMIUM) console.warn('web-schedule test SKIPPED: no Chromium at /usr/bin/chromium');

let server: TestServer;
let browser: Browser;

describe.skipIf(!CHROMIUM)('web client: scheduled room', () => {
  beforeAll(async () => {
    server = await startServer();
    browser = await chromium.launch({ executablePath: CHROMIUM!, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'], timeout: 30_000 });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  }, 30_000);

  it('a start time in the form schedules the room; the room links its calendar event', async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 740 }, timezoneId: 'UTC' });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    await page.locator('#lobby').waitFor();
    await page.locator('#create-name').fill('Ada');
    await page.locator('#create-session-title').fill('Morning pages');
    // datetime-local is local time (UTC in this context), minute precision.
    const startsAt = Math.ceil((Date.now() + 3 * 3_600_000) / 60_000) * 60_000;
    await page.locator('#create-start').fill(new Date(startsAt).toISOString().slice(0, 16));
    await page.getByRole('button', { name: 'Create room' }).click();
    await page.locator('#room[data-status="waiting"]').waitFor();
    await page.locator('#schedule').waitFor();
    expect(await page.locator('#session-title').textContent()).toBe('Morning pages');
    expect(await page.locator('#starts-at').getAttribute('datetime')).toBe(new Date(startsAt).toISOString());
    const code = (await page.locator('#room-code').textContent())!.trim();
    const href = await page.locator('#add-to-calendar').getAttribute('href');
    expect(href).toBe(`/sessions/${code}/calendar.ics`);
    const ics = await fetch(`${server.url}${href}`);
    expect(ics.status).toBe(200);
    expect(await ics.text()).toContain('SUMMARY:Morning pages');
    expect((await server.app.store.get(code))!.starts_at).toBe(startsAt);
    expect(errors).toEqual([]);
    await context.close();
  });
});
