/**
 * One reader group's loop over the outbox: read a batch, hand it to `handle`, acknowledge
 * what it finished, and back off (exponentially, capped) while it fails. Runs beside the
 * rooms, never in their way: a dead or slow database or receiver only makes this loop
 * wait, and the entries wait in the outbox.
 */
import type { Outbox, OutboxMessage } from './outbox.js';

export interface ConsumerOptions {
  batch: number;
  blockMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  /** /health calls the reader stalled after this long with entries waiting and none finished (default 60 s). */
  stallMs?: number;
  /**
   * The handler backs off failing entries itself (Outbox.defer): the loop backs off only
   * when a batch finished nothing, so one failing entry does not slow the others.
   */
  perEntryRetry?: boolean;
  /**
   * The handler holds the entries it has not finished (Outbox.hold) and acknowledges them
   * itself later: a batch not all finished is no failure, and only a thrown error backs off.
   */
  holds?: boolean;
}

export const defaultConsumerOptions: ConsumerOptions = { batch: 200, blockMs: 1_000, backoffMinMs: 200, backoffMaxMs: 10_000 };

/** Returns the ids it finished (acknowledged); any left over are retried after a backoff. */
export type BatchHandler = (messages: OutboxMessage[]) => Promise<string[]>;

export class OutboxConsumer {
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly outbox: Outbox,
    readonly group: string,
    private readonly handle: BatchHandler,
    private readonly onError: (err: unknown) => void,
    private readonly opts: ConsumerOptions = defaultConsumerOptions,
    /** Called whenever the reader is not behind: it finished an entry, or found none waiting. */
    private readonly onProgress: () => void = () => {},
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    this.outbox.interrupt?.(this.group);
    await this.loop;
  }

  private async run(): Promise<void> {
    let backoff = 0;
    while (this.running) {
      let retry = false;
      try {
        const batch = await this.outbox.read(this.group, this.opts.batch, this.opts.blockMs);
        if (!this.running) break;
        if (batch.length > 0) {
          const done = await this.handle(batch);
          await this.outbox.ack(this.group, done);
          retry = this.opts.holds ? false : this.opts.perEntryRetry ? done.length === 0 : done.length < batch.length;
          if (done.length > 0) this.onProgress();
        } else {
          this.onProgress();
        }
      } catch (err) {
        if (!this.running) break;
        this.onError(err);
        retry = true;
      }
      if (retry) {
        backoff = Math.min(this.opts.backoffMaxMs, backoff === 0 ? this.opts.backoffMinMs : backoff * 2);
        await this.sleep(backoff * (0.5 + Math.random() / 2));
      } else {
        backoff = 0;
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }
}
