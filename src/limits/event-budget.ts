/**
 * Flood control in front of the dispatcher (docs/reliability.md "Load and abuse", Floods): besides the
 * per-socket budget (rate-limits.ts), events are counted per client address and for the
 * whole instance, and — only under sustained overload (limits/overload.ts) — the heaviest
 * senders' events are refused, so a flood of individually legal events cannot make every
 * room's ticks late, while a single stall refuses no one.
 *
 * Synchronous and cheap on purpose: it runs for every incoming event before anything is
 * queued, and under a flood it is most of what the server does. Counting is per instance
 * (a socket lives on one instance; a load balancer spreading one address over N instances
 * gives it N× the address budget, which is still bounded).
 */
import { performance } from 'node:perf_hooks';
import type { Config } from '../config.js';
import { LIGHT_SENDER_EVENTS, OverloadDetector } from './overload.js';

/** Refusals answered per socket per second; beyond this a refused event is dropped without a reply. */
export const REFUSAL_REPLIES_PER_SEC = 2;

export type ShedReason = 'address' | 'instance' | 'lag';

export class EventBudget {
  private windowStart = 0;
  private instanceCount = 0;
  private readonly addressCounts = new Map<string, number>();
  /** Events (cost units) per sender — a socket, or a REST caller's seat — in the current second. */
  private readonly senderCounts = new Map<unknown, number>();
  private readonly refusals = new WeakMap<object, { windowStart: number; count: number }>();
  readonly overload: OverloadDetector;

  constructor(
    private readonly config: Config,
    onOverload?: (overloaded: boolean) => void,
  ) {
    this.overload = new OverloadDetector(config.transport.lagShedMs, onOverload);
  }

  /** Starts the lag probe. */
  start(): void {
    this.overload.start();
  }

  stop(): void {
    this.overload.stop();
  }

  /** The last measured event-loop lag (ms). */
  get lag(): number {
    return this.overload.lag;
  }

  /**
   * Takes `cost` events (a costly read counts as several) from `sender`'s, `address`'s and
   * the instance's budget; the reason when refused (nothing is taken then).
   */
  take(address: string, sender: unknown = address, cost = 1): ShedReason | null {
    const now = performance.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.instanceCount = 0;
      this.addressCounts.clear();
      this.senderCounts.clear();
    }
    const sent = (this.senderCounts.get(sender) ?? 0) + cost;
    this.senderCounts.set(sender, sent);
    if (this.overload.sheds(sent, cost)) return 'lag';
    const limits = this.config.rateLimits;
    if (this.instanceCount + cost > limits.instanceEventsPerSec) return 'instance';
    const n = this.addressCounts.get(address) ?? 0;
    if (n + cost > limits.addressEventsPerSec) return 'address';
    this.addressCounts.set(address, n + cost);
    this.instanceCount += cost;
    return null;
  }

  /**
   * Whether `sender` sends more than a well-behaved client this second: only such a
   * sender's connection is paused after a refusal (a light one is read on time).
   */
  isHeavy(sender: unknown): boolean {
    return (this.senderCounts.get(sender) ?? 0) > LIGHT_SENDER_EVENTS;
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
