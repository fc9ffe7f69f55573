/**
 * Cluster mode: instances share Redis for rooms, the due-queue, rate limits, presence
 * and broadcasts. Redis is one server, a primary behind Sentinel, or a Redis Cluster
 * (config.ts `RedisTopology`); the key layout (redis/redis-keys.ts) and the adapter
 * follow from it: one partition and the streams adapter on one primary, hash-tag
 * partitions and the sharded pub/sub adapter on a cluster. Every Redis connection is
 * opened here (redis/redis-connection.ts) and closed by `close`.
 */
import { nanoid } from 'nanoid';
import { countAdapterMessages } from '../cluster/adapter-count.js';
import { startDeliveryCheck, type DeliveryCheck } from '../cluster/delivery-check.js';
import { DeliveryGate } from '../cluster/delivery-gate.js';
import { InstanceRegistry } from '../cluster/instance-registry.js';
import { closeLostRoomsOnReconnect } from '../cluster/lost-rooms.js';
import { connectRedis } from '../redis/redis-connection.js';
import { RedisPresence } from '../cluster/redis-presence.js';
import { attachShardedAdapter } from '../cluster/sharded-adapter.js';
import { attachStreamsAdapter } from '../cluster/streams-adapter.js';
import type { Config, RedisTopology } from '../config.js';
import { RateLimits } from '../limits/rate-limits.js';
import { RedisOwnerSets } from '../limits/room-quota.js';
import { userKeySecret } from './user-key-secret.js';
import type { TypedServer } from '../realtime/types.js';
import type { Outbox } from '../store/outbox.js';
import { typesOf } from '../store/outbox.js';
import { PartitionedOutbox } from '../store/partitioned-outbox.js';
import { RedisSeriesStore } from '../store/redis-series-store.js';
import { RedisCalendarFeedStore } from '../store/redis-calendar-feed-store.js';
import { RedisBookingIndex } from '../store/redis-booking-index.js';
import { type RedisClient, RedisKeys } from '../redis/redis-keys.js';
import { RedisOutbox } from '../store/redis-outbox.js';
import { RedisPushSubscriptions } from '../store/redis-push-subscriptions.js';
import { RedisRoomStore } from '../store/redis-room-store.js';
import { outboxGroupsOf, type Runtime, type RuntimeDeps } from './runtime.js';

/**
 * A store command that gets no answer within this time fails, so a frozen or
 * partitioned Redis (connection open, no replies) is answered `unavailable` like a
 * dead one instead of hanging every event. A write that timed out may still be applied
 * when Redis wakes up (docs/scaling.md, "Failure behaviour").
 */
const STORE_COMMAND_TIMEOUT_MS = 1_000;

export async function createRedisRuntime(topology: RedisTopology, config: Config, deps: RuntimeDeps): Promise<Runtime> {
  const { log, clock } = deps;
  const prefix = deps.redisPrefix ?? 'fr:';
  const keys = new RedisKeys({ prefix, partitions: topology.kind === 'cluster' ? topology.partitions : 1 });
  const storeRedis = await connectRedis(topology, `${config.instanceId}:store`, log, { offlineQueue: false, commandTimeoutMs: STORE_COMMAND_TIMEOUT_MS });
  /** Every connection opened for this runtime (store, adapter and the adapter's duplicates). */
  const clients: RedisClient[] = [storeRedis];
  const outboxGroups = outboxGroupsOf(config);
  const outboxOptions = {
    consumer: config.instanceId,
    types: typesOf(outboxGroups),
    groups: outboxGroups,
    // Web Push entries are taken over once their deliveries' lease has lapsed (push-sender.ts).
    groupClaimIdleMs: config.push ? { push: config.push.leaseMs } : {},
    ...deps.outbox,
  };
  const store = new RedisRoomStore(storeRedis, { keys, outboxTypes: typesOf(outboxGroups) });
  let outbox: Outbox;
  if (keys.clustered) {
    outbox = new PartitionedOutbox(storeRedis, keys, outboxOptions);
  } else {
    // XREADGROUP BLOCK holds its connection: one per reader group, beside the store's.
    const blocking = new Map<string, RedisClient>();
    try {
      for (const g of outboxGroups) {
        const conn = await connectRedis(topology, `${config.instanceId}:outbox-${g}`, log, { offlineQueue: false });
        clients.push(conn);
        blocking.set(g, conn);
      }
    } catch (err) {
      for (const r of clients) r.disconnect();
      throw err;
    }
    outbox = new RedisOutbox(storeRedis, blocking, { ...outboxOptions, key: keys.outbox(0) });
  }
  // Seats of an instance that dies without a word start their grace.
  const registry = new InstanceRegistry(storeRedis, `${config.instanceId}:${nanoid(6)}`, keys);
  const presence = new RedisPresence(registry, clock, log, { instanceTimeoutMs: config.instanceTimeoutMs });
  let adapted: TypedServer | null = null;
  let deliveryCheck: DeliveryCheck | null = null;

  return {
    kind: store.kind,
    store,
    outbox,
    outboxGroups,
    limits: new RateLimits(config.rateLimits, storeRedis, prefix),
    roomQuota: new RedisOwnerSets(storeRedis, prefix),
    userKeySecret: () => userKeySecret(config, { client: storeRedis, prefix }),
    bookingIndex: new RedisBookingIndex(storeRedis, prefix),
    pushSubscriptions: new RedisPushSubscriptions(storeRedis, prefix),
    seriesStore: new RedisSeriesStore(storeRedis, prefix),
    calendarFeeds: new RedisCalendarFeedStore(storeRedis, prefix),
    presence,
    async attach(io, { rooms, ticker, metrics }) {
      const name = `${config.instanceId}:adapter`;
      const sub = topology.kind === 'cluster' ? await attachShardedAdapter(io, topology, name, prefix, log, clients) : null;
      if (topology.kind !== 'cluster') await attachStreamsAdapter(io, topology, name, prefix, log, clients);
      countAdapterMessages(io, metrics.adapterMessagesReceived);
      adapted = io;
      // Every room event once, in order, to each local socket; the ticker follows them.
      const gate = new DeliveryGate(io, rooms.store, ticker, clock, metrics, log);
      deliveryCheck = startDeliveryCheck(gate, store, io, rooms, ticker, metrics, log);
      // ioredis (sharded subscribers): `-node` when a subscriber connection ends,
      // `subscribersReady` once it has subscribed again; a check then repairs sooner.
      const check = deliveryCheck;
      for (const event of ['-node', 'subscribersReady', 'ready']) sub?.on(event, () => check.soon());
      closeLostRoomsOnReconnect(storeRedis, io, rooms, ticker, log);
    },
    async close() {
      deliveryCheck?.stop();
      // Stops the adapter's stream reader and subscriber (its own connections).
      if (adapted) await adapted.of('/').adapter.close();
      await outbox.close();
      for (const r of clients) r.disconnect();
      await store.close();
    },
  };
}
