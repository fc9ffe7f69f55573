/**
 * Cluster mode: instances share one Redis for rooms, the due-queue, rate limits,
 * presence and broadcasts (the streams adapter). Every Redis connection is opened here
 * (cluster/redis-connection.ts) and closed by `close`.
 */
import type { Redis } from 'ioredis';
import { nanoid } from 'nanoid';
import { InstanceRegistry } from '../cluster/instance-registry.js';
import { closeLostRoomsOnReconnect } from '../cluster/lost-rooms.js';
import { connectRedis } from '../cluster/redis-connection.js';
import { RedisPresence } from '../cluster/redis-presence.js';
import { attachStreamsAdapter } from '../cluster/streams-adapter.js';
import { followTimersInBroadcasts } from '../cluster/timer-follower.js';
import type { Config } from '../config.js';
import { RateLimits } from '../limits/rate-limits.js';
import type { TypedServer } from '../realtime/types.js';
import { RedisBookingIndex } from '../store/redis-booking-index.js';
import { RedisOutbox } from '../store/redis-outbox.js';
import { outboxKey, RedisRoomStore } from '../store/redis-room-store.js';
import { typesOf } from '../store/outbox.js';
import { outboxGroupsOf, type Runtime, type RuntimeDeps } from './runtime.js';

/**
 * A store command that gets no answer within this time fails, so a frozen or
 * partitioned Redis (connection open, no replies) is answered `unavailable` like a
 * dead one instead of hanging every event. A write that timed out may still be applied
 * when Redis wakes up (docs/scaling.md, "Redis freezes").
 */
const STORE_COMMAND_TIMEOUT_MS = 1_000;

export async function createRedisRuntime(url: string, config: Config, deps: RuntimeDeps): Promise<Runtime> {
  const { log, clock } = deps;
  const prefix = deps.redisPrefix ?? 'fr:';
  const storeRedis = await connectRedis(url, `${config.instanceId}:store`, log, { offlineQueue: false, commandTimeoutMs: STORE_COMMAND_TIMEOUT_MS });
  /** Every connection opened for this runtime (store, adapter and the adapter's duplicates). */
  const clients: Redis[] = [storeRedis];
  const outboxGroups = outboxGroupsOf(config);
  const store = new RedisRoomStore(storeRedis, { prefix, outboxTypes: typesOf(outboxGroups) });
  // XREADGROUP BLOCK holds its connection: one per reader group, beside the store's.
  const blocking = new Map<string, Redis>();
  try {
    for (const g of outboxGroups) {
      const conn = await connectRedis(url, `${config.instanceId}:outbox-${g}`, log, { offlineQueue: false });
      clients.push(conn);
      blocking.set(g, conn);
    }
  } catch (err) {
    for (const r of clients) r.disconnect();
    throw err;
  }
  const outbox = new RedisOutbox(storeRedis, blocking, {
    key: outboxKey(prefix),
    consumer: config.instanceId,
    types: typesOf(outboxGroups),
    groups: outboxGroups,
    ...deps.outbox,
  });
  // Seats of an instance that dies without a word start their grace.
  const registry = new InstanceRegistry(storeRedis, `${config.instanceId}:${nanoid(6)}`, prefix);
  const presence = new RedisPresence(registry, clock, log, { instanceTimeoutMs: config.instanceTimeoutMs });
  let adapted: TypedServer | null = null;

  return {
    kind: store.kind,
    store,
    outbox,
    outboxGroups,
    limits: new RateLimits(config.rateLimits, storeRedis, prefix),
    bookingIndex: new RedisBookingIndex(storeRedis, prefix),
    presence,
    async attach(io, { rooms, ticker }) {
      await attachStreamsAdapter(io, url, `${config.instanceId}:adapter`, prefix, log, clients);
      adapted = io;
      followTimersInBroadcasts(io, ticker);
      closeLostRoomsOnReconnect(storeRedis, io, rooms, ticker, log);
    },
    async close() {
      // Stops the adapter's stream reader and subscriber (its own connections).
      if (adapted) await adapted.of('/').adapter.close();
      await outbox.close();
      for (const r of clients) r.disconnect();
      await store.close();
    },
  };
}
