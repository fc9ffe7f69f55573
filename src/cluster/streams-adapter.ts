/**
 * Cluster broadcasts through a Redis stream (@socket.io/redis-streams-adapter), not
 * pub/sub: an instance whose connection blinks reads on from where it was instead of
 * losing what was sent meanwhile (docs/scaling.md, "How we got here").
 */
import { createAdapter } from '@socket.io/redis-streams-adapter';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import type { RedisTopology } from '../config.js';
import type { TypedServer } from '../realtime/types.js';
import type { RedisClient } from '../redis/redis-keys.js';
import { throttled } from '../throttled.js';
import { connectRedis, REDIS_CONNECT_TIMEOUT_MS, waitReady } from '../redis/redis-connection.js';

/**
 * Broadcasts kept in the adapter's stream (approximate trimming): what an instance can
 * catch up on after its connection blinked. At 1,000 broadcasts/s that is 10 s.
 */
const ADAPTER_STREAM_MAX_LEN = 10_000;

/**
 * The streams adapter sends serverSideEmit messages with a PUBLISH whose promise it drops:
 * while Redis is down each one would be an unhandled rejection, which ends a Node
 * process by default. The message is lost either way (docs/scaling.md); this makes it a
 * log line. (Its stream writes, XADD, are caught by the adapter itself.)
 */
function guardPublish(client: Redis, log: FastifyBaseLogger): void {
  type Publish = (...args: unknown[]) => Promise<unknown>;
  const target = client as unknown as { publish: Publish };
  const publish = target.publish.bind(client);
  const warn = throttled(5_000, (err: unknown) =>
    log.warn({ err: err instanceof Error ? err.message : String(err) }, 'message to other instances lost (redis publish failed)'),
  );
  target.publish = (...args) =>
    publish(...args).catch((err: unknown) => {
      warn(err);
      return 0;
    });
}

/**
 * The streams adapter opens its reader and subscriber with `client.duplicate()` and, for
 * a lazy client, calls `connect()` on them without handling a failure: a Redis that
 * blinks at that moment would be an unhandled rejection and leave the instance without
 * a reader for good. Duplicates of a non-lazy client connect (and reconnect) by
 * themselves instead. They are collected so shutdown closes them and start-up waits.
 */
function trackDuplicates(client: Redis, into: RedisClient[]): Redis[] {
  client.options.lazyConnect = false;
  const duplicate = client.duplicate.bind(client);
  const made: Redis[] = [];
  client.duplicate = (override) => {
    const d = duplicate(override);
    made.push(d);
    into.push(d);
    return d;
  };
  return made;
}

/**
 * Attaches the adapter to `io`; resolves once its stream reader and subscriber are
 * connected. Every connection it opened is pushed to `clients` (closed at shutdown).
 */
export async function attachStreamsAdapter(
  io: TypedServer,
  topology: Exclude<RedisTopology, { kind: 'cluster' }>,
  name: string,
  prefix: string,
  log: FastifyBaseLogger,
  clients: RedisClient[],
): Promise<void> {
  // Standalone or Sentinel: one primary, so a plain (or Sentinel-following) client.
  const adapterRedis = (await connectRedis(topology, name, log, { offlineQueue: true })) as Redis;
  clients.push(adapterRedis);
  guardPublish(adapterRedis, log);
  const readers = trackDuplicates(adapterRedis, clients);
  io.adapter(
    createAdapter(adapterRedis, {
      streamName: `${prefix}io`,
      channelPrefix: `${prefix}io`,
      maxLen: ADAPTER_STREAM_MAX_LEN,
      // The reader notices a close within this time (shutdown), and blocks no longer.
      blockTimeInMs: 1_000,
    }),
  );
  await Promise.all(readers.map((r) => waitReady(r, REDIS_CONNECT_TIMEOUT_MS)));
}
