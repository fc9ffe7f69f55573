/**
 * Broadcasts on Redis Cluster: sharded pub/sub (@socket.io/redis-adapter's sharded
 * adapter, "dynamic" mode). Each room is its own channel, in the slot its name hashes to,
 * and an instance subscribes (SSUBSCRIBE, on that slot's master) only to the rooms it has
 * sockets in: it receives a room's broadcasts only if it serves someone in the room, so
 * an instance's adapter cost follows its own sockets, not the size of the cluster
 * (docs/scaling.md, "Broadcasts: sharded pub/sub per room"). What pub/sub loses while a subscriber
 * reconnects is sent from the rooms' history (delivery-gate.ts, delivery-check.ts).
 */
import { createRequire } from 'node:module';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import type { FastifyBaseLogger } from 'fastify';
import type { RedisTopology } from '../config.js';
import type { TypedServer } from '../realtime/types.js';
import type { RedisClient } from '../redis/redis-keys.js';
import { throttled } from '../throttled.js';
import { connectRedis } from '../redis/redis-connection.js';

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

/**
 * ioredis (5.11) stops a sharded subscriber with `disconnect()` then `removeAllListeners()`:
 * a message already read from its socket is parsed afterwards, finds no command queued and
 * emits 'error' ("Command queue state error") on a client with no 'error' listener, which
 * throws — an uncaught exception that ends the process. Seen after pub/sub kills and
 * failovers (test/cluster/delivery-once.test.ts). A stopped subscriber keeps a listener
 * that drops it: whatever it still reads is stale (the replacement subscriber, and the
 * delivery repair, cover it).
 */
function keepStoppedSubscribersQuiet(): void {
  type Stoppable = { prototype: { stop(): void; instance: { on(event: 'error', fn: () => void): void } | null } };
  const { default: ShardedSubscriber } = createRequire(import.meta.url)('ioredis/built/cluster/ShardedSubscriber.js') as { default: Stoppable };
  const proto = ShardedSubscriber.prototype as Stoppable['prototype'] & { focusroomQuiet?: true };
  if (proto.focusroomQuiet) return;
  proto.focusroomQuiet = true;
  const stop = proto.stop;
  proto.stop = function (this: Stoppable['prototype']) {
    const instance = this.instance;
    stop.call(this);
    instance?.on('error', () => {});
  };
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
  keepStoppedSubscribersQuiet();
  const sub = await connectRedis(topology, `${name}-sub`, log, { offlineQueue: true, shardedSubscribers: true });
  clients.push(sub);
  guardSubscriptions(sub, log);
  io.adapter(createShardedAdapter(pub, sub, { channelPrefix: `${prefix}io`, subscriptionMode: 'dynamic' }));
  return sub;
}
