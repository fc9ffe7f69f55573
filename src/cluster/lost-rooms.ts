/**
 * Cluster mode, after Redis reconnected: a Redis restarted without persistence comes back
 * empty, so rooms this instance has sockets in may be gone from the store. Those sockets
 * get `room_closed { reason: 'lost' }` and are unseated, so their clients stop counting
 * down a room that no longer exists and can create a new one (docs/scaling.md,
 * "Redis crashes or restarts").
 */
import type { FastifyBaseLogger } from 'fastify';
import type { RedisClient } from '../redis/redis-keys.js';
import type { RoomService } from '../rooms/room-service.js';
import { detach } from '../realtime/seat.js';
import type { Ticker } from '../realtime/ticker.js';
import { roomKey, type TypedServer } from '../realtime/types.js';

/** Closes, for this instance's sockets, the rooms the store no longer knows; returns their codes. */
export async function closeLostRooms(io: TypedServer, rooms: RoomService, ticker: Ticker): Promise<string[]> {
  const nsp = io.of('/');
  const codes = [...nsp.adapter.rooms.keys()].filter((k) => k.startsWith(roomKey(''))).map((k) => k.slice(roomKey('').length));
  const found = await Promise.all(codes.map((code) => rooms.store.get(code)));
  const lost = codes.filter((_, i) => found[i] === null);
  closeRoomsAsLost(io, rooms, ticker, lost);
  return lost;
}

/** Tells this instance's sockets in `codes` `room_closed { reason: 'lost' }` and unseats them. */
export function closeRoomsAsLost(io: TypedServer, rooms: RoomService, ticker: Ticker, codes: readonly string[]): void {
  const nsp = io.of('/');
  for (const code of codes) {
    rooms.unwatch(code);
    ticker.stop(code);
    io.local.to(roomKey(code)).emit('room_closed', { room_code: code, reason: 'lost', seq: 0 });
    for (const id of [...(nsp.adapter.rooms.get(roomKey(code)) ?? [])]) {
      const socket = nsp.sockets.get(id);
      if (socket) detach(socket);
    }
  }
}

/**
 * Checks for lost rooms each time `storeRedis` is ready again. Call after the first
 * connect: that 'ready' was the initial one, before this listener.
 */
export function closeLostRoomsOnReconnect(storeRedis: RedisClient, io: TypedServer, rooms: RoomService, ticker: Ticker, log: FastifyBaseLogger): void {
  storeRedis.on('ready', () => {
    closeLostRooms(io, rooms, ticker)
      .then((lost) => {
        if (lost.length > 0) log.warn({ rooms: lost.length }, 'rooms lost with Redis (restarted empty): clients told room_closed');
      })
      .catch((err: unknown) => log.warn({ err }, 'could not check rooms after Redis reconnected'));
  });
}
