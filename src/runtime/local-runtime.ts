/** One process: rooms and limits in memory, the default Socket.IO adapter, no presence. */
import { LocalPresence } from '../realtime/presence.js';
import type { Config } from '../config.js';
import { RateLimits } from '../limits/rate-limits.js';
import { MemoryOwnerSets } from '../limits/room-quota.js';
import { randomSecret, userKeySecret } from './user-key-secret.js';
import { MemoryBookingIndex } from '../store/memory-booking-index.js';
import { MemorySeriesStore } from '../store/memory-series-store.js';
import { MemoryCalendarFeedStore } from '../store/memory-calendar-feed-store.js';
import { MemoryOutbox } from '../store/memory-outbox.js';
import { MemoryPushSubscriptions } from '../store/memory-push-subscriptions.js';
import { MemoryRoomStore } from '../store/memory-room-store.js';
import { GROUP_TYPES } from '../store/outbox.js';
import { outboxGroupsOf, type Runtime, type RuntimeDeps } from './runtime.js';

export function createLocalRuntime(config: Config, deps: RuntimeDeps): Runtime {
  const outboxGroups = outboxGroupsOf(config);
  const outbox = new MemoryOutbox(config.outboxMax, config.outboxMaxBytes);
  for (const g of outboxGroups) outbox.addGroup(g, GROUP_TYPES[g]);
  const store = new MemoryRoomStore(outbox);
  return {
    kind: store.kind,
    store,
    outbox,
    outboxGroups,
    limits: new RateLimits(config.rateLimits, null),
    roomQuota: new MemoryOwnerSets(),
    // A DATA_DIR that cannot be written (the server still starts, database down) gets a per-process secret.
    userKeySecret: () =>
      userKeySecret(config, null).catch((err: unknown) => {
        deps.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'user key secret not kept in DATA_DIR: keys issued now stop working at restart (set USER_KEY_SECRET)');
        return randomSecret();
      }),
    bookingIndex: new MemoryBookingIndex(),
    pushSubscriptions: new MemoryPushSubscriptions(),
    seriesStore: new MemorySeriesStore(),
    calendarFeeds: new MemoryCalendarFeedStore(),
    presence: new LocalPresence(),
    async attach() {},
    async close() {
      await outbox.close();
      await store.close();
    },
  };
}
