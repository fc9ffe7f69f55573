/**
 * How the room service reaches the clients of a room, without knowing the transport:
 * realtime/socket-delivery.ts implements it over Socket.IO (the broadcaster, the ticker
 * and the adapter, so across instances in cluster mode).
 */
import type { MissedEvent } from '../contract/events.js';
import type { Room } from '../domain/room-state.js';
import type { RoomTimer } from '../domain/snapshot.js';

export interface PublishOptions {
  /** A socket that must not receive the events (e.g. the one that just left). */
  exceptSocket?: string;
}

/** A change's delivery built ahead of its send (`RoomDelivery.prepare`); opaque to the room service. */
export interface PreparedDelivery {
  readonly code: string;
}

export interface RoomDelivery {
  /** Sends a change's room events to the room; `room` is the state after it (null when it deleted the room). */
  publish(code: string, room: Room | null, events: MissedEvent[], opts: PublishOptions): void;
  /**
   * Builds ahead what `publish` will send for a change computed as of `at` (a booked
   * start before `starts_at`): snapshots and encodings, all but the time of the send.
   */
  prepare(code: string, room: Room | null, events: MissedEvent[], at: number): PreparedDelivery;
  /** Sends a prepared change now, as `publish` would have. */
  publishPrepared(prepared: PreparedDelivery): void;
  /** Re-aligns the room's `time_update` ticks after a change of its timer. */
  syncTimer(timer: RoomTimer): void;
  /** The room is gone: its ticks stop and its clients leave it (on every instance). */
  close(code: string): void;
}

/** What runs a room's deadlines (scheduler/due-scheduler.ts): told of each room's next one. */
export interface Deadlines {
  watch(code: string, at: number): void;
  unwatch(code: string): void;
  /** The room's prepared run went stale (it changed): prepare it again if there is still time. */
  prepareAgain?(code: string): void;
  start(): void;
  stop(): void;
}
