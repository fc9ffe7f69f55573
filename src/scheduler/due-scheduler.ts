/**
 * Runs each room's deadline (completion, grace expiry, room expiry, scheduled start)
 * once it is due.
 *
 * Two paths reach the same idempotent `run(code)`:
 * - a local timer for every room this instance changed, for punctual completion;
 * - a poll of the store's due-queue, which claims rooms atomically, so deadlines of
 *   rooms whose instance died (or that no local timer knows) still run.
 * Exactly-once comes from the store: `run` applies `runDue` through an atomic update,
 * so a second runner finds nothing due and emits nothing.
 *
 * Look-ahead: the poll claims the rooms due within the next `lookAheadMs`, ahead of
 * time. The claim is a lease that hides a room from every other poll until well past its
 * deadline, so the instance whose timer runs it (every booking for 10:00, started by the
 * instances that took them) is not raced by another instance's poll while it works
 * through them. A claimed room without a local timer here is read: if it is overdue
 * (its instance died, or died holding the claim) it runs now, else it is left alone.
 *
 * Many rooms due in the same millisecond are not run back to back: due rooms queue up
 * and run in slices of at most `sliceMs` of work per turn of the event loop, at most
 * `concurrency` at a time, so the ticks of running rooms (timers due meanwhile) and
 * socket I/O go out between slices (docs/performance.md, "Scheduled starts"). A slice
 * also ends as soon as `urgent()` says a running room's tick is due (Ticker.tickDue).
 *
 * Prepared runs (booked starts): with `prepareWith`, the rooms behind a local timer are
 * handed to `PreparedRuns.prepare` `prepareAheadMs` before their deadline, in the same
 * slices, so that when the timer fires only the commit and the writes are left. Then
 * the due rooms whose run is prepared go to `PreparedRuns.runMany` up to
 * `preparedBatch` at a time (one store round trip for the lot); the rooms it leaves
 * (not prepared, or changed since) run the ordinary way. Exactly-once is unchanged:
 * every commit, prepared or not, is a compare-and-set in the store.
 */
import { performance } from 'node:perf_hooks';
import type { Clock } from '../domain/clock.js';
import { nextDeadline } from '../domain/deadlines.js';
import type { RoomStore } from '../store/room-store.js';

export interface DueSchedulerOptions {
  /** How often to claim due rooms from the shared queue. */
  pollMs: number;
  /** How far ahead of their deadline rooms are claimed (held, not run). */
  lookAheadMs: number;
  /** How long a claim hides a room from other claimers, past the time claimed for. */
  leaseMs: number;
  /** Rooms claimed per call; a full batch is followed by another call at once. */
  batch: number;
  /** Delay before a run that failed tries again. */
  retryMs: number;
  /** Work per event-loop turn before the due rooms left yield to timers and I/O. */
  sliceMs: number;
  /**
   * Runs in flight at once (each waits on the store: two Redis round trips). The replies
   * of that many may land in one read, and their continuations (the commit, then its
   * broadcast) run back to back, ~150 µs each in cluster mode: 32 bounds that to ~5 ms
   * and still pipelines ~10,000 starts/s at a 1.5 ms round trip (128 measured twice the
   * tick delay at the same start lateness, docs/performance.md).
   */
  concurrency: number;
  /** How long before a local deadline its rooms' runs are prepared (PreparedRuns); 0: never. */
  prepareAheadMs: number;
  /**
   * Prepared runs committed together: one store round trip, then their broadcasts in one
   * synchronous pass (≈ 32 × 20–30 µs, about one slice, so running ticks are not held back).
   */
  preparedBatch: number;
}

/**
 * Runs computed ahead of their deadline (src/rooms/room-service.ts: booked starts).
 * `prepare` may be called more than once for a room; `runMany` takes the prepared runs it
 * is given (each at most once) and resolves with the rooms it left to the ordinary `run`.
 */
export interface PreparedRuns {
  prepare(code: string, at: number): Promise<boolean>;
  has(code: string): boolean;
  runMany(codes: readonly string[]): Promise<string[]>;
}

/**
 * The lease arithmetic for a room due at D. The first poll whose horizon reaches D claims
 * it ahead, at c in [D − lookAheadMs, D − lookAheadMs + pollMs], which hides it until
 * c + lookAheadMs + leaseMs; a poll claims it again once its own horizon reaches that,
 * i.e. from c + leaseMs, in [D + 400, D + 500] ms. So
 * - while the instance with its timer lives, no other poll takes the room before
 *   D + 400 ms, long after that instance ran it (which resets its entry to its next
 *   deadline, so nobody claims it again);
 * - if that instance is dead (kill -9 before the start) or the claimer
 *   died holding it, a poll claims it again by D + 600 ms, finds it overdue and runs it:
 *   within the second a scheduled start is promised.
 */
