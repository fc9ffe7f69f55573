/**
 * Cluster fixtures that register their own teardown (./teardown.ts): a throwaway
 * redis-server, Redis Cluster or Sentinel set, child instances, and a whole cluster of in-process instances sharing
 * one Redis for a test file. Servers stop before the Redis they use (teardowns run
 * newest first).
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { AppDeps } from '../../src/app.js';
import { closeAllClients } from './client.js';
import { type ChildInstance, killInstance, type SpawnOptions, spawnInstance } from './process.js';
import { type RedisClusterOptions, startRedisCluster, type TestRedisCluster } from './redis-cluster.js';
import { type SentinelSetOptions, startSentinelSet, type TestSentinelSet } from './redis-sentinel.js';
import { type RedisOptions, startRedis, type TestRedis } from './redis-server.js';
import { newServer, type TestServer } from './server.js';
import { registerTeardown } from './teardown.js';

/** startRedis, stopped by the teardown. */
export async function newRedis(opts: RedisOptions = {}): Promise<TestRedis> {
  const redis = await startRedis(opts);
  registerTeardown(() => redis.stop());
  return redis;
}

/** startRedisCluster (6 nodes by default), stopped by the teardown. */
export async function newRedisCluster(opts: RedisClusterOptions = {}): Promise<TestRedisCluster> {
  const cluster = await startRedisCluster(opts);
  registerTeardown(() => cluster.stop());
  return cluster;
}

/** startSentinelSet (primary, replica, 3 sentinels), stopped by the teardown. */
export async function newSentinelSet(opts: SentinelSetOptions = {}): Promise<TestSentinelSet> {
  const set = await startSentinelSet(opts);
  registerTeardown(() => set.stop());
  return set;
}

/** Started in beforeAll for the whole file (call it at the top level or in a describe); there once beforeAll has run. */
function startedInBeforeAll<T>(what: string, start: () => Promise<T>): { readonly current: T } {
  let value: T | undefined;
  beforeAll(async () => {
    value = await start();
  }, 60_000);
  return {
    get current() {
      if (value === undefined) throw new Error(`${what} starts in beforeAll; use it inside tests and hooks`);
      return value;
    },
  };
}

/** A Redis Cluster for a test file (or a describe block), stopped after it: `useRedisCluster().current.seeds`. */
export const useRedisCluster = (opts: RedisClusterOptions = {}) => startedInBeforeAll('useRedisCluster', () => newRedisCluster(opts));

/** A Sentinel set for a test file (or a describe block), stopped after it: `useSentinelSet().current.sentinelsEnv`. */
export const useSentinelSet = (opts: SentinelSetOptions = {}) => startedInBeforeAll('useSentinelSet', () => newSentinelSet(opts));

/** spawnInstance, SIGKILLed by the teardown (if the test has not stopped it). */
export async function newInstance(opts: SpawnOptions): Promise<ChildInstance> {
  const inst = await spawnInstance(opts);
  registerTeardown(() => killInstance(inst));
  return inst;
}

/** The Redis deployments cluster mode runs on (docs/scaling.md "Redis topologies"). */
export type Topology = 'standalone' | 'cluster' | 'sentinel';
export const TOPOLOGIES: readonly Topology[] = ['standalone', 'cluster', 'sentinel'];

/** A throwaway Redis of `topology`, stopped by the teardown, and the env that points an instance at it. */
export async function newTopology(topology: Topology): Promise<{ env: Record<string, string>; redis: TestRedis | null }> {
  if (topology === 'cluster') return { env: { REDIS_CLUSTER: 'true', REDIS_URL: (await newRedisCluster()).seeds }, redis: null };
  if (topology === 'sentinel') {
    const set = await newSentinelSet();
    return { env: { REDIS_SENTINELS: set.sentinelsEnv, REDIS_SENTINEL_NAME: set.name }, redis: null };
  }
  const redis = await newRedis();
  return { env: { REDIS_URL: redis.url }, redis };
}

