/**
 * A real Chromium against a real server for the web page's tests: the browser and the
 * server started in the describe block's beforeAll and closed in its afterAll, and the
 * create form filled the way a person fills it. A test file skips (with a message) when
 * no Chromium is installed: `describe.skipIf(!CHROMIUM)`.
 */
import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { newServer, type TestServer } from './server.js';

/** The Chromium binary (CHROMIUM_PATH, else the distribution's), or undefined. */
export const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p): p is string => Boolean(p && existsSync(p)));

/** `CHROMIUM`, warning once that `what` is skipped when there is none. */
export function chromiumFor(what: string): string | undefined {
  if (!CHROMIUM) console.warn(`${what} SKIPPED: no Chromium at /usr/bin/chromium`);
  return CHROMIUM;
}

export interface BrowserServer {
  readonly server: TestServer;
  readonly browser: Browser;
}

/**
 * A server (with `env`) and a headless Chromium for a describe block: started in its
 * beforeAll, browser then server closed in its afterAll; there inside tests and hooks.
 */
export function useBrowserServer(env: Record<string, string> = {}): BrowserServer {
  let server: TestServer | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    server = await newServer(env);
    browser = await chromium.launch({ executablePath: CHROMIUM!, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'], timeout: 30_000 });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  }, 30_000);
  return {
    get server() {
      if (!server) throw new Error('useBrowserServer: the server starts in beforeAll; use it inside tests and hooks');
      return server;
    },
    get browser() {
      if (!browser) throw new Error('useBrowserServer: the browser starts in beforeAll; use it inside tests and hooks');
      return browser;
    },
  };
}

/** A page of `context` on the lobby at `url`, its uncaught errors collected in `errors`. */
export async function openLobby(context: BrowserContext, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.locator('#lobby').waitFor();
  return { page, errors };
}

/**
 * Creates a room booked `hoursAhead` hours from now (rounded up to the minute:
 * datetime-local has minute precision and is local time, so the context's time zone
 * should be UTC) through the create form, and waits for the waiting room; returns its
 * `starts_at`.
 */
export async function createBookedRoom(page: Page, { name, title, hoursAhead }: { name: string; title: string; hoursAhead: number }): Promise<number> {
  await page.locator('#create-name').fill(name);
  await page.locator('#create-session-title').fill(title);
  const startsAt = Math.ceil((Date.now() + hoursAhead * 3_600_000) / 60_000) * 60_000;
  await page.locator('#create-start').fill(new Date(startsAt).toISOString().slice(0, 16));
  await page.getByRole('button', { name: 'Create room' }).click();
  await page.locator('#room[data-status="waiting"]').waitFor();
  return startsAt;
}
