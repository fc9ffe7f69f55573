/**
 * Where rooms live. One interface, two implementations (memory for one process, Redis
 * for a cluster), one shared test suite (test/contract/room-store.test.ts).
 *
 * Every change goes through `update`, which applies a pure domain function atomically:
 * a concurrent change to the same room makes it retry on fresh state, so two instances
 * never lose each other's updates and a thrown AppError writes nothing.
 */
import type { RoomHistory, RoomStatus } from '../contract/events.js';
import type { Outcome } from '../domain/draft.js';
import type { Room } from '../domain/room-state.js';

export type RoomChange<T> = (room: Room) => Outcome<T>;

/**
 * A change computed ahead of time from the room as it was read, with its write encoded
 * (a booked start, prepared before `starts_at`): `commitPrepared` writes it only while the
 * room is still the version it was computed from.
 */
export interface PreparedChange<T = undefined> {
  readonly code: string;
  /** The room as read: the version the commit compares against. */
  readonly before: Room;
  readonly outcome: Outcome<T>;
}

export interface RoomStore {
  readonly kind: 'memory' | 'redis';
  /**
   * Single instance: `observer` is told of every committed room (null = gone), in the
   * same step, so the embedded store can keep the rooms across a restart; with the room
   * as JSON when a prepared change brought it serialized. Redis keeps its rooms itself
   * and has none.
   */
  observeChanges?(observer: ((code: string, room: Room | null, json?: string) => void) | null): void;
  /** Stores a new room unless its code is already taken by a live room (atomic reservation). */
  create(room: Room): Promise<boolean>;
  /** The room, or null. Treat it as read-only. */
  get(code: string): Promise<Room | null>;
  /**
   * Applies `change` atomically and records the room's next deadline in the due-queue.
   * Returns null when the room does not exist; errors thrown by `change` propagate and
   * nothing is written. `change` may run more than once (on conflicts), so it must be pure.
   */
  update<T>(code: string, change: RoomChange<T>): Promise<Outcome<T> | null>;
  /**
   * Reads the room and applies `change` now, encoding the write it makes, for a later
   * `commitPrepared`. Null when the room does not exist or the change leaves it unchanged.
   * `change` must be pure; errors it throws propagate.
   */
  prepare<T>(code: string, change: RoomChange<T>): Promise<PreparedChange<T> | null>;
  /**
   * Writes prepared changes whose room is still the version they were computed from
   * (compare-and-set: a room changed since is left as it is, answered false), with the
   * due-queue, history and outbox as `update` writes them: one pipelined round trip per
   * partition (Redis), one synchronous pass (memory). Answers, in order, whether each was
   * written; a store that cannot be reached rejects (some may have been written).
   */
  commitPrepared(changes: readonly PreparedChange<unknown>[]): Promise<boolean[]>;
  /**
   * The room's history: its events with seq > `afterSeq`, oldest first, at most `limit`
   * (the store keeps at least the last LIMITS.roomHistorySize, written in the same atomic
   * step as each change). Null when the room does not exist.
   */
  history(code: string, afterSeq: number, limit: number): Promise<RoomHistory | null>;
  /**
   * Claims up to `limit` rooms whose deadline is at or before `now`, hiding each from
   * other claimers for `leaseMs`, so a deadline is worked by one instance at a time and
   * is picked up again if that instance dies before finishing it.
   */
  claimDue(now: number, limit: number, leaseMs: number): Promise<string[]>;
  /** Live rooms by status, for metrics. */
  countByStatus(): Promise<Record<RoomStatus, number>>;
  /** Live rooms, for /health: O(1), since load balancers poll it often. */
  countRooms(): Promise<number>;
  /**
   * Throws when the backing service is unreachable (health checks); `degraded` when
   * part of it is (a Redis Cluster master down: its partitions' rooms wait for the
   * failover, the others work).
   */
  ping(): Promise<'ok' | 'degraded'>;
  close(): Promise<void>;
}

export const emptyStatusCounts = (): Record<RoomStatus, number> => ({ waiting: 0, active: 0, paused: 0, completed: 0 });
