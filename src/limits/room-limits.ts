/**
 * Bounds on rooms (docs/reliability.md "Load and abuse", Rooms): how many may live at once (MAX_ROOMS) and how
 * big one may grow (MAX_ROOM_BYTES), so the store's memory is bounded by
 * MAX_ROOMS × MAX_ROOM_BYTES whatever clients do. RoomService applies both to every
 * create and change; a REST create gets them by going through RoomService too, and can
 * map `unavailable` to HTTP 503.
 */
import { AppError } from '../contract/errors.js';
import type { Room } from '../domain/room-state.js';
import type { RoomChange, RoomStore } from '../store/room-store.js';

export interface RoomBounds {
  maxRooms: number;
  maxRoomBytes: number;
}

/** `unavailable` when the store already holds `maxRooms` live rooms (cluster-wide with Redis). */
export async function assertRoomCapacity(store: RoomStore, maxRooms: number): Promise<void> {
  if ((await store.countRooms()) >= maxRooms) {
    throw new AppError('unavailable', 'the server has no room for new sessions right now; try again later');
  }
}

/** Events after which a room may be bigger than before: only these are measured. */
const GROWING_EVENTS = new Set(['participant_joined', 'task_added', 'task_updated', 'settings_updated']);

/** The room's size as the store keeps it (the Redis store writes exactly this JSON). */
export const roomBytes = (room: Room): number => Buffer.byteLength(JSON.stringify(room));

/**
 * Wraps a change so that one that grows the room past `maxRoomBytes` is refused
 * (`invalid_state`) and writes nothing. Measuring serializes the room, so it is done only
 * after changes that can grow it (joins, tasks, settings), not after every status or tick.
 */
export function sizeBounded<T>(change: RoomChange<T>, maxRoomBytes: number): RoomChange<T> {
  return (room) => {
    const outcome = change(room);
    if (outcome.changed && outcome.room && outcome.events.some((e) => GROWING_EVENTS.has(e.event)) && roomBytes(outcome.room) > maxRoomBytes) {
      throw new AppError('invalid_state', 'the session has reached its size limit (tasks and names); remove some tasks');
    }
    return outcome;
  };
}