export const defaultDueSchedulerOptions: DueSchedulerOptions = {
  pollMs: 100,
  lookAheadMs: 300,
  leaseMs: 700,
  batch: 100,
  retryMs: 1_000,
  sliceMs: 1,
  concurrency: 32,
  prepareAheadMs: 2_000,
  preparedBatch: 32,
};

/** Batches one poll may claim back to back before yielding to the next interval. */
const MAX_ROUNDS_PER_POLL = 50;

/** setTimeout's largest delay; longer deadlines are re-armed when it fires. */
const MAX_DELAY = 2 ** 31 - 1;

/** The rooms whose deadline is one instant, behind one timer. */
interface Slot {
  codes: Set<string>;
  handle: NodeJS.Timeout;
  /** The timer that hands the slot's rooms to PreparedRuns ahead of `at`. */
  prep: NodeJS.Timeout | null;
}

export class DueScheduler {
  /** code → the deadline this instance runs it at. */
  private readonly deadlines = new Map<string, number>();
  /** deadline → its rooms: 2,500 rooms booked for 10:00 are one timer, not 2,500. */
  private readonly slots = new Map<number, Slot>();
  /** Due rooms waiting for a slice, oldest first (a Set: no room queued twice). */
  private readonly ready = new Set<string>();
  private dispatching = false;
  /** Rooms whose run is under way. */
  private readonly running = new Set<string>();
  private inFlight = 0;
  private onSlotFree: (() => void) | null = null;
  /** When the current slice began (performance.now()), and the next turn if one is awaited. */
  private sliceStart = 0;
  private runsInSlice = 0;
  private nextTurn: Promise<void> | null = null;
  private poller: NodeJS.Timeout | null = null;
  private polling = false;
  private prepared: PreparedRuns | null = null;
  /** Rooms waiting to be prepared, with the deadline they are prepared for, oldest first. */
  private readonly toPrepare = new Map<string, number>();
  private preparing = false;

  constructor(
    private readonly store: RoomStore,
    private readonly clock: Clock,
    private readonly run: (code: string) => Promise<void>,
    private readonly onError: (err: unknown, code: string | null) => void,
    private readonly options: DueSchedulerOptions = defaultDueSchedulerOptions,
    /** Something more urgent is due (a running room's tick): end the slice after the current run. */
    private readonly urgent: () => boolean = () => false,
  ) {}

  /** Prepares runs ahead of their deadline from now on (booked starts). */
  prepareWith(runs: PreparedRuns): void {
    this.prepared = runs;
  }

  start(): void {
    if (this.poller) return;
    this.poller = setInterval(() => void this.poll(), this.options.pollMs);
    this.poller.unref();
  }

  stop(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
    for (const { handle, prep } of this.slots.values()) {
      clearTimeout(handle);
      if (prep) clearTimeout(prep);
    }
    this.slots.clear();
    this.deadlines.clear();
    this.ready.clear();
    this.toPrepare.clear();
  }

  /** Arms (or re-arms) the local timer for a room's next deadline. */
  watch(code: string, at: number): void {
    const current = this.deadlines.get(code);
    if (current === at) return;
    if (current !== undefined) this.leaveSlot(code, current);
    this.deadlines.set(code, at);
    const slot = this.slots.get(at);
    if (slot) slot.codes.add(code);
    else this.slots.set(at, { codes: new Set([code]), handle: this.arm(at), prep: this.armPrepare(at) });
  }

  unwatch(code: string): void {
    const current = this.deadlines.get(code);
    if (current !== undefined) this.leaveSlot(code, current);
    this.deadlines.delete(code);
    this.ready.delete(code);
    this.toPrepare.delete(code);
  }

  /** Rooms with a pending local deadline. */
  get watching(): number {
    return this.deadlines.size;
  }

  /** Due rooms waiting for their slice. */
  get queued(): number {
    return this.ready.size;
  }

  private arm(at: number): NodeJS.Timeout {
    const handle = setTimeout(() => this.fire(at), Math.min(MAX_DELAY, Math.max(0, at - this.clock.now())));
    handle.unref();
    return handle;
  }

