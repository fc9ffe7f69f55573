/**
 * The Redis Cluster outbox (src/store/partitioned-outbox.ts) on a real 3-master cluster:
 * a read hands out only what it returns. What a partition hands out stays pending at the
 * consumer until acknowledged, so a read that fetched a full batch from every partition
 * and returned one batch left the rest pending, to be fetched again; now every read is
 * acknowledged in full and nothing stays pending, one busy partition still drains in a
 * few reads, and each entry arrives once.
 */
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PartitionedOutbox } from '../../src/store/partitioned-outbox.js';
import { RedisKeys } from '../../src/redis/redis-keys.js';
import { startRedisCluster, type TestRedisCluster } from '../helpers/redis-cluster.js';

const PARTITIONS = 8;
const COUNT = 10;

describe('PartitionedOutbox on Redis Cluster', () => {
  let cluster: TestRedisCluster;
  let redis: Cluster;
  const keys = new RedisKeys({ prefix: 'po:', partitions: PARTITIONS });

  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
    redis = new Cluster(cluster.seedNodes);
  }, 60_000);
  afterAll(async () => {
    redis?.disconnect();
    await cluster?.stop();
  });

  const add = (p: number, n: number, tag: string) =>
    Promise.all(
      Array.from({ length: n }, (_, i) =>
        redis.xadd(keys.outbox(p), '*', 'e', JSON.stringify({ id: `${tag}-${p}-${i}`, type: 'round.completed', at: i, data: {} })),
      ),
    );
  const pendingAll = async (group: string) =>
    (await Promise.all(keys.all().map((p) => redis.xpending(keys.outbox(p), group) as Promise<[number, ...unknown[]]>))).reduce((n, r) => n + Number(r[0]), 0);

  it('returns all it reads, leaves nothing pending after the ack, and drains a busy partition once', async () => {
    const outbox = new PartitionedOutbox(redis, keys, { consumer: 'c1', types: new Set(['round.completed']), groups: ['db'] });
    // One busy partition (60 entries) and one entry in each of the others.
    await add(3, 60, 'busy');
    for (const p of keys.all()) if (p !== 3) await add(p, 1, 'quiet');

    const seen: string[] = [];
    const sizes: number[] = [];
    for (let round = 0; round < 30 && seen.length < 60 + PARTITIONS - 1; round++) {
      const batch = await outbox.read('db', COUNT, 0);
      sizes.push(batch.length);
      seen.push(...batch.map((m) => m.entry.id));
      await outbox.ack('db', batch.map((m) => m.id));
      // Everything handed out was returned, and acknowledged: nothing left pending.
      expect(await pendingAll('db')).toBe(0);
    }
    expect(seen).toHaveLength(60 + PARTITIONS - 1);
    expect(new Set(seen).size).toBe(seen.length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2 * COUNT);
    // The busy partition gets the bigger ask once it filled its share: ~count per read.
    expect(sizes.length).toBeLessThanOrEqual(10);
    await outbox.close();
  });
});
