/**
 * Runs each room's deadline (completion, grace expiry, room expiry) once it is due.
 *
 * Two paths reach the same idempotent `run(code)`:
 * - a local timer for every room this instance changed, for punctual completion;
 * - a poll of the store's due-queue, which claims due rooms atomically, so deadlines
 *   of rooms whose instance died (or that no local timer knows) still run.
 * Exactly-once comes from the store: `run` applies `runDue` through an atomic update,
 * so a second runner finds nothing due and emits nothing.
 */
import type { Clock } from '../domain/clock.js';
import type { RoomStore } from '../store/room-store.js';

export interface DueSchedulerOptions {
  /** How often to claim due rooms from the shared queue. */
  pollMs: number;
  /** How long a claimed room stays hidden from other claimers. */
  leaseMs: number;
  /** Rooms claimed per poll. */
  batch: number;
  /** Delay before a local timer whose run failed tries again. */
  retryMs: number;
}

export const defaultDueSchedulerOptions: DueSchedulerOptions = { pollMs: 250, leaseMs: 5_000, batch: 100, retryMs: 1_000 };

/** Batches one poll may claim back to back before yielding to the next interval. */
const MAX_ROUNDS_PER_POLL = 50;

/** setTimeout's largest delay; longer deadlines are re-armed when it fires. */
const MAX_DELAY = 2 ** 31 - 1;

export class DueScheduler {
  private readonly timers = new Map<string, { at: number; handle: NodeJS.Timeout }>();
  private poller: NodeJS.Timeout | null = null;
  private polling = false;

  constructor(
    private readonly store: RoomStore,
    private readonly clock: Clock,
    private readonly run: (code: string) => Promise<void>,
    private readonly onError: (err: unknown, code: string | null) => void,
    private readonly options: DueSchedulerOptions = defaultDueSchedulerOptions,
  ) {}

  start(): void {
    if (this.poller) return;
    this.poller = setInterval(() => void this.poll(), this.options.pollMs);
    this.poller.unref();
  }

  stop(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
    for (const { handle } of this.timers.values()) clearTimeout(handle);
    this.timers.clear();
  }

  /** Arms (or re-arms) the local timer for a room's next deadline. */
  watch(code: string, at: number): void {
    const current = this.timers.get(code);
    if (current?.at === at) return;
    if (current) clearTimeout(current.handle);
    const delay = Math.min(MAX_DELAY, Math.max(0, at - this.clock.now()));
    const handle = setTimeout(() => {
      this.timers.delete(code);
      if (this.clock.now() < at) return this.watch(code, at);
      this.runSafely(code);
    }, delay);
    handle.unref();
    this.timers.set(code, { at, handle });
  }

  unwatch(code: string): void {
    const current = this.timers.get(code);
    if (current) clearTimeout(current.handle);
    this.timers.delete(code);
  }

  get watching(): number {
    return this.timers.size;
  }

  /**
   * A local timer's run that fails (store unreachable) is retried on a timer of its own:
   * the shared poll alone could leave the room hidden for a whole lease after a Redis
   * freeze, because claims sent during the freeze still execute when it ends.
   */
  private runSafely(code: string): void {
    this.run(code).catch((err) => {
      this.onError(err, code);
      if (this.poller && !this.timers.has(code)) this.watch(code, this.clock.now() + this.options.retryMs);
    });
  }

  private async poll(): Promise<void> {
    if (this.polling) return; // a slow store must not stack polls
    this.polling = true;
    try {
      // A full batch means more are due (many scheduled rooms starting the same second):
      // claim again at once rather than a poll interval later.
      for (let round = 0; round < MAX_ROUNDS_PER_POLL; round++) {
        const codes = await this.store.claimDue(this.clock.now(), this.options.batch, this.options.leaseMs);
        await Promise.all(codes.map((code) => this.run(code).catch((err) => this.onError(err, code))));
        if (codes.length < this.options.batch) break;
      }
    } catch (err) {
      this.onError(err, null);
    } finally {
      this.polling = false;
    }
  }
}
