// @ts-check (tsconfig.public.json: checked by npm run typecheck)
// focusroom web client, built on the SDK (focusroom/client, bundled at /sdk/): the SDK
// keeps the room snapshot, the seat (in sessionStorage, so a reload resumes it), the
// clock offset and every resume; this file only renders and turns clicks into calls.
// @ts-expect-error the browser resolves /sdk/ (the server serves the SDK bundle there); its types are the SDK's own, below
import { connect as connectSdk } from '/sdk/focusroom-client.js';
import { $, $field, $link, announce, fieldOf, render, renderCountdown, renderStartsIn, showMessage } from './view.js';
import { rememberUserKey, showStats, withKeyRetry } from './stats.js';

/** @type {typeof import('../src/client/index.js').connect} */
const connect = connectSdk;

const FRIENDLY = {
  not_found: 'No room with that code. Check the code and try again.',
  room_full: 'That room is full.',
  already_started: 'That room has already started and does not take late joiners.',
  rate_limited: 'Too many attempts. Wait a moment and try again.',
  timeout: 'The server did not answer. Check your connection and try again.',
  disconnected: 'Not connected to the server; reconnecting…',
};
// The server's messages name wire fields ("starts_at must be later than now"); the page says what the form says.
const FIELD_LABELS = {
  starts_at: 'the start time',
  session_duration: 'the focus length',
  break_duration: 'the break length',
  max_participants: 'max people',
  user_name: 'your name',
  room_code: 'the room code',
  rounds: 'the number of rounds',
  title: 'the title',
  late_join: 'late join',
};
function friendlyFields(message) {
  if (typeof message !== 'string' || !message) return null;
  const text = message.replace(/\b[a-z]+(?:_[a-z]+)+\b|\b(?:rounds|title)\b/g, (field) => FIELD_LABELS[field] ?? field.replaceAll('_', ' '));
  return text.charAt(0).toUpperCase() + text.slice(1);
}
const ANNOUNCE = { session_started: 'Focus started', session_paused: 'Timer paused', session_resumed: 'Timer resumed' };

const nameStore = {
  get: () => { try { return localStorage.getItem('focusroom.name'); } catch { return null; } },
  set: (v) => { try { localStorage.setItem('focusroom.name', v); } catch { /* storage disabled */ } },
};

// Same origin, WebSocket only; ticks off (the SDK counts down from ends_at with its measured offset).
const client = connect(location.origin, { storage: 'sessionStorage' });
window.focusroom = client; // for the console, and for tests

const view = { session: null, me: null, results: null, resuming: client.seatPending };

// ---- display ---------------------------------------------------------------

let lastMinute = null;
let focusJoin = false;
function tick() {
  const s = client.session;
  if (!s) {
    document.title = 'focusroom';
    return;
  }
  // A scheduled room counts down to its start until it starts itself.
  if (renderStartsIn(s, Date.now() + client.clockOffset.offset)) {
    document.title = `${$('room-status').textContent} · focusroom`;
    return;
  }
  const ms = client.timeLeft();
  const text = renderCountdown(ms);
  const onBreak = s.phase === 'break';
  document.title = s.status === 'active' ? `${text}${onBreak ? ' break' : ''} · focusroom` : s.status === 'paused' ? `${text} paused · focusroom` : 'focusroom';
  const minute = Math.ceil(ms / 60_000);
  if (s.status === 'active' && (minute === 1 || minute === 5) && lastMinute !== minute) announce(`${minute} minute${minute > 1 ? 's' : ''} ${onBreak ? 'of break ' : ''}left`);
  lastMinute = minute;
}

function update() {
  const s = client.session;
  view.session = s;
  view.me = client.participantId;
  view.results = s?.status === 'completed' ? s.results : null;
  view.resuming = client.seatPending;
  render(view, actions);
  renderShare(s);
  if (focusJoin && !$('lobby').hidden) {
    // A share link: focus the join form once the lobby shows (after the stored seat, if
    // any, was looked at): the name if it is missing, else the Join button (Enter joins).
    focusJoin = false;
    const name = $field('join-name');
    (name.value ? /** @type {HTMLButtonElement} */ ($('join-form').querySelector('button[type="submit"]')) : name).focus({ preventScroll: true });
  }
  tick();
}

function renderShare(s) {
  const link = $link('share-link');
  if (!s) return;
  const url = `${location.origin}/?code=${encodeURIComponent(s.room_code)}`;
  if (link.href !== url) {
    link.href = url;
    link.textContent = url.replace(/^https?:\/\//, '');
  }
}

// ---- end of a phase: chime and (opt-in) notification ------------------------

let audio = null;
// Browsers only let a page play sound after a user gesture: the context is made on the first click.
addEventListener('pointerdown', () => {
  try { audio ??= new AudioContext(); void audio.resume(); } catch { /* no Web Audio */ }
}, { once: true });
function chime() {
  try {
    audio ??= new AudioContext();
    const t = audio.currentTime;
    for (const [i, freq] of [880, 660].entries()) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t + i * 0.25);
      gain.gain.exponentialRampToValueAtTime(0.2, t + i * 0.25 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.25 + 0.4);
      osc.connect(gain).connect(audio.destination);
      osc.start(t + i * 0.25);
      osc.stop(t + i * 0.25 + 0.45);
    }
  } catch { /* no audio (autoplay policy, old browser): the live region still announces */ }
}

