/**
 * Flood control in front of the dispatcher (docs/reliability.md "Load and abuse", Floods): besides the
 * per-socket budget (rate-limits.ts), events are counted per client address and for the
 * whole instance, and refused outright while the event loop lags, so a flood of
 * individually legal events cannot make every room's ticks late.
 *
 * Synchronous and allocation-free on purpose: it runs for every incoming event before
 * anything is queued, and under a flood it is most of what the server does. Counting is
 * per instance (a socket lives on one instance; a load balancer spreading one address
 * over N instances gives it N× the address budget, which is still bounded).
 */
import { performance } from 'node:perf_hooks';
import type { Config } from '../config.js';

/** How often the event-loop lag is sampled. */
const LAG_PROBE_MS = 50;
/** Refusals answered per socket per second; beyond this a refused event is dropped without a reply. */
export const REFUSAL_REPLIES_PER_SEC = 2;

export type ShedReason = 'address' | 'instance' | 'lag';

export class EventBudget {
  private windowStart = 0;
  private instanceCount = 0;
  private readonly addressCounts = new Map<string, number>();
  private readonly refusals = new WeakMap<object, { windowStart: number; count: number }>();
  private lagMs = 0;
  private expected = 0;
  private probe: NodeJS.Timeout | null = null;

  constructor(private readonly config: Config) {}

  /** Starts the lag probe: a timer whose lateness is the event loop's lag. */
  start(): void {
    this.expected = performance.now() + LAG_PROBE_MS;
    this.probe = setInterval(() => {
      const now = performance.now();
      this.lagMs = Math.max(0, now - this.expected);
      this.expected = now + LAG_PROBE_MS;
    }, LAG_PROBE_MS);
    this.probe.unref();
  }

  stop(): void {
    if (this.probe) clearInterval(this.probe);
    this.probe = null;
  }

  /** The last measured event-loop lag (ms). */
  get lag(): number {
    // A probe that has not fired for a long time is itself the lag.
    return this.probe ? Math.max(this.lagMs, performance.now() - this.expected) : 0;
  }

  /** Takes one event from `address`'s and the instance's budget; the reason when refused. */
  take(address: string): ShedReason | null {
    if (this.lag > this.config.transport.lagShedMs) return 'lag';
    const now = performance.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.instanceCount = 0;
      this.addressCounts.clear();
    }
    const limits = this.config.rateLimits;
    if (this.instanceCount >= limits.instanceEventsPerSec) return 'instance';
    const n = this.addressCounts.get(address) ?? 0;
    if (n >= limits.addressEventsPerSec) return 'address';
    this.addressCounts.set(address, n + 1);
    this.instanceCount += 1;
    return null;
  }

  /** Whether a refusal to `socket` still gets an answer (bounded per socket per second). */
  answerRefusal(socket: object): boolean {
    const now = performance.now();
    let r = this.refusals.get(socket);
    if (!r || now - r.windowStart >= 1000) {
      r = { windowStart: now, count: 0 };
      this.refusals.set(socket, r);
    }
    r.count += 1;
    return r.count <= REFUSAL_REPLIES_PER_SEC;
  }
}
