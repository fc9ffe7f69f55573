/**
 * Single-instance outbox: one bounded queue per reader group, in this process's memory.
 * It outlives a database outage; with a journal (the embedded store of record's
 * outbox_journal, persistence/embedded-journal.ts) it outlives the process too: every
 * entry added or finished is told to the journal, which writes it within ~0.1 s, and
 * `restore` puts the unfinished ones back after a restart. When a queue is full — by
 * count (OUTBOX_MAX) or by bytes (OUTBOX_MAX_BYTES, each entry's JSON size: a 50-seat
 * entry is ~8 KB) — the oldest entries are dropped and counted, so memory stays bounded
 * however long the database or receiver is away.
 *
 * `defer` hides an entry from its group's reads until a time (one failing webhook backs
 * off alone, webhooks/webhook-sender.ts); `hold` until it is acknowledged (a Web Push
 * entry whose deliveries are under way); either way it stays queued and counted.
 */
import type { OutboxEntry, OutboxEntryType } from '../domain/outbox-entries.js';
import type { Outbox, OutboxGroupStats, OutboxMessage } from './outbox.js';

/** Where a durable copy of the queues is kept (told synchronously; it writes in the background). */
export interface OutboxJournal {
  /** `json`: the entry's JSON when already made (its size is measured from it), so it is not made twice. */
  added(group: string, message: OutboxMessage, json?: string): void;
  removed(group: string, ids: readonly string[]): void;
}

interface Group {
  types: ReadonlySet<OutboxEntryType>;
  queue: OutboxMessage[];
  waiters: (() => void)[];
  dropped: number;
  /** JSON bytes of the queued entries, and of each (by message id). */
  bytes: number;
  sizes: Map<string, number>;
  /** Deferred message ids: not read before this time (epoch ms). */
  notBefore: Map<string, number>;
  /** Held message ids (Outbox.hold): not read until acknowledged or released. */
  held: Set<string>;
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
  /** Appended, not yet queued (see append). */
  private unsettled: OutboxMessage[] = [];
  private settling: NodeJS.Immediate | null = null;

  constructor(
    private readonly maxPerGroup: number,
    private readonly maxBytesPerGroup = Number.MAX_SAFE_INTEGER,
  ) {}

  /** Declares a reader group before any entry is appended, so it misses none. */
  addGroup(name: string, types: ReadonlySet<OutboxEntryType>): void {
    this.groups.set(name, { types, queue: [], waiters: [], dropped: 0, bytes: 0, sizes: new Map(), notBefore: new Map(), held: new Set() });
    for (const t of types) this.types.add(t);
  }

  /** From now on, every entry added or finished is told to `journal`. */
  setJournal(journal: OutboxJournal | null): void {
    this.settle();
    this.journal = journal;
  }

  /**
   * Puts entries kept from an earlier run back, before anything queued since, oldest first.
   * `bytes`: each one's JSON size, when the caller has its JSON (not serialized again here).
   */
  restore(group: string, messages: OutboxMessage[], bytes?: readonly number[]): void {
    this.settle();
    const g = this.groups.get(group);
    if (!g || messages.length === 0) return;
    const present = new Set(g.queue.map((m) => m.id));
    const restored: OutboxMessage[] = [];
    messages.forEach((m, i) => {
      if (present.has(m.id)) return;
      restored.push(m);
      this.measure(g, m, bytes?.[i]);
    });
    g.queue = [...restored, ...g.queue];
    this.trim(group, g);
    for (const wake of g.waiters.splice(0)) wake();
  }

  /**
   * Called by the memory store inside its synchronous update: the entries are recorded
   * there, in order, and queued (measured, journaled, readers woken) right after — on the
   * next turn of the event loop, or first thing in any other call of this outbox — so the
   * step that completes a round emits its `session_completed` before its entry's JSON is
   * even made.
   */
  append(entries: OutboxEntry[], now = Date.now()): void {
    for (const entry of entries) this.unsettled.push({ id: `${this.idPrefix}${this.nextId++}`, entry, queuedAt: now });
    if (this.unsettled.length > 0 && !this.settling) this.settling = setImmediate(() => this.settle());
  }

