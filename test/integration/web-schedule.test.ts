/**
 * The web client's scheduling bits in a real Chromium: a start time and title in the create
 * form, then the room shows when it starts and an "add to calendar" link to its .ics.
 * Skips, with a message, when no Chromium is installed (as web-client.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { chromiumFor, createBookedRoom, openLobby, useBrowserServer } from '../helpers/browser.js';

describe.skipIf(!chromiumFor('web-schedule test'))('web client: scheduled room', () => {
  const web = useBrowserServer();

  it('a start time in the form schedules the room; the room links its calendar event', async () => {
    const context = await web.browser.newContext({ viewport: { width: 375, height: 740 }, timezoneId: 'UTC' });
    const { page, errors } = await openLobby(context, web.server.url);
    const startsAt = await createBookedRoom(page, { name: 'Ada', title: 'Morning pages', hoursAhead: 3 });
    await page.locator('#schedule').waitFor();
    expect(await page.locator('#session-title').textContent()).toBe('Morning pages');
    expect(await page.locator('#starts-at').getAttribute('datetime')).toBe(new Date(startsAt).toISOString());
    const code = (await page.locator('#room-code').textContent())!.trim();
    const href = await page.locator('#add-to-calendar').getAttribute('href');
    expect(href).toBe(`/sessions/${code}/calendar.ics`);
    const ics = await fetch(`${web.server.url}${href}`);
    expect(ics.status).toBe(200);
    expect(await ics.text()).toContain('SUMMARY:Morning pages');
    expect((await web.server.app.store.get(code))!.starts_at).toBe(startsAt);
    expect(errors).toEqual([]);
    await context.close();
  });
});
