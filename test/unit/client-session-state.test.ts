/**
 * The SDK's reducer (src/client/session-state.ts; the web client runs the same one) under
 * out-of-order delivery: in cluster mode events can arrive out of `seq` order or older
 * than the join snapshot (docs/scaling.md). A late event must not revert newer state or
 * re-apply what the snapshot already holds.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { SessionState } from '../../src/client/session-state.js';
import type { SessionSnapshot, TaskView } from '../../src/contract/events.js';

const task = (id: string, done = false): TaskView => ({ id, title: id, done, created_by: 'h', created_at: 0 });

function snapshot(seq: number, patch: Partial<SessionSnapshot> = {}): SessionSnapshot {
  return {
    id: 'room-1', room_code: 'ABC123', status: 'waiting', seq, server_now: Date.now(),
    participants: [
      { id: 'h', user_name: 'Host', status: 'ready', joined_at: 0, connected: true, intention: null, recap: null },
      { id: 'b', user_name: 'Bea', status: 'ready', joined_at: 0, connected: true, intention: null, recap: null },
    ],
    max_participants: 4, session_duration: 60_000, time_left_ms: 60_000, started_at: null, created_at: 0,
    is_creator: false, host_id: 'h', ends_at: null, late_join: true, tasks: [task('t1')],
    phase: 'focus', round: 1, rounds: 1, break_duration: 0, results: null,
    ...patch,
  } as SessionSnapshot;
}

let state: SessionState;

/** The room events as the server sends them, through the reducer. */
const on = {
  status: (seq: number, id: string, status: string) => state.apply('participant_status_updated', { participant_id: id, status: status as 'ready', user_name: id, seq }),
  connection: (seq: number, id: string, connected: boolean) => state.apply('participant_connection', { participant_id: id, connected, grace_ms: 60_000, seq }),
  creator: (seq: number, id: string) => state.apply('creator_changed', { new_creator_id: id, seq }),
  taskAdded: (seq: number, t: TaskView) => state.apply('task_added', { task: t, seq }),
  taskUpdated: (seq: number, t: TaskView) => state.apply('task_updated', { task: t, seq }),
  taskRemoved: (seq: number, t: TaskView) => state.apply('task_removed', { task: t, seq }),
};

/** The old web-client names, kept so the assertions below read as they did. */
const web = {
  get state() {
    return { session: state.session as SessionSnapshot, seat: { last_seq: state.lastSeq } };
  },
  participant: (id: string) => state.participant(id),
  applySnapshot: (s: SessionSnapshot) => state.snapshot(s),
  patchParticipant: (id: string, patch: { status: 'focusing' | 'ready' }, seq: number) => state.patchParticipant(id, patch, seq),
};

const bea = () => web.participant('b')!;
const taskIds = () => web.state.session.tasks.map((t: TaskView) => t.id);

beforeEach(() => {
  state = new SessionState();
  // Join as 'b' with a snapshot at seq 10.
  state.seat('b', snapshot(10));
});

