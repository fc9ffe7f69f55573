// @ts-check (tsconfig.public.json: checked by npm run typecheck)
/**
 * Weekly series and the calendar feed in the web client: creates a series
 * (POST /series, FREQ=WEEKLY;COUNT=n in this browser's zone), lists its sessions with
 * their room codes, and gets / copies the secret calendar-feed URL. The identity is this
 * browser's user_key (stats.js).
 */
import { ensureUserKey, forgetUserKey } from './stats.js';

/** The page's element with this id. @param {string} id */
const $ = (id) => document.getElementById(id);
/** A form field by id. @param {string} id */
const $field = (id) => /** @type {HTMLInputElement} */ ($(id));

async function api(method, path, body, retried = false) {
  const res = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${await ensureUserKey()}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  // A key the server refuses (made by an older page, or under another secret): get a new one, once.
  if (res.status === 401 && !retried) {
    forgetUserKey();
    return api(method, path, body, true);
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new Error(data?.error?.message ?? `request failed (${res.status})`);
  return data;
}

function say(text, kind = 'info') {
  const el = $('message');
  if (!el) return;
  el.textContent = text;
  el.className = `message ${kind}`;
  el.hidden = !text;
}

function showOccurrences(occurrences) {
  const list = $('series-occurrences');
  list.replaceChildren(
    ...occurrences.map((o) => {
      const li = document.createElement('li');
      const when = document.createElement('time');
      when.dateTime = new Date(o.starts_at).toISOString();
      when.textContent = new Date(o.starts_at).toLocaleString([], { weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
      li.append(when);
      if (o.room_code) {
        const a = document.createElement('a');
        a.href = `/?code=${encodeURIComponent(o.room_code)}`;
        a.textContent = o.room_code;
        a.className = 'code';
        li.append(' · ', a);
      } else {
        li.append(' · later');
      }
      return li;
    }),
  );
  list.hidden = occurrences.length === 0;
}

$('series-form')?.addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = /** @type {HTMLFormElement} */ (e.currentTarget);
  const button = /** @type {HTMLButtonElement} */ (form.querySelector('button[type="submit"]'));
  /** @param {string} name */
  const field = (name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(name));
  button.disabled = true;
  try {
    const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
    const created = await api('POST', '/series', {
      title: field('title').value,
      starts_at: new Date(field('starts_at').value).getTime(),
      rrule: `FREQ=WEEKLY;COUNT=${Number(field('weeks').value)}`,
      tz,
    });
    showOccurrences(created.occurrences);
    say(`Series created: ${created.occurrences.length} sessions`);
  } catch (err) {
    say(err.message, 'error');
  } finally {
    button.disabled = false;
  }
});

$('feed-get')?.addEventListener('click', async () => {
  try {
    const { url } = await api('POST', '/me/calendar-feed');
    $field('feed-url').value = url;
    $('feed-url').hidden = false;
    $('feed-copy').hidden = false;
  } catch (err) {
    say(err.message, 'error');
  }
});

$('feed-copy')?.addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText($field('feed-url').value);
    say('Copied calendar feed URL');
  } catch {
    $field('feed-url').select();
    say('Select and copy the calendar feed URL');
  }
});
