/**
 * Load shedding that tells a stall from an overload (docs/reliability.md "Load shedding").
 * A timer every 50 ms measures the event loop's lag. While the loop lags more than the
 * threshold (the probe late, or overdue: a loop deep in a backlog cannot run it):
 *
 * - a *heavy* sender (a socket, or a REST caller's address, past LIGHT_SENDER_EVENTS
 *   this second) is shed at once: the heaviest go first;
 * - a *light* one only when the lag is sustained — two late probes with less than a
 *   second between the end of the first's lag and the second; it stays so until a second
 *   passes with none late — or a backlog (more than BACKLOG_EVENTS read since the probe
 *   last ran).
 *
 * A stall — a GC pause, a noisy neighbour, a slow disk — is one long callback after
 * which only the few events it held up are read: it refuses no light client.
 */
import { performance } from 'node:perf_hooks';

/** How often the event-loop lag is sampled. */
export const LAG_PROBE_MS = 50;
/** Two late probes with less recovery than this between them are a sustained overload; this long with none ends it. */
export const SUSTAIN_WINDOW_MS = 1_000;
/** A sender with at most this many events in a second is a light one: shed only when the lag is sustained, never paused for a budget. */
export const LIGHT_SENDER_EVENTS = 4;
/** Events (cost units) read since the probe last ran, with the loop lagging, that make a backlog (not a stall). */
export const BACKLOG_EVENTS = 200;

export class OverloadDetector {
  private lagMs = 0;
  private expected = 0;
  private probe: NodeJS.Timeout | null = null;
  /** When the last late probe fired (performance.now; 0 = none yet). */
  private lastLateAt = 0;
  private overloadedSince = 0;
  /** Events (cost units) taken since the probe last ran. */
  private sinceProbe = 0;

  constructor(
    private readonly thresholdMs: number,
    /** Called with each overload's start and end (metrics, logs). */
    private readonly onChange: (overloaded: boolean) => void = () => {},
  ) {}

  start(): void {
    this.expected = performance.now() + LAG_PROBE_MS;
    this.probe = setInterval(() => this.sample(performance.now()), LAG_PROBE_MS);
    this.probe.unref();
  }

  stop(): void {
    if (this.probe) clearInterval(this.probe);
    this.probe = null;
  }

  /** One probe, at `now` (exposed for unit tests, which feed it a fake timeline). */
  sample(now: number): void {
    const lag = Math.max(0, now - this.expected);
    this.lagMs = lag;
    this.sinceProbe = 0;
    this.expected = now + LAG_PROBE_MS;
    if (lag > this.thresholdMs) {
      // The time the loop had to recover since the last late probe: not the lag itself
      // (a loop busy with a backlog fires its probe late each time, however far apart).
      const sustained = this.lastLateAt > 0 && now - lag - this.lastLateAt <= SUSTAIN_WINDOW_MS;
      this.lastLateAt = now;
      if (sustained && this.overloadedSince === 0) {
        this.overloadedSince = now;
        this.onChange(true);
      }
    } else if (this.overloadedSince > 0 && now - this.lastLateAt > SUSTAIN_WINDOW_MS) {
      this.overloadedSince = 0;
      this.onChange(false);
    }
  }

  /** The last measured event-loop lag (ms); an overdue probe is itself the lag. */
  get lag(): number {
    return this.probe ? Math.max(this.lagMs, performance.now() - this.expected) : this.lagMs;
  }

  get overloaded(): boolean {
    return this.overloadedSince > 0;
  }

  /**
   * Whether a sender that has sent `senderEvents` this second (this one included, `cost`
   * of them now) is shed now: only while the loop lags; a heavy sender at once, a light
   * one only when the lag is sustained or a backlog, never after a stall.
   */
  sheds(senderEvents: number, cost = 1): boolean {
    this.sinceProbe += cost;
    if (this.lag <= this.thresholdMs) return false;
    if (senderEvents > LIGHT_SENDER_EVENTS) return true;
    return this.overloadedSince > 0 || this.sinceProbe > BACKLOG_EVENTS;
  }
}
