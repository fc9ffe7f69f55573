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
  /**
   * Queued entries in order, and acknowledged ones not swept out yet (`dead`; an entry is
   * queued while `sizes` has its id): an acknowledgement costs its ids, not a pass over the
   * queue; the dead are swept once they are half of it.
   */
  queue: OutboxMessage[];
  dead: number;
  /**
   * Every entry before this index is acknowledged or held: a read starts here. A Web Push
   * burst holds thousands of entries at the head of the queue until they are sent; without
   * this each read (one per append turn) walked past all of them again, ~1 s of the main
   * thread in a burst of 10,000 (docs/push.md).
   */
  scanFrom: number;
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
    this.groups.set(name, { types, queue: [], dead: 0, scanFrom: 0, waiters: [], dropped: 0, bytes: 0, sizes: new Map(), notBefore: new Map(), held: new Set() });
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
    const present = g.sizes;
    const restored: OutboxMessage[] = [];
    messages.forEach((m, i) => {
      if (present.has(m.id)) return;
      restored.push(m);
      this.measure(g, m, bytes?.[i]);
    });
    g.queue = [...restored, ...g.queue];
    g.scanFrom = 0;
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
    g.scanFrom = 0;
    if (g.queue.length > 0) for (const wake of g.waiters.splice(0)) wake();
  }

  async ack(group: string, ids: string[]): Promise<void> {
    this.settle();
    const g = this.group(group);
    for (const id of ids) if (this.forget(g, id)) g.dead += 1;
    if (g.dead > 1_024 && g.dead * 2 > g.queue.length) this.sweep(g);
    this.journal?.removed(group, ids);
  }

  /** Drops the acknowledged entries from the queue. */
  private sweep(g: Group): void {
    g.queue = g.queue.filter((m) => g.sizes.has(m.id));
    g.dead = 0;
    g.scanFrom = 0;
  }

  /** Up to `count` entries not deferred past now, oldest first. */
  private ready(g: Group, count: number): OutboxMessage[] {
    if (g.notBefore.size === 0 && g.held.size === 0 && g.dead === 0) return g.queue.slice(0, count);
    const now = Date.now();
    const out: OutboxMessage[] = [];
    const q = g.queue;
    let head = true;
    for (let i = g.scanFrom; i < q.length && out.length < count; i++) {
      const m = q[i]!;
      if (!g.sizes.has(m.id) || g.held.has(m.id)) {
        if (head) g.scanFrom = i + 1;
        continue;
      }
      head = false;
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

  /** Whether `id` was queued. */
  private forget(g: Group, id: string): boolean {
    const size = g.sizes.get(id);
    if (size === undefined) return false;
    g.sizes.delete(id);
    g.notBefore.delete(id);
    g.held.delete(id);
    g.bytes -= size;
    return true;
  }

  /** Drops the oldest entries while the group is over its count or bytes (keeps the newest one). */
  private trim(name: string, g: Group): void {
    while (g.sizes.size > this.maxPerGroup || (g.bytes > this.maxBytesPerGroup && g.sizes.size > 1)) {
      const old = g.queue.shift()!;
      g.scanFrom = Math.max(0, g.scanFrom - 1);
      if (!this.forget(g, old.id)) {
        g.dead -= 1;
        continue;
      }
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
    const oldest = g.queue.find((m) => g.sizes.has(m.id));
    return { depth: g.sizes.size, oldestAgeMs: oldest ? Math.max(0, Date.now() - oldest.queuedAt) : 0 };
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
