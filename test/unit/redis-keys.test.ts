/**
 * The key layout: the standalone names focusroom always used (an upgrade finds its
 * rooms), and on Redis Cluster hash-tag partitions whose slots are evenly spaced, with
 * every key a room's writes touch in its partition's slot.
 */
import keySlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { balancedTags, RedisKeys, SLOTS } from '../../src/redis/redis-keys.js';

describe('RedisKeys', () => {
  it('standalone: the names of before partitions', () => {
    const k = new RedisKeys({ prefix: 'fr:' });
    expect(k.clustered).toBe(false);
    expect([k.room('ABC123'), k.events('ABC123'), k.due(0), k.status(0), k.outbox(0), k.seats(0, 'i1'), k.instances, k.reaped('i1')]).toEqual([
      'fr:room:ABC123',
      'fr:events:{ABC123}',
      'fr:due',
      'fr:status',
      'fr:outbox',
      'fr:seats:i1',
      'fr:instances',
      'fr:reaped:i1',
    ]);
    expect(k.roomPrefix(0) + 'ABC123').toBe(k.room('ABC123'));
  });

  it('cluster: a room, its history and its partition indexes share one slot', () => {
    const k = new RedisKeys({ prefix: 'fr:', partitions: 32 });
    for (const code of ['ABC123', 'ZZZZZZ', 'K7M2PQ', '000001']) {
      const p = k.partitionOf(code);
      const slots = [k.room(code), k.events(code), k.due(p), k.status(p), k.outbox(p), k.seats(p, 'inst'), k.roomPrefix(p) + code].map(keySlot);
      expect(new Set(slots).size).toBe(1);
    }
    // The registry's two keys, read by one script, share a slot too.
    expect(keySlot(k.instances)).toBe(keySlot(k.reaped('x')));
  });

  it.each([3, 16, 32, 100, 1024])('%i tags: one in each of the equal slot ranges, all distinct', (n) => {
    const tags = balancedTags(n);
    expect(new Set(tags).size).toBe(n);
    tags.forEach((t, i) => {
      const slot = keySlot(t);
      expect(slot).toBeGreaterThanOrEqual(Math.floor((i * SLOTS) / n));
      expect(slot).toBeLessThan(Math.floor(((i + 1) * SLOTS) / n));
    });
  });

  it('spreads over three masters with the default slot ranges 11/10/11, where {0}…{31} would skew', () => {
    const masterOf = (slot: number) => (slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2);
    const count = (slots: number[]) => [0, 1, 2].map((m) => slots.filter((s) => masterOf(s) === m).length);
    expect(count(balancedTags(32).map(keySlot))).toEqual([11, 10, 11]);
    const naive = count(Array.from({ length: 32 }, (_, i) => keySlot(`{${i}}`)));
    expect(Math.max(...naive) - Math.min(...naive)).toBeGreaterThan(1);
  });

  it('rooms spread evenly over the partitions', () => {
    const k = new RedisKeys({ partitions: 32 });
    const counts = new Array(32).fill(0);
    const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
    for (let i = 0; i < 32_000; i++) {
      let code = '';
      for (let j = 0, x = i * 2654435761; j < 6; j++, x = Math.floor(x / 32)) code += alphabet[x % 32];
      counts[k.partitionOf(code)]++;
    }
    expect(Math.max(...counts) / Math.min(...counts)).toBeLessThan(1.3);
  });
});
