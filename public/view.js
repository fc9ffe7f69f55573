// @ts-check (tsconfig.public.json: checked by npm run typecheck)
// Rendering: everything goes through textContent / attributes, never innerHTML,
// because names and goals are user input.

/** The page's element with this id. @param {string} id */
export const $ = (id) => document.getElementById(id);
/** A form field by id (`<input>`; its value, checked, disabled, select). @param {string} id */
export const $field = (id) => /** @type {HTMLInputElement} */ ($(id));
/** A link by id. @param {string} id */
export const $link = (id) => /** @type {HTMLAnchorElement} */ ($(id));
/** A form control of `form` by name (`<input>`), or null. @param {HTMLFormElement} form @param {string} name */
export const fieldOf = (form, name) => /** @type {HTMLInputElement | null} */ (form.elements.namedItem(name));

const STATUS_LABEL = {
  ready: 'Ready',
  focusing: 'Focusing',
  paused: 'Paused',
  failed: 'Gave up',
  completed: 'Completed',
};
const RECAP_LABEL = { done: 'Done', partly: 'Partly', not: 'Not done' };

const ROOM_STATUS_LABEL = {
  waiting: 'Waiting for the host to start',
  active: 'Focus time',
  paused: 'Timer paused by the host',
  completed: 'Session complete',
};

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'text') node.textContent = v;
    else if (k === 'class') node.className = v;
    else if (k in node && typeof v !== 'string') node[k] = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

