/**
 * buildApp wires everything from a config and injected dependencies, without listening:
 * tests build real apps on port 0; server.ts listens and handles signals.
 */
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { createAdapter } from '@socket.io/redis-adapter';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { Redis } from 'ioredis';
import type { Config } from './config.js';
import { type Clock, systemClock } from './domain/clock.js';
import { healthRoute } from './http/health-route.js';
import { metricsRoute } from './http/metrics-route.js';
import { sessionRoute } from './http/session-route.js';
import { Metrics } from './metrics.js';
import { Broadcaster } from './realtime/broadcaster.js';
import { Dispatcher } from './realtime/dispatcher.js';
import { RateLimits } from './realtime/rate-limits.js';
import { RoomService } from './realtime/room-service.js';
import { createSocketServer, wireSocketServer } from './realtime/socket-server.js';
import { Ticker } from './realtime/ticker.js';
import type { TypedServer } from './realtime/types.js';
import { DueScheduler, type DueSchedulerOptions, defaultDueSchedulerOptions } from './scheduler/due-scheduler.js';
import { MemoryRoomStore } from './store/memory-room-store.js';
import { RedisRoomStore } from './store/redis-room-store.js';
import type { RoomStore } from './store/room-store.js';

export interface AppDeps {
  clock?: Clock;
  scheduler?: Partial<DueSchedulerOptions>;
  /** Key prefix in Redis, so tests (or deployments) can share one server. */
  redisPrefix?: string;
}

export interface App {
  config: Config;
  fastify: FastifyInstance;
  io: TypedServer;
  store: RoomStore;
  metrics: Metrics;
  /** Listens on config.port/host; returns the base URL. */
  listen(): Promise<string>;
  /** /health turns 503 and new connections are refused; existing ones keep working. */
  startDraining(): void;
  /** Graceful close: drain, disconnect sockets (they resume elsewhere), release Redis. */
  close(): Promise<void>;
}

const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));
const REDIS_CONNECT_TIMEOUT_MS = 10_000;

async function connectRedis(url: string, name: string, log: FastifyInstance['log'], offlineQueue: boolean): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectionName: `focusroom-${name}`,
    // Fail fast while Redis is down: callers answer `unavailable` instead of hanging.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: offlineQueue,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  let lastLog = 0;
  redis.on('error', (err: Error) => {
    // ioredis reports every failed reconnect; one line per 5 s is enough.
    if (Date.now() - lastLog > 5_000) {
      lastLog = Date.now();
      log.warn({ err: err.message, client: name }, 'redis connection error');
    }
  });
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

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<App> {
  const clock = deps.clock ?? systemClock;
  const startedAt = Date.now();
  let draining = false;
  const fastify = Fastify({
    logger: { level: config.logLevel },
    trustProxy: config.trustProxy,
    forceCloseConnections: true,
    // One line per HTTP request would drown the log in load-balancer health checks.
    logController: new LogController({ disableRequestLogging: true }),
  });
  const log = fastify.log;

  const redisClients: Redis[] = [];
  let storeRedis: Redis | null = null;
  try {
    if (config.redisUrl) {
      storeRedis = await connectRedis(config.redisUrl, 'store', log, false);
      redisClients.push(storeRedis);
    }
  } catch (err) {
    await fastify.close();
    throw err;
  }
  const store: RoomStore = storeRedis ? new RedisRoomStore(storeRedis, { prefix: deps.redisPrefix ?? 'fr:' }) : new MemoryRoomStore();
  const metrics = new Metrics(() => store.countByStatus());

  const io = createSocketServer(fastify.server, config, () => draining);
  if (config.redisUrl) {
    // The adapter's clients queue while Redis blinks, so a broadcast is delayed, not thrown.
    const pub = await connectRedis(config.redisUrl, 'pub', log, true);
    const sub = await connectRedis(config.redisUrl, 'sub', log, true);
    redisClients.push(pub, sub);
    io.adapter(createAdapter(pub, sub, { key: `${deps.redisPrefix ?? 'fr:'}io` }));
  }

  const limits = new RateLimits(config.rateLimits, storeRedis);
  const ticker = new Ticker(io, clock, (ms) => metrics.tickLateness.observe(ms / 1000));
  const broadcaster = new Broadcaster(io, clock, metrics);
  const rooms = new RoomService(io, store, clock, broadcaster, ticker, metrics, Boolean(config.redisUrl));
  const scheduler = new DueScheduler(
    store,
    clock,
    (code) => rooms.runDue(code),
    (err, code) => log.warn({ err, room: code }, 'deadline run failed; will retry'),
    { ...defaultDueSchedulerOptions, ...deps.scheduler },
  );
  rooms.attachScheduler(scheduler);
  const dispatcher = new Dispatcher({ io, rooms, clock, config, limits, ticker }, metrics, log);
  wireSocketServer(io, { config, clock, limits, rooms, dispatcher, metrics, log });
  io.on('room_timer', (timer) => rooms.onRemoteTimer(timer));

  healthRoute(fastify, { store, instanceId: config.instanceId, startedAt, isDraining: () => draining, connections: () => io.engine.clientsCount });
  sessionRoute(fastify, { store, clock, limits });
  metricsRoute(fastify, metrics);
  await fastify.register(fastifyStatic, { root: PUBLIC_DIR, index: ['index.html'] });

  scheduler.start();
  let closed: Promise<void> | null = null;

  return {
    config,
    fastify,
    io,
    store,
    metrics,
    async listen() {
      return fastify.listen({ port: config.port, host: config.host });
    },
    startDraining() {
      draining = true;
    },
    close() {
      closed ??= (async () => {
        draining = true;
        scheduler.stop();
        ticker.stopAll();
        io.local.disconnectSockets(true);
        // Disconnects reach the store first, so in a cluster the seats wait out their grace.
        await Promise.race([dispatcher.drain(), new Promise((r) => setTimeout(r, 2_000).unref())]);
        io.engine.close();
        await fastify.close();
        for (const r of redisClients) r.disconnect();
        await store.close();
      })();
      return closed;
    },
  };
}
