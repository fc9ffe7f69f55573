// focusroom web client: one Socket.IO connection (WebSocket only, same origin), user
// actions sent with acknowledgements, server events applied to the state, and a
// resume of the saved seat on every (re)connect.
import { io } from './vendor/socket.io.esm.min.js';
import {
  applySnapshot, clearSeat, correctTimer, dropTask, nameStore, noteSeq, onStateChange, participant,
  patchParticipant, remainingMs, setHost, setResults, state, takeSeat, upsertTask,
} from './state.js';
import { $, announce, render, renderCountdown, showMessage } from './view.js';

const ACK_TIMEOUT_MS = 8_000;
const CONNECT_WAIT_MS = 5_000;
const SNAPSHOT_EVENTS = ['participant_joined', 'participant_left', 'session_started', 'session_paused', 'session_resumed', 'settings_updated', 'session_completed', 'phase_changed'];
const FRIENDLY = {
  not_found: 'No room with that code. Check the code and try again.',
  room_full: 'That room is full.',
  already_started: 'That room has already started and does not take late joiners.',
  rate_limited: 'Too many attempts. Wait a moment and try again.',
};
const ANNOUNCE = { session_started: 'Focus started', session_paused: 'Timer paused', session_resumed: 'Timer resumed', session_completed: 'Session complete' };

const socket = io({ transports: ['websocket'] });
state.resuming = Boolean(state.seat);

// ---- display ---------------------------------------------------------------

let lastMinute = null;
function tick() {
  const s = state.session;
  if (!s) {
    document.title = 'focusroom';
    return;
  }
  const ms = remainingMs();
  const text = renderCountdown(ms);
  const onBreak = s.phase === 'break';
  document.title = s.status === 'active' ? `${text}${onBreak ? ' break' : ''} · focusroom` : 'focusroom';
  const minute = Math.ceil(ms / 60_000);
  if (s.status === 'active' && (minute === 1 || minute === 5) && lastMinute !== minute) announce(`${minute} minute${minute > 1 ? 's' : ''} ${onBreak ? 'of break ' : ''}left`);
  lastMinute = minute;
}

function update() {
  render(state, actions);
  tick();
}
onStateChange(update);

function leaveRoom(message) {
  clearSeat();
  showMessage(message);
}

// ---- requests ----------------------------------------------------------------

/** Emits with an ack; always resolves to `{ ok, ... }` (a timeout becomes an error). */
function request(event, payload = {}) {
  return new Promise((resolve) => {
    socket.timeout(ACK_TIMEOUT_MS).emit(event, payload, (err, res) => {
      if (err) resolve({ ok: false, error: { code: 'timeout', message: 'The server did not answer. Check your connection and try again.' } });
      else resolve(res);
    });
  });
}

async function waitUntil(predicate, timeoutMs) {
  for (const end = Date.now() + timeoutMs; !predicate(); await new Promise((r) => setTimeout(r, 100))) {
    if (Date.now() > end) return false;
  }
  return true;
}

/** A user action: shows any failure in the message area and returns the result or null. */
async function act(event, payload) {
  // A click right after load, or during a reconnect, waits for the connection (and the resume).
  const needsSeat = event !== 'create_session' && event !== 'join_session';
  if (!(await waitUntil(() => socket.connected && (!needsSeat || state.seated), CONNECT_WAIT_MS))) {
    showMessage('Not connected to the server; reconnecting…', 'error');
    return null;
  }
  const res = await request(event, payload);
  if (!res?.ok) {
    const error = res?.error ?? { code: 'internal', message: 'Unexpected reply from the server.' };
    showMessage(FRIENDLY[error.code] ?? error.message, 'error');
    return null;
  }
  showMessage('');
  return res;
}

async function resume() {
  state.resuming = true;
  showMessage('Rejoining your room…');
  update();
  const { room_code, participant_id, resume_token, last_seq } = state.seat;
  const res = await request('resume_session', { room_code, participant_id, resume_token, last_seq });
  if (!state.seat || !socket.connected) return; // left meanwhile, or the next connect resumes
  if (res?.ok) {
    showMessage('');
    takeSeat(res);
  } else if (['timeout', 'unavailable', 'internal', 'rate_limited'].includes(res?.error?.code)) {
    showMessage(`Could not rejoin yet (${res.error.message}); retrying…`, 'error');
    setTimeout(() => state.seat && socket.connected && !state.seated && resume(), 3_000);
  } else {
    leaveRoom('Your previous room has ended or your seat has expired.');
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
    const res = await act('create_session', payload);
    if (res) takeSeat(res);
  },
  async join(form) {
    const res = await act('join_session', { room_code: form.elements.room_code.value.trim(), user_name: form.elements.user_name.value });
    if (res) takeSeat(res);
  },
  async host(event) {
    const res = await act(event);
    if (res) applySnapshot(res.session);
  },
  async status(status) {
    const res = await act('update_status', { status });
    // The others get participant_status_updated; the sender only the ack.
    if (res) patchParticipant(state.me, { status: res.status }, res.seq);
  },
  async addTask(form) {
    const res = await act('add_task', { title: form.elements.title.value });
    if (res) {
      form.reset();
      upsertTask(res.task, res.seq);
    }
  },
  toggleTask: (taskId, done) => act('update_task', { task_id: taskId, done }).then((res) => (res ? upsertTask(res.task, res.seq) : update())),
  removeTask: (taskId) => act('remove_task', { task_id: taskId }).then((res) => res && dropTask(res.task.id, res.seq)),
  async leave() {
    if (socket.connected && state.seated) await request('leave_session');
    leaveRoom('You left the room.');
  },
  async copyCode() {
    const code = state.session?.room_code ?? '';
    try {
      await navigator.clipboard.writeText(code);
      showMessage(`Copied ${code}`);
    } catch {
      // No clipboard API (e.g. plain http on a LAN address): select the code for manual copy.
      getSelection().selectAllChildren($('room-code'));
      showMessage('Press Ctrl+C (or long-press) to copy the selected code.');
    }
  },
};

