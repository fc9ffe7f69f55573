/**
 * The Redis Cluster and Sentinel fixtures (test/helpers/redis-cluster.ts,
 * redis-sentinel.ts) do what the failover tests rely on: a real 3-master cluster whose
 * killed master's replica takes over, and a Sentinel set whose killed primary's replica is
 * promoted; a plain ioredis client (Cluster, or { sentinels, name }) finds the new
 * master by itself and keeps every write acknowledged by a replica before the kill.
 * The numbers are logged: failover = kill → the helper sees the promotion;
 * unavailable = kill → the client's first successful write.
 */
import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { useRedisCluster, useSentinelSet } from '../helpers/cluster.js';
import { setTimeout as sleep } from 'node:timers/promises';

/** ms from `since` until `fn` first resolves (errors are retried every 50 ms until `timeoutMs`). */
async function firstSuccess(since: number, fn: () => Promise<unknown>, timeoutMs: number): Promise<number> {
  let last: unknown;
  while (Date.now() - since < timeoutMs) {
    try {
      await fn();
      return Date.now() - since;
    } catch (e) {
      last = e;
      await sleep(50);
    }
  }
  throw new Error(`no success within ${timeoutMs} ms: ${String(last)}`);
}

const clients: Array<Redis | Cluster> = [];
afterEach(() => {
  while (clients.length > 0) clients.pop()!.disconnect();
});

describe('Redis Cluster (3 masters, 3 replicas)', () => {
  const rc = useRedisCluster();

  it('a killed master is replaced by its replica; a Cluster client keeps its keys and writes again', { timeout: 90_000 }, async () => {
    const cluster = rc.current;
    const nodes = await cluster.topology();
    expect(nodes.filter((n) => n.role === 'master')).toHaveLength(3);
    expect(nodes.filter((n) => n.role === 'replica')).toHaveLength(3);
    expect(cluster.seeds.split(',')).toEqual(cluster.nodes.map((n) => `redis://127.0.0.1:${n.port}`));

    const client = new Cluster(cluster.seedNodes, { redisOptions: { connectTimeout: 2_000 } });
    client.on('error', () => {});
    clients.push(client);

    const keys = Array.from({ length: 300 }, (_, i) => `topo:${i}`);
    await Promise.all(keys.map((k) => client.set(k, `v-${k}`)));
    const slots = await Promise.all(keys.map((k) => cluster.slotOf(k)));
    const owners = new Set(await Promise.all([...new Set(slots)].map(async (s) => (await cluster.masterForSlot(s)).port)));
    expect(new Set(slots).size).toBeGreaterThan(250);
    expect(owners.size).toBe(3);
    // A hash tag keeps keys on one slot.
    expect(await cluster.slotOf('room:{ABC234}:state')).toBe(await cluster.slotOf('room:{ABC234}:log'));
    await cluster.waitForReplication();

    const victim = await cluster.masterForKey('topo:0');
    const [replica] = await cluster.replicasOf(victim.port);
    expect(replica).toBeDefined();
    const t0 = Date.now();
    await cluster.killMaster(victim.port);
    const [failoverMs, unavailableMs] = await Promise.all([
      cluster.waitForFailover(),
      firstSuccess(t0, () => client.set('topo:0', 'after'), 60_000),
    ]);
    const promoted = await cluster.masterForKey('topo:0');
    expect(promoted.port).toBe(replica!.port);
    console.log(`[cluster] Redis Cluster master :${victim.port} SIGKILLed: failover ${failoverMs} ms, client unavailable ${unavailableMs} ms (node timeout 1000 ms)`);

    // Every key written (and replicated) before the kill is there; every slot takes writes.
    const values = await Promise.all(keys.map((k) => client.get(k)));
    expect(values).toEqual(keys.map((k, i) => (i === 0 ? 'after' : `v-${k}`)));
    await Promise.all(keys.map((k) => client.set(k, 'again')));

    // The old master comes back as a replica of the promoted one.
    await cluster.restartNode(victim.port);
    const back = (await cluster.topology()).find((n) => n.port === victim.port);
    expect(back).toMatchObject({ role: 'replica', masterPort: replica!.port, failing: false });
  });
});

describe('Redis Sentinel (primary, replica, 3 sentinels)', () => {
  const ss = useSentinelSet();

  it('a killed primary is replaced by the replica; a { sentinels, name } client follows and writes again', { timeout: 90_000 }, async () => {
    const set = ss.current;
    expect(set.sentinelsEnv).toBe(set.sentinels.map((s) => `127.0.0.1:${s.port}`).join(','));
    const client = new Redis({ sentinels: [...set.sentinels], name: set.name, connectTimeout: 2_000 });
    client.on('error', () => {});
    clients.push(client);

    const keys = Array.from({ length: 100 }, (_, i) => `topo:${i}`);
    await Promise.all(keys.map((k) => client.set(k, `v-${k}`)));
    const serverPort = async () => Number(/tcp_port:(\d+)/.exec(String(await client.info('server')))?.[1]);
    const oldPrimary = set.primary();
    expect(await serverPort()).toBe(oldPrimary.port);
    await set.waitForReplication();

    const next = set.replica();
    const t0 = Date.now();
    set.killPrimary();
    const [failoverMs, unavailableMs] = await Promise.all([set.waitForFailover(), firstSuccess(t0, () => client.set('topo:0', 'after'), 60_000)]);
    console.log(`[cluster] Sentinel primary :${oldPrimary.port} SIGKILLed: failover ${failoverMs} ms, client unavailable ${unavailableMs} ms (down-after 1000 ms)`);

    expect(set.primary().port).toBe(next.port);
    expect(await serverPort()).toBe(next.port);
    expect((await client.role())[0]).toBe('master');
    const values = await Promise.all(keys.map((k) => client.get(k)));
    expect(values).toEqual(keys.map((k, i) => (i === 0 ? 'after' : `v-${k}`)));

    // The old primary comes back as a replica of the new one.
    await set.restartOldPrimary();
    expect(set.replica().port).toBe(oldPrimary.port);
  });
});
