/**
 * The one path every room change takes: apply a pure domain change through the store,
 * then broadcast its events, re-arm the room's deadline and re-align the tickers.
 * Handlers and the scheduler both go through `apply`, so a change made by a timer
 * looks exactly like one made by a client.
 */
import { performance } from 'node:perf_hooks';
import { AppError, RoomNotFoundError } from '../contract/errors.js';
import { TIMER_EVENTS } from '../contract/event-facts.js';
import type { RoomHistory } from '../contract/events.js';
import type { Clock } from '../domain/clock.js';
import { nextDeadline, runDue, settledThen } from '../domain/deadlines.js';
import { type Outcome, unchanged } from '../domain/draft.js';
import type { Room } from '../domain/room-state.js';
import { scheduledStartDue } from '../domain/schedule.js';
import { type RoomTimer, roomTimer } from '../domain/snapshot.js';
import { assertRoomCapacity, type RoomBounds, sizeBounded } from '../limits/room-limits.js';
import type { RoomOwners, RoomQuota } from '../limits/room-quota.js';
import type { Metrics } from '../metrics.js';
import type { PreparedRuns } from '../scheduler/due-scheduler.js';
import type { PreparedChange, RoomChange, RoomStore } from '../store/room-store.js';
import type { Bookings } from './bookings.js';
import type { Deadlines, PreparedDelivery, PublishOptions, RoomDelivery } from './delivery.js';

export interface RoomServiceDeps {
  store: RoomStore;
  clock: Clock;
  /** The clients of a room (realtime/socket-delivery.ts). */
  delivery: RoomDelivery;
  metrics: Metrics;
  /**
   * Makes the runner of this service's deadlines (scheduler/due-scheduler.ts), given what
   * to run when a room's deadline is due and the runs it may prepare ahead (booked
   * starts): the service owns its scheduler, so nothing outside wires the two to each other.
   */
  deadlines: (runDue: (code: string) => Promise<void>, prepared: PreparedRuns) => Deadlines;
  /** Conflict detection (bookings.ts): seats leaving a room release their identity's booking. */
  bookings: Bookings;
  /** A failed release (the entry stays, reconciled when it gets in the way). */
  onBookingError: (err: unknown, code: string) => void;
  /** Live rooms per address and identity (limits/room-quota.ts), checked by creates that name their owners. */
  quota?: RoomQuota;
  /** MAX_ROOMS and MAX_ROOM_BYTES (limits/room-limits.ts); unbounded when not given. */
  bounds?: RoomBounds;
}

/** A booked start computed ahead: the store's write and the broadcast, as of `at` (its starts_at). */
interface PreparedStart {
  at: number;
  change: PreparedChange<undefined>;
  delivery: PreparedDelivery;
}

export class RoomService implements PreparedRuns {
  readonly store: RoomStore;
  /** Booked starts prepared ahead by this instance (prepare), taken by runMany at starts_at. */
  private readonly prepared = new Map<string, PreparedStart>();
  private readonly clock: Clock;
  private readonly delivery: RoomDelivery;
  private readonly metrics: Metrics;
  private readonly scheduler: Deadlines;
  private readonly bookings: Bookings;
  private readonly onBookingError: (err: unknown, code: string) => void;
  private readonly quota: RoomQuota | null;
  private readonly bounds: RoomBounds;

