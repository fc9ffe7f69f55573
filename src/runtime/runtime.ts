/**
 * The runtime: every backend the app runs on, chosen from the config in one place, so
 * app.ts wires one shape and has no mode branches. `local-runtime.ts` is one process
 * (memory store, in-process limits, no presence); `redis-runtime.ts` is a cluster of
 * instances sharing Redis: one server, a Sentinel-watched primary or a Redis Cluster
 * (the topology picks the key layout and the adapter inside it). The outbox, the
 * history log and the booking index are fields created in `createRuntime`
 * (create-runtime.ts) and closed in `close`.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Presence } from '../realtime/presence.js';
import type { Config } from '../config.js';
import type { Clock } from '../domain/clock.js';
import type { RateLimits } from '../limits/rate-limits.js';
import type { OwnerSets } from '../limits/room-quota.js';
import type { Metrics } from '../metrics.js';
import type { RoomService } from '../rooms/room-service.js';
import type { Ticker } from '../realtime/ticker.js';
import type { TypedServer } from '../realtime/types.js';
import type { SeriesStore } from '../store/series-store.js';
import type { CalendarFeedStore } from '../store/calendar-feed-store.js';
import type { BookingIndex } from '../store/booking-index.js';
import type { Outbox, OutboxGroup } from '../store/outbox.js';
import type { PushSubscriptions } from '../store/push-subscriptions.js';
import type { RoomStore } from '../store/room-store.js';

export interface RuntimeDeps {
  log: FastifyBaseLogger;
  clock: Clock;
  /** Key prefix in Redis, so tests (or deployments) can share one server. */
  redisPrefix?: string;
  /** Outbox tuning (tests shorten the claim of a dead reader's entries). */
  outbox?: { claimIdleMs?: number };
}

/** The outbox's reader groups this config has: the store of record, webhooks, Web Push. */
export function outboxGroupsOf(config: Config): OutboxGroup[] {
  const groups: OutboxGroup[] = [];
  if (config.database.kind !== 'off') groups.push('db');
  if (config.webhook) groups.push('webhooks');
  if (config.push) groups.push('push');
  return groups;
}

/** The realtime parts a runtime hooks into once they exist. */
export interface RealtimeParts {
  rooms: RoomService;
  ticker: Ticker;
  metrics: Metrics;
}

export interface Runtime {
  /** Which store backs the rooms (logged at start, `/health` pings only `redis`). */
  readonly kind: RoomStore['kind'];
  readonly store: RoomStore;
  readonly limits: RateLimits;
  /** Live rooms per address and identity (limits/room-quota.ts): in memory, or in Redis cluster-wide. */
  readonly roomQuota: OwnerSets;
  /** The secret issued user keys are tagged with (runtime/user-key-secret.ts). */
  userKeySecret(): Promise<Buffer>;
  /** Per-identity bookings for conflict detection (docs/protocol.md "Scheduled sessions"). */
  readonly bookingIndex: BookingIndex;
  /** Recurring series definitions, shared by every instance. */
  readonly seriesStore: SeriesStore;
  /** Secret calendar-feed URLs. */
  readonly calendarFeeds: CalendarFeedStore;
  /** Seats other instances must see; start it once the app is wired (`start(io, rooms)`). */
  readonly presence: Presence;
  /**
   * Completed rounds and webhook events, queued by the store in the same atomic step as
   * the change (memory queue, or a Redis Stream written by the compare-and-set script).
   */
  readonly outbox: Outbox;
  readonly outboxGroups: OutboxGroup[];
  /** Web Push subscriptions per identity, and the cluster-wide "sent" claims (docs/push.md). */
  readonly pushSubscriptions: PushSubscriptions;
  /**
   * Binds the runtime to the socket server before any client connects: the cluster
   * adapter (resolves once it is connected), the tickers following other instances'
   * changes, and closing rooms lost with a restarted Redis.
   */
  attach(io: TypedServer, parts: RealtimeParts): Promise<void>;
  /** Releases every backend; the socket server and HTTP server are closed first. Also safe after a failed `attach`. */
  close(): Promise<void>;
}
