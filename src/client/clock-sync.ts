/**
 * Server clock offset with round-trip compensation (NTP's idea, one hop): a sample sent
 * at local t0, answered with the server's `server_now`, received at local t1, says
 * server ≈ local + (server_now − (t0 + rtt / 2)). Its error is at most rtt / 2, so of
 * several samples the one with the smallest round trip is kept. Re-sampled after every
 * reconnect (a new path, maybe a new instance), never averaged across them.
 */
import type { TimeSyncResult } from '../contract/events.js';

export interface ClockSample {
  /** server clock − local clock, ms. */
  offset: number;
  /** Round trip of the sample, ms. */
  rtt: number;
}

/** Sends one `time_sync { t0 }` and resolves with its ack. */
export type TimeSyncTransport = (t0: number) => Promise<TimeSyncResult>;

export function sampleOf(t0: number, serverNow: number, t1: number): ClockSample {
  const rtt = Math.max(0, t1 - t0);
  return { offset: serverNow - (t0 + rtt / 2), rtt };
}

export class ClockSync {
  /** server clock − local clock; 0 until anything is known. */
  offset = 0;
  /** Round trip of the sample behind `offset`; Infinity while only a snapshot's `server_now` is known. */
  rtt = Number.POSITIVE_INFINITY;
  private round = 0;

  constructor(
    private readonly now: () => number,
    private readonly samples = 5,
  ) {}

  get synced(): boolean {
    return Number.isFinite(this.rtt);
  }

  /** server time now, by the best estimate. */
  serverNow(): number {
    return this.now() + this.offset;
  }

  /**
   * A rough estimate from a snapshot's or tick's `server_now` (one-way delay unknown):
   * used only until a time_sync round has measured one.
   */
  observe(serverNow: number): void {
    if (!this.synced) this.offset = serverNow - this.now();
  }

  /**
   * Takes `samples` sequential samples and keeps the fastest; a failed sample is skipped.
   * A newer call supersedes one still running (a reconnect in the middle of a round).
   */
  async sync(send: TimeSyncTransport): Promise<ClockSample | null> {
    const round = ++this.round;
    let best: ClockSample | null = null;
    for (let i = 0; i < this.samples; i++) {
      const t0 = this.now();
      let reply: TimeSyncResult;
      try {
        reply = await send(t0);
      } catch {
        if (round !== this.round) return null;
        continue;
      }
      if (round !== this.round) return null;
      const sample = sampleOf(reply.t0, reply.server_now, this.now());
      if (!best || sample.rtt < best.rtt) best = sample;
    }
    if (best) {
      this.offset = best.offset;
      this.rtt = best.rtt;
    }
    return best;
  }
}
