/**
 * The web client at GET / in a real browser (Debian's Chromium through playwright-core):
 * two people in two browser contexts create and join a room, see each other, share a
 * goal, run a short countdown, change status, reload mid-countdown and finish.
 *
 * Skips, with a message, only when no Chromium binary is installed (CI installs one).
 * Set SCREENSHOT_DIR to keep screenshots of the pages at 375 px and desktop width.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.js';

const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p): p is string => Boolean(p && existsSync(p)));
if (!CHROMIUM) {
  console.warn('web-client test SKIPPED: no Chromium at /usr/bin/chromium (apt-get install -y chromium, or set CHROMIUM_PATH)');
}

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
/** 0.15 min = 9 s: long enough to pause and reload mid-countdown on a slow CI machine. */
const DURATION_MIN = '0.15';
const WAIT_MS = 10_000;
const B_NAME = 'Bea <img src=x onerror="window.__xss=1">';

let server: TestServer;
let browser: Browser;
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];

async function openPage(width: number, height: number): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.on('pageerror', (err) => pageErrors.push(`${width}px: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') pageErrors.push(`${width}px console: ${msg.text()}`);
  });
  await page.goto(server.url);
  return page;
}

async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.SCREENSHOT_DIR;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}

/** A participant's row in a page's list (by id). */
const row = (page: Page, participantId: string) => page.locator(`#participants li[data-participant-id="${participantId}"]`);
const seatOf = async (page: Page) => JSON.parse((await page.evaluate('sessionStorage.getItem("focusroom.seat")')) as string) as { participant_id: string; room_code: string };
const seconds = async (page: Page) => Number(await page.locator('#countdown').getAttribute('data-seconds'));
const waitForRoomStatus = (page: Page, status: string) => page.locator(`#room[data-status="${status}"]`).waitFor();
// Predicates as functions, not strings: a string predicate is eval'd in the page, which its CSP refuses.
// They run in the browser (serialized: no closures); the project compiles without the DOM lib.
const waitForRows = (page: Page, n: number) => page.waitForFunction((count) => (globalThis as any).document.querySelectorAll('#participants li').length === count, n);
const waitForSecondsBelow = (page: Page, s: number) => page.waitForFunction((below) => Number((globalThis as any).document.querySelector('#countdown').dataset.seconds) < below, s);

describe.skipIf(!CHROMIUM)('web client (real Chromium)', () => {
  beforeAll(async () => {
    server = await startServer();
    browser = await chromium.launch({ executablePath: CHROMIUM!, args: CHROMIUM_ARGS, timeout: 30_000 });
  }, 60_000);

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((c) => c.close()));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  }, 30_000);

  it('create, join by lowercase code, countdown, status, reload resume, completion', async () => {
    const started = Date.now();
    const a = await openPage(1280, 800);
    const b = await openPage(375, 740);

    // A creates a room.
    await a.locator('#lobby').waitFor();
    await screenshot(b, 'lobby-375');
    await a.getByLabel('Your name').first().fill('Ada');
    await a.getByLabel('Focus (minutes)').fill(DURATION_MIN);
    await a.getByLabel('Max people').fill('3');
    await a.getByRole('button', { name: 'Create room' }).click();
    await waitForRoomStatus(a, 'waiting');
    const code = (await a.locator('#room-code').textContent())!.trim();
    expect(code).toMatch(/^[2-9A-HJ-NP-Z]{6}$/);
    expect(await a.locator('#countdown').textContent()).toBe('00:09');
    expect(await a.locator('#phase').isVisible()).toBe(false); // a single round: no pomodoro label
    const aId = (await seatOf(a)).participant_id;

    // B mistypes a code: the error is shown, B stays in the lobby.
    await b.locator('#join-name').fill(B_NAME);
    await b.locator('#join-code').fill('zzzzzz');
    await b.getByRole('button', { name: 'Join room' }).click();
    await b.locator('#message.error', { hasText: 'No room with that code' }).waitFor();
    expect(await b.locator('#lobby').isVisible()).toBe(true);

    // B joins with the code typed in lowercase.
    await b.locator('#join-code').fill(` ${code.toLowerCase()} `);
    await b.getByRole('button', { name: 'Join room' }).click();
    await waitForRoomStatus(b, 'waiting');
    expect(await b.locator('#message').isVisible()).toBe(false);
    expect((await b.locator('#room-code').textContent())!.trim()).toBe(code);
    const bId = (await seatOf(b)).participant_id;

    // Both see both; the name is rendered as text, never as markup.
    for (const page of [a, b]) {
      await waitForRows(page, 2);
      await row(page, aId).filter({ hasText: 'Ada' }).waitFor();
      await row(page, bId).locator('.name', { hasText: B_NAME }).waitFor();
      expect(await page.locator('#participants img').count()).toBe(0);
      expect(await page.evaluate('window.__xss')).toBeUndefined();
    }
    expect(await a.locator('#host-controls').isVisible()).toBe(true);
    expect(await b.locator('#host-controls').isVisible()).toBe(false);
    expect(await row(a, aId).locator('.tag.host').count()).toBe(1);

    // The shared goal list: A adds, B ticks it, A sees it ticked.
    await a.getByLabel('New goal').fill('Write the intro');
    await a.getByRole('button', { name: 'Add', exact: true }).click();
    await b.getByLabel('Write the intro', { exact: true }).check();
    await a.locator('#tasks li.done', { hasText: 'Write the intro' }).waitFor();
    expect(await a.getByLabel('Write the intro', { exact: true }).isChecked()).toBe(true);

    // B's connection drops (navigates away): A sees B dimmed; B comes back to the same seat.
    await b.goto('about:blank');
    await row(a, bId).and(a.locator('.offline')).waitFor();
    await b.goto(server.url);
    await waitForRoomStatus(b, 'waiting');
    await a.locator(`#participants li[data-participant-id="${bId}"]:not(.offline)`).waitFor();
    await waitForRows(b, 2);
    expect((await seatOf(b)).participant_id).toBe(bId);
    await screenshot(a, 'waiting-desktop');
    await screenshot(b, 'waiting-375');

    // A starts: both countdowns show and go down.
    await a.getByRole('button', { name: 'Start', exact: true }).click();
    for (const page of [a, b]) {
      await waitForRoomStatus(page, 'active');
      expect(await page.locator('#countdown').textContent()).toMatch(/^00:0\d$/);
      expect(await page.locator('#phase').textContent()).toBe('Focus');
    }
    const [secA, secB] = [await seconds(a), await seconds(b)];
    expect(secA).toBeGreaterThan(0);
    expect(secA).toBeLessThanOrEqual(9);
    await waitForSecondsBelow(a, secA);
    await waitForSecondsBelow(b, secB);
    await row(a, bId).and(a.locator('[data-status="focusing"]')).waitFor();

    // B pauses personally: A sees B's badge change; the room countdown keeps running.
    await b.getByRole('button', { name: 'Paused', exact: true }).click();
    await row(a, bId).locator('.badge', { hasText: 'Paused' }).waitFor();
    await b.locator('#my-controls button[data-status="paused"][aria-pressed="true"]').waitFor();
    await screenshot(a, 'active-desktop');
    await screenshot(b, 'active-375');

    // B reloads mid-countdown: same seat, shown once, status and countdown restored.
    await b.reload();
    await waitForRoomStatus(b, 'active');
    expect((await seatOf(b)).participant_id).toBe(bId);
    await waitForRows(b, 2);
    await row(b, bId).and(b.locator('[data-status="paused"]')).filter({ hasText: 'you' }).waitFor();
    expect(await seconds(b)).toBeGreaterThan(0);
    await a.locator(`#participants li[data-participant-id="${bId}"]:not(.offline)`).waitFor();
    expect(await a.locator('#participants li').count()).toBe(2);

    // Completion on both, with results.
    for (const page of [a, b]) {
      await page.locator('#results').waitFor({ timeout: 20_000 });
      await waitForRoomStatus(page, 'completed');
      expect(await page.locator('#countdown').textContent()).toBe('00:00');
      const ada = page.locator(`#results-body tr[data-participant-id="${aId}"]`);
      const bea = page.locator(`#results-body tr[data-participant-id="${bId}"]`);
      expect(await ada.locator('.badge').textContent()).toBe('Completed');
      expect(await ada.locator('.focused').textContent()).toMatch(/^[89] s$/);
      expect(await ada.locator('.pauses').textContent()).toBe('0');
      expect(await bea.locator('.badge').textContent()).toBe('Paused');
      expect(await bea.locator('.pauses').textContent()).toBe('1');
      expect(await bea.locator('.focused').textContent()).toMatch(/^\d s$/);
      expect(await page.locator('#my-controls').isVisible()).toBe(false);
    }
    expect(await a.getByRole('button', { name: 'Start another round' }).isVisible()).toBe(true);
    await screenshot(a, 'completed-desktop');
    await screenshot(b, 'completed-375');

    // No horizontal scrolling at 375 px.
    expect(await b.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    expect(pageErrors).toEqual([]);
    console.info(`web-client flow took ${Date.now() - started} ms`);
  }, 90_000);

  it('pomodoro: focus, break, focus round 2, results only at the end', async () => {
    const started = Date.now();
    const a = await openPage(1280, 800);
    const b = await openPage(375, 740);
    await a.locator('#create-name').fill('Ada');
    await a.getByLabel('Focus (minutes)').fill('0.05'); // 3 s
    await a.getByLabel('Rounds').fill('2');
    await a.getByLabel('Break (minutes)').fill('0.05'); // 3 s
    await a.getByRole('button', { name: 'Create room' }).click();
    await waitForRoomStatus(a, 'waiting');
    expect(await a.locator('#phase').textContent()).toBe('2 rounds · 3 s breaks');
    const code = (await a.locator('#room-code').textContent())!.trim();
    await b.locator('#join-name').fill('Bea');
    await b.locator('#join-code').fill(code);
    await b.getByRole('button', { name: 'Join room' }).click();
    await waitForRoomStatus(b, 'waiting');
    await waitForRows(a, 2);
    const aId = (await seatOf(a)).participant_id;

    // Note the phase label whenever the results table appears: it must be only at the very end.
    for (const page of [a, b]) {
      await page.evaluate(`(() => {
        window.__resultsShown = [];
        const results = document.getElementById('results');
        new MutationObserver(() => {
          if (!results.hidden) window.__resultsShown.push(document.getElementById('phase').textContent);
        }).observe(results, { attributes: true, attributeFilter: ['hidden'] });
      })()`);
    }
    const phaseOf = (page: Page, text: string) => page.locator('#phase', { hasText: text }).waitFor();
    const countdownColor = (page: Page) => page.evaluate(`getComputedStyle(document.getElementById('countdown')).color`);

    await a.getByRole('button', { name: 'Start', exact: true }).click();
    for (const page of [a, b]) await phaseOf(page, 'Focus · round 1 of 2');
    const focusColor = await countdownColor(b);
    expect(await b.locator('#my-controls').isVisible()).toBe(true);

    for (const page of [a, b]) {
      await phaseOf(page, 'Break · round 1 of 2');
      await page.locator('#room[data-status="active"][data-phase="break"]').waitFor();
      expect(await page.locator('#room-status').textContent()).toBe('Break time');
      expect(await page.locator('#results').isVisible()).toBe(false);
      expect(await seconds(page)).toBeGreaterThan(0);
      expect(await seconds(page)).toBeLessThanOrEqual(3);
    }
    expect(await countdownColor(b)).not.toBe(focusColor);
    expect(await b.locator('#my-controls').isVisible()).toBe(false);
    await screenshot(b, 'break-375');

    for (const page of [a, b]) {
      await phaseOf(page, 'Focus · round 2 of 2');
      expect(await page.locator('#results').isVisible()).toBe(false);
      await row(page, aId).and(page.locator('[data-status="focusing"]')).waitFor();
    }
    expect(await countdownColor(b)).toBe(focusColor);

    for (const page of [a, b]) {
      await page.locator('#results').waitFor();
      await waitForRoomStatus(page, 'completed');
      expect(await page.locator('#phase').textContent()).toBe('All 2 rounds done');
      expect(await page.evaluate('window.__resultsShown')).toEqual(['All 2 rounds done']);
      const ada = page.locator(`#results-body tr[data-participant-id="${aId}"]`);
      expect(await ada.locator('.badge').textContent()).toBe('Completed');
      expect(await ada.locator('.focused').textContent()).toBe('6 s'); // both focus rounds, not the break
    }
    expect(await a.getByRole('button', { name: 'Start again' }).isVisible()).toBe(true);
    expect(await b.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    expect(pageErrors).toEqual([]);
    console.info(`web-client pomodoro flow took ${Date.now() - started} ms`);
  }, 60_000);

  it('network drop: "reconnecting…" with the seat kept, back by itself; share link, countdown in the title, 360 px', async () => {
    const a = await openPage(360, 740);
    await a.locator('#create-name').fill('Ada');
    await a.getByLabel('Focus (minutes)').fill('0.5');
    await a.getByRole('button', { name: 'Create room' }).click();
    await waitForRoomStatus(a, 'waiting');
    const code = (await a.locator('#room-code').textContent())!.trim();
    const share = await a.locator('#share-link').getAttribute('href');
    expect(share).toBe(`${server.url}/?code=${code}`);
    expect(await a.getByRole('button', { name: 'Copy link' }).isVisible()).toBe(true);
    expect(await a.getByLabel('Show a browser notification').isChecked()).toBe(false); // opt-in
    const me = (await seatOf(a)).participant_id;
    await a.getByRole('button', { name: 'Start', exact: true }).click();
    await waitForRoomStatus(a, 'active');
    await a.waitForFunction(() => /^00:[0-3]\d · focusroom$/.test((globalThis as any).document.title));

    // Every state the connection indicator shows, and whether the room stayed on screen.
    await a.evaluate(`(() => {
      window.__conn = [];
      const conn = document.getElementById('conn');
      new MutationObserver(() => window.__conn.push([conn.textContent, document.getElementById('room').hidden, document.getElementById('message').textContent]))
        .observe(conn, { childList: true, characterData: true, subtree: true });
    })()`);
    // The network drops (the server side of the connection goes away).
    for (const s of server.app.io.of('/').sockets.values()) s.conn.close();
    await a.locator('#conn.online').waitFor({ timeout: 10_000 });
    await a.waitForFunction(() => ((globalThis as any).__conn as Array<[string]>).some(([t]) => t === 'Online'));
    const seen = (await a.evaluate('window.__conn')) as Array<[string, boolean, string]>;
    const offline = seen.find(([t]) => t.includes('reconnecting'));
    expect(offline, JSON.stringify(seen)).toBeDefined();
    expect(offline![1]).toBe(false); // the room stayed visible
    expect(offline![2]).toMatch(/seat is kept/);
    expect((await seatOf(a)).participant_id).toBe(me);
    await waitForRoomStatus(a, 'active');
    expect(await seconds(a)).toBeGreaterThan(0);
    await row(a, me).filter({ hasText: 'you' }).waitFor();
    expect(await a.locator('#participants li').count()).toBe(1);

    // The share link opens the lobby with the code filled in.
    const b = await openPage(360, 740);
    await b.goto(share!);
    expect(await b.locator('#join-code').inputValue()).toBe(code);
    for (const page of [a, b]) expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('end of a phase: a chime, and a browser notification only once opted in', async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    page.on('pageerror', (err) => pageErrors.push(`notify: ${err.message}`));
    // A backgrounded tab, a Notification API that grants, and Web Audio that counts its tones.
    await page.addInitScript(() => {
      const w = globalThis as any;
      w.__notes = [];
      w.__tones = 0;
      Object.defineProperty(w.document, 'hidden', { get: () => true });
      w.Notification = class {
        static permission = 'default';
        static async requestPermission() {
          w.Notification.permission = 'granted';
          return 'granted';
        }
        constructor(title: string, opts: { body: string }) {
          w.__notes.push(`${title}: ${opts.body}`);
        }
      };
      const node = () => ({ connect: (n: unknown) => n ?? node(), start() {}, stop() {}, frequency: {}, gain: { setValueAtTime() {}, exponentialRampToValueAtTime() {} } });
      w.AudioContext = class {
        currentTime = 0;
        destination = {};
        resume() {}
        createOscillator() {
          w.__tones += 1;
          return node();
        }
        createGain() {
          return node();
        }
      };
    });
    await page.goto(server.url);
    await page.locator('#create-name').fill('Ada');
    await page.getByLabel('Focus (minutes)').fill('0.05'); // 3 s
    await page.getByRole('button', { name: 'Create room' }).click();
    await waitForRoomStatus(page, 'waiting');
    expect(await page.getByLabel('Play a chime').isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    // The round ends before opting in: a chime, no notification.
    await waitForRoomStatus(page, 'completed');
    await page.waitForFunction(() => (globalThis as any).__tones > 0);
    expect(await page.evaluate('window.__notes')).toEqual([]);
    // Opting in asks for permission (from the click); the next round's end notifies.
    await page.getByLabel('Show a browser notification').check();
    await page.getByRole('button', { name: 'Start another round' }).click();
    await waitForRoomStatus(page, 'active');
    await waitForRoomStatus(page, 'completed');
    await page.waitForFunction(() => (globalThis as any).__notes.length >= 1);
    expect(await page.evaluate('window.__notes')).toEqual(['Focus session complete: Well done.']);
    expect(await page.evaluate('localStorage.getItem("focusroom.notify")')).toBe('1');
  }, 40_000);

  it('the same seat opened in another tab: the first tab steps back, and "Rejoin here" takes it back', async () => {
    const a = await openPage(1280, 800);
    await a.locator('#create-name').fill('Ada');
    await a.getByRole('button', { name: 'Create room' }).click();
    await waitForRoomStatus(a, 'waiting');
    const seat = (await a.evaluate('sessionStorage.getItem("focusroom.seat")')) as string;
    // A duplicated tab: same sessionStorage, so it resumes the same seat.
    const b = await openPage(360, 740);
    await b.evaluate((value) => (globalThis as any).sessionStorage.setItem('focusroom.seat', value), seat);
    await b.reload();
    await waitForRoomStatus(b, 'waiting');
    await a.getByRole('button', { name: 'Rejoin here' }).waitFor();
    expect(await a.locator('#message').textContent()).toMatch(/open in another tab/);
    expect(await a.locator('#room').isVisible()).toBe(false);
    // Not fought over: the first tab stays away until asked.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await b.locator('#conn.online').count()).toBe(1);
    await a.getByRole('button', { name: 'Rejoin here' }).click();
    await waitForRoomStatus(a, 'waiting');
    await b.getByRole('button', { name: 'Rejoin here' }).waitFor();
    expect((await seatOf(a)).participant_id).toBe(JSON.parse(seat).participant_id);
    expect(pageErrors).toEqual([]);
  }, 40_000);

  it('hands the host controls over when the host leaves', async () => {
    const a = await openPage(1280, 800);
    const b = await openPage(375, 740);
    await a.locator('#create-name').fill('Host');
    await a.getByRole('button', { name: 'Create room' }).click();
    await waitForRoomStatus(a, 'waiting');
    const code = (await a.locator('#room-code').textContent())!.trim();
    await b.locator('#join-name').fill('Guest');
    await b.locator('#join-code').fill(code.toLowerCase());
    await b.getByRole('button', { name: 'Join room' }).click();
    await waitForRoomStatus(b, 'waiting');
    await waitForRows(b, 2);
    expect(await b.locator('#host-controls').isVisible()).toBe(false);

    await a.getByRole('button', { name: 'Leave room' }).click();
    await a.locator('#lobby').waitFor();
    expect(await a.evaluate('sessionStorage.getItem("focusroom.seat")')).toBeNull();
    await waitForRows(b, 1);
    await b.locator('#host-controls').waitFor();
    await b.locator('#participants li .tag.host').waitFor();
    await b.getByRole('button', { name: 'Start', exact: true }).click();
    await waitForRoomStatus(b, 'active');
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('runs under its Content-Security-Policy: the page connects with no violation, an injected inline script is refused', async () => {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    await page.addInitScript(() => {
      const w = globalThis as any;
      w.__cspViolations = [];
      w.document.addEventListener('securitypolicyviolation', (e: any) => w.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    const res = await page.goto(server.url);
    expect(res?.headers()['content-security-policy']).toMatch(/script-src 'self'/);
    await page.locator('#lobby').waitFor();
    await page.locator('#conn.online').waitFor();
    expect(await page.evaluate('window.__cspViolations')).toEqual([]);
    await page.evaluate(`document.body.append(Object.assign(document.createElement('script'), { textContent: 'window.__inline = 1' }))`);
    await page.waitForFunction(() => (globalThis as any).__cspViolations.length > 0);
    expect(await page.evaluate('window.__inline')).toBeUndefined();
    expect(await page.evaluate('window.__cspViolations')).toEqual([expect.stringMatching(/^script-src/)]);
  }, 30_000);

  it('with the address out of connection budget, a seated page still comes back (its seat rides in the handshake), and a refused page keeps retrying', async () => {
    const tight = await startServer({ RATE_CONNECTIONS_PER_MIN: '2' });
    try {
      const context = await browser.newContext();
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(WAIT_MS);
      await page.goto(tight.url); // connection 1 of 2
      await page.locator('#create-name').fill('Host');
      await page.getByRole('button', { name: 'Create room' }).click();
      await waitForRoomStatus(page, 'waiting');
      const seat = await seatOf(page);
      const other = await (await browser.newContext()).newPage();
      await other.goto(tight.url); // connection 2 of 2: the budget is spent
      await other.locator('#conn.online').waitFor();
      await other.context().close();
      // The seated page reloads: its handshake carries the seat, so it is not refused.
      await page.reload();
      await waitForRoomStatus(page, 'waiting');
      await page.locator('#conn.online').waitFor();
      expect((await seatOf(page)).participant_id).toBe(seat.participant_id);
      // A new page without a seat is refused rate_limited, and tries again by itself.
      const refusedCtx = await browser.newContext();
      contexts.push(refusedCtx);
      const refused = await refusedCtx.newPage();
      let attempts = 0;
      refused.on('websocket', () => attempts++);
      await refused.goto(tight.url);
      const deadline = Date.now() + 8_000;
      while (attempts < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(attempts).toBeGreaterThanOrEqual(3);
      expect(await refused.locator('#conn.online').count()).toBe(0);
    } finally {
      await tight.close();
    }
  }, 40_000);
});
