/**
 * Single-instance outbox: one bounded queue per reader group, in this process's memory.
 * It outlives a database outage; with a journal (the embedded store of record's
 * outbox_journal, persistence/embedded-journal.ts) it outlives the process too: every
 * entry added or finished is told to the journal, which writes it within ~0.1 s, and
 * `restore` puts the unfinished ones back after a restart. When a queue is full the
 * oldest entry is dropped and counted, so memory stays bounded however long the
 * database is away.
 */
import type { OutboxEntry, OutboxEntryType } from '../domain/outbox-entries.js';
import type { Outbox, OutboxGroupStats, OutboxMessage } from './outbox.js';

/** Where a durable copy of the queues is kept (told synchronously; it writes in the background). */
export interface OutboxJournal {
  added(group: string, message: OutboxMessage): void;
  removed(group: string, ids: readonly string[]): void;
}

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
  /** Ids stay unique across restarts (restored entries keep theirs): this process's start, base 36. */
  private readonly idPrefix = `${Date.now().toString(36)}-`;
  private closed = false;
  private journal: OutboxJournal | null = null;

  constructor(private readonly maxPerGroup: number) {}

  /** Declares a reader group before any entry is appended, so it misses none. */
  addGroup(name: string, types: ReadonlySet<OutboxEntryType>): void {
    this.groups.set(name, { types, queue: [], waiters: [], dropped: 0 });
    for (const t of types) this.types.add(t);
  }

  /** From now on, every entry added or finished is told to `journal`. */
  setJournal(journal: OutboxJournal | null): void {
    this.journal = journal;
  }

  /** Puts entries kept from an earlier run back, before anything queued since, oldest first. */
  restore(group: string, messages: OutboxMessage[]): void {
    const g = this.groups.get(group);
    if (!g || messages.length === 0) return;
    const present = new Set(g.queue.map((m) => m.id));
    g.queue = [...messages.filter((m) => !present.has(m.id)), ...g.queue];
    while (g.queue.length > this.maxPerGroup) {
      const old = g.queue.shift()!;
      g.dropped += 1;
      this.journal?.removed(group, [old.id]);
    }
    for (const wake of g.waiters.splice(0)) wake();
  }

  /** Called by the memory store inside its synchronous update. */
  append(entries: OutboxEntry[], now = Date.now()): void {
    for (const entry of entries) {
      const id = `${this.idPrefix}${this.nextId++}`;
      for (const [name, g] of this.groups) {
        if (!g.types.has(entry.type)) continue;
        const message = { id, entry, queuedAt: now };
        g.queue.push(message);
        this.journal?.added(name, message);
        if (g.queue.length > this.maxPerGroup) {
          const old = g.queue.shift()!;
          g.dropped += 1;
          this.journal?.removed(name, [old.id]);
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
    this.journal?.removed(group, ids);
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
