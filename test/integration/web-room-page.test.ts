/**
 * What a newcomer sees on the web page, in a real Chromium at desktop size and
 * on a 390×844 phone: a scheduled room says when it starts and counts down to it (and
 * keeps its title once started), a share link opens the join form, the copy buttons sit at
 * the card's edge, errors name the form's fields, a new host is told, goals say who added
 * them and offer Remove only to their author or the host. Screenshots of the scheduled
 * room before and after its start, and of the lobby a share link opens, go to
 * $SCREENSHOT_DIR (default: a temp dir, named in the test output). Skips without Chromium.
 */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, connect, waitFor } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p): p is string => Boolean(p && existsSync(p)));
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
const SHOTS = process.env.SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), 'focusroom-shots-'));
mkdirSync(SHOTS, { recursive: true });

const VIEWPORTS = [
  { name: 'desktop', width: 1280, height: 800 },
  { name: 'phone', width: 390, height: 844 },
] as const;

let server: TestServer;
let browser: Browser;

async function open(viewport: { width: number; height: number }, path = '/'): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext({ viewport, locale: 'en-GB', timezoneId: 'UTC' });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}${path}`);
  return { page, errors, close: () => context.close() };
}

const text = async (page: Page, sel: string) => ((await page.locator(sel).textContent()) ?? '').trim();
const seconds = async (page: Page) => Number(await page.locator('#countdown').getAttribute('data-seconds'));

describe.skipIf(!CHROMIUM)('web page: what a newcomer sees', () => {
  beforeAll(async () => {
    server = await startServer();
    browser = await chromium.launch({ executablePath: CHROMIUM!, args: ARGS, timeout: 30_000 });
    console.log(`screenshots: ${SHOTS}`);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  }, 30_000);

  for (const vp of VIEWPORTS) {
    it(`${vp.name}: a scheduled room says "Starts at HH:MM (in N s)", counts down to it, starts itself and keeps its title`, async () => {
      const host = await open(vp);
      await host.page.locator('#lobby').waitFor();
      // Far enough ahead for two pages to load and join on a loaded machine.
      const LEAD_S = 15;
      const startsAt = Date.now() + LEAD_S * 1000;
      const code = (await host.page.evaluate(
        `window.focusroom.create({ user_name: 'Ada', title: 'Morning pages', starts_at: ${startsAt}, session_duration: 60000 }).then((r) => r.room_code)`,
      )) as string;
      const guest = await open(vp, `/?code=${code}`);
      await guest.page.locator('#join-name').fill('Ben');
      await guest.page.getByRole('button', { name: /^Join/ }).click();

      const hhmm = new Date(startsAt).toISOString().slice(11, 16);
      for (const { page } of [host, guest]) {
        await page.locator('#room[data-status="waiting"]').waitFor();
        expect(await text(page, '#room-status')).toMatch(new RegExp(`^Starts at ${hhmm} \\(in \\d{1,2} s\\)$`));
        expect(await text(page, '#session-title')).toBe('Morning pages');
        expect(await page.locator('#session-title').isVisible()).toBe(true);
        expect(await seconds(page)).toBeGreaterThan(0);
        expect(await seconds(page)).toBeLessThanOrEqual(LEAD_S);
      }
      expect(await text(host.page, '#start')).toBe('Start now');
      // Live: the countdown to the start moves without any event from the server.
      const before = await seconds(guest.page);
      await expect.poll(() => seconds(guest.page), { timeout: 3_000 }).toBeLessThan(before);
      await host.page.screenshot({ path: join(SHOTS, `scheduled-${vp.name}-host-before.png`), fullPage: true });
      await guest.page.screenshot({ path: join(SHOTS, `scheduled-${vp.name}-guest-before.png`), fullPage: true });

      for (const { page } of [host, guest]) await page.locator('#room[data-status="active"]').waitFor({ timeout: (LEAD_S + 5) * 1000 });
      for (const { page } of [host, guest]) {
        expect(await text(page, '#room-status')).toBe('Focus time');
        expect(await text(page, '#session-title')).toBe('Morning pages');
        expect(await page.locator('#session-title').isVisible()).toBe(true);
        expect(await page.locator('#schedule').isVisible()).toBe(false);
        expect(await seconds(page)).toBeGreaterThan(55);
      }
      await host.page.screenshot({ path: join(SHOTS, `scheduled-${vp.name}-host-after.png`), fullPage: true });
      await guest.page.screenshot({ path: join(SHOTS, `scheduled-${vp.name}-guest-after.png`), fullPage: true });
      expect([...host.errors, ...guest.errors]).toEqual([]);
      await host.close();
      await guest.close();
    }, 60_000);

    it(`${vp.name}: minutes ahead reads "(in 4 min)" with the countdown at ~04:00`, async () => {
      const booker = await connect(server.url);
      const startsAt = Date.now() + 4 * 60_000 - 2_000;
      const created = await call(booker, 'create_session', { user_name: 'Booker', starts_at: startsAt });
      const guest = await open(vp, `/?code=${created.room_code}`);
      await guest.page.locator('#join-name').fill('Ben');
      await guest.page.getByRole('button', { name: /^Join/ }).click();
      await guest.page.locator('#room[data-status="waiting"]').waitFor();
      expect(await text(guest.page, '#room-status')).toMatch(/^Starts at \d\d:\d\d \(in 4 min\)$/);
      expect(await text(guest.page, '#countdown')).toMatch(/^0[34]:[0-5]\d$/);
      expect(await guest.page.locator('#session-title').isVisible()).toBe(false); // no title given
      expect(guest.errors).toEqual([]);
      await guest.close();
    });

    it(`${vp.name}: a share link opens the join form first, focused, the code filled in, Join above the fold`, async () => {
      const host = await connect(server.url);
      const created = await call(host, 'create_session', { user_name: 'Host' });
      const { page, errors, close } = await open(vp, `/?code=${created.room_code.toLowerCase()}`);
      await page.locator('#lobby').waitFor();
      expect(await page.inputValue('#join-code')).toBe(created.room_code);
      expect(await page.evaluate('document.activeElement?.id')).toBe('join-name');
      expect(await text(page, '#join-title')).toBe(`Join room ${created.room_code}`);
      const joinForm = (await page.locator('#join-form').boundingBox())!;
      const createForm = (await page.locator('#create-form').boundingBox())!;
      expect(joinForm.y).toBeLessThanOrEqual(createForm.y);
      const code = (await page.locator('#join-code').boundingBox())!;
      const button = (await page.locator('#join-form button[type="submit"]').boundingBox())!;
      expect(code.y + code.height).toBeLessThanOrEqual(vp.height);
      expect(button.y + button.height).toBeLessThanOrEqual(vp.height);
      await page.screenshot({ path: join(SHOTS, `share-link-${vp.name}.png`) }); // the viewport: what is above the fold
      // With a name already known, Enter joins: the Join button has the focus.
      await page.locator('#join-name').fill('Ben');
      await page.getByRole('button', { name: /^Join/ }).click();
      await page.locator('#room[data-status="waiting"]').waitFor();
      const again = await open(vp, `/?code=${created.room_code}`);
      await again.page.evaluate('localStorage.setItem("focusroom.name", "Cy")');
      await again.page.reload();
      await again.page.locator('#lobby').waitFor();
      expect(await again.page.evaluate('document.activeElement?.textContent')).toBe('Join room');
      expect(errors).toEqual([]);
      await again.close();
      await close();
    });

    it(`${vp.name}: the copy buttons sit at the right edge of the room card`, async () => {
      const { page, errors, close } = await open(vp);
      await page.locator('#lobby').waitFor();
      await page.locator('#create-name').fill('Ada');
      await page.getByRole('button', { name: 'Create room' }).click();
      await page.locator('#room[data-status="waiting"]').waitFor();
      const card = (await page.locator('.room-head').boundingBox())!;
      for (const id of ['#copy-code', '#copy-link']) {
        const b = (await page.locator(id).boundingBox())!;
        // 16 px card padding + 1 px border.
        expect(Math.abs(card.x + card.width - 17 - (b.x + b.width)), id).toBeLessThanOrEqual(2);
      }
      expect(errors).toEqual([]);
      await close();
    });

    it(`${vp.name}: errors on the page name the form's fields, not the wire's ("starts_at must be later than now")`, async () => {
      const { page, errors, close } = await open(vp);
      await page.locator('#lobby').waitFor();
      await page.locator('#create-name').fill('Ada');
      await page.locator('#create-start').fill('2020-01-01T09:00');
      await page.getByRole('button', { name: 'Create room' }).click();
      await page.locator('#message.error').waitFor();
      expect(await text(page, '#message')).toBe('The start time must be later than now');
      expect(errors).toEqual([]);
      await close();
    });

    it(`${vp.name}: a guest who becomes host is told so, visibly`, async () => {
      const host = await connect(server.url);
      const created = await call(host, 'create_session', { user_name: 'Host' });
      const { page, errors, close } = await open(vp, `/?code=${created.room_code}`);
      await page.locator('#join-name').fill('Ben');
      await page.getByRole('button', { name: /^Join/ }).click();
      await page.locator('#room[data-status="waiting"]').waitFor();
      await call(host, 'leave_session');
      await page.locator('#message').getByText('You are now the host').waitFor();
      expect(await page.locator('#message').isVisible()).toBe(true);
      expect(await page.locator('#start').isVisible()).toBe(true);
      expect(errors).toEqual([]);
      await close();
    });

    it(`${vp.name}: goals say who added them; Remove only on your own (or every goal, for the host)`, async () => {
      const host = await connect(server.url);
      const created = await call(host, 'create_session', { user_name: 'Hana' });
      await call(host, 'add_task', { title: 'the host\'s goal' });
      const { page, errors, close } = await open(vp, `/?code=${created.room_code}`);
      await page.locator('#join-name').fill('Ben');
      await page.getByRole('button', { name: /^Join/ }).click();
      await page.locator('#room[data-status="waiting"]').waitFor();
      await page.locator('#task-title').fill('my goal');
      const added = waitFor(host, 'task_added');
      await page.getByRole('button', { name: 'Add', exact: true }).click();
      const mine = (await added).task;
      const rows = page.locator('#tasks li');
      await expect.poll(() => rows.count()).toBe(2);
      expect(await rows.nth(0).locator('.task-by').textContent()).toBe('added by Hana');
      expect(await rows.nth(0).getByRole('button', { name: /Remove/ }).count()).toBe(0);
      expect(await rows.nth(1).locator('.task-by').textContent()).toBe('added by you');
      const removed = waitFor(host, 'task_removed', 5_000);
      await rows.nth(1).getByRole('button', { name: /Remove/ }).click();
      expect((await removed).task.id).toBe(mine.id);
      expect(errors).toEqual([]);
      await close();
    });
  }

  it('index.html is well-formed: every <div> closed once', async () => {
    const html = await (await fetch(server.url)).text();
    expect((html.match(/<div\b/g) ?? []).length).toBe((html.match(/<\/div>/g) ?? []).length);
  });
});
