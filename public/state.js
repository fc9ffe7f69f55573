// Client state: the latest room snapshot, kept current by the server's events, and
// the seat saved in sessionStorage so a reload or a dropped connection resumes it.

const stored = (store, key) => ({
  get() {
    try { return JSON.parse(store.getItem(key)); } catch { return null; }
  },
  set(value) {
    try { value === null ? store.removeItem(key) : store.setItem(key, JSON.stringify(value)); } catch { /* storage disabled */ }
  },
});
const seatStore = stored(sessionStorage, 'focusroom.seat'); // { room_code, participant_id, resume_token, last_seq }
const resultsStore = stored(sessionStorage, 'focusroom.results'); // { started_at, results } of the last completion
export const nameStore = stored(localStorage, 'focusroom.name');

export const state = {
  seat: seatStore.get(),
  session: null, // the latest snapshot
  me: null, // my participant_id
  results: null,
  offset: 0, // server clock − local clock, from server_now
  seated: false, // this connection is attached to the seat
  resuming: false,
};

let onChange = () => {};
export const onStateChange = (fn) => { onChange = fn; };

/** Every room event carries the room's `seq`; the highest one seen goes with a resume. */
export function noteSeq(seq) {
  if (!Number.isInteger(seq)) return;
  if (state.session && seq > state.session.seq) state.session.seq = seq;
  if (state.seat && seq > (state.seat.last_seq ?? 0)) {
    state.seat.last_seq = seq;
    seatStore.set(state.seat);
  }
}

export function setResults(results) {
  state.results = results;
  if (results && state.session) resultsStore.set({ started_at: state.session.started_at, results });
  onChange();
}

export function applySnapshot(session) {
  // An ack's snapshot can be older than an event that already arrived.
  if (state.session && state.session.id === session.id && session.seq < state.session.seq) return;
  state.session = session;
  state.offset = session.server_now - Date.now();
  if (session.status !== 'completed') state.results = null;
  noteSeq(session.seq);
  onChange();
}

/** After create, join or resume: `res` is the ack (`session_joined` payload). */
export function takeSeat(res) {
  Object.assign(state, { me: res.participant_id, seated: true, resuming: false, session: null });
  state.seat = { room_code: res.room_code, participant_id: res.participant_id, resume_token: res.resume_token, last_seq: res.session.seq };
  seatStore.set(state.seat);
  applySnapshot(res.session);
  // Results come only with session_completed: from before a reload, or among the missed events.
  const saved = resultsStore.get();
  const missed = res.missed?.findLast((e) => e.event === 'session_completed' && e.data.final !== false);
  if (missed) setResults(missed.data.results);
  else if (res.session.status === 'completed' && saved?.started_at === res.session.started_at) setResults(saved.results);
}

export function clearSeat() {
  seatStore.set(null);
  resultsStore.set(null);
  Object.assign(state, { seat: null, session: null, me: null, results: null, seated: false, resuming: false });
  onChange();
}

export const participant = (id) => state.session?.participants.find((p) => p.id === id);

/** Patches a participant (status, connected) from an event without a snapshot. */
export function patchParticipant(id, patch) {
  const p = participant(id);
  if (p) Object.assign(p, patch);
  onChange();
}

export function setHost(hostId) {
  if (!state.session) return;
  state.session.host_id = hostId;
  state.session.is_creator = hostId === state.me;
  onChange();
}

/** The countdown: `ends_at` on the server's clock, corrected by the measured offset. */
export function remainingMs() {
  const s = state.session;
  if (!s || s.status === 'completed') return 0;
  if (s.status === 'active' && s.ends_at !== null) return Math.max(0, s.ends_at - (Date.now() + state.offset));
  return s.time_left_ms;
}

export function correctTimer(tick) {
  const s = state.session;
  if (s?.status !== 'active') return;
  // A tick of another phase (a late one, from before phase_changed) says nothing about this one.
  if (tick.phase !== undefined && s.phase !== undefined && (tick.phase !== s.phase || tick.round !== s.round)) return;
  state.session.ends_at = tick.ends_at;
  state.offset = tick.server_now - Date.now();
}

export function upsertTask(task) {
  if (!state.session) return;
  const tasks = state.session.tasks;
  const i = tasks.findIndex((t) => t.id === task.id);
  if (i >= 0) tasks[i] = task;
  else tasks.push(task);
  onChange();
}

export function dropTask(taskId) {
  if (!state.session) return;
  state.session.tasks = state.session.tasks.filter((t) => t.id !== taskId);
  onChange();
}