function phaseEnded(title, body) {
  if ($field('sound').checked) chime();
  if ($field('notify').checked && 'Notification' in window && Notification.permission === 'granted' && document.hidden) {
    try { new Notification(title, { body, tag: 'focusroom-phase' }); } catch { /* mobile browsers want a service worker */ }
  }
}

// ---- requests ----------------------------------------------------------------

/** A user action: shows any failure in the message area and returns the result or null. */
async function act(call) {
  try {
    const res = await call();
    showMessage('');
    return res;
  } catch (err) {
    showMessage(FRIENDLY[err.code] ?? friendlyFields(err.message) ?? 'Unexpected reply from the server.', 'error');
    update(); // e.g. a checkbox the server did not take goes back
    return null;
  }
}

// ---- user actions ----------------------------------------------------------

const actions = {
  async create(form) {
    const { user_name, duration, max_participants, rounds, break_duration } = form.elements;
    const payload = {
      user_name: user_name.value,
      session_duration: Math.round(Number(duration.value) * 60_000),
      max_participants: Number(max_participants.value),
    };
    // The break only matters with several rounds; an empty field leaves the server's default.
    if (Number(rounds.value) > 1) {
      payload.rounds = Number(rounds.value);
      if (break_duration.value !== '') payload.break_duration = Math.round(Number(break_duration.value) * 60_000);
    }
    // Scheduling: a local date-time from the picker, sent as epoch ms; a title if given.
    const { starts_at: startsAt, title } = form.elements;
    if (startsAt.value) payload.starts_at = new Date(startsAt.value).getTime();
    if (title.value.trim()) payload.title = title.value;
    rememberUserKey(await act(() => withKeyRetry((keyed) => client.create(keyed(payload)))));
  },
  join: async (form) => rememberUserKey(await act(() => withKeyRetry((keyed) => client.join(form.elements.room_code.value.trim(), form.elements.user_name.value, keyed({}))))),
  start: () => act(() => client.start()),
  pause: () => act(() => client.pause()),
  resume: () => act(() => client.resumeTimer()),
  status: (status) => act(() => client.setStatus(status)),
  async addTask(form) {
    if (await act(() => client.addTask(form.elements.title.value))) form.reset();
  },
  toggleTask: (taskId, done) => act(() => client.updateTask(taskId, { done })),
  removeTask: (taskId) => act(() => client.removeTask(taskId)),
  async leave() {
    await client.leave().catch(() => undefined);
    showMessage('You left the room.');
    void showStats();
  },
  async copy(text, what) {
    try {
      await navigator.clipboard.writeText(text);
      showMessage(`Copied ${what}`);
    } catch {
      // No clipboard API (e.g. plain http on a LAN address): select it for manual copy.
      getSelection().selectAllChildren(what === 'link' ? $('share-link') : $('room-code'));
      showMessage('Press Ctrl+C (or long-press) to copy the selection.');
    }
  },
};

// ---- SDK events --------------------------------------------------------------

// Names of everyone seen in the room, for "X left" after the SDK has removed them.
const names = new Map();
client.on('change', (s) => {
  for (const p of s?.participants ?? []) names.set(p.id, p.user_name);
  update();
});
client.on('participant_joined', (d) => announce(`${d.participant.user_name} joined`));
client.on('participant_left', (d) => {
  if (d.participant_id !== client.participantId) announce(`${names.get(d.participant_id) ?? 'Someone'} left`);
});
client.on('creator_changed', (d) => {
  if (d.new_creator_id !== client.participantId) return;
  announce('You are now the host');
  showMessage('You are now the host: you start and pause the timer.');
});
for (const name of /** @type {Array<keyof typeof ANNOUNCE>} */ (Object.keys(ANNOUNCE))) {
  client.on(name, (/** @type {{ session?: { round: number } }} */ d) => announce(name === 'session_started' && d.session.round > 1 ? `Round ${d.session.round}: focus` : ANNOUNCE[name]));
}
client.on('session_completed', (d) => {
  if (d.final === false) {
    announce(`Round ${d.round} done`);
    phaseEnded(`Round ${d.round} done`, 'Time for a break.');
  } else {
    announce('Session complete');
    phaseEnded('Focus session complete', 'Well done.');
  }
});
client.on('phase_changed', (d) => {
  if (d.phase === 'break') announce(`Round ${d.round} done. Break time`);
  else {
    announce(`Round ${d.round}: focus`);
    phaseEnded('Break over', `Round ${d.round}: focus.`);
  }
});
client.on('resumed', () => showMessage(''));
client.on('seat_lost', ({ reason }) => {
  const text = {
    taken_over: 'This room is open in another tab or device.',
    expired: 'Your previous room has ended or your seat has expired.',
    timeout: 'You were away too long and lost your seat.',
    kicked: 'You are no longer in the room.',
    closed: 'The room has closed.',
  }[reason];
  showMessage(text, reason === 'closed' || reason === 'expired' ? 'info' : 'error');
  // Taken over: the SDK does not fight for the seat; the user may take it back here.
  $('rejoin').hidden = reason !== 'taken_over';
  update();
});
$('rejoin').addEventListener('click', async () => {
  $('rejoin').hidden = true;
  showMessage('Rejoining your room…');
  await client.reconnect().catch(() => showMessage('Could not rejoin; reload the page to try again.', 'error'));
});