  /** The prepare timer of a new slot: `prepareAheadMs` before it (at once when that is past). */
  private armPrepare(at: number): NodeJS.Timeout | null {
    if (!this.prepared || this.options.prepareAheadMs <= 0) return null;
    const delay = at - this.options.prepareAheadMs - this.clock.now();
    if (delay > MAX_DELAY) return null; // re-armed with the slot's own timer, far later
    const handle = setTimeout(() => this.prepareSlot(at), Math.max(0, delay));
    handle.unref();
    return handle;
  }

  /**
   * A room whose prepared run went stale (it changed) is prepared again for its deadline,
   * if that deadline's rooms were already handed out for preparing (else they will be).
   */
  prepareAgain(code: string): void {
    const at = this.deadlines.get(code);
    const slot = at === undefined ? undefined : this.slots.get(at);
    if (!this.prepared || !slot || slot.prep || at! <= this.clock.now()) return;
    this.toPrepare.set(code, at!);
    void this.prepareQueued();
  }

  private prepareSlot(at: number): void {
    const slot = this.slots.get(at);
    if (!slot) return;
    slot.prep = null;
    for (const code of slot.codes) this.toPrepare.set(code, at);
    void this.prepareQueued();
  }

  /**
   * Prepares the queued rooms in the dispatcher's slices (they yield to due ticks the same
   * way), at most `concurrency` waiting on the store at once. A room whose deadline moved
   * since it was queued is skipped.
   */
  private async prepareQueued(): Promise<void> {
    if (this.preparing || !this.prepared) return;
    this.preparing = true;
    const runs = this.prepared;
    let inFlight = 0;
    let onFree: (() => void) | null = null;
    try {
      await this.turn();
      for (;;) {
        const next = this.toPrepare.entries().next().value;
        if (next === undefined) return;
        if (performance.now() - this.sliceStart >= this.options.sliceMs || (this.runsInSlice > 0 && this.urgent())) {
          await this.turn();
          continue;
        }
        if (inFlight >= this.options.concurrency) {
          await new Promise<void>((resolve) => (onFree = resolve));
          continue;
        }
        const [code, at] = next;
        this.toPrepare.delete(code);
        if (this.deadlines.get(code) !== at || this.clock.now() >= at) continue;
        this.runsInSlice += 1;
        inFlight += 1;
        void runs
          .prepare(code, at)
          .catch((err: unknown) => this.onError(err, code))
          .finally(() => {
            inFlight -= 1;
            const free = onFree;
            onFree = null;
            free?.();
          });
        await new Promise<void>((resolve) => process.nextTick(resolve));
      }
    } finally {
      this.preparing = false;
    }
  }

  private leaveSlot(code: string, at: number): void {
    const slot = this.slots.get(at);
    if (!slot) return;
    slot.codes.delete(code);
    if (slot.codes.size > 0) return;
    clearTimeout(slot.handle);
    if (slot.prep) clearTimeout(slot.prep);
    this.slots.delete(at);
  }

  private fire(at: number): void {
    const slot = this.slots.get(at);
    if (!slot) return;
    // Early (a long delay cut at MAX_DELAY, or a clock that is behind the timers): re-arm.
    if (this.clock.now() < at) {
      slot.handle = this.arm(at);
      return;
    }
    this.slots.delete(at);
    if (slot.prep) clearTimeout(slot.prep);
    for (const code of slot.codes) {
      this.deadlines.delete(code);
      this.toPrepare.delete(code);
      this.ready.add(code);
    }
    this.drain();
  }

  /** Starts the dispatcher for the due rooms unless it is running; it stops when none are left. */
  private drain(): void {
    if (this.dispatching || this.ready.size === 0) return;
    this.dispatching = true;
    void this.dispatch().finally(() => {
      this.dispatching = false;
      // Rooms that came due after its last look (a slot fired while it was waiting).
      this.drain();
    });
  }

