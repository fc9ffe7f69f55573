/**
 * Offset estimation with a fake transport and injected clocks: the server's clock runs
 * minutes away from the local one, each sample's two legs take their own time, and the
 * estimate must come from the sample with the smallest round trip.
 */
import { describe, expect, it } from 'vitest';
import { ClockSync, sampleOf } from '../../src/client/clock-sync.js';

/** A simulated link: local time advances by each leg's delay; the server clock = local + skew. */
function link(skew: number, legs: Array<[up: number, down: number]>) {
  let local = 1_000_000;
  let i = 0;
  const now = () => local;
  const send = async (t0: number) => {
    const [up, down] = legs[i++ % legs.length]!;
    local += up;
    const server_now = local + skew;
    local += down;
    return { t0, server_now };
  };
  return { now, send, advance: (ms: number) => (local += ms) };
}

describe('clock sync', () => {
  it('one symmetric sample gives the exact offset', () => {
    expect(sampleOf(100, 5_150, 200)).toEqual({ offset: 5_000, rtt: 100 });
  });

  it('keeps the sample with the smallest round trip, whatever the order', async () => {
    const skew = -3 * 60_000; // the local clock is 3 minutes fast
    const l = link(skew, [
      [120, 5], // slow and lopsided: off by 57 ms
      [40, 40],
      [3, 2], // the fastest: off by 0.5 ms
      [200, 10],
      [10, 30],
    ]);
    const clock = new ClockSync(l.now, 5);
    expect(clock.synced).toBe(false);
    const best = await clock.sync(l.send);
    expect(best!.rtt).toBe(5);
    expect(clock.rtt).toBe(5);
    expect(Math.abs(clock.offset - skew)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(clock.serverNow() - (l.now() + skew))).toBeLessThanOrEqual(0.5);
    expect(clock.synced).toBe(true);
  });

  it('error is at most half the best round trip, even fully one-sided', async () => {
    const skew = 90_000;
    const l = link(skew, [[80, 0], [0, 60], [30, 0]]);
    const clock = new ClockSync(l.now, 3);
    await clock.sync(l.send);
    expect(clock.rtt).toBe(30);
    expect(Math.abs(clock.offset - skew)).toBeLessThanOrEqual(15);
  });

  it('a snapshot server_now is a first estimate only until a sync round', async () => {
    const l = link(10_000, [[1, 1]]);
    const clock = new ClockSync(l.now, 2);
    clock.observe(l.now() + 10_500); // one-way delay unknown: 500 ms off
    expect(clock.offset).toBe(10_500);
    await clock.sync(l.send);
    expect(clock.offset).toBe(10_000);
    clock.observe(l.now() + 99_999);
    expect(clock.offset).toBe(10_000);
  });

  it('a re-sample (reconnect) replaces the estimate; failed samples are skipped', async () => {
    const clock = new ClockSync(() => 0, 3);
    let calls = 0;
    await clock.sync(async (t0) => ({ t0, server_now: 1_000 }));
    expect(clock.offset).toBe(1_000);
    const best = await clock.sync(async (t0) => {
      calls++;
      if (calls === 2) throw new Error('timeout');
      return { t0, server_now: 2_000 };
    });
    expect(calls).toBe(3);
    expect(best).toEqual({ offset: 2_000, rtt: 0 });
    expect(clock.offset).toBe(2_000);
  });

  it('a round superseded by a newer one (a reconnect meanwhile) changes nothing', async () => {
    const clock = new ClockSync(() => 0, 2);
    let release!: () => void;
    const slow = clock.sync(() => new Promise((r) => (release = () => r({ t0: 0, server_now: 111 }))));
    await clock.sync(async (t0) => ({ t0, server_now: 222 }));
    release();
    expect(await slow).toBeNull();
    expect(clock.offset).toBe(222);
  });

  it('all samples failing keeps the previous estimate', async () => {
    const clock = new ClockSync(() => 0, 2);
    clock.observe(500);
    expect(await clock.sync(() => Promise.reject(new Error('down')))).toBeNull();
    expect(clock.offset).toBe(500);
    expect(clock.synced).toBe(false);
  });
});