  constructor(deps: RoomServiceDeps) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.delivery = deps.delivery;
    this.metrics = deps.metrics;
    this.bookings = deps.bookings;
    this.onBookingError = deps.onBookingError;
    this.quota = deps.quota ?? null;
    this.bounds = deps.bounds ?? { maxRooms: Number.MAX_SAFE_INTEGER, maxRoomBytes: Number.MAX_SAFE_INTEGER };
    this.scheduler = deps.deadlines((code) => this.runDue(code), this);
  }

  /** Starts running deadlines (each one once, cluster-wide: scheduler/due-scheduler.ts). */
  start(): void {
    this.scheduler.start();
  }

  /** Stops running deadlines. */
  stop(): void {
    this.scheduler.stop();
  }

  async get(code: string): Promise<Room | null> {
    return this.timed('get', () => this.store.get(code));
  }

  /** The room's history (store.history), timed like every store call. */
  async history(code: string, afterSeq: number, limit: number): Promise<RoomHistory | null> {
    return this.timed('history', () => this.store.history(code, afterSeq, limit));
  }

  /**
   * Stores a new room; `unavailable` when MAX_ROOMS rooms are live (limits/room-limits.ts). With
   * `owners` (a client's create), `rate_limited` when its address or identity already has
   * its cap of live rooms (limits/room-quota.ts), and the room counts against them.
   */
  async create(room: Room, owners?: RoomOwners): Promise<boolean> {
    if (owners && this.quota) await this.quota.check(owners, async (code) => (await this.store.get(code)) !== null);
    await assertRoomCapacity(this.store, this.bounds.maxRooms);
    const created = await this.timed('create', () => this.store.create(room));
    if (created) {
      this.scheduler.watch(room.code, nextDeadline(room));
      if (owners && this.quota) await this.quota.record(owners, room.code);
    }
    return created;
  }

  /** Applies a change to the room as of now (due work first); `not_found` when the room does not exist. */
  async apply<T>(code: string, change: RoomChange<T>, opts: PublishOptions = {}): Promise<Outcome<T>> {
    return this.commit(code, (room) => settledThen(room, this.clock.now(), change), opts);
  }

  private async commit<T>(code: string, change: RoomChange<T>, opts: PublishOptions = {}): Promise<Outcome<T>> {
    // The room the committed run started from (a store may run `change` more than once).
    let before: Room | null = null;
    const bounded = sizeBounded(change, this.bounds.maxRoomBytes);
    const outcome = await this.timed('update', () =>
      this.store.update(code, (room) => {
        before = room;
        return bounded(room);
      }),
    );
    if (!outcome) throw new RoomNotFoundError(code);
    if (outcome.changed) {
      this.afterChange(code, outcome, opts);
      // Seats gone with this change stop counting for conflicts, before the caller hears
      // back (a leave then a new booking must not collide with itself). A failure here
      // leaves a stale entry, which is reconciled when it gets in the way (bookings.ts).
      if (before) await this.bookings.settle(code, before, outcome.room).catch((err: unknown) => this.onBookingError(err, code));
    }
    return outcome;
  }

  /** Runs whatever is due in a room (completion, grace expiry, expiry); safe to call any time. */
  async runDue(code: string): Promise<void> {
    try {
      await this.commit(code, (room) => runDue(room, this.clock.now()));
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') {
        this.scheduler.unwatch(code);
        return;
      }
      throw err;
    }
  }

  /** Stops running deadlines of a room this instance learned is gone (cluster/lost-rooms.ts). */
  unwatch(code: string): void {
    this.prepared.delete(code);
    this.scheduler.unwatch(code);
  }

  /**
   * Prepares a booked room's start, due at `at` (the scheduler calls this within its
   * look-ahead): the started room and its events as of `at` (the countdown is anchored
   * there, so computing it now gives what the start will be), the store's write encoded,
   * the broadcast built. Only a room whose next deadline is exactly this start is
   * prepared; false when there is nothing to prepare (the start then runs the ordinary way).
   */
  async prepare(code: string, at: number): Promise<boolean> {
    const change = sizeBounded((room: Room): Outcome => {
      if (room.starts_at !== at || !scheduledStartDue(room, at) || nextDeadline(room) !== at) return unchanged(room, undefined);
      return runDue(room, at);
    }, this.bounds.maxRoomBytes);
    const prepared = await this.timed('prepare', () => this.store.prepare(code, change));
    if (!prepared) {
      this.prepared.delete(code);
      return false;
    }
    const { room, events } = prepared.outcome;
    this.prepared.set(code, { at, change: prepared, delivery: this.delivery.prepare(code, room, events, at) });
    this.metrics.preparedRuns.inc({ outcome: 'prepared' });
    return true;
  }

  /** Whether the room's start is prepared here. */
  has(code: string): boolean {
    return this.prepared.has(code);
  }

  /**
   * Commits the prepared starts of `codes` together (one pipelined round trip per store
   * partition) and broadcasts each one written. Resolves with the codes left to the
   * ordinary path (`runDue`): not prepared, not due yet, something else due by now, or
   * changed since it was prepared (the commit compares the room's version).
   */
  async runMany(codes: readonly string[]): Promise<string[]> {
    const now = this.clock.now();
    const left: string[] = [];
    const batch: PreparedStart[] = [];
    for (const code of codes) {
      const p = this.prepared.get(code);
      this.prepared.delete(code);
      const room = p?.change.outcome.room;
      if (!p || p.at > now || (room && nextDeadline(room) <= now)) {
        left.push(code);
        if (p) this.metrics.preparedRuns.inc({ outcome: 'stale' });
      } else batch.push(p);
    }
    if (batch.length === 0) return left;
    const written = await this.timed('commit_prepared', () => this.store.commitPrepared(batch.map((p) => p.change)));
    // Every written start is broadcast in this one synchronous pass, right after its
    // commit answered, as `commit` does: no other change of these rooms can go out first.
    const settled: Promise<void>[] = [];
    for (let i = 0; i < batch.length; i++) {
      const { change, delivery } = batch[i]!;
      if (!written[i]) {
        left.push(change.code);
        this.metrics.preparedRuns.inc({ outcome: 'changed' });
        continue;
      }
      this.metrics.preparedRuns.inc({ outcome: 'committed' });
      this.afterChange(change.code, change.outcome, {}, delivery);
      settled.push(this.bookings.settle(change.code, change.before, change.outcome.room).catch((err: unknown) => this.onBookingError(err, change.code)));
    }
    await Promise.all(settled);
    return left;
  }

  private afterChange<T>(code: string, outcome: Outcome<T>, opts: PublishOptions, prepared?: PreparedDelivery): void {
    const room = outcome.room;
    // A change of a room whose start was prepared here makes that start stale (its commit
    // would find the room moved on): it is prepared again from the new state, in time or
    // not (then the start runs the ordinary way).
    const stale = !prepared && this.prepared.delete(code);
    if (prepared) this.delivery.publishPrepared(prepared);
    else this.delivery.publish(code, room, outcome.events, opts);
    if (room) {
      this.scheduler.watch(code, nextDeadline(room));
      if (stale) this.scheduler.prepareAgain?.(code);
    } else {
      this.scheduler.unwatch(code);
      this.quota?.forget(code);
      // Its ticks stop; sockets of a closed room (on every instance) leave it, and their next event gets not_in_session.
      this.delivery.close(code);
    }
    if (!room || outcome.events.some((e) => TIMER_EVENTS.has(e.event))) {
      const timer: RoomTimer = room
        ? roomTimer(room)
        : { room_code: code, status: 'completed', ends_at: null, phase_duration: 0, phase: 'focus', round: 0 };
      // Other instances follow the snapshot events their own sockets receive
      // (cluster/delivery-gate.ts), repaired from history after a Redis blink; no extra message is needed.
      this.delivery.syncTimer(timer);
    }
  }

  private async timed<R>(op: string, fn: () => Promise<R>): Promise<R> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.metrics.storeLatency.observe({ op }, (performance.now() - t0) / 1000);
    }
  }
}
