import type { Config } from '../config.js';
import type { Bookings } from '../rooms/bookings.js';
import type { Clock } from '../domain/clock.js';
import type { UserKeys } from '../domain/user-keys.js';
import type { RateLimits } from '../limits/rate-limits.js';
import type { RoomService } from '../rooms/room-service.js';
import type { Ticker } from './ticker.js';
import type { TypedServer, TypedSocket } from './types.js';

/** What a handler may use: everything comes in, nothing is global. */
export interface HandlerContext {
  socket: TypedSocket;
  io: TypedServer;
  rooms: RoomService;
  clock: Clock;
  config: Config;
  limits: RateLimits;
  ticker: Ticker;
  bookings: Bookings;
  generateRoomCode: () => string;
  /** Issues and checks anonymous user keys (domain/user-keys.ts). */
  userKeys: UserKeys;
}
