/**
 * The memory outbox with many entries held or acknowledged (a Web Push burst): reads skip
 * held entries without walking them again, acknowledgements are swept lazily, and what a
 * reader sees (order, depth, trimming) is as before.
 */
import { describe, expect, it } from 'vitest';
import type { OutboxEntry } from '../../src/domain/outbox-entries.js';
import { MemoryOutbox } from '../../src/store/memory-outbox.js';

const entry = (i: number): OutboxEntry => ({ id: `e${i}`, type: 'session.started', at: i, data: { room_id: `r${i}`, room_code: `C${i}`, round: 1 } }) as unknown as OutboxEntry;

async function outboxWith(n: number, max = 100_000): Promise<MemoryOutbox> {
  const o = new MemoryOutbox(max);
  o.addGroup('g', new Set(['session.started']));
  o.append(Array.from({ length: n }, (_, i) => entry(i)));
  return o;
}
const ids = (ms: { entry: OutboxEntry }[]) => ms.map((m) => m.entry.id);

describe('memory outbox: held and acknowledged entries', () => {
  it('a read skips held entries, oldest first; released ones come back in their place', async () => {
    const o = await outboxWith(5_000);
    const first = await o.read('g', 2_000, 0);
    expect(ids(first)).toEqual(Array.from({ length: 2_000 }, (_, i) => `e${i}`));
    o.hold('g', first.map((m) => m.id));
    expect(ids(await o.read('g', 3, 0))).toEqual(['e2000', 'e2001', 'e2002']);
    o.release('g', [first[5]!.id]);
    expect(ids(await o.read('g', 2, 0))).toEqual(['e5', 'e2000']);
    expect((await o.stats('g')).depth).toBe(5_000);
  });

  it('acknowledged entries leave the reads and the depth at once, and are swept later', async () => {
    const o = await outboxWith(5_000);
    const first = await o.read('g', 3_000, 0);
    o.hold('g', first.map((m) => m.id));
    await o.ack('g', first.slice(0, 1_000).map((m) => m.id)); // under the sweep threshold
    expect((await o.stats('g')).depth).toBe(4_000);
    expect(ids(await o.read('g', 1, 0))).toEqual(['e3000']);
    o.release('g', first.slice(1_000, 1_001).map((m) => m.id));
    expect(ids(await o.read('g', 1, 0))).toEqual(['e1000']);
    await o.ack('g', first.slice(1_000).map((m) => m.id)); // 3,000 of 5,000: swept
    expect((await o.stats('g')).depth).toBe(2_000);
    expect(ids(await o.read('g', 2, 0))).toEqual(['e3000', 'e3001']);
    expect((await o.stats('g')).oldestAgeMs).toBeGreaterThanOrEqual(0);
  });

  it('trimming counts only queued entries and drops the oldest queued ones', async () => {
    const o = await outboxWith(10, 10);
    const first = await o.read('g', 4, 0);
    await o.ack('g', first.map((m) => m.id));
    o.append([entry(10), entry(11), entry(12), entry(13), entry(14)]);
    // 6 queued + 5 new = 11 > 10: one dropped, the oldest queued (e4); the acknowledged ones do not count.
    const all = await o.read('g', 100, 0);
    expect(ids(all)).toEqual(['e5', 'e6', 'e7', 'e8', 'e9', 'e10', 'e11', 'e12', 'e13', 'e14']);
    expect(o.dropped('g')).toBe(1);
    expect((await o.stats('g')).depth).toBe(10);
  });

  it('a deferred entry at the head is not skipped for good', async () => {
    const o = await outboxWith(3);
    const [a, b] = await o.read('g', 2, 0);
    o.hold('g', [a!.id]);
    o.defer('g', [b!.id], Date.now() + 30);
    expect(ids(await o.read('g', 5, 0))).toEqual(['e2']);
    await new Promise((r) => setTimeout(r, 40));
    expect(ids(await o.read('g', 5, 0))).toEqual(['e1', 'e2']);
  });
});