describe('SDK reducer: event order', () => {
  it('an older status arriving after a newer one is ignored', () => {
    on.status(12, 'b', 'focusing');
    on.status(11, 'b', 'paused');
    expect(bea().status).toBe('focusing');
    // Connection is tracked on its own: an event older than the status change still applies.
    on.connection(11, 'b', false);
    expect(bea().connected).toBe(false);
    on.connection(11, 'b', true); // the same seq twice: already applied
    expect(bea().connected).toBe(false);
  });

  it('events older than (or as old as) the join snapshot are ignored', () => {
    on.status(9, 'b', 'focusing');
    on.connection(10, 'h', false);
    on.creator(8, 'b');
    on.taskAdded(7, task('gone')); // added and removed before the join: not in the snapshot
    on.taskUpdated(9, task('t1', true));
    on.taskRemoved(10, task('t1'));
    expect(bea().status).toBe('ready');
    expect(web.participant('h')!.connected).toBe(true);
    expect(web.state.session.host_id).toBe('h');
    expect(web.state.session.is_creator).toBe(false);
    expect(web.state.session.tasks).toEqual([task('t1')]);
  });

  it('a removed task stays removed after a stale add or update, until a newer snapshot', () => {
    on.taskRemoved(13, task('t1'));
    on.taskUpdated(12, task('t1', true));
    on.taskAdded(11, task('t1'));
    expect(taskIds()).toEqual([]);
    // A task added and removed by others, with the removal delivered first.
    on.taskRemoved(15, task('t2'));
    on.taskAdded(14, task('t2'));
    expect(taskIds()).toEqual([]);
    // A newer snapshot is the truth again (here: t1 re-added under the same id).
    web.applySnapshot(snapshot(16, { tasks: [task('t1', true)] }));
    expect(web.state.session.tasks).toEqual([task('t1', true)]);
  });

  it('newer events apply, and last_seq is the highest seq seen', () => {
    on.status(11, 'b', 'focusing');
    on.connection(12, 'h', false);
    on.creator(13, 'b');
    on.taskAdded(14, task('t2'));
    on.taskUpdated(15, task('t1', true));
    on.taskRemoved(16, task('t2'));
    on.status(9, 'h', 'paused'); // stale: ignored, but last_seq stays the max
    expect(bea().status).toBe('focusing');
    expect(web.participant('h')).toMatchObject({ status: 'ready', connected: false });
    expect(web.state.session).toMatchObject({ host_id: 'b', is_creator: true, seq: 16 });
    expect(web.state.session.tasks).toEqual([task('t1', true)]);
    expect(web.state.seat.last_seq).toBe(16);
  });

  it('a snapshot event overtaken by newer per-entity events still applies, under them', () => {
    // session_started (seq 12) is delivered after a status (13), a task (14) and a host change (15).
    on.status(13, 'b', 'focusing');
    on.taskAdded(14, task('t2'));
    on.creator(15, 'b');
    const started = snapshot(12, {
      status: 'active', ends_at: 1_000_000, started_at: 5,
      participants: snapshot(0).participants.map((p) => ({ ...p, status: 'paused' })),
    });
    web.applySnapshot(started);
    // The snapshot's own change lands...
    expect(web.state.session).toMatchObject({ status: 'active', ends_at: 1_000_000, started_at: 5, seq: 15 });
    expect(web.participant('h')!.status).toBe('paused');
    // ...and what changed after it stays.
    expect(bea().status).toBe('focusing');
    expect(taskIds()).toEqual(['t1', 't2']);
    expect(web.state.session).toMatchObject({ host_id: 'b', is_creator: true });
    // Still ordered afterwards: older than the merged snapshot or the kept changes, ignored.
    on.status(12, 'h', 'ready');
    on.status(13, 'b', 'ready');
    expect(web.participant('h')!.status).toBe('paused');
    expect(bea().status).toBe('focusing');
    on.status(16, 'h', 'ready');
    expect(web.participant('h')!.status).toBe('ready');
    // A snapshot no newer than the merged one changes nothing.
    web.applySnapshot(snapshot(11));
    expect(web.state.session.status).toBe('active');
    expect(web.state.seat.last_seq).toBe(16);
  });

  it('a merged snapshot drops a task removed after it and adds the ones it brings', () => {
    on.taskRemoved(12, task('t1'));
    web.applySnapshot(snapshot(11, { tasks: [task('t1'), task('t3')] }));
    expect(taskIds()).toEqual(['t3']);
  });

  it('a snapshot resets every entity to its seq; acks are ordered the same way', () => {
    on.status(12, 'b', 'focusing');
    web.applySnapshot(snapshot(20, { participants: snapshot(0).participants.map((p) => ({ ...p, status: 'paused' })) }));
    on.status(19, 'b', 'focusing');
    expect(bea().status).toBe('paused');
    // My own status from an update_status ack (seq 21), then a late event from before it.
    web.patchParticipant('b', { status: 'focusing' }, 21);
    on.status(20, 'b', 'ready');
    expect(bea().status).toBe('focusing');
    on.status(22, 'b', 'ready');
    expect(bea().status).toBe('ready');
  });
});

describe('SDK reducer: snapshots and ticks', () => {
  it('a snapshot event replaces the session; a stale one is dropped', () => {
    expect(state.apply('session_started', { session: snapshot(12, { status: 'active', ends_at: 5_000 }), seq: 12 })).toBe(true);
    expect(state.session).toMatchObject({ status: 'active', ends_at: 5_000, seq: 12 });
    expect(state.apply('settings_updated', { session: snapshot(11), seq: 11 })).toBe(false);
    expect(state.session!.status).toBe('active');
  });

  it('is_creator follows the host id for this client, whoever the snapshot was built for', () => {
    state.snapshot(snapshot(11, { host_id: 'b', is_creator: false }));
    expect(state.session!.is_creator).toBe(true);
  });

  it('a tick of the current phase corrects ends_at; a late one of another phase does not', () => {
    state.snapshot(snapshot(11, { status: 'active', ends_at: 10_000, phase: 'focus', round: 1 }));
    expect(state.tick({ time_left_ms: 3_000, elapsed: 1_000, ends_at: 10_050, server_now: 7_050, phase: 'focus', round: 1 })).toBe(true);
    expect(state.session!.ends_at).toBe(10_050);
    expect(state.tick({ time_left_ms: 3_000, elapsed: 1_000, ends_at: 99, server_now: 7_050, phase: 'break', round: 1 })).toBe(false);
    expect(state.session!.ends_at).toBe(10_050);
  });

  it('the snapshot is a copy: changing what the server sent does not change the state', () => {
    const s = snapshot(11);
    state.snapshot(s);
    s.participants[0]!.status = 'failed';
    expect(state.participant('h')!.status).toBe('ready');
  });

  it('another room\'s seat starts from scratch', () => {
    on.status(20, 'b', 'focusing');
    state.seat('x', snapshot(3, { id: 'room-2', participants: [{ id: 'x', user_name: 'X', status: 'ready', joined_at: 0, connected: true, intention: null, recap: null }] }));
    expect(state.session!.id).toBe('room-2');
    expect(state.lastSeq).toBe(3);
    on.status(4, 'x', 'focusing');
    expect(state.participant('x')!.status).toBe('focusing');
  });
});
