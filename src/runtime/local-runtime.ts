/** One process: rooms and limits in memory, the default Socket.IO adapter, no presence. */
import { LocalPresence } from '../cluster/presence.js';
import type { Config } from '../config.js';
import { RateLimits } from '../limits/rate-limits.js';
import { MemoryBookingIndex } from '../store/memory-booking-index.js';
import { MemoryRoomStore } from '../store/memory-room-store.js';
import type { Runtime } from './runtime.js';

export function createLocalRuntime(config: Config): Runtime {
  const store = new MemoryRoomStore();
  return {
    kind: store.kind,
    store,
    limits: new RateLimits(config.rateLimits, null),
    bookingIndex: new MemoryBookingIndex(),
    presence: new LocalPresence(),
    async attach() {},
    async close() {
      await store.close();
    },
  };
}