const CONN_TEXT = { connecting: 'Connecting…', connected: 'Online', reconnecting: 'Offline – reconnecting…', offline: 'Offline', closed: 'Offline' };
client.on('connection', (state) => {
  $('conn').textContent = CONN_TEXT[state];
  $('conn').className = state === 'connected' ? 'conn online' : 'conn';
  $('room').dataset.connection = state;
  if (state === 'reconnecting' && client.session) showMessage('Connection lost; reconnecting… Your seat is kept.', 'error');
  else if (state === 'connected' && client.seatPending) showMessage('Rejoining your room…');
  else if (state === 'connected') showMessage('');
  update();
});
client.socket.on('connect_error', (err) => {
  if (err.message === 'unauthorized') showMessage('The server requires sign-in; this page cannot join.', 'error');
});

// ---- wiring -----------------------------------------------------------------

const onSubmit = (id, handler) =>
  $(id).addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = /** @type {HTMLFormElement} */ (e.currentTarget);
    const button = /** @type {HTMLButtonElement} */ (form.querySelector('button[type="submit"]'));
    button.disabled = true; // no double create/join while the first is on its way
    try {
      const userName = fieldOf(form, 'user_name');
      if (userName) nameStore.set(userName.value);
      await handler(form);
    } finally {
      button.disabled = false;
    }
  });
onSubmit('create-form', actions.create);
onSubmit('join-form', actions.join);
onSubmit('task-form', actions.addTask);
onSubmit('intention-form', async (form) => {
  if (await act(() => client.setIntention(form.elements.text.value))) showMessage('Intention set');
});
// Recap: after a focus round, one click says how it went.
let recapRound = null;
client.on('session_completed', (d) => {
  recapRound = d.round;
  $('recap-round').textContent = String(d.round);
  $('recap').hidden = false;
});
client.on('session_started', () => ($('recap').hidden = true));
for (const button of $('recap').querySelectorAll('button')) {
  button.addEventListener('click', async () => {
    if (recapRound === null) return;
    if (await act(() => client.setRecap(recapRound, /** @type {import('../src/contract/events.js').RecapOutcome} */ (button.dataset.outcome)))) {
      $('recap').hidden = true;
      showMessage(`Recap saved: ${button.textContent}`);
    }
  });
}

$('start').addEventListener('click', () => actions.start());
$('pause').addEventListener('click', () => actions.pause());
$('resume').addEventListener('click', () => actions.resume());
$('copy-code').addEventListener('click', () => actions.copy(client.session?.room_code ?? '', 'code'));
$('copy-link').addEventListener('click', () => actions.copy($link('share-link').href, 'link'));
$('leave').addEventListener('click', () => actions.leave());
for (const button of $('my-controls').querySelectorAll('button')) {
  button.addEventListener('click', () => actions.status(button.dataset.status));
}

// Notifications are opt-in: the permission prompt comes from the user's click.
const prefs = { sound: 'focusroom.sound', notify: 'focusroom.notify' };
for (const [id, key] of Object.entries(prefs)) {
  try { if (localStorage.getItem(key) !== null) $field(id).checked = localStorage.getItem(key) === '1'; } catch { /* storage disabled */ }
  $(id).addEventListener('change', async () => {
    if (id === 'notify' && $field(id).checked && 'Notification' in window && Notification.permission !== 'granted') {
      $field(id).checked = (await Notification.requestPermission()) === 'granted';
      if (!$field(id).checked) showMessage('Notifications are blocked for this site.', 'error');
    }
    try { localStorage.setItem(key, $field(id).checked ? '1' : '0'); } catch { /* storage disabled */ }
  });
}
if (!('Notification' in window)) $field('notify').disabled = true;

const savedName = nameStore.get();
if (typeof savedName === 'string') for (const id of ['create-name', 'join-name']) $field(id).value = savedName;
// A share link (/?code=X) opens the join form: first in the lobby, the code filled in, focused.
const codeParam = new URLSearchParams(location.search).get('code');
if (codeParam) {
  $field('join-code').value = codeParam.trim().toUpperCase();
  $('lobby').classList.add('joining');
  focusJoin = true;
  $('join-title').textContent = `Join room ${$field('join-code').value}`;
}
if (client.seatPending) showMessage('Rejoining your room…');

setInterval(tick, 250);
update();
void showStats();