/** 3:05 → "03:05"; over an hour "1:02:03". Seconds round up, so a 3 s timer starts at 00:03. */
export function formatClock(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${pad(m)}:${pad(s)}`;
}

/** Focused time for results: "42 s", "12 min", "1 h 5 min". */
export function formatDuration(ms) {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const min = Math.round(s / 60);
  return min < 60 ? `${min} min` : `${Math.floor(min / 60)} h ${min % 60} min`;
}

export function renderCountdown(ms) {
  const node = $('countdown');
  const text = formatClock(ms);
  if (node.textContent !== text) {
    node.textContent = text;
    node.dataset.seconds = String(Math.max(0, Math.ceil(ms / 1000)));
  }
  return text;
}

export function showMessage(text, kind = 'info') {
  const node = $('message');
  node.textContent = text;
  node.className = `message ${kind}`;
  node.hidden = !text;
}

export function announce(text) {
  $('announce').textContent = text;
}

/** "Focus · round 1 of 3", "Break · round 1 of 3"; just "Focus" for a single round. */
export function phaseLabel(session) {
  const { status, phase, round, rounds = 1, break_duration: breakMs } = session;
  if (status === 'waiting') return rounds > 1 ? `${rounds} rounds · ${formatDuration(breakMs)} breaks` : '';
  if (status === 'completed') return rounds > 1 ? `All ${rounds} rounds done` : '';
  const name = phase === 'break' ? 'Break' : 'Focus';
  return rounds > 1 ? `${name} · round ${round} of ${rounds}` : name;
}

function renderParticipants(session, me) {
  const items = session.participants.map((p) => {
    const name = el('span', { class: 'name', text: p.user_name });
    const tags = el('span', { class: 'tags' });
    if (p.id === me) tags.append(el('span', { class: 'tag', text: 'you' }));
    if (p.id === session.host_id) tags.append(el('span', { class: 'tag host', text: 'host' }));
    if (!p.connected) tags.append(el('span', { class: 'tag', text: 'offline' }));
    const badge = el('span', { class: `badge badge-${p.status}`, text: STATUS_LABEL[p.status] ?? p.status });
    // What they set out to do and how their last round went, as everyone sees it (live and in the snapshot).
    const said = [];
    if (p.intention) said.push(el('span', { class: 'intention', text: p.intention }));
    if (p.recap) {
      const how = `Round ${p.recap.round}: ${RECAP_LABEL[p.recap.outcome] ?? p.recap.outcome}${p.recap.note ? ` — ${p.recap.note}` : ''}`;
      said.push(el('span', { class: `recap recap-${p.recap.outcome}`, text: how }));
    }
    const extra = said.length > 0 ? [el('p', { class: 'said' }, ...said)] : [];
    return el('li', { class: p.connected ? 'participant' : 'participant offline', 'data-participant-id': p.id, 'data-status': p.status }, name, tags, badge, ...extra);
  });
  $('participants').replaceChildren(...items);
  $('people-count').textContent = `${session.participants.length}/${session.max_participants}`;
}

function renderTasks(session, me, actions) {
  const names = new Map(session.participants.map((p) => [p.id, p.user_name]));
  const items = session.tasks.map((t) => {
    const id = `task-${t.id}`;
    const box = el('input', { type: 'checkbox', id, checked: t.done });
    box.addEventListener('change', () => actions.toggleTask(t.id, box.checked));
    // Who added it (once they have left, just the goal); only they or the host may remove it.
    const by = t.created_by === me ? 'you' : names.get(t.created_by);
    const row = [box, el('label', { for: id, text: t.title }), ...(by ? [el('span', { class: 'task-by muted', text: `added by ${by}` })] : [])];
    if (t.created_by === me || session.host_id === me) {
      const remove = el('button', { type: 'button', class: 'link', text: 'Remove', 'aria-label': `Remove goal: ${t.title}` });
      remove.addEventListener('click', () => actions.removeTask(t.id));
      row.push(remove);
    }
    return el('li', { class: t.done ? 'task done' : 'task', 'data-task-id': t.id, 'data-created-by': t.created_by }, ...row);
  });
  // Re-rendering replaces the checkboxes: keep keyboard focus on the one that had it.
  const focused = document.activeElement?.closest?.('#tasks') ? document.activeElement.id : null;
  $('tasks').replaceChildren(...items);
  if (focused) document.getElementById(focused)?.focus();
}

function renderResults(session, results) {
  const section = $('results');
  section.hidden = session.status !== 'completed';
  if (section.hidden) return;
  // Results come with session_completed; after a reload that missed it, show statuses only.
  const rows = results ?? session.participants.map((p) => ({ participant_id: p.id, user_name: p.user_name, status: p.status, focused_ms: null, pauses: null }));
  $('results-body').replaceChildren(
    ...rows.map((r) =>
      el(
        'tr',
        { 'data-participant-id': r.participant_id },
        el('th', { scope: 'row', text: r.user_name }),
        el('td', {}, el('span', { class: `badge badge-${r.status}`, text: STATUS_LABEL[r.status] ?? r.status })),
        el('td', { class: 'focused', text: r.focused_ms === null ? '–' : formatDuration(r.focused_ms) }),
        el('td', { class: 'pauses', text: r.pauses === null ? '–' : String(r.pauses) }),
      ),
    ),
  );
}

/** "in 45 s", "in 4 min", "in 2 h 5 min", "in 3 days": how far off `ms` is. */
export function formatIn(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 60) return `in ${s} s`;
  const min = Math.ceil(s / 60);
  if (min < 90) return `in ${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `in ${h} h${min % 60 ? ` ${min % 60} min` : ''}`;
  return `in ${Math.round(h / 24)} days`;
}

const isScheduledWait = (session) => session.status === 'waiting' && session.starts_at !== null && session.starts_at !== undefined;

/**
 * A scheduled room that has not started: "Starts at 09:00 (in 4 min)", and the countdown
 * counts down to the start; `now` is the server's clock (the SDK's offset applied). Returns
 * whether it did (false for any other room).
 */
export function renderStartsIn(session, now) {
  if (!session || !isScheduledWait(session)) return false;
  const left = session.starts_at - now;
  const when = new Date(session.starts_at);
  const time = when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const sameDay = when.toDateString() === new Date(now).toDateString();
  const at = sameDay ? `at ${time}` : `${when.toLocaleDateString([], { weekday: 'short', day: 'numeric', month: 'short' })}, ${time}`;
  const text = left > 0 ? `Starts ${at} (${formatIn(left)})` : 'Starting…';
  if ($('room-status').textContent !== text) $('room-status').textContent = text;
  renderCountdown(Math.max(0, left));
  return true;
}

/** The title (for as long as the room lives) and, until a scheduled room starts, its start time and "add to calendar" link (the .ics route). */
function renderSchedule(session) {
  $('session-title').textContent = session.title ?? '';
  $('session-title').hidden = !session.title;
  const scheduled = isScheduledWait(session);
  $('schedule').hidden = !scheduled;
  if (!scheduled) return;
  const when = new Date(session.starts_at);
  /** @type {HTMLTimeElement} */ ($('starts-at')).dateTime = when.toISOString();
  $('starts-at').textContent = when.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
  $link('add-to-calendar').href = `/sessions/${encodeURIComponent(session.room_code)}/calendar.ics`;
}

/** Shows the lobby (no session) or the room; `state` = { session, me, results }. */
export function render(state, actions) {
  const { session, me } = state;
  $('lobby').hidden = Boolean(session) || state.resuming;
  $('room').hidden = !session;
  if (!session) return;

  $('room-code').textContent = session.room_code;
  const isHost = session.host_id === me;
  const onBreak = session.phase === 'break' && session.status !== 'completed';
  // A scheduled room's status line is its start time, kept current by renderStartsIn.
  if (!isScheduledWait(session)) {
    $('room-status').textContent =
      isHost && session.status === 'waiting' ? 'Press Start when everyone is here'
      : onBreak && session.status === 'active' ? 'Break time' : (ROOM_STATUS_LABEL[session.status] ?? session.status);
  }
  $('room').dataset.status = session.status;
  $('room').dataset.phase = onBreak ? 'break' : 'focus';
  $('phase').textContent = phaseLabel(session);
  $('phase').hidden = !$('phase').textContent;

  const running = session.status === 'active' || session.status === 'paused';
  $('host-controls').hidden = !isHost;
  $('start').hidden = running;
  $('start').textContent = isScheduledWait(session) ? 'Start now' : session.status !== 'completed' ? 'Start' : session.rounds > 1 ? 'Start again' : 'Start another round';
  $('pause').hidden = session.status !== 'active';
  $('resume').hidden = session.status !== 'paused';

  const mine = session.participants.find((p) => p.id === me);
  // Nothing to report during a break; the next focus round sets everyone focusing again.
  $('my-controls').hidden = !running || onBreak || !mine || mine.status === 'failed';
  for (const button of $('my-controls').querySelectorAll('button')) {
    const current = mine?.status === button.dataset.status;
    button.setAttribute('aria-pressed', String(current));
    button.disabled = current;
  }

  renderSchedule(session);
  renderParticipants(session, me);
  renderTasks(session, me, actions);
  renderResults(session, state.results);
}
