/**
 * Conflict detection for identities (docs/protocol.md "Scheduled sessions"): one identity holds seats only in
 * rooms whose windows do not overlap. The booking index decides atomically (store/
 * booking-index.ts); this service keeps it in step with the rooms' seat lists.
 *
 * Crash safety: an entry is booked before its seat is taken and released after the
 * seat is gone, so a crash in between leaves an entry with no seat, never the reverse.
 * Such a stale entry is reconciled when it blocks a booking: once older than
 * RECONCILE_AFTER_MS (far longer than any create/join takes from booking to seat), it is
 * checked against its room and removed when the room no longer seats that identity.
 */
import { AppError } from '../contract/errors.js';
import type { Clock } from '../domain/clock.js';
import type { Room } from '../domain/room-state.js';
import { type Window, windowOf } from '../domain/schedule.js';
import type { BookingEntry, BookingIndex } from '../store/booking-index.js';
import type { RoomStore } from '../store/room-store.js';

export const RECONCILE_AFTER_MS = 10_000;
const ATTEMPTS = 4;

export const identitiesOf = (room: Room | null): Set<string> =>
  new Set((room?.participants ?? []).map((p) => p.identity ?? null).filter((i): i is string => i !== null));

export const slotTaken = (entry: BookingEntry): AppError =>
  new AppError('time_slot_taken', `you already hold a seat in session ${entry.room} at an overlapping time`);

/** A refused multi-room booking: which wanted room clashed, with which existing booking. */
export class SlotTaken extends AppError {
  constructor(
    readonly wanted: string,
    readonly entry: BookingEntry,
  ) {
    super('time_slot_taken', `you already hold a seat in session ${entry.room} at an overlapping time`);
  }
}

export class Bookings {
  constructor(
    readonly index: BookingIndex,
    private readonly store: RoomStore,
    private readonly clock: Clock,
  ) {}

  /** Books `room`'s window for `identity`, or throws `time_slot_taken`. */
  async claim(identity: string, room: string, window: Window): Promise<void> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const now = this.clock.now();
      const conflict = await this.index.book(identity, room, window, now);
      if (!conflict) return;
      if (!(await this.reconcile(identity, conflict, now))) throw slotTaken(conflict);
    }
    throw new AppError('time_slot_taken', 'you already hold a seat at an overlapping time');
  }

  /**
   * Books every one of `wanted` for `identity` in one atomic step (a series),
   * or throws `time_slot_taken` naming the first wanted room that clashes (nothing booked).
   */
  async claimMany(identity: string, wanted: { room: string; window: Window }[]): Promise<void> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const now = this.clock.now();
      const conflict = await this.index.bookMany(identity, wanted, now);
      if (!conflict) return;
      if (!(await this.reconcile(identity, conflict.entry, now))) throw new SlotTaken(conflict.wanted, conflict.entry);
    }
    throw new AppError('time_slot_taken', 'you already hold a seat at an overlapping time');
  }

  /** Removes `entry` when its room no longer seats `identity`; true when it was stale. */
  private async reconcile(identity: string, entry: BookingEntry, now: number): Promise<boolean> {
    if (now - entry.at < RECONCILE_AFTER_MS) return false;
    const room = await this.store.get(entry.room);
    const seated = room !== null && windowOf(room, now) !== null && identitiesOf(room).has(identity);
    if (seated) return false;
    await this.index.release(identity, entry.room, entry.at);
    return true;
  }

  async release(identity: string, room: string): Promise<void> {
    await this.index.release(identity, room);
  }

  /**
   * Moves every identity's entry for `room` to `next`. If one would collide, the ones
   * already moved go back to `previous` and `time_slot_taken` is thrown. Each identity
   * is its own atomic step (they live in different slots); a crash midway leaves some
   * entries on the new window, which only ever refuses more, never lets two seats collide.
   */
  async move(identities: Iterable<string>, room: string, previous: Window | null, next: Window): Promise<void> {
    const moved: string[] = [];
    try {
      for (const identity of identities) {
        await this.claim(identity, room, next);
        moved.push(identity);
      }
    } catch (err) {
      await Promise.allSettled(moved.map((id) => (previous ? this.index.book(id, room, previous, this.clock.now()) : this.index.release(id, room))));
      throw err;
    }
  }

  /** After a committed change: seats that are gone (left, timed out, room ended) stop counting. */
  async settle(code: string, before: Room, after: Room | null): Promise<void> {
    const now = this.clock.now();
    const kept = after && windowOf(after, now) !== null ? identitiesOf(after) : new Set<string>();
    const gone = [...identitiesOf(before)].filter((id) => !kept.has(id));
    await Promise.all(gone.map((id) => this.index.release(id, code)));
  }
}
