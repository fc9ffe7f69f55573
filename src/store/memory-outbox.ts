/**
 * Single-instance outbox: one bounded queue per reader group, in this process's memory.
 * It outlives a database outage, not the process (the Redis outbox does that). When a
 * queue is full the oldest entry is dropped and counted, so memory stays bounded
 * however long the database is away.
 */
import type { OutboxEntry, OutboxEntryType } from '../domain/outbox-entries.js';
import type { Outbox, OutboxGroupStats, OutboxMessage } from './outbox.js';

interface Group {
  types: ReadonlySet<OutboxEntryType>;
  queue: OutboxMessage[];
  waiters: (() => void)[];
  dropped: number;
}

export class MemoryOutbox implements Outbox {
  readonly kind = 'memory' as const;
  readonly types: Set<OutboxEntryType> = new Set();
  private readonly groups = new Map<string, Group>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly maxPerGroup: number) {}

  /** Declares a reader group before any entry is appended, so it misses none. */
  addGroup(name: string, types: ReadonlySet<OutboxEntryType>): void {
    this.groups.set(name, { types, queue: [], waiters: [], dropped: 0 });
    for (const t of types) this.types.add(t);
  }

  /** Called by the memory store inside its synchronous update. */
  append(entries: OutboxEntry[], now = Date.now()): void {
    for (const entry of entries) {
      const id = String(this.nextId++);
      for (const g of this.groups.values()) {
        if (!g.types.has(entry.type)) continue;
        g.queue.push({ id, entry, queuedAt: now });
        if (g.queue.length > this.maxPerGroup) {
          g.queue.shift();
          g.dropped += 1;
        }
      }
    }
    for (const g of this.groups.values()) {
      if (g.queue.length > 0) for (const wake of g.waiters.splice(0)) wake();
    }
  }

  async read(group: string, count: number, blockMs: number): Promise<OutboxMessage[]> {
    const g = this.group(group);
    if (g.queue.length === 0 && blockMs > 0 && !this.closed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, blockMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        g.waiters.push(done);
      });
    }
    return g.queue.slice(0, count);
  }

  async ack(group: string, ids: string[]): Promise<void> {
    const g = this.group(group);
    const done = new Set(ids);
    g.queue = g.queue.filter((m) => !done.has(m.id));
  }

  async stats(group: string): Promise<OutboxGroupStats> {
    const g = this.group(group);
    const oldest = g.queue[0];
    return { depth: g.queue.length, oldestAgeMs: oldest ? Math.max(0, Date.now() - oldest.queuedAt) : 0 };
  }

  dropped(group: string): number {
    return this.group(group).dropped;
  }

  interrupt(group: string): void {
    for (const wake of this.group(group).waiters.splice(0)) wake();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const g of this.groups.values()) for (const wake of g.waiters.splice(0)) wake();
  }

  private group(name: string): Group {
    const g = this.groups.get(name);
    if (!g) throw new Error(`outbox: unknown group ${name}`);
    return g;
  }
}
