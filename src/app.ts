/**
 * buildApp wires everything from a config and injected dependencies, without listening:
 * tests build real apps on port 0; server.ts listens and handles signals.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
// Fastify loads its logger (pino) only when an instance is built: loaded here with every
// other module instead, not as a block of the start (docs/performance.md, the start's loop delay).
import 'fastify/lib/logger-pino.js';
import { isIPv6 } from 'node:net';
import type { Config } from './config.js';
import { nextTurn } from './slices.js';
import { type Clock, SteadyClock } from './domain/clock.js';
import { generateRoomCode } from './domain/room-code.js';
import { lazySchemaCompilers, registerApi, MAX_BODY_BYTES } from './http/api.js';
import { asyncApiRoute } from './http/asyncapi-route.js';
import { healthRoute } from './http/health-route.js';
import { historyRoute } from './http/history-route.js';
import { meRoutes } from './http/me-routes.js';
import { metricsRoute } from './http/metrics-route.js';
import { pushRoutes } from './http/push-routes.js';
import { CallerResolver } from './auth/caller.js';
import { userKeyRoute } from './http/user-key-route.js';
import { scheduleRoutes } from './http/schedule-routes.js';
import { registerSecurityHeaders } from './http/security-headers.js';
import { sessionRoute } from './http/session-route.js';
import { taskRoutes } from './http/task-routes.js';
import { seriesRoutes } from './http/series-routes.js';
import { calendarFeedRoutes } from './http/calendar-feed-routes.js';
import { SeriesService } from './rooms/series-service.js';
import { intentionRoutes } from './http/intention-routes.js';
import { Metrics } from './metrics.js';
import { Bookings } from './rooms/bookings.js';
import { Broadcaster } from './realtime/broadcaster.js';
import { Dispatcher } from './realtime/dispatcher.js';
import { RoomService } from './rooms/room-service.js';
import { createSocketServer, wireSocketServer } from './realtime/socket-server.js';
import { SocketDelivery } from './realtime/socket-delivery.js';
import { Ticker } from './realtime/ticker.js';
import { EventBudget } from './limits/event-budget.js';
import { TransportGuard } from './limits/transport-guard.js';
import type { TypedServer } from './realtime/types.js';
import { createRuntime } from './runtime/create-runtime.js';
import { RoomQuota } from './limits/room-quota.js';
import { UserKeys } from './domain/user-keys.js';
import type { Runtime } from './runtime/runtime.js';
import { DueScheduler, type DueSchedulerOptions, defaultDueSchedulerOptions } from './scheduler/due-scheduler.js';
import type { RoomStore } from './store/room-store.js';
import type { Room } from './domain/room-state.js';
import { throttled } from './throttled.js';
import type { ConsumerOptions } from './store/outbox-consumer.js';
import { OutboxMetrics } from './persistence/outbox-metrics.js';
import { type Kept, Persistence } from './persistence/persistence.js';
import { NO_KEPT_ROOMS } from './persistence/embedded-journal.js';
import { restoreRooms } from './rooms/room-restore.js';
import type { Outbox } from './store/outbox.js';
import { WebhookSender } from './webhooks/webhook-sender.js';
import { defaultPushSenderOptions, PushSender, type PushSenderOptions } from './push/push-sender.js';

export interface AppDeps {
  /** The app's clock, used exactly as given (tests that move time by hand). Default: a SteadyClock on `wallClock`. */
  clock?: Clock;
  /** The wall clock the default SteadyClock follows (default Date.now); tests step it to simulate a settime/NTP step. */
  wallClock?: Clock;
  scheduler?: Partial<DueSchedulerOptions>;
  /** Key prefix in Redis, so tests (or deployments) can share one server (see RuntimeDeps). */
  redisPrefix?: string;
  /** Room-code source (default: random nanoid codes); tests inject one that collides. */
  generateRoomCode?: () => string;
  /** Outbox tuning (tests shorten the claim of a dead reader's entries). */
  outbox?: { claimIdleMs?: number };
  /** Outbox readers' batch and backoff (tests shorten them). */
  consumer?: ConsumerOptions;
  webhookConsumer?: ConsumerOptions;
  /** Web Push retry timing (tests shorten it). */
  push?: Partial<PushSenderOptions>;
}

