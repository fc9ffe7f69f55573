/**
 * The reducer: the room snapshot kept current from the server's events (and the acks of
 * this client's own changes), whatever order they arrive in.
 *
 * Across instances events can arrive out of `seq` order, or older than the snapshot a
 * client joined with (docs/scaling.md): each entity (a participant's status or
 * connection, a task, the host) keeps the seq of its last applied change, so a late one
 * is dropped. A snapshot event overtaken by newer per-entity events still brings its own
 * change (the timer, settings, who is seated) and becomes the base under them.
 */
import type { ParticipantView, RoomEventName, RoomEvents, SessionSnapshot, TaskView, TimeUpdatePayload } from '../contract/events.js';
import { SNAPSHOT_EVENTS } from '../contract/event-facts.js';

/** An entity whose changes are ordered by seq: 'status:<id>', 'connected:<id>', 'task:<id>', 'host'. */
type EntityKey = string;

export class SessionState {
  /** The latest snapshot, or null outside a room. Mutated in place; replace, never share. */
  session: SessionSnapshot | null = null;
  /** This client's participant id. */
  me: string | null = null;
  /** The highest room `seq` seen (sent as `last_seq` with a resume). */
  lastSeq = 0;

  /** Every entity is at least as new as the applied snapshot. */
  private snapshotSeq = 0;
  private readonly entitySeqs = new Map<EntityKey, number>();

  /** Sit down with a create/join/resume reply's snapshot. */
  seat(me: string, session: SessionSnapshot): void {
    // Room events can overtake the reply (a host starts the moment our join reaches it): a
    // state of the same room that is already newer is kept, not reset to the reply's.
    const newer = this.session !== null && this.session.id === session.id && this.session.seq > session.seq;
    if (this.session && this.session.id !== session.id) this.clear();
    this.me = me;
    if (!newer) {
      this.session = null;
      this.entitySeqs.clear();
      this.snapshotSeq = 0;
    }
    this.snapshot(session);
    if (this.session) this.session.is_creator = this.session.host_id === me;
  }

  clear(): void {
    this.session = null;
    this.me = null;
    this.lastSeq = 0;
    this.snapshotSeq = 0;
    this.entitySeqs.clear();
  }

  /** A full snapshot (a snapshot event, an ack of a host action). Returns false when it was stale. */
  snapshot(session: SessionSnapshot): boolean {
    const cur = this.session;
    const older = cur !== null && cur.id === session.id && session.seq < cur.seq;
    // Older than what we hold: nothing new if a snapshot at least as new is applied...
    if (older && session.seq <= this.snapshotSeq) return false;
    // ...but overtaken only by per-entity events, it still carries its own change.
    const kept = older ? [...this.entitySeqs].filter(([, seq]) => seq > session.seq) : [];
    const next = older ? withNewerChanges(session, cur, kept) : copy(session);
    // `is_creator` is relative to the receiver; a broadcast snapshot may have been built for another.
    if (this.me) next.is_creator = next.host_id === this.me;
    this.session = next;
    this.snapshotSeq = session.seq;
    this.entitySeqs.clear();
    for (const [key, seq] of kept) this.entitySeqs.set(key, seq);
    this.noteSeq(next.seq);
    return true;
  }

  /** A room event as received (or replayed in a resume's `missed`). Returns whether anything changed. */
  apply<E extends RoomEventName>(event: E, data: RoomEvents[E]): boolean {
    this.noteSeq(data.seq);
    if (SNAPSHOT_EVENTS.has(event)) {
      const session = (data as { session?: SessionSnapshot }).session;
      return session ? this.snapshot(session) : false;
    }
    const seq = (data as { seq?: number }).seq;
    switch (event) {
      case 'participant_status_updated': {
        const e = data as RoomEvents['participant_status_updated'];
        return this.patchParticipant(e.participant_id, { status: e.status }, e.seq);
      }
      case 'participant_intention': {
        const e = data as RoomEvents['participant_intention'];
        return this.patchParticipant(e.participant_id, { intention: e.text }, e.seq);
      }
      case 'participant_recap': {
        const e = data as RoomEvents['participant_recap'];
        return this.patchParticipant(e.participant_id, { recap: { round: e.round, outcome: e.outcome, note: e.note } }, e.seq);
      }
      case 'participant_connection': {
        const e = data as RoomEvents['participant_connection'];
        return this.patchParticipant(e.participant_id, { connected: e.connected }, e.seq);
      }
      case 'creator_changed':
        return this.setHost((data as RoomEvents['creator_changed']).new_creator_id, seq);
      case 'task_added':
      case 'task_updated':
        return this.upsertTask((data as RoomEvents['task_added']).task, seq);
      case 'task_removed':
        return this.dropTask((data as RoomEvents['task_removed']).task.id, seq);
      default:
        return false;
    }
  }

