/**
 * buildApp wires everything from a config and injected dependencies, without listening:
 * tests build real apps on port 0; server.ts listens and handles signals.
 */
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { Redis } from 'ioredis';
import { nanoid } from 'nanoid';
import type { Config } from './config.js';
import { type Clock, systemClock } from './domain/clock.js';
import { generateRoomCode } from './domain/room-code.js';
import { healthRoute } from './http/health-route.js';
import { metricsRoute } from './http/metrics-route.js';
import { sessionRoute } from './http/session-route.js';
import { Metrics } from './metrics.js';
import { Broadcaster } from './realtime/broadcaster.js';
import { ClusterPresence } from './realtime/cluster-presence.js';
import { Dispatcher } from './realtime/dispatcher.js';
import { RateLimits } from './realtime/rate-limits.js';
import { RoomService } from './realtime/room-service.js';
import { createSocketServer, wireSocketServer } from './realtime/socket-server.js';
import { Ticker } from './realtime/ticker.js';
import { attachStreamsAdapter } from './realtime/streams-adapter.js';
import { followTimersInBroadcasts } from './realtime/timer-follower.js';
import type { TypedServer } from './realtime/types.js';
import { DueScheduler, type DueSchedulerOptions, defaultDueSchedulerOptions } from './scheduler/due-scheduler.js';
import { MemoryRoomStore } from './store/memory-room-store.js';
import { connectRedis } from './store/redis-connection.js';
import { RedisPresence } from './store/redis-presence.js';
import { RedisRoomStore } from './store/redis-room-store.js';
import type { RoomStore } from './store/room-store.js';
import { throttled } from './throttled.js';

export interface AppDeps {
  clock?: Clock;
  scheduler?: Partial<DueSchedulerOptions>;
  /** Key prefix in Redis, so tests (or deployments) can share one server. */
  redisPrefix?: string;
  /** Room-code source (default: random nanoid codes); tests inject one that collides. */
  generateRoomCode?: () => string;
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

/**
 * Cluster mode: a store command that gets no answer within this time fails, so a frozen
 * or partitioned Redis (connection open, no replies) is answered `unavailable` like a
 * dead one instead of hanging every event. A write that timed out may still be applied
 * when Redis wakes up (docs/scaling.md, "Redis outage").
 */
const STORE_COMMAND_TIMEOUT_MS = 1_000;

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<App> {
  const clock = deps.clock ?? systemClock;
  const startedAt = Date.now();
  let draining = false;
  const fastify = Fastify({
    logger: { level: config.logLevel },
    // One trusted hop (the peer): req.ip is the last X-Forwarded-For entry, as in clientIp()
    // in socket-server.ts, so a client-supplied X-Forwarded-For cannot pick its own address.
    trustProxy: config.trustProxy ? (_addr: string, hop: number) => hop < 1 : false,
    forceCloseConnections: true,
    // One line per HTTP request would drown the log in load-balancer health checks.
    logController: new LogController({ disableRequestLogging: true }),
  });
  const log = fastify.log;

  const redisClients: Redis[] = [];
  let storeRedis: Redis | null = null;
  try {
    if (config.redisUrl) {
      storeRedis = await connectRedis(config.redisUrl, `${config.instanceId}:store`, log, { offlineQueue: false, commandTimeoutMs: STORE_COMMAND_TIMEOUT_MS });
      redisClients.push(storeRedis);
    }
  } catch (err) {
    await fastify.close();
    throw err;
  }
  const prefix = deps.redisPrefix ?? 'fr:';
  const store: RoomStore = storeRedis ? new RedisRoomStore(storeRedis, { prefix }) : new MemoryRoomStore();
  const metrics = new Metrics(() => store.countByStatus());

  const io = createSocketServer(fastify.server, config, () => draining);
  if (config.redisUrl) {
    try {
      await attachStreamsAdapter(io, config.redisUrl, `${config.instanceId}:adapter`, prefix, log, redisClients);
    } catch (err) {
      for (const r of redisClients) r.disconnect();
      io.close();
      await fastify.close();
      throw err;
    }
  }

  const limits = new RateLimits(config.rateLimits, storeRedis, prefix);
  const ticker = new Ticker(io, clock, (ms) => metrics.tickLateness.observe(ms / 1000));
  const broadcaster = new Broadcaster(io, clock, metrics);
  const rooms = new RoomService(io, store, clock, broadcaster, ticker, metrics);
  if (config.redisUrl) followTimersInBroadcasts(io, ticker);
  const scheduler = new DueScheduler(
    store,
    clock,
    (code) => rooms.runDue(code),
    throttled(5_000, (err: unknown, code: string | null) => log.warn({ err, room: code }, 'deadline run failed; will retry')),
    { ...defaultDueSchedulerOptions, ...deps.scheduler },
  );
  rooms.attachScheduler(scheduler);
  // Cluster mode: seats of an instance that dies without a word start their grace.
  const presence = storeRedis
    ? new ClusterPresence(io, rooms, new RedisPresence(storeRedis, `${config.instanceId}:${nanoid(6)}`, prefix), clock, log, {
        instanceTimeoutMs: config.instanceTimeoutMs,
      })
    : null;
  const generateCode = deps.generateRoomCode ?? generateRoomCode;
  const dispatcher = new Dispatcher({ io, rooms, clock, config, limits, ticker, generateRoomCode: generateCode }, metrics, log);
  wireSocketServer(io, { config, clock, limits, rooms, dispatcher, metrics, log });
  // Redis is back after an outage (the first 'ready' was the initial connect, before this
  // listener). A restarted Redis without persistence is empty: close lost rooms for
  // this instance's clients instead of letting them count down a room that is gone.
  storeRedis?.on('ready', () => {
    rooms
      .closeLostRooms()
      .then((lost) => {
        if (lost.length > 0) log.warn({ rooms: lost.length }, 'rooms lost with Redis (restarted empty): clients told room_closed');
      })
      .catch((err: unknown) => log.warn({ err }, 'could not check rooms after Redis reconnected'));
  });

  healthRoute(fastify, { store, instanceId: config.instanceId, startedAt, isDraining: () => draining, connections: () => io.engine.clientsCount });
  sessionRoute(fastify, { store, clock, limits });
  metricsRoute(fastify, metrics);
  await fastify.register(fastifyStatic, { root: PUBLIC_DIR, index: ['index.html'] });

  scheduler.start();
  presence?.start();
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
        await presence?.stop();
        ticker.stopAll();
        // Close the transports rather than sending Socket.IO's "disconnect": clients then see
        // "transport close" and reconnect by themselves (through the load balancer, to
        // another instance) and resume, instead of staying offline.
        io.engine.close();
        // Disconnects reach the store first, so in a cluster the seats wait out their grace.
        await Promise.race([dispatcher.drain(), new Promise((r) => setTimeout(r, 2_000).unref())]);
        await fastify.close();
        // Cluster mode: stops the adapter's stream reader and subscriber (its own connections).
        if (config.redisUrl) await io.of('/').adapter.close();
        for (const r of redisClients) r.disconnect();
        await store.close();
      })();
      return closed;
    },
  };
}
