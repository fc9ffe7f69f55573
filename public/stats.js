// @ts-check (tsconfig.public.json: checked by npm run typecheck)
/**
 * Your stats in the web client: keeps the user_key the server issues (localStorage),
 * sends it back on create/join, and draws GET /me/stats (last 30 days) as a small SVG
 * bar chart. No framework; app.js only calls withUserKey() and rememberUserKey().
 */
import { formatDuration } from './view.js';

const KEY = 'focusroom.user_key';
const SVG = 'http://www.w3.org/2000/svg';
/** Room above the bars for the scale label. */
const TOP = 12;

function stored() {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null; // storage disabled: every visit is a new user
  }
}

/**
 * This browser's user_key, asking the server for one when it has none (a series or a
 * calendar feed needs an identity before any room was created). Keys are HMAC-tagged by
 * the server, so the page cannot make its own.
 */
export async function ensureUserKey() {
  const key = stored();
  if (key) return key;
  const res = await fetch('/user-keys', { method: 'POST' });
  const data = await res.json().catch(() => null);
  if (!res.ok || typeof data?.user_key !== 'string') throw new Error(data?.error?.message ?? `could not get a user key (${res.status})`);
  rememberUserKey(data);
  return data.user_key;
}

/** Drops a key the server refuses (one made before keys were signed, or under another secret). */
export function forgetUserKey() {
  try {
    localStorage.removeItem(KEY);
  } catch {
    // nothing kept
  }
}

/**
 * Runs a create/join with this browser's key; if the server refuses the key
 * (`unauthorized`: an old self-made key), forgets it and runs it once more without, so the
 * reply issues a new one.
 */
export async function withKeyRetry(send) {
  try {
    return await send(withUserKey);
  } catch (err) {
    if (err?.code !== 'unauthorized' || !stored()) throw err;
    forgetUserKey();
    return send(withUserKey);
  }
}

/** The create/join payload with this browser's user_key, when it has one. */
export function withUserKey(payload) {
  const key = stored();
  return key ? { ...payload, user_key: key } : payload;
}

/** Keeps a key the server issued in a create/join reply, then refreshes the stats. */
export function rememberUserKey(reply) {
  if (typeof reply?.user_key !== 'string') return;
  try {
    localStorage.setItem(KEY, reply.user_key);
  } catch {
    // not kept: the next visit gets a new key
  }
}


function chart(days) {
  const w = 300;
  const h = 80;
  const bar = w / days.length;
  const max = Math.max(1, ...days.map((d) => d.focused_ms));
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${TOP + h + 14}`);
  svg.setAttribute('class', 'stats-chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `Focus per day, last ${days.length} days`);
  days.forEach((d, i) => {
    const bh = d.focused_ms === 0 ? 0 : Math.max(2, (d.focused_ms / max) * h);
    const rect = document.createElementNS(SVG, 'rect');
    rect.setAttribute('x', String(i * bar + 1));
    rect.setAttribute('y', String(TOP + h - bh));
    rect.setAttribute('width', String(Math.max(1, bar - 2)));
    rect.setAttribute('height', String(bh));
    const title = document.createElementNS(SVG, 'title');
    title.textContent = `${d.date}: ${formatDuration(d.focused_ms)}`;
    rect.append(title);
    svg.append(rect);
  });
  // The scale: what a full-height bar is ("20 s", "1 h 5 min").
  const top = document.createElementNS(SVG, 'text');
  top.setAttribute('x', '0');
  top.setAttribute('y', '8');
  top.setAttribute('class', 'stats-max');
  top.textContent = `max ${formatDuration(max)}`;
  if (days.some((d) => d.focused_ms > 0)) svg.append(top);
  for (const [i, anchor] of /** @type {Array<[number, string]>} */ ([[0, 'start'], [days.length - 1, 'end']])) {
    const label = document.createElementNS(SVG, 'text');
    label.setAttribute('x', String(anchor === 'start' ? 0 : w));
    label.setAttribute('y', String(TOP + h + 12));
    label.setAttribute('text-anchor', anchor);
    label.textContent = days[i].date.slice(5);
    svg.append(label);
  }
  return svg;
}

/** Fills #stats (hidden until there is something to show). */
export async function showStats() {
  const section = document.getElementById('stats');
  const key = stored();
  if (!section || !key) return;
  let stats;
  try {
    // No store of record (or it is down): nothing to show, and no failed request in the console.
    const health = await (await fetch('/health')).json();
    if (health.database !== 'ok') return;
    const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
    const res = await fetch(`/me/stats?tz=${encodeURIComponent(tz)}`, { headers: { authorization: `Bearer ${key}` } });
    if (!res.ok) return;
    stats = await res.json();
  } catch {
    return;
  }
  const summary = section.querySelector('#stats-summary');
  summary.textContent =
    `${formatDuration(stats.focused_ms)} focused · ${stats.rounds_completed} rounds completed · ` +
    `streak ${stats.current_streak_days} day${stats.current_streak_days === 1 ? '' : 's'} (best ${stats.longest_streak_days})` +
    (stats.attendance?.booked ? ` · attended ${stats.attendance.attended} of ${stats.attendance.booked} booked (${stats.attendance.no_shows} missed)` : '');
  section.querySelector('.stats-chart')?.remove();
  section.append(chart(stats.days));
  section.hidden = false;
}
