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
// Through globalThis: undefined in Node (the unit test imports this module), where get() is null.
const seatStore = stored(globalThis.sessionStorage, 'focusroom.seat'); // { room_code, participant_id, resume_token, last_seq }
const resultsStore = stored(globalThis.sessionStorage, 'focusroom.results'); // { started_at, results } of the last completion
export const nameStore = stored(globalThis.localStorage, 'focusroom.name');

export const state = {
  seat: seatStore.get(),
  session: null, // the latest snapshot
  me: null, // my participant_id
  results: null,
  offset: 0, // server clock − local clock, from server_now
  seated: false, // this connection is attached to the seat
  resuming: false,
};

// Across instances events can arrive out of `seq` order, or older than the join snapshot
// (docs/scaling.md): each entity keeps the seq of its last applied change, so a late one is dropped.
let snapshotSeq = 0; // every entity is at least as new as the applied snapshot
const entitySeqs = new Map(); // 'status:<id>', 'connected:<id>', 'task:<id>' (kept after removal), 'host'
function isNewer(key, seq) {
  if (!Number.isInteger(seq)) return true; // nothing to order by
  if (seq <= (entitySeqs.get(key) ?? snapshotSeq)) return false;
  entitySeqs.set(key, seq);
  return true;
}

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
  const cur = state.session;
  const older = Boolean(cur) && cur.id === session.id && session.seq < cur.seq;
  // Older than what we hold: nothing new if a snapshot at least as new is applied...
  if (older && session.seq <= snapshotSeq) return;
  // ...but overtaken only by per-entity events (cluster reordering), it still carries its
  // own change (the timer, settings, who is seated): it becomes the base, under the
  // entities those newer events changed.
  const kept = older ? [...entitySeqs].filter(([, seq]) => seq > session.seq) : [];
  state.session = older ? withNewerChanges(session, cur, kept) : session;
  snapshotSeq = session.seq;
  entitySeqs.clear();
  for (const [key, seq] of kept) entitySeqs.set(key, seq);
  if (!older) state.offset = session.server_now - Date.now();
  if (session.status !== 'completed') state.results = null;
  noteSeq(session.seq);
  onChange();
}

/**
 * `session` (seq S) with every entity changed after S (a status, a connection, the host,
 * a task: the `kept` entity seqs) set back to its value in `cur`, and `cur`'s seq.
 */
function withNewerChanges(session, cur, kept) {
  const next = { ...session, seq: cur.seq, participants: session.participants.map((p) => ({ ...p })), tasks: [...session.tasks] };
  for (const [key] of kept) {
    if (key === 'host') {
      next.host_id = cur.host_id;
      next.is_creator = cur.is_creator;
      continue;
    }
    const colon = key.indexOf(':');
    const field = key.slice(0, colon);
    const id = key.slice(colon + 1);
    if (field === 'task') {
      const task = cur.tasks.find((t) => t.id === id);
      const i = next.tasks.findIndex((t) => t.id === id);
      if (task && i >= 0) next.tasks[i] = task;
      else if (task) next.tasks.push(task);
      else if (i >= 0) next.tasks.splice(i, 1); // removed after S
    } else {
      const p = next.participants.find((x) => x.id === id);
      const was = cur.participants.find((x) => x.id === id);
      if (p && was) p[field] = was[field];
    }
  }
  return next;
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

/** Patches one field of a participant (status or connected) from an event or ack with its `seq`. */
export function patchParticipant(id, patch, seq) {
  const p = participant(id);
  if (p && isNewer(`${Object.keys(patch).join()}:${id}`, seq)) Object.assign(p, patch);
  onChange();
}

export function setHost(hostId, seq) {
  if (!state.session || !isNewer('host', seq)) return;
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

export function upsertTask(task, seq) {
  if (!state.session) return;
  // A removed task keeps its removal's seq: an older add or update does not bring it back.
  if (isNewer(`task:${task.id}`, seq)) {
    const tasks = state.session.tasks;
    const i = tasks.findIndex((t) => t.id === task.id);
    if (i >= 0) tasks[i] = task;
    else tasks.push(task);
  }
  onChange();
}

export function dropTask(taskId, seq) {
  if (!state.session) return;
  if (isNewer(`task:${taskId}`, seq)) state.session.tasks = state.session.tasks.filter((t) => t.id !== taskId);
  onChange();
}
