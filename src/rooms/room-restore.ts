/**
 * Single-instance restart (docs/persistence.md, "What a restart keeps"): the rooms the
 * embedded store kept are put back before the server listens — booked, waiting and
 * running ones, with their deadlines, seats and resume tokens (only the tokens' hashes
 * are stored). Each gets its deadline re-armed (a round whose end passed while the server
 * was down completes now, its result queued as usual), its ticks resumed, its seats'
 * bookings re-entered, and every seat that had a socket is marked disconnected: its grace
 * (DISCONNECT_GRACE_MS) starts now, and a client that reconnects resumes it with its
 * token, as after any dropped connection.
 */
import type { Clock } from '../domain/clock.js';
import { disconnect } from '../domain/membership.js';
import type { Room } from '../domain/room-state.js';
import { windowOf } from '../domain/schedule.js';
import { type RoomTimer, roomTimer } from '../domain/snapshot.js';
import type { BookingIndex } from '../store/booking-index.js';
import { identitiesOf } from './bookings.js';
import type { RoomService } from './room-service.js';

export interface RestoreDeps {
  rooms: RoomService;
  /** Starts the restored room's ticks (realtime/ticker.ts). */
  ticker: { sync(timer: RoomTimer): void };
  bookingIndex: BookingIndex;
  clock: Clock;
  onError: (err: unknown, code: string) => void;
}

/** Rooms restored between two yields to the event loop. */
const RESTORE_SLICE = 25;

/** Puts `kept` back; returns how many rooms are live again. */
export async function restoreRooms(kept: Room[], deps: RestoreDeps): Promise<number> {
  let restored = 0;
  for (const [i, room] of kept.entries()) {
    // The memory store answers in microtasks: yield to timers now and then, so the ticks of
    // rooms already restored keep their time while thousands more come back.
    if (i > 0 && i % RESTORE_SLICE === 0) await new Promise((r) => setImmediate(r));
    try {
      if (!(await deps.rooms.create(room))) continue;
      const now = deps.clock.now();
      const window = windowOf(room, now);
      if (window) for (const identity of identitiesOf(room)) await deps.bookingIndex.book(identity, room.code, window, now);
      deps.ticker.sync(roomTimer(room));
      for (const p of room.participants) {
        if (p.socket_id) await deps.rooms.apply(room.code, (r) => disconnect(r, p.id, p.socket_id!, deps.clock.now()));
      }
      // Due work (a round that ended while the server was down) runs now, not at the next tick.
      await deps.rooms.runDue(room.code);
      restored += 1;
    } catch (err) {
      deps.onError(err, room.code);
    }
  }
  return restored;
}
