/**
 * A throwaway Redis Sentinel set for tests and the bench: one primary, one replica
 * (`--replicaof`), three sentinels (`redis-server <conf> --sentinel`, quorum 2, conf in a
 * temp dir of its own because Sentinel rewrites it), all on random loopback ports, no
 * persistence, killed by PID. `killPrimary` + `waitForFailover` time a real promotion.
 * Plain Node (the vitest wrapper with teardown is `newSentinelSet` / `useSentinelSet`
 * in ./cluster.ts).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { infoOf, pollUntil, redisCommand, waitForReplicasOf } from './redis-admin.js';
import { startRedis, type TestRedis } from './redis-server.js';

export interface SentinelSetOptions {
  /** The monitored primary's name (REDIS_SENTINEL_NAME). */
  name?: string;
  /** down-after-milliseconds: how long the primary may be silent before it is considered down. */
  downAfterMs?: number;
  /** failover-timeout */
  failoverTimeoutMs?: number;
  /** Upper bound for starting the set and for each wait. */
  timeoutMs?: number;
}

export interface TestSentinelSet {
  readonly name: string;
  readonly sentinels: ReadonlyArray<{ host: string; port: number }>;
  /** `127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3` (REDIS_SENTINELS). */
  readonly sentinelsEnv: string;
  /** The data node that is primary now (as this helper last saw: the promoted one after waitForFailover). */
  primary(): TestRedis;
  /** The other data node (dead between killPrimary and restartOldPrimary). */
  replica(): TestRedis;
  /** Resolves once the replica has acknowledged everything the primary has written so far. */
  waitForReplication(): Promise<void>;
  /** SIGKILLs the primary. */
  killPrimary(): void;
  /**
   * Resolves once every sentinel names the other data node as primary
   * (SENTINEL get-master-addr-by-name) and it answers ROLE master; returns the ms since the kill.
   */
  waitForFailover(): Promise<number>;
  /** Starts the killed former primary again and waits until the sentinels have made it a linked replica. */
  restartOldPrimary(): Promise<void>;
  /** Stops the sentinels, then the data nodes; removes the temp dir. */
  stop(): Promise<void>;
}

/** A replica still writes the RDB of a full resync to its --dir: the temp dir, not the cwd. */
const noPersistence = (dir: string) => ['--save', '', '--appendonly', 'no', '--dir', dir];

/** A SENTINEL MASTER / REPLICAS entry (a flat field, value list) as a map. */
const fieldsOf = (flat: string[]): Record<string, string> => Object.fromEntries(flat.flatMap((v, i) => (i % 2 === 0 ? [[v, flat[i + 1]!]] : [])));

