// focusroom service worker (docs/push.md): shows each Web Push notice as a notification and
// opens the room when one is clicked. Same origin as the page, so the page's CSP
// (script-src 'self') covers it; it caches nothing and handles no fetch.
// @ts-check (public/tsconfig.sw.json: the WebWorker library, since this runs in a service worker's scope)

/** This script's global scope: a service worker's. */
const sw = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));

const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

/** Title and body for a notice `{ type, room_code, title, starts_at, ends_at, phase, round }`. */
function describe(p) {
  const name = p.title || `Room ${p.room_code}`;
  switch (p.type) {
    case 'reminder':
      return [`${name} starts soon`, p.starts_at ? `Starts at ${clock(p.starts_at)}. Tap to open the room.` : 'Tap to open the room.'];
    case 'session_started':
      return [`${name} has started`, p.ends_at ? `Focus until ${clock(p.ends_at)}. Tap to join.` : 'Tap to join.'];
    case 'phase_changed':
      return p.phase === 'break'
        ? [`${name}: break`, p.ends_at ? `Break until ${clock(p.ends_at)}.` : 'Time for a break.']
        : [`${name}: round ${p.round}`, p.ends_at ? `Focus until ${clock(p.ends_at)}.` : 'Back to focus.'];
    case 'session_completed':
      return p.ends_at ? [`${name}: round ${p.round} done`, `Break until ${clock(p.ends_at)}.`] : [`${name} is complete`, 'Well done. Tap to see the results.'];
    default:
      return [name, 'Tap to open the room.'];
  }
}

/**
 * waitUntil, tolerating an event a test dispatched itself (untrusted events may not extend).
 * @param {ExtendableEvent} event
 * @param {Promise<unknown>} promise
 */
function keepAlive(event, promise) {
  try {
    event.waitUntil(promise);
  } catch {
    /* a synthetic event: the promise runs anyway */
  }
  return promise;
}

sw.addEventListener('install', () => sw.skipWaiting());
sw.addEventListener('activate', (event) => keepAlive(event, sw.clients.claim()));

sw.addEventListener('push', (event) => {
  let p = null;
  try {
    p = event.data ? event.data.json() : null;
  } catch {
    p = null;
  }
  if (!p || typeof p.room_code !== 'string') return;
  const [title, body] = describe(p);
  keepAlive(
    event,
    // `renotify` is in the Notifications API (Chromium) but not in TypeScript's NotificationOptions.
    sw.registration.showNotification(title, /** @type {NotificationOptions} */ ({
      body,
      // One notification per room: a newer notice replaces the older one (as the push Topic does).
      tag: `focusroom-${p.room_code}`,
      renotify: true,
      requireInteraction: p.type === 'reminder',
      data: { room_code: p.room_code, type: p.type },
    })),
  );
});

sw.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const code = event.notification.data?.room_code;
  const url = new URL(code ? `/?code=${encodeURIComponent(code)}` : '/', sw.location.origin).href;
  keepAlive(
    event,
    (async () => {
      const windows = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const open = windows.find((w) => new URL(w.url).origin === sw.location.origin);
      if (open) {
        // The page decides: it is in that room already, or it offers to join it (push.js).
        open.postMessage({ type: 'focusroom.open_room', room_code: code });
        return open.focus();
      }
      return sw.clients.openWindow(url);
    })(),
  );
});
