/**
 * buildApp wires everything from a config and injected dependencies, without listening:
 * tests build real apps on port 0; server.ts listens and handles signals.
 */
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { Redis } from 'ioredis';
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
import { followTimersInBroadcasts } from './realtime/timer-follower.js';
import type { TypedServer } from './realtime/types.js';
import { DueScheduler, type DueSchedulerOptions, defaultDueSchedulerOptions } from './scheduler/due-scheduler.js';
import { MemoryRoomStore } from './store/memory-room-store.js';
import { RedisPresence } from './store/redis-presence.js';
import { RedisRoomStore } from './store/redis-room-store.js';
import type { RoomStore } from './store/room-store.js';

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
const REDIS_CONNECT_TIMEOUT_MS = 10_000;
/**
 * Cluster mode: a store command that gets no answer within this time fails, so a frozen
 * or partitioned Redis (connection open, no replies) is answered `unavailable` like a
 * dead one instead of hanging every event. A write that timed out may still be applied
 * when Redis wakes up (docs/scaling.md, "Redis outage").
 */
const STORE_COMMAND_TIMEOUT_MS = 1_000;
/**
 * Broadcasts kept in the adapter's stream (approximate trimming): what an instance can
 * catch up on after its connection blinked. At 1,000 broadcasts/s that is 10 s.
 */
const ADAPTER_STREAM_MAX_LEN = 10_000;

interface RedisOptions {
  /** Queue commands while reconnecting (the adapter's clients) instead of failing them. */
  offlineQueue: boolean;
  commandTimeoutMs?: number;
}

async function connectRedis(url: string, name: string, log: FastifyInstance['log'], opts: RedisOptions): Promise<Redis> {
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

/**
 * The streams adapter sends serverSideEmit messages with a PUBLISH whose promise it drops:
 * while Redis is down each one would be an unhandled rejection, which ends a Node
 * process by default. The message is lost either way (docs/scaling.md); this makes it a
 * log line. (Its stream writes, XADD, are caught by the adapter itself.)
 */
function guardPublish(client: Redis, log: FastifyInstance['log']): void {
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
function trackDuplicates(client: Redis, into: Redis[]): Redis[] {
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

function waitReady(client: Redis, timeoutMs: number): Promise<void> {
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

/** At most one call per `ms`: during a Redis outage every poll and publish fails. */
function throttled<A extends unknown[]>(ms: number, fn: (...args: A) => void): (...args: A) => void {
  let last = 0;
  return (...args) => {
    if (Date.now() - last < ms) return;
    last = Date.now();
    fn(...args);
  };
}

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
    // Broadcasts go through a Redis stream (@socket.io/redis-streams-adapter), not pub/sub:
    // an instance whose connection blinks reads on from where it was instead of losing
    // what was sent meanwhile (docs/scaling.md, "Adapter"). The adapter duplicates this
    // connection for its blocking stream reader and its pub/sub subscriber (serverSideEmit).
    try {
      const adapterRedis = await connectRedis(config.redisUrl, `${config.instanceId}:adapter`, log, { offlineQueue: true });
      redisClients.push(adapterRedis);
      guardPublish(adapterRedis, log);
      const readers = trackDuplicates(adapterRedis, redisClients);
      io.adapter(
        createAdapter(adapterRedis, {
          streamName: `${prefix}io`,
          channelPrefix: `${prefix}io`,
          maxLen: ADAPTER_STREAM_MAX_LEN,
          // The reader notices a close within this time (shutdown), and blocks no longer.
          blockTimeInMs: 1_000,
        }),
      );
      // Serve only once the stream reader and the subscriber are connected.
      await Promise.all(readers.map((r) => waitReady(r, REDIS_CONNECT_TIMEOUT_MS)));
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
  const rooms = new RoomService(io, store, clock, broadcaster, ticker, metrics, Boolean(config.redisUrl));
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
  io.on('room_timer', (timer) => rooms.onRemoteTimer(timer));
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
