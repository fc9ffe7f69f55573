/**
 * The web client's stats (public/stats.js) in a real Chromium: the user_key the server
 * issues is kept in localStorage and sent back on the next create, and after a completed
 * round the lobby shows "Your focus" with a 30-bar chart. Skips without Chromium.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p): p is string => Boolean(p && existsSync(p)));
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

describe.skipIf(!CHROMIUM)('web client stats (real Chromium)', () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await startServer({ DATA_DIR: ':memory:' });
    await server.app.persistence!.start();
    browser = await chromium.launch({ executablePath: CHROMIUM!, args: ARGS, timeout: 30_000 });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  }, 30_000);

  it('keeps the user_key, and shows the last 30 days after a completed round', async () => {
    const page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(10_000);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    await page.locator('#lobby').waitFor();
    expect(await page.locator('#stats').isVisible()).toBe(false); // nothing yet

    await page.getByLabel('Your name').first().fill('Ada');
    await page.getByLabel('Focus (minutes)').fill('0.02'); // 1.2 s
    await page.getByRole('button', { name: 'Create room' }).click();
    await page.locator('#room[data-status="waiting"]').waitFor();
    const key = (await page.evaluate('localStorage.getItem("focusroom.user_key")')) as string;
    expect(key).toMatch(/^[A-Za-z0-9_-]{32}$/);
    await page.locator('#start').click();
    await page.locator('#room[data-status="completed"]').waitFor();
    // The lobby reads the stats when it shows: once the writer has stored the round.
    await eventually(async () => expect(await server.app.persistence!.repository()!.countResults()).toBe(1), 5_000);
    await page.locator('#leave').click();

    await page.locator('#stats').waitFor({ state: 'visible' });
    expect(await page.locator('#stats-summary').textContent()).toMatch(/1 rounds completed · streak 1 day/);
    expect(await page.locator('#stats svg rect').count()).toBe(30);
    // A round of ~1 s: said in seconds, never "0 min" beside a full-height bar; the scale is labelled.
    const summary = (await page.locator('#stats-summary').textContent())!;
    expect(summary).toMatch(/^1 s focused · /);
    const titles = await page.locator('#stats svg rect title').allTextContents();
    expect(titles.filter((t) => !t.endsWith(': 0 s'))).toEqual([expect.stringMatching(/: 1 s$/)]);
    expect(titles.join()).not.toMatch(/min/);
    expect(await page.locator('#stats svg .stats-max').textContent()).toBe('max 1 s');

    // The next create sends the kept key: no new key is issued, the same user.
    await page.getByLabel('Your name').first().fill('Ada');
    await page.getByRole('button', { name: 'Create room' }).click();
    await page.locator('#room[data-status="waiting"]').waitFor();
    expect(await page.evaluate('localStorage.getItem("focusroom.user_key")')).toBe(key);
    expect(errors).toEqual([]);
  });
});
