/**
 * Redis connections for cluster mode: fail-fast options, throttled error logs, and a
 * bounded wait for the first connect, so a missing Redis stops start-up with a clear
 * message instead of a hang.
 */
import type { FastifyBaseLogger } from 'fastify';
import { Redis } from 'ioredis';
import { throttled } from '../throttled.js';

export const REDIS_CONNECT_TIMEOUT_MS = 10_000;

export interface RedisOptions {
  /** Queue commands while reconnecting (the adapter's clients) instead of failing them. */
  offlineQueue: boolean;
  commandTimeoutMs?: number;
}

export async function connectRedis(url: string, name: string, log: FastifyBaseLogger, opts: RedisOptions): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    // CLIENT LIST shows which instance and role each connection belongs to (name: [a-zA-Z0-9_.:-] only).
    connectionName: `focusroom:${name}`.replace(/[^\w.:-]/g, '_'),
    // Fail fast while Redis is down: callers answer `unavailable` instead of hanging.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: opts.offlineQueue,
    ...(opts.commandTimeoutMs ? { commandTimeout: opts.commandTimeoutMs } : {}),
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  // ioredis reports every failed reconnect; one line per 5 s is enough.
  redis.on(
    'error',
    throttled(5_000, (err: Error) => log.warn({ err: err.message, client: name }, 'redis connection error')),
  );
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`could not connect to Redis at REDIS_URL within ${REDIS_CONNECT_TIMEOUT_MS} ms`)), REDIS_CONNECT_TIMEOUT_MS).unref(),
  );
  try {
    await Promise.race([redis.connect(), timeout]);
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  return redis;
}

/** Resolves once `client` is ready (ioredis reconnects by itself), or rejects after `timeoutMs`. */
export function waitReady(client: Redis, timeoutMs: number): Promise<void> {
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
