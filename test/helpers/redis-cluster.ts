/**
 * A throwaway Redis Cluster for tests and the bench: `masters × (1 + replicasPerMaster)`
 * `redis-server --cluster-enabled yes` on random loopback ports (no persistence, each with
 * its nodes.conf in a temp dir of its own), joined by `redis-cli --cluster create`.
 * `killMaster` + `waitForFailover` time a real replica promotion; every node is killed by
 * PID and the temp dirs are removed on stop. Plain Node (the vitest wrapper with teardown
 * is `newRedisCluster` / `useRedisCluster` in ./cluster.ts).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports.js';
import { infoOf, parseInfo, pollUntil, redisCommand, waitForReplicasOf } from './redis-admin.js';
import { startRedis, type TestRedis } from './redis-server.js';

const REDIS_CLI = process.env.REDIS_CLI_BIN ?? 'redis-cli';
const SLOTS = 16_384;

export interface RedisClusterOptions {
  masters?: number;
  replicasPerMaster?: number;
  /** cluster-node-timeout: how long a master may be unreachable before its replica takes over. */
  nodeTimeoutMs?: number;
  /** Upper bound for creating the cluster and for each wait (failover, restart). */
  timeoutMs?: number;
  /**
   * cluster-require-full-coverage (default true, Redis's default): false keeps the other
   * slots answering while a slot has no live master (its master and replicas lost).
   */
  requireFullCoverage?: boolean;
}

export interface RedisClusterNode {
  readonly port: number;
  /** redis://127.0.0.1:port */
  readonly url: string;
  /** PID of the current process (changes on restart). */
  readonly pid: number;
  /** The node id (CLUSTER MYID); kept across a restart (nodes.conf). */
  readonly id: string;
  /** false between killMaster/kill and restartNode. */
  readonly alive: boolean;
}

/** One node as the cluster sees it now (CLUSTER NODES of a live node). */
export interface ClusterNodeState {
  id: string;
  port: number;
  role: 'master' | 'replica';
  /** The node's master's port, for a replica. */
  masterPort?: number;
  /** Flagged fail or fail? by the node asked. */
  failing: boolean;
  /** Slot ranges served, inclusive, for a master. */
  slots: Array<[number, number]>;
}

export interface TestRedisCluster {
  /** Every node's URL, comma-separated (REDIS_URL with REDIS_CLUSTER=true). */
  readonly seeds: string;
  /** Every node as ioredis `new Cluster(...)` takes its startup nodes. */
  readonly seedNodes: Array<{ host: string; port: number }>;
  readonly nodes: readonly RedisClusterNode[];
  /** The topology now, as a live node reports it. */
  topology(): Promise<ClusterNodeState[]>;
  /** CLUSTER KEYSLOT */
  slotOf(key: string): Promise<number>;
  masterForSlot(slot: number): Promise<RedisClusterNode>;
  masterForKey(key: string): Promise<RedisClusterNode>;
  /** Replicas of the master on `port`, as the cluster sees them now. */
  replicasOf(port: number): Promise<RedisClusterNode[]>;
  /** Resolves once every replica has acknowledged everything its master has written so far. */
  waitForReplication(): Promise<void>;
  /** SIGKILLs the master on `port` (throws if it is not a master); waitForFailover times its replacement. */
  killMaster(port: number): Promise<void>;
  /** SIGKILLs the node on `port`, whatever its role (a replica, a master whose replica is gone too). */
  killNode(port: number): void;
  /**
   * Resolves once a replica of the last killed master owns its slots as a master on every
   * live node and cluster_state is ok everywhere; returns the ms since the kill.
   */
  waitForFailover(): Promise<number>;
  /** Starts a killed node again on its port and waits until it has rejoined (as a replica, after a failover). */
  restartNode(port: number): Promise<void>;
  /** Stops every node and removes the temp dirs. */
  stop(): Promise<void>;
}

interface Node {
  redis: TestRedis;
  id: string;
  alive: boolean;
  dir: string;
}

