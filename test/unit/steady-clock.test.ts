/**
 * Wall-clock steps, unit level: SteadyClock on a hand-moved wall clock
 * and a hand-moved monotonic clock. Forward 10 min, forward 3 h and backward 30 s of the
 * wall clock are reported as steps (with their size), do not move the steady clock at
 * once (no grace or room expires at the step), keep it monotonic, and are absorbed at
 * CLOCK_SLEW_RATE (1%) of real time; drift below CLOCK_STEP_THRESHOLD_MS is followed,
 * not reported. The same steps against a live server: test/integration/clock-steps.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { CLOCK_SLEW_RATE, CLOCK_STEP_THRESHOLD_MS, type ClockStep, SteadyClock } from '../../src/domain/clock.js';
import { runDue } from '../../src/domain/deadlines.js';
import { disconnect } from '../../src/domain/membership.js';
import { hostedRoom, ok, T0, withJoined } from './fixtures.js';

function rig() {
  let wall = T0;
  let mono = 5_000.25; // performance.now() is fractional and starts near 0
  const steps: ClockStep[] = [];
  const clock = new SteadyClock(
    () => wall,
    () => mono,
    (s) => steps.push(s),
  );
  return {
    clock,
    steps,
    /** Real time passes: both clocks move. */
    pass(ms: number) {
      wall += ms;
      mono += ms;
    },
    /** The wall clock is stepped (settime, NTP step): only it moves. */
    step(ms: number) {
      wall += ms;
    },
    get wall() {
      return wall;
    },
  };
}

const GRACE = 60_000;
const TTL = 2 * 3600_000;

describe('SteadyClock', () => {
  it('starts on the wall clock, in whole epoch ms, and follows it while nothing steps', () => {
    const r = rig();
    expect(r.clock.now()).toBe(T0);
    r.pass(1_234.5);
    expect(r.clock.now()).toBe(Math.floor(T0 + 1_234.5));
    expect(Number.isInteger(r.clock.now())).toBe(true);
    expect(r.clock.check()).toBeNull();
    expect(r.steps).toEqual([]);
  });

  for (const [label, stepMs] of [
    ['forward 10 min', 10 * 60_000],
    ['forward 3 h', 3 * 3600_000],
    ['backward 30 s', -30_000],
  ] as const) {
    it(`${label}: reported once, steady time does not jump, a 60 s grace and a 2 h room neither expire at the step nor survive their real duration by more than 1%`, () => {
      const r = rig();
      // A room with a guest who dropped just now, and a countdown of 60 s.
      const room = ok(disconnect(withJoined(hostedRoom({ grace_ms: GRACE, ttl_ms: TTL, now: r.clock.now() }), [['g', r.clock.now()]]), 'g', 'sock-g', r.clock.now()));
      const before = r.clock.now();
      r.step(stepMs);
      expect(r.clock.now()).toBe(before); // nothing moves at the step itself
      const step = r.clock.check();
      expect(step).toMatchObject({ stepMs, offsetMs: stepMs });
      expect(r.steps).toHaveLength(1);
      expect(r.clock.check()).toBeNull(); // reported once
      // At the step and just before the grace ends (in real time, minus the 1% slew): nothing is due.
      expect(runDue(room, r.clock.now()).changed).toBe(false);
      r.pass(GRACE * (1 - CLOCK_SLEW_RATE) - 10);
      r.clock.check();
      expect(runDue(room, r.clock.now()).changed).toBe(false);
      // Within 1% after the real grace: the guest times out, the room stays.
      r.pass(GRACE * 2 * CLOCK_SLEW_RATE + 20);
      r.clock.check();
      const due = runDue(room, r.clock.now());
      expect(due.changed).toBe(true);
      expect(due.room?.participants.map((p) => p.id)).toEqual(['h']);
      expect(due.events.map((e) => e.event)).toContain('participant_left');
      expect(due.events.map((e) => e.event)).not.toContain('room_closed');
    });
  }

  it('is monotonic through a backward step, and runs at least 99% of real speed while absorbing it', () => {
    const r = rig();
    r.pass(10_000);
    r.step(-30_000);
    let last = r.clock.now();
    for (let i = 0; i < 100; i++) {
      r.pass(1_000);
      if (i % 3 === 0) r.clock.check();
      const now = r.clock.now();
      expect(now - last).toBeGreaterThanOrEqual(1_000 * (1 - CLOCK_SLEW_RATE) - 1);
      expect(now - last).toBeLessThanOrEqual(1_000);
      last = now;
    }
  });

  it(`absorbs a 30 s backward step in ${30_000 / CLOCK_SLEW_RATE / 60_000} minutes of real time, then follows the wall clock exactly`, () => {
    const r = rig();
    r.step(-30_000);
    r.clock.check();
    const absorb = 30_000 / CLOCK_SLEW_RATE;
    for (let t = 0; t < absorb * 0.9; t += 1_000) {
      r.pass(1_000);
      r.clock.check();
    }
    expect(r.clock.offset()).toBeLessThan(-2_000); // still absorbing at 90%
    for (let t = 0; t < absorb * 0.2; t += 1_000) {
      r.pass(1_000);
      r.clock.check();
    }
    expect(Math.abs(r.clock.offset())).toBeLessThanOrEqual(1);
    expect(r.clock.now()).toBe(Math.floor(r.wall));
  });

  it(`drift up to ${CLOCK_STEP_THRESHOLD_MS} ms between checks is followed, not reported`, () => {
    const r = rig();
    r.pass(1_000);
    r.step(CLOCK_STEP_THRESHOLD_MS);
    expect(r.clock.check()).toBeNull();
    r.pass(CLOCK_STEP_THRESHOLD_MS / CLOCK_SLEW_RATE + 1_000);
    r.clock.check();
    expect(r.clock.offset()).toBe(0);
    expect(r.steps).toEqual([]);
  });
});
