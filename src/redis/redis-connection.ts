/**
 * Redis connections for cluster mode, for each topology (standalone, Sentinel, Redis
 * Cluster): fail-fast options, throttled error logs, and a bounded wait for the first
 * connect, so a missing Redis stops start-up with a clear message instead of a hang.
 */
import type { FastifyBaseLogger } from 'fastify';
import { Cluster, Redis, type RedisOptions as IoRedisOptions } from 'ioredis';
import type { RedisTopology } from '../config.js';
import type { RedisClient } from './redis-keys.js';
import { throttled } from '../throttled.js';
import { withTimeout } from '../timeout.js';

export const REDIS_CONNECT_TIMEOUT_MS = 10_000;

export interface RedisOptions {
  /** Queue commands while reconnecting (the adapter's clients) instead of failing them. */
  offlineQueue: boolean;
  commandTimeoutMs?: number;
  /** Redis Cluster: one extra subscriber per master for SSUBSCRIBE (the sharded adapter's subscriber). */
  shardedSubscribers?: boolean;
}

/** Where REDIS_URL says to log in: credentials, TLS and database (the host is the topology's business). */
function loginOf(url: string | null): Pick<IoRedisOptions, 'username' | 'password' | 'db' | 'tls'> {
  if (!url) return {};
  const u = new URL(url);
  const db = Number(u.pathname.slice(1));
  return {
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(Number.isInteger(db) && db > 0 ? { db } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

function nodeOf(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: u.port ? Number(u.port) : 6379 };
}

/** A client for `topology`, not yet connected. */
export function redisClient(topology: RedisTopology, name: string, opts: RedisOptions): RedisClient {
  const common: IoRedisOptions = {
    lazyConnect: true,
    // CLIENT LIST shows which instance and role each connection belongs to (name: [a-zA-Z0-9_.:-] only).
    connectionName: `focusroom:${name}`.replace(/[^\w.:-]/g, '_'),
    // Fail fast while Redis is down: callers answer `unavailable` instead of hanging.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: opts.offlineQueue,
    ...(opts.commandTimeoutMs ? { commandTimeout: opts.commandTimeoutMs } : {}),
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  };
  switch (topology.kind) {
    case 'standalone':
      return new Redis(topology.url, common);
    case 'sentinel':
      return new Redis({
        ...common,
        ...loginOf(topology.url),
        sentinels: topology.sentinels,
        name: topology.name,
        ...(topology.sentinelPassword ? { sentinelPassword: topology.sentinelPassword } : {}),
        // Ask the sentinels again soon when the primary is lost (a failover), not after a
        // back-off of up to 2 s: each reconnect attempt asks them who the primary is now.
        retryStrategy: (times) => Math.min(times * 100, 500),
        sentinelRetryStrategy: (times) => Math.min(times * 100, 1_000),
        // A primary demoted to replica answers READONLY: reconnect, which asks the sentinels for the new one.
        reconnectOnError: (err) => (/^READONLY\b/.test(err.message) ? 2 : false),
      });
    case 'cluster': {
      const login = loginOf(topology.urls[0] ?? null);
      return new Cluster(topology.urls.map(nodeOf), {
        lazyConnect: true,
        enableOfflineQueue: opts.offlineQueue,
        redisOptions: { ...common, ...login, lazyConnect: undefined },
        // No enableAutoPipelining: ioredis then routes XGROUP/XREADGROUP/XINFO by the
        // wrong argument and fails them with MOVED. The per-partition polls are sent
        // concurrently anyway (one connection per node, no waiting between them).
        scaleReads: 'master',
        shardedSubscribers: opts.shardedSubscribers ?? false,
        // A failed-over master: follow the new slot map quickly, and give up on a command
        // after a few tries (~1 s) so the caller answers `unavailable` instead of hanging
        // for the whole failover (a MOVED after it needs one redirection).
        retryDelayOnFailover: 100,
        retryDelayOnClusterDown: 100,
        maxRedirections: 8,
        slotsRefreshTimeout: 1_000,
        slotsRefreshInterval: 2_000,
        clusterRetryStrategy: (times) => Math.min(times * 200, 2_000),
      });
    }
  }
}

export async function connectRedis(topology: RedisTopology, name: string, log: FastifyBaseLogger, opts: RedisOptions): Promise<RedisClient> {
  const redis = redisClient(topology, name, opts);
  // ioredis reports every failed reconnect; one line per 5 s is enough.
  redis.on(
    'error',
    throttled(5_000, (err: Error) => log.warn({ err: err.message, client: name }, 'redis connection error')),
  );
  try {
    await withTimeout(redis.connect(), REDIS_CONNECT_TIMEOUT_MS, () => new Error(`could not connect to Redis (${describe(topology)}) within ${REDIS_CONNECT_TIMEOUT_MS} ms`));
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  return redis;
}

/** For messages: which variables named the Redis that could not be reached. */
function describe(topology: RedisTopology): string {
  if (topology.kind === 'sentinel') return `REDIS_SENTINELS, primary "${topology.name}"`;
  if (topology.kind === 'cluster') return 'REDIS_CLUSTER seeds in REDIS_URL';
  return 'REDIS_URL';
}

/** Resolves once `client` is ready (ioredis reconnects by itself), or rejects after `timeoutMs`. */
export function waitReady(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`Redis connection not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}
