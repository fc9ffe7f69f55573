/**
 * A change that moves a room's window (reschedule, unschedule, another length) first
 * moves every booked identity's entry to the new window, refusing with `time_slot_taken`
 * if any would collide (bookings.ts); the room changes only if all moved, and only if
 * its seats are still the ones checked (else it is checked again). Shared by every
 * caller of such a change (today `update_settings`).
 */
import type { Clock } from '../domain/clock.js';
import type { Outcome } from '../domain/draft.js';
import type { Room } from '../domain/room-state.js';
import { windowOf } from '../domain/schedule.js';
import { type Bookings, identitiesOf } from './bookings.js';
import type { RoomService } from './room-service.js';

export interface BookingMoveDeps {
  rooms: RoomService;
  bookings: Bookings;
  clock: Clock;
}

/** A change of the room as of `now`. */
export type WindowChange = (room: Room, now: number) => Outcome;

/** Seats changed between the check and the change: checked again, at most this many times. */
const SEAT_RECHECKS = 3;

class SeatsChanged extends Error {}

/**
 * Applies `change` to room `code` through `commit` (the caller's own apply, which may
 * unseat a socket whose room vanished), after moving the bookings of the room's
 * identities from its window as read to the window `change` gives it. A failed
 * commit moves them back.
 */
export async function applyMovingBookings<R>(deps: BookingMoveDeps, code: string, change: WindowChange, commit: (change: WindowChange) => Promise<R>): Promise<R> {
  for (let attempt = 0; ; attempt++) {
    const current = await deps.rooms.get(code);
    const identities = identitiesOf(current);
    if (!current || identities.size === 0) return commit(change);
    const now = deps.clock.now();
    // Dry run on the room as read: not_host, invalid_state ... come before any booking.
    const preview = change(current, now).room!;
    const before = windowOf(current, now);
    const next = windowOf(preview, now);
    // A completed room has no window: its seats no longer count, nothing to move.
    if (!next) return commit(change);
    await deps.bookings.move(identities, code, before, next);
    const seen = [...identities].sort().join('\n');
    try {
      return await commit((room, at) => {
        if ([...identitiesOf(room)].sort().join('\n') !== seen && attempt < SEAT_RECHECKS) throw new SeatsChanged();
        return change(room, at);
      });
    } catch (err) {
      // Not applied: the entries go back to the room's window as it was.
      if (before) await deps.bookings.move(identities, code, null, before).catch(() => {});
      if (err instanceof SeatsChanged) continue;
      throw err;
    }
  }
}
