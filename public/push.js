// @ts-check (tsconfig.public.json: checked by npm run typecheck)
// Web Push in the web client (docs/push.md): registers the service worker (sw.js) and
// offers "Remind me" on a booked room, or "Notify me while I'm away" once joined. The
// subscription is stored for this browser's user_key (kept by stats.js) and posted again
// on every visit, so a server that lost it (a single-instance restart) gets it back.
// app.js is untouched: this module reads the room from the SDK client it exposes.
import { $, $field, showMessage } from './view.js';

const USER_KEY = 'focusroom.user_key';
const PUSH_ID = 'focusroom.push_id';
const client = window.focusroom;
const supported = 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;

const read = (k) => { try { return localStorage.getItem(k); } catch { return null; } };
const write = (k, v) => { try { localStorage.setItem(k, v); } catch { /* storage disabled */ } };

let vapidKey = null;
let registration = null;

async function init() {
  if (!supported || !client) return;
  // /health says whether push is on: the key route answers 503 when it is off, and the
  // browser would log that failed request as an error on every visit.
  const health = await fetch('/health', { cache: 'no-store' }).then((r) => r.json()).catch(() => null);
  if (health?.push !== 'enabled') return;
  vapidKey = await client.vapidPublicKey().catch(() => null);
  if (!vapidKey) return; // push is off on this server
  registration = await navigator.serviceWorker.register('/sw.js').catch(() => null);
  if (!registration) return;
  // Heal a server that forgot us; drop a subscription made for another server key.
  const existing = await registration.pushManager.getSubscription().catch(() => null);
  const userKey = read(USER_KEY);
  if (existing && userKey && Notification.permission === 'granted') {
    const res = await client.subscribePush(existing.toJSON(), userKey).catch(() => null);
    if (res) write(PUSH_ID, res.id);
  }
  render();
}

const subscribed = () => Boolean(read(PUSH_ID)) && Notification.permission === 'granted';

function render() {
  const s = client.session;
  const offer = $('push-offer');
  if (!offer) return;
  const available = Boolean(registration && vapidKey && s);
  offer.hidden = !available;
  if (!available) return;
  const booked = s.status === 'waiting' && s.starts_at !== null && s.starts_at !== undefined;
  const button = $('push-enable');
  button.hidden = subscribed();
  button.textContent = booked ? 'Remind me' : "Notify me while I'm away";
  $('push-state').textContent = subscribed() ? (booked ? 'You will be reminded before it starts.' : 'Notifications on while you are away.') : '';
}

async function enable() {
  const userKey = read(USER_KEY);
  if (!userKey) {
    showMessage('Join or create a room first, then turn on reminders.', 'error');
    return;
  }
  if ((await Notification.requestPermission()) !== 'granted') {
    showMessage('Notifications are blocked for this site.', 'error');
    return;
  }
  try {
    const sub = (await registration.pushManager.getSubscription()) ?? (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: vapidKey }));
    const { id } = await client.subscribePush(sub.toJSON(), userKey);
    write(PUSH_ID, id);
    showMessage('Reminders are on for this browser.');
  } catch (err) {
    showMessage(err?.code === 'invalid_state' ? 'Too many browsers have reminders on; turn one off first.' : 'Could not turn on reminders in this browser.', 'error');
  }
  render();
}

// A click on a notification while this page is open (sw.js): offer that room.
navigator.serviceWorker?.addEventListener('message', (e) => {
  if (e.data?.type !== 'focusroom.open_room' || !e.data.room_code) return;
  if (client.session?.room_code === e.data.room_code) return;
  const input = $field('join-code');
  if (input) input.value = e.data.room_code;
});

$('push-enable')?.addEventListener('click', () => void enable());
client?.on('change', render);
void init();
