/**
 * The BookingIndex contract, run against memory and Redis (one redis-server, a Redis
 * Cluster, a Sentinel set, each started once for its block): atomic check-and-book, the
 * half-open overlap edge, same-room replacement, expiry of ended windows, conditional
 * release, and (Redis) one winner among concurrent overlapping bookings.
 */
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BookingIndex } from '../../src/store/booking-index.js';
import { MemoryBookingIndex } from '../../src/store/memory-booking-index.js';
import { RedisBookingIndex } from '../../src/store/redis-booking-index.js';
import type { RedisClient } from '../../src/redis/redis-keys.js';
import { startRedisCluster } from '../helpers/redis-cluster.js';
import { startSentinelSet } from '../helpers/redis-sentinel.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';

const NOW = 1_800_000_000_000;
let redis: TestRedis;
const clients: RedisClient[] = [];
beforeAll(async () => {
  redis = await startRedis();
}, 20_000);
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await redis?.stop();
});

/** A Redis topology: `open()` is one more connection (one more instance) to it; started in the describe block's beforeAll. */
interface Topology {
  start(): Promise<void>;
  stop(): Promise<void>;
  open(): RedisClient;
}

const ready = async <C extends RedisClient>(c: C): Promise<C> => {
  c.on('error', () => {});
  clients.push(c);
  if (c.status !== 'ready') await new Promise((resolve) => c.once('ready', resolve));
  return c;
};

function topology(kind: 'standalone' | 'cluster' | 'sentinel'): Topology {
  let open: () => RedisClient = () => new Redis(redis.url);
  let stop = async () => {};
  return {
    async start() {
      if (kind === 'cluster') {
        const cluster = await startRedisCluster();
        stop = () => cluster.stop();
        open = () => new Cluster(cluster.seedNodes, { scaleReads: 'master' });
      } else if (kind === 'sentinel') {
        const set = await startSentinelSet();
        stop = () => set.stop();
        open = () => new Redis({ sentinels: [...set.sentinels], name: set.name });
      }
    },
    stop: () => stop(),
    open: () => open(),
  };
}

let n = 0;
type Kind = [string, Topology | null];
const kinds: Kind[] = [
  ['memory', null],
  ['redis', topology('standalone')],
  ['redis-cluster', topology('cluster')],
  ['redis-sentinel', topology('sentinel')],
];

describe.each(kinds)('%s booking index', (_kind, redisTopology) => {
  let conn: RedisClient | null = null;
  beforeAll(async () => {
    if (!redisTopology) return;
    await redisTopology.start();
    conn = await ready(redisTopology.open());
  }, 60_000);
  afterAll(() => redisTopology?.stop());
  const make = (): BookingIndex => (conn ? new RedisBookingIndex(conn, `bk${n++}:`) : new MemoryBookingIndex());

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

  it('bookMany: all or none, naming the first wanted room that clashes (a series)', async () => {
    const idx = make();
    await idx.book('sub:s', 'OTHER1', { start: NOW + 5_000, end: NOW + 6_000 }, NOW);
    const wanted = [0, 1, 2, 3].map((i) => ({ room: `OCC00${i}`, window: { start: NOW + i * 2_000, end: NOW + i * 2_000 + 1_000 } }));
    // OCC002 [4000, 5000) touches OTHER1; OCC003 [6000, 7000) too; give one that overlaps.
    const clashing = [...wanted, { room: 'OCC004', window: { start: NOW + 5_500, end: NOW + 5_600 } }];
    expect(await idx.bookMany('sub:s', clashing, NOW)).toEqual({ wanted: 'OCC004', entry: { room: 'OTHER1', start: NOW + 5_000, end: NOW + 6_000, at: NOW } });
    expect((await idx.list('sub:s', NOW)).map((e) => e.room)).toEqual(['OTHER1']);
    expect(await idx.bookMany('sub:s', wanted, NOW + 1)).toBeNull();
    expect((await idx.list('sub:s', NOW)).map((e) => e.room)).toEqual(['OCC000', 'OCC001', 'OCC002', 'OTHER1', 'OCC003']);
    // Booking them again replaces the same rooms' entries.
    expect(await idx.bookMany('sub:s', wanted, NOW + 2)).toBeNull();
  });

  it('bookMany racing book on one identity: never both', async () => {
    const idx = make();
    const many = [0, 1, 2].map((i) => ({ room: `SER00${i}`, window: { start: NOW + i * 10_000, end: NOW + i * 10_000 + 1_000 } }));
    const [a, b] = await Promise.all([idx.bookMany('sub:r', many, NOW), idx.book('sub:r', 'SOLO01', { start: NOW + 20_500, end: NOW + 21_500 }, NOW)]);
    expect([a, b].filter((r) => r === null)).toHaveLength(1);
  });

  it.runIf(redisTopology)('two connections (two instances) racing 50 overlapping bookings: exactly one wins', async () => {
    const [c1, c2] = await Promise.all([ready(redisTopology!.open()), ready(redisTopology!.open())]);
    const prefix = `race${n++}:`;
    const pair = [new RedisBookingIndex(c1, prefix), new RedisBookingIndex(c2, prefix)];
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => pair[i % 2]!.book('sub:race', `RACE${String(i).padStart(2, '0')}`, { start: NOW + i, end: NOW + 10_000 + i }, NOW)),
    );
    expect(results.filter((r) => r === null)).toHaveLength(1);
    expect(await pair[0]!.list('sub:race', NOW)).toHaveLength(1);
  });
});

it('redis: all of an identity sits in one key with an {id:…} hash tag, expiring after its last window', async () => {
  const c = await ready(new Redis(redis.url));
  const idx = new RedisBookingIndex(c, 'tag:');
  const now = Date.now();
  await idx.book('sub:zed', 'ROOM01', { start: now + 1_000, end: now + 60_000 }, now);
  expect(await c.keys('tag:*')).toEqual(['tag:{id:sub:zed}:bookings']);
  const ttl = await c.pttl('tag:{id:sub:zed}:bookings');
  expect(ttl).toBeGreaterThan(60_000);
});
