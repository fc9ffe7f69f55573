/**
 * The booking index: per identity, the rooms it holds seats in and each room's window.
 * It is the source of truth for conflict detection (docs/protocol.md "Scheduled sessions"): `book` checks and
 * records in one atomic step, so two instances racing for overlapping slots of one
 * identity get exactly one winner. Memory and Redis implementations, one contract.
 *
 * The room's seat list is the other half of a booking; the two live in different keys
 * (on Redis Cluster, different slots), so they are never changed in one step. The order
 * makes every crash leave at most a *stale entry* (an entry with no seat), never a seat
 * with no entry: an entry is written before its seat is taken and removed after the seat
 * is gone. Stale entries are reconciled when they get in the way (rooms/bookings.ts).
 */
import type { Window } from '../domain/schedule.js';

export interface BookingEntry extends Window {
  room: string;
  /** When it was written: a fresh entry may belong to a seat still being taken. */
  at: number;
}

export interface BookingIndex {
  /**
   * Records `room`'s window for `identity` unless another live entry overlaps it (an
   * entry for the same room is replaced). Entries whose window has ended are dropped.
   * Null when booked, else the conflicting entry (nothing written).
   */
  book(identity: string, room: string, window: Window, now: number): Promise<BookingEntry | null>;
  /**
   * Records several rooms' windows for `identity` in one atomic step: all or none. Null
   * when booked, else the first (soonest) conflicting entry of the ones asked for, with
   * the existing entry it collides with.
   */
  bookMany(identity: string, wanted: { room: string; window: Window }[], now: number): Promise<{ wanted: string; entry: BookingEntry } | null>;
  /** Removes the entry; with `ifAt`, only when it is still the one written at that time. */
  release(identity: string, room: string, ifAt?: number): Promise<void>;
  /** Live entries of `identity`, soonest first. */
  list(identity: string, now: number): Promise<BookingEntry[]>;
}

export const bySoonest = (a: BookingEntry, b: BookingEntry): number => a.start - b.start || a.room.localeCompare(b.room);
