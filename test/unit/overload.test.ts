/** limits/overload.ts on a fake timeline: a stall is not an overload; late probes that keep coming are, heaviest first. */
import { describe, expect, it } from 'vitest';
import { FIRST_CUT, LAG_PROBE_MS, MIN_CUT, OverloadDetector } from '../../src/limits/overload.js';

/** Feeds probes: each entry is how late that probe fires (ms). */
function feed(d: OverloadDetector, lateness: number[], start = 0): number {
  let t = start;
  for (const late of lateness) {
    t += LAG_PROBE_MS + late;
    d.sample(t);
  }
  return t;
}

describe('OverloadDetector', () => {
  it('a loop seconds behind, probing late each time it gets to it, is an overload at once, cut to the floor', () => {
    const d = new OverloadDetector(100);
    feed(d, [0, 2_000, 2_000]);
    expect(d.overloaded).toBe(true);
    expect(d.cut).toBe(MIN_CUT);
  });

  it('one stall of any length (300 ms, 2 s) is not an overload, nor two stalls seconds apart', () => {
    const changes: boolean[] = [];
    const d = new OverloadDetector(100, (o) => changes.push(o));
    let t = feed(d, [0, 0, 300, 0, 0, 0]);
    expect(d.overloaded).toBe(false);
    t = feed(d, new Array(30).fill(0), t);
    feed(d, [2_000, 0, 0], t);
    expect(d.overloaded).toBe(false);
    expect(d.sheds(1_000)).toBe(false);
    expect(changes).toEqual([]);
  });

  it('late probes that keep coming are an overload: the heaviest are shed first, the cut settles where the loop keeps up', () => {
    const changes: boolean[] = [];
    const d = new OverloadDetector(100, (o) => changes.push(o));
    let t = feed(d, [150, 150]);
    expect(d.overloaded).toBe(true);
    // Entering with 150 ms of lag (two thresholds): one halving from FIRST_CUT.
    expect(d.cut).toBe(FIRST_CUT / 2);
    expect(d.sheds(FIRST_CUT / 2 + 1)).toBe(true);
    expect(d.sheds(10)).toBe(false);
    // Each further late probe halves the cut once per threshold of lag (150 ms: twice; 16 → 4), down to MIN_CUT at most.
    t = feed(d, [150], t);
    expect(d.cut).toBe(4);
    expect(d.sheds(5)).toBe(true);
    expect(d.sheds(2)).toBe(false);
    t = feed(d, new Array(10).fill(150), t);
    expect(d.cut).toBe(MIN_CUT);
    // Once the loop has kept up for a second, probes on time raise it by one each; it is
    // over when the cut is back at FIRST_CUT.
    t = feed(d, new Array(10).fill(0), t);
    expect(d.cut).toBe(MIN_CUT);
    t = feed(d, new Array(20).fill(0), t);
    expect(d.cut).toBeGreaterThan(MIN_CUT);
    expect(d.overloaded).toBe(true);
    feed(d, new Array(40).fill(0), t);
    expect(d.overloaded).toBe(false);
    expect(d.sheds(1_000)).toBe(false);
    expect(changes).toEqual([true, false]);
  });
});
