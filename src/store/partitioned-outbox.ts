/**
 * The outbox on Redis Cluster: one stream per partition (redis/redis-keys.ts), each written by
 * its partition's compare-and-set script, read here as one outbox. A stream per
 * partition keeps each XADD in the slot of the room it records; XREADGROUP over keys of
 * several slots is refused by a cluster, so the partitions are polled (without BLOCK,
 * all partitions at once, each for a share of the batch), and an idle reader waits
 * `IDLE_POLL_MS` between rounds.
 *
 * Delivery ids are `partition/stream-id`, so `ack` reaches the right stream.
 */
import type { OutboxEntryType } from '../domain/outbox-entries.js';
import type { Outbox, OutboxGroupStats, OutboxMessage } from './outbox.js';
import type { RedisClient, RedisKeys } from '../redis/redis-keys.js';
import { RedisOutbox } from './redis-outbox.js';

/** How long a reader that found every partition empty waits before the next round (at most its blockMs). */
const IDLE_POLL_MS = 250;

export interface PartitionedOutboxOptions {
  consumer: string;
  types: ReadonlySet<OutboxEntryType>;
  groups: string[];
  claimIdleMs?: number;
  groupClaimIdleMs?: Partial<Record<string, number>>;
}

export class PartitionedOutbox implements Outbox {
  readonly kind = 'redis' as const;
  readonly types: ReadonlySet<OutboxEntryType>;
  private readonly parts: RedisOutbox[];
  private closed = false;
  /** Per group: the partitions whose last read filled its ask (they get a bigger one next). */
  private readonly busy = new Map<string, Set<number>>();
  private readonly wakers = new Set<() => void>();

  constructor(redis: RedisClient, keys: RedisKeys, opts: PartitionedOutboxOptions) {
    this.types = opts.types;
    this.parts = keys.all().map((p) => new RedisOutbox(redis, new Map(), { ...opts, key: keys.outbox(p), block: false }));
  }

  async read(group: string, count: number, blockMs: number): Promise<OutboxMessage[]> {
    const deadline = Date.now() + blockMs;
    for (;;) {
      const out = await this.readRound(group, count);
      if (out.length > 0 || this.closed) return out;
      const wait = Math.min(IDLE_POLL_MS, deadline - Date.now());
      if (wait <= 0) return [];
      await this.sleep(wait);
    }
  }

  /**
   * One poll of every partition, returning all it read: what a partition hands out stays
   * pending at this consumer until acknowledged (and would be handed out again first),
   * so nothing may be read and then held back. To keep the batch near `count`, each
   * partition is asked for an even share of it, and the partitions that filled their
   * ask last time (they may hold more) split `count` between them: at most ~2 × count.
   */
  private async readRound(group: string, count: number): Promise<OutboxMessage[]> {
    const share = Math.max(1, Math.ceil(count / this.parts.length));
    const busy = this.busy.get(group) ?? new Set<number>();
    const busyAsk = busy.size > 0 ? Math.max(share, Math.ceil(count / busy.size)) : share;
    const asks = this.parts.map((_, p) => (busy.has(p) ? busyAsk : share));
    const batches = await Promise.all(this.parts.map((part, p) => part.read(group, asks[p]!, 0)));
    const out: OutboxMessage[] = [];
    const nowBusy = new Set<number>();
    batches.forEach((batch, p) => {
      if (batch.length >= asks[p]!) nowBusy.add(p);
      for (const m of batch) out.push({ ...m, id: `${p}/${m.id}` });
    });
    this.busy.set(group, nowBusy);
    return out;
  }

  defer(group: string, ids: string[], until: number): void {
    for (const [p, list] of this.byPartition(ids)) this.parts[p]!.defer(group, list, until);
  }

  private byPartition(ids: string[]): Map<number, string[]> {
    const byPart = new Map<number, string[]>();
    for (const id of ids) {
      const slash = id.indexOf('/');
      const p = Number(id.slice(0, slash));
      const list = byPart.get(p) ?? [];
      list.push(id.slice(slash + 1));
      byPart.set(p, list);
    }
    return byPart;
  }

  hold(group: string, ids: string[]): void {
    for (const [p, list] of this.byPartition(ids)) this.parts[p]!.hold(group, list);
  }

  release(group: string, ids: string[]): void {
    for (const [p, list] of this.byPartition(ids)) this.parts[p]!.release(group, list);
  }

  async touch(group: string, ids: string[]): Promise<void> {
    await Promise.all([...this.byPartition(ids)].map(([p, list]) => this.parts[p]!.touch(group, list)));
  }

  async handBack(group: string): Promise<void> {
    await Promise.all(this.parts.map((part) => part.handBack(group)));
  }

  async ack(group: string, ids: string[]): Promise<void> {
    await Promise.all([...this.byPartition(ids)].map(([p, list]) => this.parts[p]!.ack(group, list)));
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