  private async dispatch(): Promise<void> {
    // The first slice starts on the next turn, not inside the timers phase that found
    // the rooms due: ticks due in the same millisecond go first.
    await this.turn();
    for (;;) {
      const code = this.ready.values().next().value;
      if (code === undefined) return;
      // A slice ends after sliceMs, or as soon as a tick is due (after at least one run,
      // so a tick whose timer fires a moment after its due time cannot stall the queue).
      if (performance.now() - this.sliceStart >= this.options.sliceMs || (this.runsInSlice > 0 && this.urgent())) {
        await this.turn();
        continue;
      }
      if (this.inFlight >= this.options.concurrency) {
        await new Promise<void>((resolve) => (this.onSlotFree = resolve));
        continue;
      }
      this.runsInSlice += 1;
      if (this.prepared?.has(code)) {
        this.runPrepared(this.prepared);
        await new Promise<void>((resolve) => process.nextTick(resolve));
        continue;
      }
      this.ready.delete(code);
      this.inFlight += 1;
      this.running.add(code);
      void this.runSafely(code).finally(() => {
        this.running.delete(code);
        this.inFlight -= 1;
        const free = this.onSlotFree;
        this.onSlotFree = null;
        free?.();
      });
      // A run that needs no I/O (the memory store) finishes in microtasks: let it, so its
      // whole cost counts against this slice before the next one starts. A run waiting on
      // the store (Redis) is left in flight, and the next starts at once.
      await new Promise<void>((resolve) => process.nextTick(resolve));
    }
  }

  /**
   * Takes the prepared rooms at the head of the due queue (up to `preparedBatch`) and runs
   * them together, as one run in flight; the rooms `runMany` leaves go back to the queue
   * for the ordinary path. If the batch fails (store unreachable), each of its rooms is
   * retried the ordinary way.
   */
  private runPrepared(runs: PreparedRuns): void {
    const batch: string[] = [];
    for (const code of this.ready) {
      if (batch.length >= this.options.preparedBatch || !runs.has(code)) break;
      batch.push(code);
    }
    for (const code of batch) {
      this.ready.delete(code);
      this.running.add(code);
    }
    this.inFlight += 1;
    void runs
      .runMany(batch)
      .then(
        (left) => left,
        (err: unknown) => {
          this.onError(err, null);
          return batch;
        },
      )
      .then((left) => {
        for (const code of batch) this.running.delete(code);
        this.inFlight -= 1;
        for (const code of left) this.ready.add(code);
        const free = this.onSlotFree;
        this.onSlotFree = null;
        free?.();
        this.drain();
      });
  }

  /** Resolves on the next turn of the event loop (after its timers and I/O), starting a new slice. */
  private turn(): Promise<void> {
    this.nextTurn ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        this.nextTurn = null;
        this.sliceStart = performance.now();
        this.runsInSlice = 0;
        resolve();
      }),
    );
    return this.nextTurn;
  }

  /**
   * A run that fails (store unreachable) is retried on a timer of its own: the shared
   * poll alone could leave the room hidden for a whole lease after a Redis freeze,
   * because claims sent during the freeze still execute when it ends.
   */
  private async runSafely(code: string): Promise<void> {
    try {
      await this.run(code);
    } catch (err) {
      this.onError(err, code);
      if (this.poller && !this.deadlines.has(code)) this.watch(code, this.clock.now() + this.options.retryMs);
    }
  }

  private async poll(): Promise<void> {
    if (this.polling) return; // a slow store must not stack polls
    this.polling = true;
    try {
      // A full batch means more are due (many rooms booked for the same second): claim
      // again at once.
      for (let round = 0; round < MAX_ROUNDS_PER_POLL; round++) {
        const horizon = this.clock.now() + this.options.lookAheadMs;
        const codes = await this.store.claimDue(horizon, this.options.batch, this.options.leaseMs);
        // A room with a local timer due by the horizon runs on it. Any other is read: due
        // already (nobody ran it while it was held: its instance died), it runs now;
        // due later, it is left to its instance's timer, under the lease just taken.
        await Promise.all(codes.filter((code) => !this.heldBy(code, horizon)).map((code) => this.runIfOverdue(code)));
        if (codes.length < this.options.batch) break;
      }
    } catch (err) {
      this.onError(err, null);
    } finally {
      this.polling = false;
    }
  }

  /** Whether this instance runs the room by `at` anyway (running, queued, or a local timer due by then). */
  private heldBy(code: string, at: number): boolean {
    const local = this.deadlines.get(code);
    return this.running.has(code) || this.ready.has(code) || (local !== undefined && local <= at);
  }

  private async runIfOverdue(code: string): Promise<void> {
    try {
      const room = await this.store.get(code);
      if (!room || nextDeadline(room) > this.clock.now() || this.heldBy(code, this.clock.now())) return;
      this.ready.add(code);
      this.drain();
    } catch (err) {
      this.onError(err, code);
    }
  }
}
