/** Time is injected so timer rules can be tested to the millisecond without sleeping. */
export interface Clock {
  now(): number;
}

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private t = 1_700_000_000_000) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }
  set(t: number): void {
    this.t = t;
  }
}

/** A jump of the wall clock against the monotonic clock, seen by SteadyClock.check(). */
export interface ClockStep {
  /** How far the wall clock jumped (positive = forward), ms. */
  stepMs: number;
  /** Wall clock minus the steady clock right after the jump, ms. */
  offsetMs: number;
}

/**
 * A jump between two checks larger than this is a step (a settime, an NTP step, a VM
 * resumed), not drift: NTP slews at most 0.5 ms per second.
 */
export const CLOCK_STEP_THRESHOLD_MS = 1_000;
/**
 * How fast the steady clock absorbs a gap to the wall clock: at most 1% faster or
 * slower than real time. A step of 10 minutes is absorbed over ~17 hours, 30 s over
 * 50 minutes, during which a 60 s grace lasts 59.4–60.6 s: nothing expires at once.
 */
export const CLOCK_SLEW_RATE = 0.01;

/**
 * Epoch milliseconds that advance with the monotonic clock (performance.now), so
 * timers, graces and room expiry measure real durations even when the wall clock is
 * stepped; the wire keeps epoch ms. It starts on the wall clock and follows it: small
 * drift is corrected within one check, and a step is not followed at once but absorbed
 * at CLOCK_SLEW_RATE (never going backwards), after being reported to `onStep`.
 *
 * `wall` and `mono` are injected: tests step a fake wall clock while the monotonic one
 * runs (integration) or move both by hand (unit).
 */
export class SteadyClock implements Clock {
  /** steady = mono + base + correction(mono) */
  private readonly base: number;
  /** The correction at `since`, and the one it slews towards. */
  private correction = 0;
  private target = 0;
  private since: number;
  private lastOffset = 0;

  constructor(
    private readonly wall: () => number = () => Date.now(),
    private readonly mono: () => number = () => performance.now(),
    private readonly onStep: (step: ClockStep) => void = () => undefined,
  ) {
    this.since = this.mono();
    this.base = this.wall() - this.since;
  }

  now(): number {
    const m = this.mono();
    return Math.floor(m + this.base + this.correctionAt(m));
  }

  /** Wall clock minus steady clock now (ms): non-zero while a step is being absorbed. */
  offset(): number {
    return this.wall() - this.now();
  }

  /** Reads the wall clock; call it every second or so (app.ts does). Returns a step or null. */
  check(): ClockStep | null {
    const m = this.mono();
    const w = this.wall();
    this.correction = this.correctionAt(m);
    this.since = m;
    // Where the correction must go for steady to equal wall.
    this.target = w - m - this.base;
    const offset = w - Math.floor(m + this.base + this.correction);
    const stepMs = offset - this.lastOffset;
    this.lastOffset = offset;
    if (Math.abs(stepMs) <= CLOCK_STEP_THRESHOLD_MS) return null;
    const step = { stepMs, offsetMs: offset };
    this.onStep(step);
    return step;
  }

  private correctionAt(m: number): number {
    const gap = this.target - this.correction;
    const reach = CLOCK_SLEW_RATE * (m - this.since);
    return this.correction + Math.max(-reach, Math.min(reach, gap));
  }
}
