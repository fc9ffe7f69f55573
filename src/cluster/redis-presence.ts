/**
 * Cluster mode: seats held by an instance that died without a word.
 *
 * A `kill -9` (or a lost host) records no disconnects, so its participants would stay
 * "connected" with a socket that no longer exists: never timed out, never handing over
 * the host role. Each instance therefore heartbeats into Redis and lists the seats its
 * sockets hold (instance-registry.ts). An instance silent for INSTANCE_TIMEOUT_MS is
 * claimed by exactly one survivor, which records a disconnect for each of its seats:
 * the room sees `participant_connection { connected: false }` and the seat waits out its
 * grace like any dropped connection (resume within grace, else `participant_left` with
 * reason `timeout`). A seat already resumed elsewhere has another socket id, so the
 * domain's `disconnect` leaves it alone.
 *
 * The same seat list lets an instance record, once Redis answers again, a disconnect
 * that failed during a Redis outage (see `prune`).
 *
 * Safety: an instance judges others only after reaching Redis itself for a whole
 * timeout, so after a Redis outage nobody is reaped for having been cut off too. An
 * instance wrongly declared dead (a stall longer than the timeout) finds the tombstone
 * on its next heartbeat and takes its seats back.
 */
import type { FastifyBaseLogger } from 'fastify';
import { AppError } from '../contract/errors.js';
import type { Clock } from '../domain/clock.js';
import { disconnect, reconnect } from '../domain/membership.js';
import type { RoomService } from '../rooms/room-service.js';
import { roomKey, type TypedServer } from '../realtime/types.js';
import type { Beat, DeadSeat, InstanceRegistry } from './instance-registry.js';
import type { Presence } from '../realtime/presence.js';

export interface RedisPresenceOptions {
  /** Silence after which an instance counts as dead; heartbeats go 5 times as often. */
  instanceTimeoutMs: number;
}

const R = roomKey('');

interface LocalSeat extends DeadSeat {
  /** When the socket left the seat (disconnect, leave, replaced); null while seated. */
  goneAt: number | null;
}

export class RedisPresence implements Presence {
  /** Set by `start`: the socket server whose seats are followed, and the rooms they sit in. */
  private io!: TypedServer;
  private rooms!: RoomService;
  private timer: NodeJS.Timeout | null = null;
  private healthySince: number | null = null;
  private beaten = false;
  private ticking: Promise<void> | null = null;
  private readonly seats = new Map<string, LocalSeat>();

  constructor(
    private readonly registry: InstanceRegistry,
    private readonly clock: Clock,
    private readonly log: FastifyBaseLogger,
    private readonly options: RedisPresenceOptions,
  ) {}

  start(io: TypedServer, rooms: RoomService): void {
    if (this.timer) return;
    this.io = io;
    this.rooms = rooms;
    const adapter = io.of('/').adapter;
    // A seat is a socket in a focus room; realtime/seat.ts sets socket.data before joining.
    adapter.on('join-room', (room: string, id: string) => {
      if (!room.startsWith(R)) return;
      const participantId = io.of('/').sockets.get(id)?.data.participantId;
      if (!participantId) return;
      const code = room.slice(R.length);
      const seat: LocalSeat = { socketId: id, code, participantId, goneAt: null };
      this.seats.set(id, seat);
      // Failing here (Redis down) is repaired by the next heartbeat that finds us 'new'.
      this.registry.seat(id, code, seat.participantId).catch(() => undefined);
    });
    adapter.on('leave-room', (room: string, id: string) => {
      const seat = this.seats.get(id);
      if (seat && room === R + seat.code) seat.goneAt = performance.now();
    });
    const every = Math.max(100, Math.floor(this.options.instanceTimeoutMs / 5));
    this.timer = setInterval(() => void this.tick(), every);
    this.timer.unref();
    void this.tick();
  }

  /** Stops heartbeating; the others reap this instance's (by then disconnected) seats. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
  }

  private tick(): Promise<void> {
    this.ticking ??= this.beat()
      .catch((err: unknown) => this.log.warn({ err }, 'cluster presence: check failed'))
      .finally(() => (this.ticking = null));
    return this.ticking;
  }

  private async beat(): Promise<void> {
    let beat: Beat;
    try {
      beat = await this.registry.heartbeat();
    } catch {
      this.healthySince = null; // Redis unreachable: judge nobody until reachable again for a while
      return;
    }
    const now = performance.now(); // durations only: monotonic, immune to clock steps
    this.healthySince ??= now;
    if (beat !== 'ok' && this.beaten) await this.repair(beat);
    this.beaten = true;
    await this.prune(now);
    if (now - this.healthySince >= this.options.instanceTimeoutMs) await this.reapDead();
  }

  /** Redis lost our seat list (`new`: restarted) or we were declared dead (`reaped`). */
  private async repair(beat: Beat): Promise<void> {
    const live = [...this.seats.values()].filter((s) => s.goneAt === null);
    await this.registry.seatAll(live);
    if (beat !== 'reaped') return;
    this.log.warn({ instance: this.registry.id, seats: live.length }, 'cluster presence: this instance was declared dead; taking its seats back');
    const sockets = this.io.of('/').sockets;
    for (const s of live) {
      const socket = sockets.get(s.socketId);
      if (!socket || socket.data.participantId !== s.participantId) continue;
      try {
        await this.rooms.apply(s.code, (room) => reconnect(room, s.participantId, s.socketId, this.clock.now()));
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        // The seat timed out meanwhile: the client's resume gets the real answer.
        socket.disconnect(true);
      }
    }
  }

  /**
   * Forgets seats whose socket left more than a timeout ago (until then, were this
   * instance to die, a survivor would still release them). First it records their
   * disconnect once more: a no-op when it was recorded (the seat has no socket, or
   * another one), but a disconnect that failed because Redis was unreachable is
   * recorded now, so that seat still gets its grace instead of staying "connected".
   */
  private async prune(now: number): Promise<void> {
    const due = [...this.seats.values()].filter((s) => s.goneAt !== null && now - s.goneAt > this.options.instanceTimeoutMs);
    const done: LocalSeat[] = [];
    for (const s of due) {
      try {
        await this.rooms.apply(s.code, (room) => disconnect(room, s.participantId, s.socketId, this.clock.now()));
      } catch (err) {
        if (!(err instanceof AppError)) continue; // store unreachable: next time
      }
      done.push(s);
    }
    if (done.length === 0) return;
    await this.registry.unseat(done);
    for (const s of done) this.seats.delete(s.socketId);
  }

  private async reapDead(): Promise<void> {
    for (const dead of await this.registry.reap(this.options.instanceTimeoutMs)) {
      this.log.warn({ instance: dead.id, seats: dead.seats.length }, 'cluster presence: instance silent; its seats start their disconnect grace');
      for (const s of dead.seats) {
        await this.rooms
          .apply(s.code, (room) => disconnect(room, s.participantId, s.socketId, this.clock.now()))
          .catch((err: unknown) => {
            if (!(err instanceof AppError && err.code === 'not_found')) this.log.warn({ err, room: s.code }, 'cluster presence: could not release a seat');
          });
      }
      await this.registry.release(dead.id);
    }
  }
}
