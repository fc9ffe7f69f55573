/** limits/overload.ts on a fake timeline: a stall is not an overload; late probes that keep coming are. */
import { describe, expect, it } from 'vitest';
import { LAG_PROBE_MS, OverloadDetector } from '../../src/limits/overload.js';

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
  it('a loop seconds behind, probing late each time it gets to it, is an overload at once', () => {
    const d = new OverloadDetector(100);
    feed(d, [0, 2_000, 2_000]);
    expect(d.overloaded).toBe(true);
  });

  it('one stall of any length (300 ms, 2 s) is not an overload, nor two stalls seconds apart', () => {
    const changes: boolean[] = [];
    const d = new OverloadDetector(100, (o) => changes.push(o));
    let t = feed(d, [0, 0, 300, 0, 0, 0]);
    expect(d.overloaded).toBe(false);
    t = feed(d, new Array(30).fill(0), t);
    feed(d, [2_000, 0, 0], t);
    expect(d.overloaded).toBe(false);
    expect(changes).toEqual([]);
  });

  it('late probes that keep coming are an overload; a second with none late ends it', () => {
    const changes: boolean[] = [];
    const d = new OverloadDetector(100, (o) => changes.push(o));
    let t = feed(d, [150, 150]);
    expect(d.overloaded).toBe(true);
    t = feed(d, [0, 150, 0, 0, 150], t);
    expect(d.overloaded).toBe(true);
    t = feed(d, new Array(10).fill(0), t);
    expect(d.overloaded).toBe(true);
    feed(d, new Array(15).fill(0), t);
    expect(d.overloaded).toBe(false);
    expect(changes).toEqual([true, false]);
  });
});
