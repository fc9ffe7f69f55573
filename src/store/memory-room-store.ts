/** Rooms in this process's memory: single-instance mode. Same semantics as Redis. */
import type { RoomHistory } from '../contract/events.js';
import type { Outcome } from '../domain/draft.js';
import { nextDeadline } from '../domain/deadlines.js';
import { outboxEntries } from '../domain/outbox-entries.js';
import type { Room } from '../domain/room-state.js';
import { BoundedRoomLog } from './room-history.js';
import type { MemoryOutbox } from './memory-outbox.js';
import { emptyStatusCounts, type PreparedChange, type RoomChange, type RoomStore } from './room-store.js';

/** A change prepared here: with the room's JSON when an observer will want it. */
interface MemoryPrepared<T> extends PreparedChange<T> {
  readonly json: string | undefined;
}

export class MemoryRoomStore implements RoomStore {
  readonly kind = 'memory' as const;
  private readonly rooms = new Map<string, Room>();
  /** code → when the room next needs the scheduler (the due-queue). */
  private readonly due = new Map<string, number>();
  /** code → the room's history, written in the same step as the room. */
  private readonly logs = new Map<string, BoundedRoomLog>();

  /** Told of every committed room (null = gone), in the same step: the embedded store's snapshot writer. */
  private observer: ((code: string, room: Room | null, json?: string) => void) | null = null;

  /** With an outbox, each change's entries are appended in the same synchronous step. */
  constructor(private readonly outbox: MemoryOutbox | null = null) {}

  observeChanges(observer: ((code: string, room: Room | null, json?: string) => void) | null): void {
    this.observer = observer;
  }

  async create(room: Room): Promise<boolean> {
    if (this.rooms.has(room.code)) return false;
    this.rooms.set(room.code, room);
    this.due.set(room.code, nextDeadline(room));
    this.logs.set(room.code, new BoundedRoomLog());
    this.observer?.(room.code, room);
    return true;
  }

  async get(code: string): Promise<Room | null> {
    return this.rooms.get(code) ?? null;
  }

  async update<T>(code: string, change: RoomChange<T>): Promise<Outcome<T> | null> {
    const room = this.rooms.get(code);
    if (!room) return null;
    // Synchronous from read to write: nothing can interleave, so no retry is needed.
    const outcome = change(room);
    if (outcome.changed) this.write(code, room, outcome);
    return outcome;
  }

  async prepare<T>(code: string, change: RoomChange<T>): Promise<PreparedChange<T> | null> {
    const room = this.rooms.get(code);
    if (!room) return null;
    const outcome = change(room);
    if (!outcome.changed) return null;
    // The observer's copy (the embedded store) serialized now rather than in the burst.
    const json = this.observer && outcome.room ? JSON.stringify(outcome.room) : undefined;
    const prepared: MemoryPrepared<T> = { code, before: room, outcome, json };
    return prepared;
  }

  /** One synchronous pass; a stored room is replaced on every change, so identity is its version. */
  async commitPrepared(changes: readonly PreparedChange<unknown>[]): Promise<boolean[]> {
    return changes.map((p) => {
      if (this.rooms.get(p.code) !== p.before) return false;
      this.write(p.code, p.before, p.outcome, (p as MemoryPrepared<unknown>).json);
      return true;
    });
  }

  private write(code: string, before: Room, outcome: Outcome<unknown>, json?: string): void {
    if (this.outbox) this.outbox.append(outboxEntries(before, outcome, this.outbox.types));
    if (outcome.room) {
      this.rooms.set(code, outcome.room);
      this.due.set(code, nextDeadline(outcome.room));
      this.logs.get(code)?.append(outcome.events, outcome.room.updated_at);
    } else {
      this.rooms.delete(code);
      this.due.delete(code);
      this.logs.delete(code);
    }
    this.observer?.(code, outcome.room ?? null, json);
  }

  async history(code: string, afterSeq: number, limit: number): Promise<RoomHistory | null> {
    const log = this.logs.get(code);
    return log ? log.read(afterSeq, limit) : null;
  }

  async claimDue(now: number, limit: number, leaseMs: number): Promise<string[]> {
    const claimed: string[] = [];
    for (const [code, at] of this.due) {
      if (claimed.length >= limit) break;
      if (at <= now) {
        claimed.push(code);
        this.due.set(code, now + leaseMs);
      }
    }
    return claimed;
  }

  async countByStatus() {
    const counts = emptyStatusCounts();
    for (const room of this.rooms.values()) counts[room.status] += 1;
    return counts;
  }

  async countRooms(): Promise<number> {
    return this.rooms.size;
  }

  async ping(): Promise<'ok'> {
    return 'ok';
  }

  async close(): Promise<void> {
    this.rooms.clear();
    this.due.clear();
    this.logs.clear();
  }
}
