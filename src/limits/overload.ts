/**
 * Sustained overload, told apart from a single stall (docs/reliability.md "Load shedding").
 * A timer every 50 ms measures the event loop's lag. One late probe is a stall — a GC
 * pause, a noisy neighbour, a slow disk — and sheds nothing: the events it held up are
 * read and served when it ends. The loop is *overloaded* only when probes keep coming
 * late (two or more in one second); it stays so until a second passes with none late.
 *
 * While overloaded, events are refused heaviest senders first: a sender (a socket, or a
 * REST caller's address) that sent more than `cut` events in the current second is shed.
 * The cut starts at FIRST_CUT, halves at each further late probe and grows back by one at
 * each probe on time (additive increase, multiplicative decrease, as TCP finds its rate):
 * it settles where the loop keeps up, so a flood is shed from the top and a client sending
 * a few events a second is refused only if even that is more than the loop can serve.
 * The overload ends when a second passes with no late probe and the cut is back up.
 */
import { performance } from 'node:perf_hooks';

/** How often the event-loop lag is sampled. */
export const LAG_PROBE_MS = 50;
/** Late probes within this window make a sustained overload; a window without one ends it. */
export const SUSTAIN_WINDOW_MS = 1_000;
/** Late probes in the window that mean overload, not a stall. */
export const LATE_PROBES_FOR_OVERLOAD = 2;
/** A sender with at most this many events in a second is a light one (its reading is never paused). */
export const LIGHT_SENDER_EVENTS = 4;
/** The cut when an overload begins (events per sender per second), and where it must be back at to end. */
export const FIRST_CUT = 32;
/** The lowest cut: every sender keeps one event a second. */
export const MIN_CUT = 1;

export class OverloadDetector {
  private lagMs = 0;
  private expected = 0;
  private probe: NodeJS.Timeout | null = null;
  /** Times (performance.now) of the recent late probes, oldest first. */
  private readonly late: number[] = [];
  private overloadedSince = 0;
  private cutEvents = Infinity;

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
    this.lagMs = Math.max(0, now - this.expected);
    this.expected = now + LAG_PROBE_MS;
    while (this.late.length > 0 && now - this.late[0]! > SUSTAIN_WINDOW_MS) this.late.shift();
    if (this.lagMs > this.thresholdMs) {
      this.late.push(now);
      if (this.overloadedSince > 0) {
        this.cutEvents = Math.max(MIN_CUT, Math.floor(this.cutEvents / 2));
      } else if (this.late.length >= LATE_PROBES_FOR_OVERLOAD) {
        this.overloadedSince = now;
        this.cutEvents = FIRST_CUT;
        this.onChange(true);
      }
    } else if (this.overloadedSince > 0) {
      this.cutEvents += 1;
      if (this.late.length === 0 && this.cutEvents >= FIRST_CUT) {
        this.overloadedSince = 0;
        this.cutEvents = Infinity;
        this.onChange(false);
      }
    }
  }

  /** The last measured event-loop lag (ms). */
  get lag(): number {
    return this.probe ? Math.max(this.lagMs, performance.now() - this.expected) : this.lagMs;
  }

  /** Events per sender per second above which a sender is shed now (Infinity when not overloaded). */
  get cut(): number {
    return this.cutEvents;
  }

  get overloaded(): boolean {
    return this.overloadedSince > 0;
  }

  /** Whether a sender that has sent `senderEvents` this second (this one included) is shed now. */
  sheds(senderEvents: number): boolean {
    return this.overloadedSince > 0 && senderEvents > this.cutEvents;
  }
}
