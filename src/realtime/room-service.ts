/**
 * The one path every room change takes: apply a pure domain change through the store,
 * then broadcast its events, re-arm the room's deadline and re-align the tickers.
 * Handlers and the scheduler both go through `apply`, so a change made by a timer
 * looks exactly like one made by a client.
 */
import { performance } from 'node:perf_hooks';
import type { RoomTimer } from '../contract/events.js';
import { AppError, RoomNotFoundError } from '../contract/errors.js';
import type { Clock } from '../domain/clock.js';
import { nextDeadline, runDue, settledThen } from '../domain/deadlines.js';
import type { Outcome } from '../domain/draft.js';
import type { Room } from '../domain/room-state.js';
import { roomTimer } from '../domain/snapshot.js';
import type { Metrics } from '../metrics.js';
import type { DueScheduler } from '../scheduler/due-scheduler.js';
import type { RoomChange, RoomStore } from '../store/room-store.js';
import type { Broadcaster, PublishOptions } from './broadcaster.js';
import { detach } from './seat.js';
import type { Ticker } from './ticker.js';
import { roomKey, type TypedServer } from './types.js';

const TIMER_EVENTS = new Set(['session_started', 'session_paused', 'session_resumed', 'session_completed', 'phase_changed', 'room_closed']);

export class RoomService {
  private scheduler: DueScheduler | null = null;

  constructor(
    private readonly io: TypedServer,
    readonly store: RoomStore,
    private readonly clock: Clock,
    private readonly broadcaster: Broadcaster,
    private readonly ticker: Ticker,
    private readonly metrics: Metrics,
  ) {}

  /** The scheduler calls back into this service, so it is attached after both exist. */
  attachScheduler(scheduler: DueScheduler): void {
    this.scheduler = scheduler;
  }

  async get(code: string): Promise<Room | null> {
    return this.timed('get', () => this.store.get(code));
  }

  async create(room: Room): Promise<boolean> {
    const created = await this.timed('create', () => this.store.create(room));
    if (created) this.scheduler?.watch(room.code, nextDeadline(room));
    return created;
  }

  /** Applies a change to the room as of now (due work first); `not_found` when the room does not exist. */
  async apply<T>(code: string, change: RoomChange<T>, opts: PublishOptions = {}): Promise<Outcome<T>> {
    return this.commit(code, (room) => settledThen(room, this.clock.now(), change), opts);
  }

  private async commit<T>(code: string, change: RoomChange<T>, opts: PublishOptions = {}): Promise<Outcome<T>> {
    const outcome = await this.timed('update', () => this.store.update(code, change));
    if (!outcome) throw new RoomNotFoundError(code);
    if (outcome.changed) this.afterChange(code, outcome, opts);
    return outcome;
  }

  /** Runs whatever is due in a room (completion, grace expiry, expiry); safe to call any time. */
  async runDue(code: string): Promise<void> {
    try {
      await this.commit(code, (room) => runDue(room, this.clock.now()));
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') {
        this.scheduler?.unwatch(code);
        return;
      }
      throw err;
    }
  }

  /**
   * Cluster mode, after the store reconnected: rooms this instance has sockets in that the
   * store no longer knows (a Redis restarted without persistence comes back empty) are
   * closed for those sockets with `room_closed { reason: 'lost' }`, so their clients stop
   * counting down a room that is gone and can create a new one. Returns the lost codes.
   */
  async closeLostRooms(): Promise<string[]> {
    const nsp = this.io.of('/');
    const codes = [...nsp.adapter.rooms.keys()].filter((k) => k.startsWith(roomKey(''))).map((k) => k.slice(roomKey('').length));
    const rooms = await Promise.all(codes.map((code) => this.store.get(code)));
    const lost = codes.filter((_, i) => rooms[i] === null);
    for (const code of lost) {
      this.scheduler?.unwatch(code);
      this.ticker.stop(code);
      this.io.local.to(roomKey(code)).emit('room_closed', { room_code: code, reason: 'lost', seq: 0 });
      for (const id of [...(nsp.adapter.rooms.get(roomKey(code)) ?? [])]) {
        const socket = nsp.sockets.get(id);
        if (socket) detach(socket);
      }
    }
    return lost;
  }

  private afterChange<T>(code: string, outcome: Outcome<T>, opts: PublishOptions): void {
    const room = outcome.room;
    this.broadcaster.publish(code, room, outcome.events, opts);
    if (room) {
      this.scheduler?.watch(code, nextDeadline(room));
    } else {
      this.scheduler?.unwatch(code);
      this.ticker.stop(code);
      // Sockets of a closed room (on every instance) leave it; their next event gets not_in_session.
      this.io.in(roomKey(code)).socketsLeave(roomKey(code));
    }
    if (!room || outcome.events.some((e) => TIMER_EVENTS.has(e.event))) {
      const timer: RoomTimer = room
        ? roomTimer(room)
        : { room_code: code, status: 'completed', ends_at: null, phase_duration: 0, phase: 'focus', round: 0 };
      // Other instances follow the snapshot events their own sockets receive
      // (timer-follower.ts), replayed after a Redis blink; no extra message is needed.
      this.ticker.sync(timer);
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