export async function startSentinelSet(opts: SentinelSetOptions = {}): Promise<TestSentinelSet> {
  const name = opts.name ?? 'focusroom';
  const downAfterMs = opts.downAfterMs ?? 1_000;
  const failoverTimeoutMs = opts.failoverTimeoutMs ?? 5_000;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const dir = await mkdtemp(join(tmpdir(), 'focusroom-sentinel-'));
  const dataDirs = [join(dir, 'data-0'), join(dir, 'data-1')] as const;
  await Promise.all(dataDirs.map((d) => mkdir(d)));
  const started: TestRedis[] = [];
  const sentinelProcs: TestRedis[] = [];
  const stopAll = async () => {
    await Promise.all(sentinelProcs.map((s) => s.stop()));
    await Promise.all(started.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  };

  let data: [TestRedis, TestRedis];
  try {
    const first = await startRedis({ args: noPersistence(dataDirs[0]) });
    started.push(first);
    const second = await startRedis({ args: [...noPersistence(dataDirs[1]), '--replicaof', '127.0.0.1', String(first.port)] });
    started.push(second);
    data = [first, second];
    await pollUntil('replica linked', async () => (await infoOf(second.port, 'replication')).master_link_status === 'up', timeoutMs);

    for (let i = 0; i < 3; i++) {
      const conf = join(dir, `sentinel-${i}.conf`);
      await writeFile(
        conf,
        [
          `dir ${dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${first.port} 2`,
          `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
          `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
          `sentinel parallel-syncs ${name} 1`,
          'sentinel announce-ip 127.0.0.1',
          '',
        ].join('\n'),
      );
      sentinelProcs.push(await startRedis({ configFile: conf, args: ['--sentinel'] }));
    }
    // Each sentinel has found the replica and the two other sentinels (hello messages), and a failover can be authorised.
    await pollUntil(
      'sentinels ready',
      async () => {
        for (const s of sentinelProcs) {
          const m = fieldsOf((await redisCommand(s.port, ['SENTINEL', 'MASTER', name])) as string[]);
          if (Number(m['num-slaves']) < 1 || Number(m['num-other-sentinels']) < 2) return `:${s.port} slaves=${m['num-slaves']} sentinels=${m['num-other-sentinels']}`;
          await redisCommand(s.port, ['SENTINEL', 'CKQUORUM', name]);
        }
        return true;
      },
      timeoutMs,
    );
  } catch (e) {
    await stopAll();
    throw e;
  }

  let primaryIdx = 0;
  let killedAt: number | null = null;
  const sentinels = sentinelProcs.map((s) => ({ host: '127.0.0.1', port: s.port }));

  return {
    name,
    sentinels,
    sentinelsEnv: sentinels.map((s) => `${s.host}:${s.port}`).join(','),
    primary: () => data[primaryIdx]!,
    replica: () => data[1 - primaryIdx]!,
    waitForReplication: () => waitForReplicasOf(data[primaryIdx]!.port, timeoutMs),
    killPrimary() {
      data[primaryIdx]!.kill();
      killedAt = Date.now();
    },
    async waitForFailover() {
      if (killedAt === null) throw new Error('waitForFailover: the primary was not killed');
      const next = data[1 - primaryIdx]!;
      await pollUntil(
        `sentinels promote :${next.port}`,
        async () => {
          for (const s of sentinelProcs) {
            const addr = (await redisCommand(s.port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name])) as string[] | null;
            if (Number(addr?.[1]) !== next.port) return `:${s.port} names ${addr?.join(':')}`;
          }
          const role = (await redisCommand(next.port, ['ROLE'])) as unknown[];
          return role[0] === 'master' || `:${next.port} answers ROLE ${String(role[0])}`;
        },
        timeoutMs,
        50,
      );
      const elapsed = Date.now() - killedAt;
      killedAt = null;
      primaryIdx = 1 - primaryIdx;
      return elapsed;
    },
    async restartOldPrimary() {
      const old = data[1 - primaryIdx]!;
      await old.stop();
      const current = data[primaryIdx]!;
      // Back as a replica of the current primary, as its operator would configure it (left to
      // themselves, the sentinels convert a returning stale primary only after ~8 s).
      const back = await startRedis({ port: old.port, args: [...noPersistence(dataDirs[1 - primaryIdx]!), '--replicaof', '127.0.0.1', String(current.port)] });
      started.push(back);
      data[1 - primaryIdx] = back;
      await pollUntil(
        `:${old.port} rejoined as a replica`,
        async () => {
          const repl = await infoOf(old.port, 'replication');
          if (repl.role !== 'slave' || Number(repl.master_port) !== current.port || repl.master_link_status !== 'up') return `role ${repl.role} link ${repl.master_link_status}`;
          // ...and every sentinel counts it as a healthy replica again (a candidate for the next failover).
          for (const s of sentinelProcs) {
            const replicas = (await redisCommand(s.port, ['SENTINEL', 'REPLICAS', name])) as string[][];
            const me = replicas.map(fieldsOf).find((r) => Number(r.port) === old.port);
            if (me?.flags !== 'slave') return `:${s.port} flags ${me?.flags}`;
          }
          return true;
        },
        timeoutMs,
      );
    },
    stop: stopAll,
  };
}