export interface ClusterOptions {
  /** One INSTANCE_ID per in-process instance. */
  ids: string[];
  /** Which Redis the instances share (default standalone). */
  topology?: Topology;
  /** The instances' Redis key prefix (AppDeps.redisPrefix). */
  prefix: string;
  env?: Record<string, string>;
  deps?: AppDeps;
}

export interface TestCluster {
  /** There once beforeAll has run (standalone only: the cluster and Sentinel fixtures have several nodes). */
  readonly redis: TestRedis;
  /** Filled in place in beforeAll, in `ids` order. */
  readonly servers: TestServer[];
}

/**
 * For a whole test file (call it at the top level): a redis-server and one in-process
 * instance per id (REDIS_URL set), started in beforeAll, this file's clients closed
 * after each test, everything stopped after the file.
 */
export function useCluster({ ids, prefix, topology = 'standalone', env = {}, deps = {} }: ClusterOptions): TestCluster {
  let redis: TestRedis | undefined;
  const servers: TestServer[] = [];
  beforeAll(async () => {
    const started = await newTopology(topology);
    redis = started.redis ?? undefined;
    servers.push(...(await Promise.all(ids.map((id) => newServer({ ...started.env, INSTANCE_ID: id, ...env }, { redisPrefix: prefix, ...deps })))));
  }, 60_000);
  afterEach(() => closeAllClients());
  return {
    get redis() {
      if (!redis) throw new Error(`useCluster: Redis starts in beforeAll (and is one server only with topology 'standalone'); use it inside tests and hooks`);
      return redis;
    },
    servers,
  };
}

export interface InstancePair<R> {
  /** The Redis the two instances share; there once beforeAll has run. */
  readonly redis: R;
  readonly a: TestServer;
  readonly b: TestServer;
}

/**
 * Two in-process instances (`ids`, key prefix `prefix`) on a fresh Redis for a test file
 * or one describe block (fault tests that kill, freeze or restart Redis nodes): started
 * in its beforeAll, and in its afterAll the clients, the instances, then Redis stopped.
 */
function useInstancePair<R extends { stop(): Promise<void> }>(
  ids: [string, string],
  prefix: string,
  start: () => Promise<{ redis: R; env: Record<string, string> }>,
  startTimeoutMs: number,
): InstancePair<R> {
  let redis: R | undefined;
  let servers: TestServer[] = [];
  beforeAll(async () => {
    const started = await start();
    redis = started.redis;
    for (const id of ids) servers.push(await newServer({ ...started.env, INSTANCE_ID: id }, { redisPrefix: prefix }));
  }, startTimeoutMs);
  afterAll(async () => {
    closeAllClients();
    await Promise.all(servers.map((s) => s.close()));
    servers = [];
    await redis?.stop();
  }, 30_000);
  const there = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`useInstancePair: ${what} starts in beforeAll; use it inside tests and hooks`);
    return value;
  };
  return {
    get redis() {
      return there(redis, 'Redis');
    },
    get a() {
      return there(servers[0], 'instance A');
    },
    get b() {
      return there(servers[1], 'instance B');
    },
  };
}

/** Two instances on a Redis Cluster (`cluster` options; `partitions` → REDIS_PARTITIONS): `pair.redis` is the cluster. */
export function useRedisClusterPair(opts: { ids: [string, string]; prefix: string; partitions?: number; cluster?: RedisClusterOptions }): InstancePair<TestRedisCluster> {
  return useInstancePair(opts.ids, opts.prefix, async () => {
    const rc = await startRedisCluster(opts.cluster ?? {});
    const env: Record<string, string> = { REDIS_CLUSTER: 'true', REDIS_URL: rc.seeds };
    if (opts.partitions !== undefined) env.REDIS_PARTITIONS = String(opts.partitions);
    return { redis: rc, env };
  }, 120_000);
}

/** Two instances on one redis-server: `pair.redis` is that server. */
export function useRedisPair(opts: { ids: [string, string]; prefix: string }): InstancePair<TestRedis> {
  return useInstancePair(opts.ids, opts.prefix, async () => {
    const redis = await startRedis();
    return { redis, env: { REDIS_URL: redis.url } };
  }, 60_000);
}