  /** Queues what `append` recorded: measured once per entry (serialized only when some group takes it); the journal writes the same JSON. */
  private settle(): void {
    if (this.settling) clearImmediate(this.settling);
    this.settling = null;
    if (this.unsettled.length === 0) return;
    const pending = this.unsettled;
    this.unsettled = [];
    for (const { id, entry, queuedAt } of pending) {
      let json: string | undefined;
      let size: number | undefined;
      for (const [name, g] of this.groups) {
        if (!g.types.has(entry.type)) continue;
        const message = { id, entry, queuedAt };
        g.queue.push(message);
        json ??= JSON.stringify(entry);
        size ??= Buffer.byteLength(json);
        this.measure(g, message, size);
        this.journal?.added(name, message, json);
        this.trim(name, g);
      }
    }
    for (const g of this.groups.values()) {
      if (g.queue.length > 0) for (const wake of g.waiters.splice(0)) wake();
    }
  }

  async read(group: string, count: number, blockMs: number): Promise<OutboxMessage[]> {
    this.settle();
    const g = this.group(group);
    let ready = this.ready(g, count);
    if (ready.length === 0 && blockMs > 0 && !this.closed) {
      // Wait for a new entry, or until the first deferred one is due, at most blockMs.
      let wait = blockMs;
      for (const at of g.notBefore.values()) wait = Math.min(wait, Math.max(1, at - Date.now()));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, wait);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        g.waiters.push(done);
      });
      ready = this.ready(g, count);
    }
    return ready;
  }

  /** Hides `ids` from `group`'s reads until `until` (epoch ms); they stay queued. */
  defer(group: string, ids: string[], until: number): void {
    this.settle();
    const g = this.group(group);
    for (const id of ids) if (g.sizes.has(id)) g.notBefore.set(id, until);
  }

  hold(group: string, ids: string[]): void {
    this.settle();
    const g = this.group(group);
    for (const id of ids) if (g.sizes.has(id)) g.held.add(id);
  }

  release(group: string, ids: string[]): void {
    this.settle();
    const g = this.group(group);
    for (const id of ids) g.held.delete(id);
    if (g.queue.length > 0) for (const wake of g.waiters.splice(0)) wake();
  }

  async ack(group: string, ids: string[]): Promise<void> {
    this.settle();
    const g = this.group(group);
    const done = new Set(ids);
    g.queue = g.queue.filter((m) => !done.has(m.id));
    for (const id of ids) this.forget(g, id);
    this.journal?.removed(group, ids);
  }

  /** Up to `count` entries not deferred past now, oldest first. */
  private ready(g: Group, count: number): OutboxMessage[] {
    if (g.notBefore.size === 0 && g.held.size === 0) return g.queue.slice(0, count);
    const now = Date.now();
    const out: OutboxMessage[] = [];
    for (const m of g.queue) {
      if (out.length >= count) break;
      if (g.held.has(m.id)) continue;
      const at = g.notBefore.get(m.id);
      if (at !== undefined && at > now) continue;
      if (at !== undefined) g.notBefore.delete(m.id);
      out.push(m);
    }
    return out;
  }

  private measure(g: Group, m: OutboxMessage, size = Buffer.byteLength(JSON.stringify(m.entry))): void {
    g.sizes.set(m.id, size);
    g.bytes += size;
  }

  private forget(g: Group, id: string): void {
    const size = g.sizes.get(id);
    if (size === undefined) return;
    g.sizes.delete(id);
    g.notBefore.delete(id);
    g.held.delete(id);
    g.bytes -= size;
  }

  /** Drops the oldest entries while the group is over its count or bytes (keeps the newest one). */
  private trim(name: string, g: Group): void {
    while (g.queue.length > this.maxPerGroup || (g.bytes > this.maxBytesPerGroup && g.queue.length > 1)) {
      const old = g.queue.shift()!;
      this.forget(g, old.id);
      g.dropped += 1;
      this.journal?.removed(name, [old.id]);
    }
  }

  /** JSON bytes queued for `group` (OUTBOX_MAX_BYTES bounds it). */
  bytes(group: string): number {
    this.settle();
    return this.group(group).bytes;
  }

  async stats(group: string): Promise<OutboxGroupStats> {
    this.settle();
    const g = this.group(group);
    const oldest = g.queue[0];
    return { depth: g.queue.length, oldestAgeMs: oldest ? Math.max(0, Date.now() - oldest.queuedAt) : 0 };
  }

  dropped(group: string): number {
    this.settle();
    return this.group(group).dropped;
  }

  interrupt(group: string): void {
    for (const wake of this.group(group).waiters.splice(0)) wake();
  }

  async close(): Promise<void> {
    this.settle();
    this.closed = true;
    for (const g of this.groups.values()) for (const wake of g.waiters.splice(0)) wake();
  }

  private group(name: string): Group {
    const g = this.groups.get(name);
    if (!g) throw new Error(`outbox: unknown group ${name}`);
    return g;
  }
}
