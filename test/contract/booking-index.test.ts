/**
 * The BookingIndex contract, run against memory and Redis: atomic check-and-book, the
 * half-open overlap edge, same-room replacement, expiry of ended windows, conditional
 * release, and (Redis) one winner among concurrent overlapping bookings.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BookingIndex } from '../../src/store/booking-index.js';
import { MemoryBookingIndex } from '../../src/store/memory-booking-index.js';
import { RedisBookingIndex } from '../../src/store/redis-booking-index.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';

const NOW = 1_800_000_000_000;
let redis: TestRedis;
let clients: Redis[] = [];
beforeAll(async () => {
  redis = await startRedis();
}, 20_000);
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await redis?.stop();
});

let n = 0;
const kinds: Array<[string, () => BookingIndex]> = [
  ['memory', () => new MemoryBookingIndex()],
  [
    'redis',
    () => {
      const c = new Redis(redis.url);
      clients.push(c);
      return new RedisBookingIndex(c, `bk${n++}:`);
    },
  ],
];

describe.each(kinds)('%s booking index', (_kind, make) => {
  it('books, refuses an overlap with the conflicting entry, allows touching windows', async () => {
    const idx = make();
    expect(await idx.book('sub:a', 'ROOM01', { start: NOW + 1_000, end: NOW + 2_000 }, NOW)).toBeNull();
    expect(await idx.book('sub:a', 'ROOM02', { start: NOW + 1_999, end: NOW + 3_000 }, NOW + 5)).toEqual({ room: 'ROOM01', start: NOW + 1_000, end: NOW + 2_000, at: NOW });
    expect(await idx.book('sub:a', 'ROOM02', { start: NOW + 2_000, end: NOW + 3_000 }, NOW + 5)).toBeNull();
    expect(await idx.book('sub:a', 'ROOM03', { start: NOW, end: NOW + 1_000 }, NOW + 6)).toBeNull();
    // Another identity is independent.
    expect(await idx.book('sub:b', 'ROOM04', { start: NOW, end: NOW + 5_000 }, NOW)).toBeNull();
    expect((await idx.list('sub:a', NOW)).map((e) => e.room)).toEqual(['ROOM03', 'ROOM01', 'ROOM02']);
  });

  it('re-booking the same room replaces its entry; ended windows no longer count', async () => {
    const idx = make();
    await idx.book('sub:a', 'ROOM01', { start: NOW, end: NOW + 1_000 }, NOW);
    expect(await idx.book('sub:a', 'ROOM01', { start: NOW + 500, end: NOW + 4_000 }, NOW + 1)).toBeNull();
    expect(await idx.list('sub:a', NOW)).toEqual([{ room: 'ROOM01', start: NOW + 500, end: NOW + 4_000, at: NOW + 1 }]);
    expect(await idx.book('sub:a', 'ROOM02', { start: NOW + 3_000, end: NOW + 5_000 }, NOW + 4_000)).toBeNull();
    expect((await idx.list('sub:a', NOW + 4_000)).map((e) => e.room)).toEqual(['ROOM02']);
  });

  it('release, and release only if still the entry written at a given time', async () => {
    const idx = make();
    await idx.book('sub:a', 'ROOM01', { start: NOW, end: NOW + 1_000 }, NOW);
    await idx.release('sub:a', 'ROOM01', NOW - 1);
    expect(await idx.list('sub:a', NOW)).toHaveLength(1);
    await idx.release('sub:a', 'ROOM01', NOW);
    expect(await idx.list('sub:a', NOW)).toEqual([]);
    await idx.book('sub:a', 'ROOM01', { start: NOW, end: NOW + 1_000 }, NOW);
    await idx.release('sub:a', 'ROOM01');
    await idx.release('sub:a', 'NOPE99');
    expect(await idx.list('sub:a', NOW)).toEqual([]);
  });

  it('50 concurrent overlapping bookings of one identity: exactly one wins', async () => {
    const idx = make();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => idx.book('sub:race', `RACE${String(i).padStart(2, '0')}`, { start: NOW + i, end: NOW + 10_000 + i }, NOW)),
    );
    expect(results.filter((r) => r === null)).toHaveLength(1);
  });
});

it('redis: two connections (two instances) racing 50 overlapping bookings: exactly one wins', async () => {
  const [c1, c2] = [new Redis(redis.url), new Redis(redis.url)];
  clients.push(c1, c2);
  const pair = [new RedisBookingIndex(c1, 'race:'), new RedisBookingIndex(c2, 'race:')];
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) => pair[i % 2]!.book('sub:race', `RACE${String(i).padStart(2, '0')}`, { start: NOW + i, end: NOW + 10_000 + i }, NOW)),
  );
  expect(results.filter((r) => r === null)).toHaveLength(1);
  expect(await pair[0]!.list('sub:race', NOW)).toHaveLength(1);
});

it('redis: all of an identity sits in one key with an {id:…} hash tag, expiring after its last window', async () => {
  const c = new Redis(redis.url);
  clients.push(c);
  const idx = new RedisBookingIndex(c, 'tag:');
  const now = Date.now();
  await idx.book('sub:zed', 'ROOM01', { start: now + 1_000, end: now + 60_000 }, now);
  expect(await c.keys('tag:*')).toEqual(['tag:{id:sub:zed}:bookings']);
  const ttl = await c.pttl('tag:{id:sub:zed}:bookings');
  expect(ttl).toBeGreaterThan(60_000);
});
