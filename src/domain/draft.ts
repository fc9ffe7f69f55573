/**
 * A change in progress: a private copy of the room plus the events it produced. Domain
 * functions work on a Draft and return an Outcome, so callers get new state and
 * messages out and the room they passed in is never touched.
 */
import type { MissedEvent, RoomEventName, RoomEvents } from '../contract/events.js';
import { cloneRoom, type Room } from './room-state.js';
import type { RoundRecord } from './round-record.js';
import type { AttendanceRecord } from './attendance-record.js';

/** Event data as the domain produces it: the snapshot and seq are added on the way out. */
export type EventData<K extends RoomEventName> = Omit<RoomEvents[K], 'seq' | 'session'>;

export interface Outcome<T = undefined> {
  /** The new room, or null when the change deleted it. */
  room: Room | null;
  /** Room events in order, each with its `seq`. */
  events: MissedEvent[];
  result: T;
  /** False when nothing changed, so the store can skip the write. */
  changed: boolean;
  /** Completed focus rounds for the store of record, queued by the store in the same write. */
  records?: RoundRecord[];
  /** A booked run's attendance, decided when its no-show grace ended (no-show.ts). */
  attendance?: AttendanceRecord[];
}

export class Draft {
  readonly events: MissedEvent[] = [];
  readonly records: RoundRecord[] = [];
  readonly attendance: AttendanceRecord[] = [];
  changed = false;
  deleted = false;

  private constructor(
    readonly room: Room,
    readonly now: number,
  ) {}

  static of(room: Room, now: number): Draft {
    return new Draft(cloneRoom(room), now);
  }

  /** Record a room event: bumps `seq`. The store appends it to the room's history with the change. */
  emit<K extends RoomEventName>(event: K, data: EventData<K>): void {
    this.touch();
    this.room.seq += 1;
    const entry: MissedEvent = { seq: this.room.seq, event, data: data as Record<string, unknown> };
    this.events.push(entry);
  }

  /** A change with no event of its own (e.g. a socket taking over a seat). */
  touch(): void {
    this.changed = true;
    this.room.updated_at = Math.max(this.room.updated_at, this.now);
  }

  delete(): void {
    this.changed = true;
    this.deleted = true;
  }

  done<T>(result: T): Outcome<T> {
    const outcome: Outcome<T> = { room: this.deleted ? null : this.room, events: this.events, result, changed: this.changed };
    if (this.records.length > 0) outcome.records = this.records;
    if (this.attendance.length > 0) outcome.attendance = this.attendance;
    return outcome;
  }
}

/** A no-op outcome that keeps the caller's room as it was. */
export const unchanged = <T>(room: Room, result: T): Outcome<T> => ({ room, events: [], result, changed: false });
