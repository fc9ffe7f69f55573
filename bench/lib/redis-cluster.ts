/**
 * A Redis Cluster for the scale scenario: `masters` `redis-server --cluster-enabled yes`
 * (no replicas, no persistence; the tests' throwaway redis-server, test/helpers/redis-server.ts,
 * on random loopback ports with a nodes.conf each in a temp dir), pinned like the servers,
 * joined by `redis-cli --cluster create`, plus INFO samples of every node (CPU, commands).
 * Every node is killed by PID on stop. (test/helpers/redis-cluster.ts is the tests'
 * fuller fixture with replicas and failover; the bench needs neither.)
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from '../../test/helpers/ports.js';
import { startRedis, type TestRedis } from '../../test/helpers/redis-server.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { launchPrefix, procCpuSeconds } from './procs.js';
import type { RedisSample } from './redis.js';

const run = promisify(execFile);

export interface BenchRedisCluster {
  /** REDIS_URL for REDIS_CLUSTER=true: every node, comma-separated. */
  seeds: string;
  nodes: Array<{ url: string; pid: number }>;
  /** Every node's INFO, summed: CPU seconds, commands processed, per-command calls. */
  sample(): Promise<RedisSample>;
  stop(): Promise<void>;
}

const field = (info: string, name: string) => Number(info.match(new RegExp(`^${name}:([\\d.]+)`, 'm'))?.[1] ?? NaN);

export async function startBenchRedisCluster(cpus: string | null, masters = 3): Promise<BenchRedisCluster> {
  const dirs: string[] = [];
  const servers: TestRedis[] = [];
  const clients: Redis[] = [];
  const stop = async () => {
    for (const c of clients) c.disconnect();
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  };
  try {
    for (let i = 0; i < masters; i++) {
      const dir = await mkdtemp(join(tmpdir(), 'fr-bench-cluster-'));
      dirs.push(dir);
      // The bus port is chosen explicitly (port + 10,000 may be taken or above 65,535).
      const args = ['--save', '', '--appendonly', 'no', '--dir', dir, '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-port', String(await freePort())];
      servers.push(await startRedis({ prefix: launchPrefix({ cpus }), args }));
    }
    await run('redis-cli', ['--cluster', 'create', ...servers.map((s) => `127.0.0.1:${s.port}`), '--cluster-yes'], { timeout: 30_000 });
    for (const s of servers) {
      const c = new Redis(s.url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
      c.on('error', () => {});
      clients.push(c);
    }
    const deadline = Date.now() + 30_000;
    for (;;) {
      const infos = await Promise.all(clients.map((c) => c.cluster('INFO') as Promise<string>));
      if (infos.every((i) => /cluster_state:ok/.test(i) && field(i, 'cluster_known_nodes') === masters)) break;
      if (Date.now() > deadline) throw new Error(`redis cluster not ok within 30 s:\n${infos[0]}`);
      await sleep(100);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    seeds: servers.map((s) => s.url).join(','),
    nodes: servers.map((s) => ({ url: s.url, pid: s.pid })),
    async sample() {
      const infos = await Promise.all(clients.map((c) => c.info('all')));
      const commands: Record<string, number> = {};
      let cpuS = 0;
      let total = 0;
      infos.forEach((info, i) => {
        for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) commands[m[1]!] = (commands[m[1]!] ?? 0) + Number(m[2]);
        const cpu = field(info, 'used_cpu_sys') + field(info, 'used_cpu_user');
        cpuS += Number.isFinite(cpu) ? cpu : procCpuSeconds(servers[i]!.pid);
        total += field(info, 'total_commands_processed');
      });
      return { at: Date.now(), cpuS, total, commands };
    },
    stop,
  };
}
