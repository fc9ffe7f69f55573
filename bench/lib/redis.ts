/**
 * redis-server for the cluster scenario: the tests' throwaway redis-server
 * (test/helpers/redis-server.ts: random free port, no persistence, killed by PID), pinned
 * like the servers, plus INFO samples of its CPU time and per-command counts.
 */
import { Redis } from 'ioredis';
import { startRedis } from '../../test/helpers/redis-server.js';
import { launchPrefix, procCpuSeconds } from './procs.js';

export interface RedisSample {
  at: number;
  cpuS: number;
  total: number;
  commands: Record<string, number>;
}

export interface BenchRedis {
  url: string;
  pid: number;
  sample(): Promise<RedisSample>;
  stop(): Promise<void>;
}

export async function startBenchRedis(cpus: string | null): Promise<BenchRedis> {
  const redis = await startRedis({ prefix: launchPrefix({ cpus }) });
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on('error', () => {});
  const field = (info: string, name: string) => Number(info.match(new RegExp(`^${name}:([\\d.]+)`, 'm'))?.[1] ?? NaN);
  return {
    url: redis.url,
    pid: redis.pid,
    async sample() {
      const info = await client.info('all');
      const commands: Record<string, number> = {};
      for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) commands[m[1]!] = Number(m[2]);
      // The INFO call itself is counted too; it is one command per sample.
      return {
        at: Date.now(),
        cpuS: Number.isFinite(field(info, 'used_cpu_sys')) ? field(info, 'used_cpu_sys') + field(info, 'used_cpu_user') : procCpuSeconds(redis.pid),
        total: field(info, 'total_commands_processed'),
        commands,
      };
    },
    async stop() {
      client.disconnect();
      redis.kill();
      await redis.stop();
    },
  };
}
