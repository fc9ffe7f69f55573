/**
 * Broadcasts on Redis Cluster: sharded pub/sub (@socket.io/redis-adapter's sharded
 * adapter, "dynamic" mode). Each room is its own channel, in the slot its name hashes to,
 * and an instance subscribes (SSUBSCRIBE, on that slot's master) only to the rooms it has
 * sockets in: it receives a room's broadcasts only if it serves someone in the room, so
 * an instance's adapter cost follows its own sockets, not the size of the cluster
 * (docs/scaling.md, "Adapter on Redis Cluster"). What pub/sub loses while a subscriber
 * reconnects is sent from the rooms' history (delivery-gate.ts, delivery-check.ts).
 */
import { createShardedAdapter } from '@socket.io/redis-adapter';
import type { FastifyBaseLogger } from 'fastify';
import type { RedisTopology } from '../config.js';
import type { TypedServer } from '../realtime/types.js';
import type { RedisClient } from '../store/redis-keys.js';
import { throttled } from '../throttled.js';
import { connectRedis } from './redis-connection.js';

/**
 * The adapter calls `ssubscribe`/`sunsubscribe` without handling their promise: during a
 * failover each would be an unhandled rejection, which ends a Node process by default.
 * ioredis subscribes again by itself once the slot's new master answers.
 */
function guardSubscriptions(client: RedisClient, log: FastifyBaseLogger): void {
  type Command = (...args: unknown[]) => Promise<unknown>;
  const target = client as unknown as Record<'ssubscribe' | 'sunsubscribe', Command>;
  const warn = throttled(5_000, (err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'redis (un)subscribe failed; retried on reconnect'));
  for (const name of ['ssubscribe', 'sunsubscribe'] as const) {
    const original = target[name].bind(client);
    target[name] = (...args) =>
      original(...args).catch((err: unknown) => {
        warn(err);
        return 0;
      });
  }
}

/** Attaches the sharded adapter; its publisher and subscriber are pushed to `clients` (closed at shutdown). */
export async function attachShardedAdapter(
  io: TypedServer,
  topology: RedisTopology,
  name: string,
  prefix: string,
  log: FastifyBaseLogger,
  clients: RedisClient[],
): Promise<RedisClient> {
  const pub = await connectRedis(topology, `${name}-pub`, log, { offlineQueue: true });
  clients.push(pub);
  const sub = await connectRedis(topology, `${name}-sub`, log, { offlineQueue: true, shardedSubscribers: true });
  clients.push(sub);
  guardSubscriptions(sub, log);
  io.adapter(createShardedAdapter(pub, sub, { channelPrefix: `${prefix}io`, subscriptionMode: 'dynamic' }));
  return sub;
}