export interface App {
  config: Config;
  fastify: FastifyInstance;
  io: TypedServer;
  store: RoomStore;
  metrics: Metrics;
  /** The store of record (null when DATA_DIR=off, or cluster mode without DATABASE_URL). */
  persistence: Persistence | null;
  outbox: Outbox;
  /** Recurring series; tests call `series.sweep()` after moving the clock. */
  series: SeriesService;
  /** Listens on config.port/host; returns the base URL. */
  listen(): Promise<string>;
  /** /health turns 503 and new connections are refused; existing ones keep working. */
  startDraining(): void;
  /** Graceful close: drain, disconnect sockets (they resume elsewhere), release the runtime's backends. */
  close(): Promise<void>;
}

/** The version the API documents carry (package.json's). */
const API_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

// listen() looks its host up and checks each address with isIPv6, whose large regular
// expression V8 compiles on the first two calls (~3 ms, then ~1 ms): done here, with the
// modules' loading, rather than as a block of the start's last turns.
isIPv6('::1');
isIPv6('::1');

const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));
/** The browser bundle of the SDK (scripts/build-client.mjs, part of `npm run build`); the same path from src/ and dist/. */
const SDK_BUNDLE_DIR = fileURLToPath(new URL('../dist/browser/', import.meta.url));

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<App> {
  // Epoch ms that advance with the monotonic clock: a wall-clock step does not expire every
  // grace or room at once, nor stall the ticks; it is logged, counted and absorbed slowly.
  const wallClock = deps.wallClock;
  const steady = deps.clock ? null : new SteadyClock(wallClock ? () => wallClock.now() : undefined);
  const clock: Clock = deps.clock ?? steady!;
  const startedAt = Date.now();
  let draining = false;
  const fastify = Fastify({
    logger: { level: config.logLevel },
    // One trusted hop (the peer): req.ip is the last X-Forwarded-For entry, as in clientIp()
    // in socket-server.ts, so a client-supplied X-Forwarded-For cannot pick its own address.
    trustProxy: config.trustProxy ? (_addr: string, hop: number) => hop < 1 : false,
    forceCloseConnections: true,
    // A huge body is refused with 413 before it is buffered (src/http/api.ts).
    bodyLimit: MAX_BODY_BYTES,
    // zod validates and serializes every route (src/http/api.ts): ajv is loaded only if asked for.
    schemaController: { compilersFactory: lazySchemaCompilers as never },
    // One line per HTTP request would drown the log in load-balancer health checks.
    logController: new LogController({ disableRequestLogging: true }),
    // Slowloris: a request whose headers (or body) trickle in is cut after these (Node's
    // defaults are 60 s and 300 s, checked every 30 s). A long-polling GET is received at
    // once (only its response waits), so it is not affected.
    requestTimeout: config.transport.requestTimeoutMs,
    http: {
      headersTimeout: config.transport.headersTimeoutMs,
      requestTimeout: config.transport.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(250, Math.min(2_000, Math.floor(config.transport.headersTimeoutMs / 2))),
    },
  });
  const log = fastify.log;
  await nextTurn();

  // Every backend (memory, or Redis for a cluster) comes from the runtime: no mode branches here.
  let runtime: Runtime;
  try {
    runtime = await createRuntime(config, { log, clock, redisPrefix: deps.redisPrefix, outbox: deps.outbox });
  } catch (err) {
    await fastify.close();
    throw err;
  }
  const { store, limits, presence, outbox, outboxGroups } = runtime;
  const metrics = new Metrics(() => store.countByStatus());
  const outboxMetrics = new OutboxMetrics(metrics.registry, outbox, outboxGroups);
  const persistence = config.database.kind === 'off' ? null : new Persistence(config.database, outbox, outboxMetrics, log, deps.consumer);
  persistence?.keepPushSubscriptions(runtime.pushSubscriptions);
  if (persistence && config.database.kind === 'sqlite') {
    // The embedded store opens in a worker in tens of ms: wait for it (never blocking the
    // loop) so a data dir this process must not use is refused before it listens.
    await Promise.race([persistence.firstAttempt(), new Promise((r) => setTimeout(r, EMBEDDED_OPEN_WAIT_MS).unref())]);
    const fatal = persistence.fatal();
    if (fatal) {
      await persistence.close();
      await runtime.close();
      await fastify.close();
      throw new Error(fatal.message);
    }
  }
  let userKeys: UserKeys;
  try {
    userKeys = new UserKeys(await runtime.userKeySecret());
  } catch (err) {
    await persistence?.close();
    await runtime.close();
    await fastify.close();
    throw err;
  }
  const webhooks = config.webhook ? new WebhookSender(config.webhook, outbox, outboxMetrics, log, deps.webhookConsumer) : null;
  const push = config.push
    ? new PushSender(config.push, outbox, runtime.pushSubscriptions, clock, metrics.registry, log, { ...defaultPushSenderOptions, ...deps.push })
    : null;

  await nextTurn();
  const guard = new TransportGuard(config, metrics, log);
  const io = createSocketServer(fastify.server, config, () => draining, guard, metrics);
  const ticker = new Ticker(io, clock, (ms) => metrics.tickLateness.observe(ms / 1000));
  // A burst of pushes yields too: the sender's main-thread slices end when a tick is due.
  push?.yieldTo(() => ticker.tickDue());
  // Single instance: prepared host packets are written to the sockets directly (no delivery gate).
  const broadcaster = new Broadcaster(io, clock, metrics, store.kind === 'memory');
  const bookings = new Bookings(runtime.bookingIndex, store, clock);
  const rooms = new RoomService({
    store,
    clock,
    delivery: new SocketDelivery(io, broadcaster, ticker),
    metrics,
    deadlines: (runDue, prepared) => {
      const scheduler = new DueScheduler(
        store,
        clock,
        runDue,
        throttled(5_000, (err: unknown, code: string | null) => log.warn({ err, room: code }, 'deadline run failed; will retry')),
        { ...defaultDueSchedulerOptions, ...deps.scheduler },
        // Running rooms' ticks go before the next due room: a burst of starts yields to each.
        () => ticker.tickDue(),
      );
      // Booked starts are prepared ahead of starts_at and committed a batch at a time.
      scheduler.prepareWith(prepared);
      return scheduler;
    },
    bookings,
    onBookingError: throttled(5_000, (err: unknown, code: string) => log.warn({ err, room: code }, 'could not release bookings; stale entries are reconciled later')),
    quota: new RoomQuota(runtime.roomQuota, config.roomQuota),
    bounds: { maxRooms: config.maxRooms, maxRoomBytes: config.maxRoomBytes },
  });
  try {
    await runtime.attach(io, { rooms, ticker, metrics });
  } catch (err) {
    await runtime.close();
    io.close();
    await fastify.close();
    throw err;
  }
  if (persistence && store.observeChanges) {
    // Single instance: the rooms, series and calendar feeds the last run left come back
    // before the server listens, and every change from now on is kept in the embedded
    // store (room-restore.ts, embedded-journal.ts): told synchronously, written in the
    // worker thread every ~0.1 s, never on a room's path.
    // A room being restored is created as its row holds it already: nothing to write
    // (room-restore.ts, asKept); any change made to it afterwards is written as usual.
    let asKept: Room | null = null;
    store.observeChanges((code, room, json) => {
      if (room === null || room !== asKept) persistence.roomChanged(code, room, json);
    });
    runtime.seriesStore.observeChanges?.((id, s) => persistence.seriesChanged(id, s));
    runtime.calendarFeeds.observeChanges?.((identity, token) => persistence.feedChanged(identity, token));
    const restore = async (kept: Kept) => {
      runtime.seriesStore.restore?.(kept.series);
      runtime.calendarFeeds.restore?.(kept.feeds);
      if (kept.series.length > 0 || kept.feeds.length > 0) log.info({ series: kept.series.length, calendar_feeds: kept.feeds.length }, 'series and calendar feeds restored');
      if (kept.rooms.length === 0) return;
      // The kept rooms' rows are read as they are restored (embedded-journal.ts, KeptRooms):
      // a failed read leaves the rest where they are, kept for the next start.
      const restored = await restoreRooms(kept.rooms, {
        rooms,
        ticker,
        bookingIndex: runtime.bookingIndex,
        clock,
        onError: (err, code) => log.warn({ err, room: code }, 'a kept room could not be restored'),
        asKept: (room) => (asKept = room),
      }).catch((err: unknown) => {
        log.error({ err }, 'kept rooms could not be read; those not restored stay in the data dir');
        return null;
      });
      log.info({ rooms: restored }, 'rooms restored');
    };
    // Normally the journal is loaded by now (the start waited for the store) and this
    // restores before listening; after a slower open it restores when the journal loads.
    let waited = false;
    let keptNow: Kept = { rooms: NO_KEPT_ROOMS, series: [], feeds: [] };
    persistence.onKept((kept) => {
      if (waited) void restore(kept);
      else keptNow = kept; // called at once: the journal is loaded
    });
    waited = true;
    await restore(keptNow);
  }
  const generateCode = deps.generateRoomCode ?? generateRoomCode;
  const budget = new EventBudget(config);
  const dispatcher = new Dispatcher({ io, rooms, clock, config, limits, ticker, bookings, generateRoomCode: generateCode, userKeys }, metrics, log, {
    budget,
    pauseReading: (socket) => guard.pauseReading(socket.conn),
  });
  // Who calls, for every route and the handshake (auth/caller.ts): one JWT verifier, one key-set cache.
  const callers = new CallerResolver(
    config,
    userKeys,
    throttled(5_000, (err: Error) => log.warn({ err: err.message }, 'could not fetch the JWKS to verify a token')),
  );
  wireSocketServer(io, { config, guard, clock, limits, rooms, callers, dispatcher, metrics, log });

  await nextTurn();
  await registerSecurityHeaders(fastify);
  await registerApi(fastify, { config, log, version: API_VERSION });
  const series = new SeriesService({
    store: runtime.seriesStore,
    rooms,
    bookings,
    clock,
    generateRoomCode: generateCode,
    roomDefaults: { grace_ms: config.disconnectGraceMs, ttl_ms: config.roomTtlMs, no_show_grace_ms: config.noShowGraceMs },
    entry: { rooms, clock, config, bookings, generateRoomCode: generateCode },
    log,
  });
  // One group of routes per turn of the event loop: registering ~50 routes (their router
  // entries, Swagger's record of each) in one go was a block of the start of its own.
  const routeGroups: Array<() => void> = [
    () =>
      healthRoute(fastify, {
        store,
        instanceId: config.instanceId,
        startedAt,
        isDraining: () => draining,
        connections: () => io.engine.clientsCount,
        database: () => persistence?.status() ?? 'disabled',
        databaseError: () => persistence?.statusError() ?? null,
        push: config.push ? 'enabled' : 'disabled',
        writer: async () => (persistence ? persistence.writerStatus() : 'disabled'),
      }),
    () => sessionRoute(fastify, { store, clock, limits }),
    () => taskRoutes(fastify, { rooms, clock, limits, callers, budget }),
    () => intentionRoutes(fastify, { rooms, clock, limits, callers, budget }),
    () => historyRoute(fastify, { rooms, limits, callers, budget }),
    () => asyncApiRoute(fastify, API_VERSION),
    () => scheduleRoutes(fastify, { rooms, clock, config, bookings, generateRoomCode: generateCode, limits, callers, userKeys }),
    () => seriesRoutes(fastify, { series, clock, callers, maxParticipants: config.maxParticipants }),
    () =>
      calendarFeedRoutes(fastify, { feeds: runtime.calendarFeeds, bookingIndex: runtime.bookingIndex, seriesStore: runtime.seriesStore, rooms, clock, config, limits, callers }),
    () => meRoutes(fastify, { persistence, clock, callers, bookingIndex: runtime.bookingIndex, rooms, limits, budget }),
    () => userKeyRoute(fastify, { userKeys, limits, authOn: callers.authOn }),
    () =>
      pushRoutes(fastify, {
        push: config.push ? { publicKey: config.push.vapid.publicKey, allowHttp: config.push.allowHttp } : null,
        subscriptions: runtime.pushSubscriptions,
        clock,
        callers,
        limits,
        budget,
      }),
    () => metricsRoute(fastify, metrics, config.metricsToken),
  ];
  for (const addRoutes of routeGroups) {
    await nextTurn();
    addRoutes();
  }
  await nextTurn();
  await fastify.register(fastifyStatic, { root: PUBLIC_DIR, index: ['index.html'] });
  await fastify.register(fastifyStatic, { root: SDK_BUNDLE_DIR, prefix: '/sdk/', decorateReply: false });
  await nextTurn();

  rooms.start();
  series.start();
  void series.sweep();
  presence.start(io, rooms);
  budget.start();
  const clockWatch = steady ? watchClockSteps(steady, metrics, log) : null;
  // In the background: the server listens and serves rooms whether or not the database is up.
  void persistence?.start();
  webhooks?.start();
  push?.start();
  let closed: Promise<void> | null = null;

  return {
    config,
    fastify,
    io,
    store,
    metrics,
    persistence,
    outbox,
    series,
    async listen() {
      return fastify.listen({ port: config.port, host: config.host });
    },
    startDraining() {
      draining = true;
    },
    close() {
      closed ??= (async () => {
        draining = true;
        if (clockWatch) clearInterval(clockWatch);
        // Push stops taking work first, beside the sockets' closing: its requests in flight get
        // that time to answer, and what it will not send is handed to another instance sooner.
        const pushStopped = push?.stop();
        rooms.stop();
        await series.stop();
        budget.stop();
        await presence.stop();
        ticker.stopAll();
        // Close the transports rather than sending Socket.IO's "disconnect": clients then see
        // "transport close" and reconnect by themselves (through the load balancer, to
        // another instance) and resume, instead of staying offline.
        io.engine.close();
        // Disconnects reach the store first, so in a cluster the seats wait out their grace.
        await Promise.race([dispatcher.drain(), new Promise((r) => setTimeout(r, 2_000).unref())]);
        await fastify.close();
        // The readers first: their last acknowledgements reach the embedded store's journal
        // before it closes (else a restart would send them again).
        await Promise.all([webhooks?.stop(), pushStopped]);
        await persistence?.close();
        await runtime.close();
      })();
      return closed;
    },
  };
}

/** How long the start waits for the embedded store's first open before listening without it. */
const EMBEDDED_OPEN_WAIT_MS = 5_000;

/** How often the wall clock is compared with the steady one. */
const CLOCK_CHECK_MS = 1_000;

/** Reads the wall clock every second: a step is logged and counted, the offset exported. */
function watchClockSteps(clock: SteadyClock, metrics: Metrics, log: FastifyBaseLogger): NodeJS.Timeout {
  const timer = setInterval(() => {
    const step = clock.check();
    metrics.clockOffset.set(clock.offset() / 1000);
    if (!step) return;
    metrics.clockSteps.inc({ direction: step.stepMs > 0 ? 'forward' : 'backward' });
    log.warn({ step_ms: step.stepMs, offset_ms: step.offsetMs }, 'wall clock stepped; timers keep their monotonic durations and absorb the offset slowly');
  }, CLOCK_CHECK_MS);
  timer.unref();
  return timer;
}
