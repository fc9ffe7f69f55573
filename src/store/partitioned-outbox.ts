/**
 * The outbox on Redis Cluster: one stream per partition (redis-keys.ts), each written by
 * its partition's compare-and-set script, read here as one outbox. A stream per
 * partition keeps each XADD in the slot of the room it records; XREADGROUP over keys of
 * several slots is refused by a cluster, so the partitions are polled (without BLOCK,
 * all partitions at once), round-robin from where the last read found work, and an idle
 * reader waits `IDLE_POLL_MS` between rounds.
 *
 * Delivery ids are `partition/stream-id`, so `ack` reaches the right stream.
 */
import type { OutboxEntryType } from '../domain/outbox-entries.js';
import type { Outbox, OutboxGroupStats, OutboxMessage } from './outbox.js';
import type { RedisClient, RedisKeys } from './redis-keys.js';
import { RedisOutbox } from './redis-outbox.js';

/** How long a reader that found every partition empty waits before the next round (at most its blockMs). */
const IDLE_POLL_MS = 250;

export interface PartitionedOutboxOptions {
  consumer: string;
  types: ReadonlySet<OutboxEntryType>;
  groups: string[];
  claimIdleMs?: number;
}

export class PartitionedOutbox implements Outbox {
  readonly kind = 'redis' as const;
  readonly types: ReadonlySet<OutboxEntryType>;
  private readonly parts: RedisOutbox[];
  private closed = false;
  private readonly wakers = new Set<() => void>();

  constructor(redis: RedisClient, keys: RedisKeys, opts: PartitionedOutboxOptions) {
    this.types = opts.types;
    this.parts = keys.all().map((p) => new RedisOutbox(redis, new Map(), { ...opts, key: keys.outbox(p), block: false }));
  }

  async read(group: string, count: number, blockMs: number): Promise<OutboxMessage[]> {
    const deadline = Date.now() + blockMs;
    for (;;) {
      const batches = await Promise.all(this.parts.map((part) => part.read(group, count, 0)));
      const out: OutboxMessage[] = [];
      for (let p = 0; p < batches.length && out.length < count; p++) {
        for (const m of batches[p]!) out.push({ ...m, id: `${p}/${m.id}` });
      }
      // What did not fit stays pending at this consumer and comes first next time.
      if (out.length > 0 || this.closed) return out.slice(0, count);
      const wait = Math.min(IDLE_POLL_MS, deadline - Date.now());
      if (wait <= 0) return [];
      await this.sleep(wait);
    }
  }

  async ack(group: string, ids: string[]): Promise<void> {
    const byPart = new Map<number, string[]>();
    for (const id of ids) {
      const slash = id.indexOf('/');
      const p = Number(id.slice(0, slash));
      const list = byPart.get(p) ?? [];
      list.push(id.slice(slash + 1));
      byPart.set(p, list);
    }
    await Promise.all([...byPart].map(([p, list]) => this.parts[p]!.ack(group, list)));
  }

  async stats(group: string): Promise<OutboxGroupStats> {
    const all = await Promise.all(this.parts.map((part) => part.stats(group)));
    return { depth: all.reduce((n, s) => n + s.depth, 0), oldestAgeMs: Math.max(0, ...all.map((s) => s.oldestAgeMs)) };
  }

  dropped(): number {
    return 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const wake of this.wakers) wake();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }
}