  /** Every room event carries the room's `seq`; the highest one seen goes with a resume. */
  noteSeq(seq: unknown): void {
    if (!Number.isInteger(seq)) return;
    const n = seq as number;
    if (this.session && n > this.session.seq) this.session.seq = n;
    if (n > this.lastSeq) this.lastSeq = n;
  }

  /** Patches one field of a participant from an event or an ack, ordered by its `seq`. */
  patchParticipant(id: string, patch: Partial<Pick<ParticipantView, 'status' | 'connected' | 'intention' | 'recap'>>, seq: number | undefined): boolean {
    this.noteSeq(seq);
    const p = this.participant(id);
    if (!p || !this.isNewer(`${Object.keys(patch).join()}:${id}`, seq)) return false;
    Object.assign(p, patch);
    return true;
  }

  setHost(hostId: string, seq: number | undefined): boolean {
    this.noteSeq(seq);
    if (!this.session || !this.isNewer('host', seq)) return false;
    this.session.host_id = hostId;
    this.session.is_creator = hostId === this.me;
    return true;
  }

  upsertTask(task: TaskView, seq: number | undefined): boolean {
    this.noteSeq(seq);
    // A removed task keeps its removal's seq: an older add or update does not bring it back.
    if (!this.session || !this.isNewer(`task:${task.id}`, seq)) return false;
    const tasks = this.session.tasks;
    const i = tasks.findIndex((t) => t.id === task.id);
    if (i >= 0) tasks[i] = { ...task };
    else tasks.push({ ...task });
    return true;
  }

  dropTask(taskId: string, seq: number | undefined): boolean {
    this.noteSeq(seq);
    if (!this.session || !this.isNewer(`task:${taskId}`, seq)) return false;
    this.session.tasks = this.session.tasks.filter((t) => t.id !== taskId);
    return true;
  }

  /** A tick corrects `ends_at` for the phase it belongs to (a late tick of another phase says nothing). */
  tick(tick: TimeUpdatePayload): boolean {
    const s = this.session;
    if (s?.status !== 'active') return false;
    if (tick.phase !== s.phase || tick.round !== s.round) return false;
    s.ends_at = tick.ends_at;
    s.time_left_ms = tick.time_left_ms;
    return true;
  }

  participant(id: string): ParticipantView | undefined {
    return this.session?.participants.find((p) => p.id === id);
  }

  private isNewer(key: EntityKey, seq: number | undefined): boolean {
    if (!Number.isInteger(seq)) return true; // nothing to order by
    if ((seq as number) <= (this.entitySeqs.get(key) ?? this.snapshotSeq)) return false;
    this.entitySeqs.set(key, seq as number);
    return true;
  }
}

function copy(session: SessionSnapshot): SessionSnapshot {
  return { ...session, participants: session.participants.map((p) => ({ ...p })), tasks: session.tasks.map((t) => ({ ...t })) };
}

/**
 * `session` (seq S) with every entity changed after S (the `kept` entity seqs) set back
 * to its value in `cur`, and `cur`'s seq.
 */
function withNewerChanges(session: SessionSnapshot, cur: SessionSnapshot, kept: Array<[EntityKey, number]>): SessionSnapshot {
  const next = { ...copy(session), seq: cur.seq };
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
      if (task && i >= 0) next.tasks[i] = { ...task };
      else if (task) next.tasks.push({ ...task });
      else if (i >= 0) next.tasks.splice(i, 1); // removed after S
    } else {
      const p = next.participants.find((x) => x.id === id);
      const was = cur.participants.find((x) => x.id === id);
      if (p && was) (p as unknown as Record<string, unknown>)[field] = (was as unknown as Record<string, unknown>)[field];
    }
  }
  return next;
}
