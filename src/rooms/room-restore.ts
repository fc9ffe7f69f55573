/**
 * Single-instance restart (docs/persistence.md, "What a restart keeps"): the rooms the
 * embedded store kept are put back before the server listens — booked, waiting and
 * running ones, with their deadlines, seats and resume tokens (only the tokens' hashes
 * are stored). Each gets its deadline re-armed (a round whose end passed while the server
 * was down completes now, its result queued as usual), its ticks resumed, its seats'
 * bookings re-entered, and every seat that had a socket is marked disconnected: its grace
 * (DISCONNECT_GRACE_MS) starts now, and a client that reconnects resumes it with its
 * token, as after any dropped connection.
 *
 * Before listening, in slices: the rooms are put back (each parsed from its JSON as its
 * turn comes) for at most SLICE_MS at a time, then the loop runs timers and I/O, so 2,500
 * kept rooms never hold it for one long block. The server listens only once every kept
 * room is back, so no client can ask for a room that is still on its way (a join or a
 * resume would get `room_not_found` for a room that exists): the start takes the restore's
 * time longer instead (~0.2–0.5 s for 2,500 rooms), and there is no "not yet restored"
 * state for any handler to wait on.
 */
import type { Clock } from '../domain/clock.js';
import { disconnectAll } from '../domain/membership.js';
import type { Room } from '../domain/room-state.js';
import { windowOf } from '../domain/schedule.js';
import { type RoomTimer, roomTimer } from '../domain/snapshot.js';
import { Slicer } from '../slices.js';
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
  /**
   * Told of each room just before it is created exactly as the store kept it (then null):
   * that create needs no write back (app.ts), its row already holds this room. Without it,
   * 2,500 restored rooms were serialised again (~7 MB of JSON, alive until the next flush
   * posted it) inside the start's loop-delay window, only to write the same rows.
   */
  asKept?: (room: Room | null) => void;
}

/** Main-thread time spent restoring before the loop gets a turn (a room alone is ~0.1 ms). */
const SLICE_MS = 3;

/** Puts `kept` back (each a room, or its JSON as the store kept it, read as it comes); returns how many rooms are live again. */
export async function restoreRooms(kept: Iterable<Room | string> | AsyncIterable<Room | string>, deps: RestoreDeps): Promise<number> {
  let restored = 0;
  const slicer = new Slicer(SLICE_MS);
  for await (const item of kept) {
    // The memory store answers in microtasks: without these turns, the ticks of rooms
    // already restored (and any timer) would wait for the whole lot.
    await slicer.maybeYield();
    let code = '?';
    try {
      const room = typeof item === 'string' ? (JSON.parse(item) as Room) : item;
      code = room.code;
      deps.asKept?.(room);
      const created = await deps.rooms.create(room).finally(() => deps.asKept?.(null));
      if (!created) continue;
      const now = deps.clock.now();
      const window = windowOf(room, now);
      if (window) for (const identity of identitiesOf(room)) await deps.bookingIndex.book(identity, room.code, window, now);
      deps.ticker.sync(roomTimer(room));
      // Every seat that had a socket, disconnected in one change (the same events as one by one).
      if (room.participants.some((p) => p.socket_id)) await deps.rooms.apply(room.code, (r) => disconnectAll(r, deps.clock.now()));
      // Due work (a round that ended while the server was down) runs now, not at the next tick.
      await deps.rooms.runDue(room.code);
      restored += 1;
    } catch (err) {
      deps.onError(err, code);
    }
  }
  return restored;
}
