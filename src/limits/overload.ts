/**
 * Sustained overload, told apart from a single stall (docs/reliability.md "Load shedding").
 * A timer every 50 ms measures the event loop's lag. One late probe is a stall — a GC
 * pause, a noisy neighbour, a slow disk — and sheds nothing: the events it held up are
 * read and served when it ends. The loop is *overloaded* only when probes keep coming
 * late: two late probes with less than a second between the end of the first's lag and
 * the second (a loop busy with a backlog fires its probe late each time it gets to it,
 * however far apart that is); it stays so until a second passes with none late.
 *
 * While overloaded, events are refused heaviest senders first: a sender (a socket, or a
 * REST caller's address) that sent more than `cut` events in the current second is shed.
 * The cut starts at FIRST_CUT, halves at each further late probe — once for every
 * threshold's worth of lag, so a loop seconds behind cuts to the floor at once — and,
 * once a second has passed without one, grows back by one at each probe on time (additive increase, multiplicative decrease, as TCP finds its rate):
 * it settles where the loop keeps up, so a flood is shed from the top and a client sending
 * a few events a second is refused only if even that is more than the loop can serve.
 * The overload ends when a second passes with no late probe and the cut is back up.
 *
 * Outside a sustained overload, any lag over the threshold (the probe late, or overdue:
 * a loop deep in a backlog cannot run it) sheds the heavy senders — those past
 * LIGHT_SENDER_EVENTS this second — at once, and everyone once more than BACKLOG_EVENTS
 * were read since the probe last ran (a backlog); after a stall only the few events it
 * held up are read, so it refuses no light client.
 */
import { performance } from 'node:perf_hooks';

/** How often the event-loop lag is sampled. */
export const LAG_PROBE_MS = 50;
/** Late probes within this window make a sustained overload; a window without one ends it. */
export const SUSTAIN_WINDOW_MS = 1_000;
/** A sender with at most this many events in a second is a light one: shed only under sustained overload, never paused for a budget. */
export const LIGHT_SENDER_EVENTS = 4;
/** Events (cost units) read since the probe last ran, with the loop lagging, that make a backlog (not a stall). */
export const BACKLOG_EVENTS = 200;
/** The cut when an overload begins (events per sender per second), and where it must be back at to end. */
export const FIRST_CUT = 32;
/** The lowest cut: every sender keeps one event a second. */
export const MIN_CUT = 1;

export class OverloadDetector {
  private lagMs = 0;
  private expected = 0;
  private probe: NodeJS.Timeout | null = null;
  /** When the last late probe fired (performance.now; 0 = none yet). */
  private lastLateAt = 0;
  private overloadedSince = 0;
  /** Events (cost units) taken since the probe last ran. */
  private sinceProbe = 0;
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
    const lag = Math.max(0, now - this.expected);
    this.lagMs = lag;
    this.sinceProbe = 0;
    this.expected = now + LAG_PROBE_MS;
    if (lag > this.thresholdMs) {
      // The time the loop had to recover since the last late probe: not the lag itself.
      const sustained = this.lastLateAt > 0 && now - lag - this.lastLateAt <= SUSTAIN_WINDOW_MS;
      this.lastLateAt = now;
      const halvings = Math.min(30, Math.ceil(lag / this.thresholdMs));
      if (this.overloadedSince > 0) {
        this.cutEvents = Math.max(MIN_CUT, Math.floor(this.cutEvents / 2 ** halvings));
      } else if (sustained) {
        this.overloadedSince = now;
        this.cutEvents = Math.max(MIN_CUT, Math.floor(FIRST_CUT / 2 ** (halvings - 1)));
        this.onChange(true);
      }
    } else if (this.overloadedSince > 0 && now - this.lastLateAt > SUSTAIN_WINDOW_MS) {
      // Grows back only once the loop has kept up for a second: no see-saw at the edge.
      this.cutEvents += 1;
      if (this.cutEvents >= FIRST_CUT) {
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
  sheds(senderEvents: number, cost = 1): boolean {
    this.sinceProbe += cost;
    if (this.overloadedSince > 0) return senderEvents > this.cutEvents;
    if (this.lag <= this.thresholdMs) return false;
    // Lag, not yet known to be sustained: the heavy senders go; the light ones too only
    // in a backlog (many events read while the probe could not run), never after a stall.
    return senderEvents > LIGHT_SENDER_EVENTS || this.sinceProbe > BACKLOG_EVENTS;
  }
}
