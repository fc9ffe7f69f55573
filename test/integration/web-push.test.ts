/**
 * Web Push in a real Chromium: the page registers the service worker (same origin, under
 * the page's CSP) and offers "Remind me" on a booked room; the service worker turns a push
 * message into a notification and a click on it into "open that room".
 *
 * Headless Chromium has no push service of its own (Chrome's is Google's FCM, which needs
 * the network and an API key), so `pushManager.subscribe` cannot succeed here; the test
 * records what it answers. The push event is then delivered to the real service worker by
 * the browser itself (DevTools protocol `ServiceWorker.deliverPushMessage`), and the click
 * is a NotificationEvent dispatched inside the worker (untrusted: openWindow is not
 * allowed for it, so the open-page path is what is checked). The server side of push —
 * JWT, encryption, delivery — is tested against the local push service (push.test.ts).
 * Skips, with a message, when no Chromium is installed.
 */
import webpush from 'web-push';
import { describe, expect, it } from 'vitest';
import { chromiumFor, createBookedRoom, openLobby, useBrowserServer } from '../helpers/browser.js';
import { eventually } from '../helpers/client.js';

const vapid = webpush.generateVAPIDKeys();

describe.skipIf(!chromiumFor('web-push test'))('web client: Web Push', () => {
  const web = useBrowserServer({ VAPID_PUBLIC_KEY: vapid.publicKey, VAPID_PRIVATE_KEY: vapid.privateKey, VAPID_SUBJECT: 'mailto:web@focusroom.test', PUSH_ALLOW_HTTP: 'true' });

  it('a booked room offers "Remind me"; a push shows a notification for its room; a click offers the room', async () => {
    const { server, browser } = web;
    const context = await browser.newContext({ viewport: { width: 375, height: 740 }, timezoneId: 'UTC' });
    await context.grantPermissions(['notifications'], { origin: server.url });
    const { page, errors } = await openLobby(context, server.url);
    const startsAt = await createBookedRoom(page, { name: 'Ada', title: 'Morning pages', hoursAhead: 3 });
    await page.getByRole('button', { name: 'Remind me' }).waitFor();
    const code = (await page.locator('#room-code').textContent())!.trim();

    // The service worker: registered from /sw.js, scope /, active.
    const sw = await page.evaluate(`navigator.serviceWorker.ready.then((reg) => ({ scope: reg.scope, script: reg.active?.scriptURL }))`);
    expect(sw).toEqual({ scope: `${server.url}/`, script: `${server.url}/sw.js` });

    // The real Push API: what headless Chromium answers (no push service behind it).
    const subscribe = await page.evaluate(`navigator.serviceWorker.ready
      .then((reg) => reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: ${JSON.stringify(vapid.publicKey)} }))
      .then((sub) => 'subscribed ' + new URL(sub.endpoint).origin, (e) => e.name + ': ' + e.message)`);
    // Measured with Chromium 156 headless: "AbortError: Registration failed - permission denied"
    // even with the notifications permission granted.
    console.log(`web-push: pushManager.subscribe in headless Chromium → ${subscribe}`);

    // A push message delivered by the browser to the service worker.
    const cdp = await context.newCDPSession(page);
    const registrationId = new Promise<string>((resolve) =>
      cdp.on('ServiceWorker.workerRegistrationUpdated', (e: { registrations: { registrationId: string; scopeURL: string }[] }) => {
        const r = e.registrations.find((x) => x.scopeURL === `${server.url}/`);
        if (r) resolve(r.registrationId);
      }),
    );
    await cdp.send('ServiceWorker.enable');
    const other = 'XYZ234';
    const payload = { type: 'reminder', room_code: other, title: 'Evening review', starts_at: startsAt, ends_at: null, phase: 'focus', round: 1 };
    await cdp.send('ServiceWorker.deliverPushMessage', { origin: server.url, registrationId: await registrationId, data: JSON.stringify(payload) });
    let shown: { title: string; body: string; tag: string; data: unknown }[] = [];
    await eventually(async () => {
      shown = await page.evaluate(`navigator.serviceWorker.ready
        .then((reg) => reg.getNotifications())
        .then((all) => all.map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data })))`);
      expect(shown).toHaveLength(1);
    }, 5_000, 100);
    expect(shown[0]).toMatchObject({ title: 'Evening review starts soon', tag: `focusroom-${other}`, data: { room_code: other, type: 'reminder' } });
    expect(shown[0]!.body).toMatch(/^Starts at /);

    // A click on it: the open page (in another room) is offered that room's code.
    const worker = context.serviceWorkers().find((w) => w.url() === `${server.url}/sw.js`)!;
    expect(worker).toBeDefined();
    await worker.evaluate(`self.registration.getNotifications().then(([n]) => self.dispatchEvent(new NotificationEvent('notificationclick', { notification: n })))`);
    await eventually(async () => expect(await page.locator('#join-code').inputValue()).toBe(other), 5_000, 100);
    expect(await page.locator('#room-code').textContent()).toContain(code);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);
});