// ---- server events -----------------------------------------------------------

for (const name of SNAPSHOT_EVENTS) {
  socket.on(name, (data) => {
    if (name === 'participant_left' && data.participant_id === state.me) {
      leaveRoom(data.reason === 'timeout' ? 'You were away too long and lost your seat.' : 'You are no longer in the room.');
      return;
    }
    const who = name === 'participant_left' ? participant(data.participant_id) : data.participant;
    applySnapshot(data.session);
    // A pomodoro focus round that is not the last one ends in a break, not in results.
    const roundDone = name === 'session_completed' && data.final === false;
    if (name === 'session_completed' && !roundDone) setResults(data.results);
    if (roundDone) announce(`Round ${data.round} done`);
    else if (name === 'phase_changed') announce(data.phase === 'break' ? `Round ${data.round} done. Break time` : `Round ${data.round}: focus`);
    else if (name === 'session_started' && data.session.round > 1) announce(`Round ${data.session.round}: focus`);
    else if (ANNOUNCE[name]) announce(ANNOUNCE[name]);
    else if (who) announce(`${who.user_name} ${name === 'participant_left' ? 'left' : 'joined'}`);
  });
}

socket.on('participant_status_updated', (data) => {
  noteSeq(data.seq);
  patchParticipant(data.participant_id, { status: data.status }, data.seq);
});
socket.on('participant_connection', (data) => {
  noteSeq(data.seq);
  patchParticipant(data.participant_id, { connected: data.connected }, data.seq);
});
socket.on('creator_changed', (data) => {
  noteSeq(data.seq);
  setHost(data.new_creator_id, data.seq);
  if (data.new_creator_id === state.me) announce('You are now the host');
});
socket.on('task_added', (data) => (noteSeq(data.seq), upsertTask(data.task, data.seq)));
socket.on('task_updated', (data) => (noteSeq(data.seq), upsertTask(data.task, data.seq)));
socket.on('task_removed', (data) => (noteSeq(data.seq), dropTask(data.task.id, data.seq)));
socket.on('time_update', (data) => (correctTimer(data), tick()));
socket.on('room_closed', () => leaveRoom('The room has closed.'));

// ---- connection ------------------------------------------------------------

const setConn = (text, online) => {
  $('conn').textContent = text;
  $('conn').className = online ? 'conn online' : 'conn';
};

socket.on('connect', () => {
  setConn('Online', true);
  if (state.seat) resume();
});

let serverKicks = [];
socket.on('disconnect', (reason) => {
  state.seated = false;
  setConn('Offline – reconnecting…', false);
  if (state.session) showMessage('Connection lost; reconnecting…', 'error');
  // The client retries by itself except when the server closed the connection (shutdown,
  // or this seat was resumed elsewhere). Retry a few times, but never fight another tab.
  if (reason === 'io server disconnect') {
    serverKicks = [...serverKicks.filter((t) => Date.now() - t < 60_000), Date.now()];
    if (serverKicks.length <= 3) setTimeout(() => socket.connect(), 500 + Math.random() * 1_500);
    else showMessage('Disconnected by the server. Is this room open in another tab? Reload to rejoin here.', 'error');
  }
});

socket.on('connect_error', (err) => {
  setConn('Offline – reconnecting…', false);
  if (err.message === 'unauthorized') showMessage('The server requires sign-in; this page cannot join.', 'error');
});

// ---- wiring -----------------------------------------------------------------

const onSubmit = (id, handler) =>
  $(id).addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true; // no double create/join while the first is on its way
    try {
      if (form.elements.user_name) nameStore.set(form.elements.user_name.value);
      await handler(form);
    } finally {
      button.disabled = false;
    }
  });
onSubmit('create-form', actions.create);
onSubmit('join-form', actions.join);
onSubmit('task-form', actions.addTask);

$('start').addEventListener('click', () => actions.host('start_session'));
$('pause').addEventListener('click', () => actions.host('pause_session'));
$('resume').addEventListener('click', () => actions.host('resume_timer'));
$('copy-code').addEventListener('click', () => actions.copyCode());
$('leave').addEventListener('click', () => actions.leave());
for (const button of $('my-controls').querySelectorAll('button')) {
  button.addEventListener('click', () => actions.status(button.dataset.status));
}

const savedName = nameStore.get();
if (typeof savedName === 'string') for (const id of ['create-name', 'join-name']) $(id).value = savedName;
const codeParam = new URLSearchParams(location.search).get('code');
if (codeParam) $('join-code').value = codeParam;

setInterval(tick, 250);
update();
