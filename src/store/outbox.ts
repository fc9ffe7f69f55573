/**
 * The durable outbox: room changes put entries here in the same atomic step that commits
 * them (the memory store's synchronous update, the Redis store's compare-and-set script),
 * and readers (the database writer, the webhook sender) each take them through their own
 * consumer group, acknowledge what they finished, and get unacknowledged entries again.
 * That is at-least-once delivery; the readers make it exactly-once where it matters by
 * writing idempotently.
 */
import type { OutboxEntry, OutboxEntryType } from '../domain/outbox-entries.js';

export interface OutboxMessage {
  /** The outbox's own id of this delivery, for `ack`. */
  id: string;
  entry: OutboxEntry;
  /** When it was queued (epoch ms). */
  queuedAt: number;
}

export interface OutboxGroupStats {
  /** Entries not yet acknowledged by this group. */
  depth: number;
  /** Age of the oldest of them in ms (0 when none). */
  oldestAgeMs: number;
}

export interface Outbox {
  readonly kind: 'memory' | 'redis';
  /** The entry types some reader consumes: the stores queue only these. */
  readonly types: ReadonlySet<OutboxEntryType>;
  /**
   * About `count` entries for `group` (up to `count`; on Redis Cluster up to ~2 × `count`,
   * partitioned-outbox.ts): its unacknowledged ones first (also those a dead reader of the
   * same group left behind), then new ones, waiting up to `blockMs` for any.
   */
  read(group: string, count: number, blockMs: number): Promise<OutboxMessage[]>;
  ack(group: string, ids: string[]): Promise<void>;
  stats(group: string): Promise<OutboxGroupStats>;
  /** Entries dropped for `group` because the outbox was full (only the bounded memory outbox drops). */
  dropped(group: string): number;
  close(): Promise<void>;
  /**
   * Hides `ids` from `group`'s reads until `until` (epoch ms), so one failing entry backs off
   * alone (memory: in the queue; Redis: this consumer's pending entries, skipped locally).
   */
  defer?(group: string, ids: string[], until: number): void;
  /** Ends `group`'s waiting reads now (empty), so a stopping reader does not wait out `blockMs`. */
  interrupt?(group: string): void;
  /**
   * Keeps `ids` (read, not acknowledged) out of this reader's own reads until they are
   * acknowledged or `release`d: a reader that finishes entries in the background (Web Push)
   * holds them meanwhile. They stay unacknowledged, so a reader that dies leaves them to
   * another (Redis: XAUTOCLAIM once idle `claimIdleMs`; memory: the journal after a restart).
   */
  hold?(group: string, ids: string[]): void;
  /** Ends the hold on `ids` without acknowledging them (the next reads may return them). */
  release?(group: string, ids: string[]): void;
  /** Tells the outbox this reader still works on `ids` (Redis: resets their idle time, so no one claims them). */
  touch?(group: string, ids: string[]): Promise<void>;
  /**
   * This reader stops gracefully: every entry of `group` it was handed and has not
   * acknowledged goes to another reader at once rather than after `claimIdleMs` (Redis:
   * made idle, and a marker in the stream wakes a reader elsewhere to claim them). Memory
   * has no other reader: its entries wait in the journal for the next start.
   */
  handBack?(group: string): Promise<void>;
}

export type OutboxGroup = 'db' | 'webhooks' | 'push';

/** What each reader group takes: rounds for the store of record, room events for webhooks, notices for Web Push. */
export const GROUP_TYPES: Record<OutboxGroup, ReadonlySet<OutboxEntryType>> = {
  db: new Set(['round.completed', 'participant.recap', 'attendance.recorded']),
  webhooks: new Set(['round.completed', 'session.started', 'participant.joined', 'participant.left', 'participant.recap', 'attendance.recorded']),
  push: new Set(['push.notice']),
};

/** The entry types some group among `groups` takes: the stores queue only these. */
export function typesOf(groups: OutboxGroup[]): Set<OutboxEntryType> {
  return new Set(groups.flatMap((g) => [...GROUP_TYPES[g]]));
}