/** CLUSTER NODES text → state per node. */
function parseClusterNodes(text: string): ClusterNodeState[] {
  const lines = text.split('\n').filter((l) => l.trim());
  const byId = new Map<string, { port: number }>();
  const rows = lines.map((line) => {
    const [id, addr, flags, master, , , , , ...slotSpecs] = line.trim().split(' ');
    const port = Number(/:(\d+)/.exec(addr!)?.[1]);
    byId.set(id!, { port });
    return { id: id!, port, flags: flags!.split(','), master: master!, slotSpecs };
  });
  return rows.map((r) => ({
    id: r.id,
    port: r.port,
    role: r.flags.includes('master') ? 'master' : 'replica',
    masterPort: r.master !== '-' ? byId.get(r.master)?.port : undefined,
    failing: r.flags.includes('fail') || r.flags.includes('fail?'),
    slots: r.slotSpecs
      .filter((s) => /^\d+(-\d+)?$/.test(s))
      .map((s) => {
        const [a, b] = s.split('-').map(Number);
        return [a!, b ?? a!] as [number, number];
      }),
  }));
}

async function startNode(dir: string, nodeTimeoutMs: number, requireFullCoverage: boolean): Promise<TestRedis> {
  let lastError: unknown;
  // The bus port is chosen explicitly (port + 10,000 may be above 65,535 or taken).
  for (let attempt = 0; attempt < 3; attempt++) {
    const busPort = await freePort();
    const args = [
      '--save', '', '--appendonly', 'no', '--dir', dir,
      '--cluster-enabled', 'yes',
      '--cluster-config-file', join(dir, 'nodes.conf'),
      '--cluster-node-timeout', String(nodeTimeoutMs),
      '--cluster-port', String(busPort),
      '--cluster-announce-ip', '127.0.0.1',
      // A replica always takes over, however long since it last heard from its master.
      '--cluster-replica-validity-factor', '0',
      '--cluster-require-full-coverage', requireFullCoverage ? 'yes' : 'no',
    ];
    try {
      return await startRedis({ args });
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}

export async function startRedisCluster(opts: RedisClusterOptions = {}): Promise<TestRedisCluster> {
  const masters = opts.masters ?? 3;
  const replicasPerMaster = opts.replicasPerMaster ?? 1;
  const nodeTimeoutMs = opts.nodeTimeoutMs ?? 1_000;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  if (masters < 3) throw new Error('redis-cli --cluster create needs at least 3 masters');

  const nodes: Node[] = [];
  const stopAll = async () => {
    await Promise.all(nodes.map((n) => n.redis.stop()));
    await Promise.all(nodes.map((n) => rm(n.dir, { recursive: true, force: true })));
  };
  try {
    await Promise.all(
      Array.from({ length: masters * (1 + replicasPerMaster) }, async () => {
        const dir = await mkdtemp(join(tmpdir(), 'focusroom-rc-'));
        const node: Node = { redis: undefined as unknown as TestRedis, id: '', alive: true, dir };
        nodes.push(node);
        node.redis = await startNode(dir, nodeTimeoutMs, opts.requireFullCoverage ?? true);
        node.id = String(await redisCommand(node.redis.port, ['CLUSTER', 'MYID']));
      }),
    );
    await promisify(execFile)(
      REDIS_CLI,
      ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.redis.port}`), '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'],
      { timeout: timeoutMs },
    );
  } catch (e) {
    await stopAll();
    throw e;
  }

  const live = () => nodes.filter((n) => n.alive);
  const byPort = (port: number) => {
    const n = nodes.find((x) => x.redis.port === port);
    if (!n) throw new Error(`no cluster node on port ${port}`);
    return n;
  };
  const view = (n: Node): RedisClusterNode => ({
    port: n.redis.port,
    url: n.redis.url,
    get pid() {
      return n.redis.pid;
    },
    id: n.id,
    get alive() {
      return n.alive;
    },
  });
  const views = nodes.map(view);
  const viewOf = (port: number) => views.find((v) => v.port === port)!;

  /** The topology as the first live node that answers sees it. */
  async function topology(): Promise<ClusterNodeState[]> {
    let lastError: unknown;
    for (const n of live()) {
      try {
        return parseClusterNodes(String(await redisCommand(n.redis.port, ['CLUSTER', 'NODES'])));
      } catch (e) {
        lastError = e;
      }
    }
    throw lastError ?? new Error('no live cluster node');
  }

  /** cluster_state ok with every slot served on every live node, and `check` true of every live node's view. */
  async function settled(check?: (states: ClusterNodeState[]) => true | string): Promise<true | string> {
    for (const n of live()) {
      const info = parseInfo(String(await redisCommand(n.redis.port, ['CLUSTER', 'INFO'])));
      if (info.cluster_state !== 'ok' || Number(info.cluster_slots_ok) !== SLOTS) return `:${n.redis.port} ${info.cluster_state} slots_ok=${info.cluster_slots_ok}`;
      if (check) {
        const verdict = check(parseClusterNodes(String(await redisCommand(n.redis.port, ['CLUSTER', 'NODES']))));
        if (verdict !== true) return `:${n.redis.port} ${verdict}`;
      }
    }
    return true;
  }

  async function waitForReplication(): Promise<void> {
    for (const s of await topology()) {
      if (s.role === 'master' && !s.failing && byPort(s.port).alive) await waitForReplicasOf(s.port, timeoutMs);
    }
  }

  const healthy = async () => {
    const ok = await settled();
    if (ok !== true) return ok;
    // Every replica linked to its master, so a failover has data to promote.
    for (const n of live()) {
      const repl = await infoOf(n.redis.port, 'replication');
      if (repl.role === 'slave' && repl.master_link_status !== 'up') return `:${n.redis.port} link ${repl.master_link_status}`;
    }
    return true;
  };

  try {
    await pollUntil('Redis Cluster ok on every node', healthy, timeoutMs);
  } catch (e) {
    await stopAll();
    throw e;
  }

  let killed: { node: Node; slots: Array<[number, number]>; at: number } | null = null;

  const masterForSlot = async (slot: number): Promise<RedisClusterNode> => {
    const owner = (await topology()).find((s) => s.role === 'master' && !s.failing && s.slots.some(([a, b]) => slot >= a && slot <= b));
    if (!owner) throw new Error(`no live master serves slot ${slot}`);
    return viewOf(owner.port);
  };
  const slotOf = async (key: string) => Number(await redisCommand(live()[0]!.redis.port, ['CLUSTER', 'KEYSLOT', key]));

  return {
    seeds: nodes.map((n) => n.redis.url).join(','),
    seedNodes: nodes.map((n) => ({ host: '127.0.0.1', port: n.redis.port })),
    nodes: views,
    topology,
    slotOf,
    masterForSlot,
    masterForKey: async (key) => masterForSlot(await slotOf(key)),
    replicasOf: async (port) => (await topology()).filter((s) => s.role === 'replica' && s.masterPort === port).map((s) => viewOf(s.port)),
    waitForReplication,
    async killMaster(port) {
      const node = byPort(port);
      const me = (await topology()).find((s) => s.port === port);
      if (!me || me.role !== 'master' || me.slots.length === 0) throw new Error(`:${port} is not a master serving slots`);
      node.alive = false;
      node.redis.kill();
      killed = { node, slots: me.slots, at: Date.now() };
    },
    killNode(port) {
      const node = byPort(port);
      node.alive = false;
      node.redis.kill();
    },
    async waitForFailover() {
      const k = killed;
      if (!k) throw new Error('waitForFailover: no master was killed');
      const [first] = k.slots[0]!;
      await pollUntil(
        `failover of :${k.node.redis.port}`,
        async () => {
          const ok = await settled((states) => {
            const owner = states.find((s) => s.role === 'master' && !s.failing && s.slots.some(([a, b]) => first >= a && first <= b));
            if (!owner) return `slot ${first} unowned`;
            return owner.id !== k.node.id || `slot ${first} still on the dead master`;
          });
          if (ok !== true) return ok;
          const owner = await masterForSlot(first);
          const role = (await redisCommand(owner.port, ['ROLE'])) as unknown[];
          return role[0] === 'master' || `:${owner.port} answers ROLE ${String(role[0])}`;
        },
        timeoutMs,
        50,
      );
      killed = null;
      return Date.now() - k.at;
    },
    async restartNode(port) {
      const node = byPort(port);
      await node.redis.restart();
      node.alive = true;
      await pollUntil(
        `:${port} rejoined`,
        async () => {
          const ok = await settled((states) => states.find((s) => s.id === node.id)?.failing === false || `flags :${port} failing`);
          if (ok !== true) return ok;
          const repl = await infoOf(port, 'replication');
          return repl.role === 'master' || repl.master_link_status === 'up' || `:${port} link ${repl.master_link_status}`;
        },
        timeoutMs,
      );
    },
    stop: stopAll,
  };
}
