/**
 * scale (opt-in, `--only scale`): the same total load on 2, 3 and 4 instances, first on a
 * 3-master Redis Cluster (sharded pub/sub adapter, one channel per room), then on one
 * standalone redis-server (streams adapter, one stream every instance reads). Per
 * instance per second: the adapter messages it received from Redis
 * (`focusroom_adapter_messages_received_total` on its /metrics) and its CPU time.
 *
 * The load: `--scale-clients` connections (default 2,400) in rooms of 4, every room
 * counting down and producing `--scale-events` room events a second (status changes and
 * a task added and removed, members taking turns), so there is broadcast traffic. Each
 * room's members sit on exactly 2 instances (2 + 2, consecutive instances of a ring), so
 * every instance holds the same share of connections and rooms at every instance count
 * and a room's broadcast reaches 2 instances whatever the cluster size: the fair
 * comparison (with rooms spread over all k ≤ 4 instances every instance would be in
 * every room, and sharded pub/sub would deliver as much as the stream). Since the total
 * is fixed, an instance of 4 serves half what an instance of 2 does; the per-instance
 * cost is therefore compared per 1,000 connections served: flat for sharded pub/sub
 * (its traffic follows its own rooms), growing with k for the stream (every instance
 * reads every broadcast of the deployment). CPU is also measured over an idle window
 * first (rooms seated, no countdown, no events): the fixed cost of an instance (due-queue
 * polls, heartbeats), which does not shrink with its share, is reported apart.
 */
import { sleep } from '../../test/helpers/sleep.js';
import { type Ctx, SESSION_MS, stopAll, type Worker } from '../lib/context.js';
import { connectAll, cpuUs, recordWindow, seatAll, type ServerStats, startAll } from '../lib/measure.js';
import type { NodeChild } from '../lib/procs.js';
import { type RedisSample, startBenchRedis } from '../lib/redis.js';
import { startBenchRedisCluster } from '../lib/redis-cluster.js';
import { goal, type Results, round, type Row } from '../lib/report.js';
import type { Log, Scenario } from './scenario.js';

/** Instances each room's 4 members are spread over. */
const SPAN = 2;

export interface ScaleInstance {
  connections: number;
  receivedPerS: number;
  cpuMsPerS: number;
  idleCpuMsPerS: number;
}

export interface ScaleRun {
  topology: 'cluster' | 'standalone';
  instances: number;
  clients: number;
  rooms: number;
  span: number;
  windowS: number;
  /** Room events acknowledged per second, all instances. */
  roomEventsPerS: number;
  roomEventsFailed: number;
  deliveredTickPct: number;
  perInstance: ScaleInstance[];
  /** Means over the instances. */
  receivedPerS: number;
  cpuMsPerS: number;
  idleCpuMsPerS: number;
  /** Per 1,000 connections the instance serves: adapter messages received /s, and CPU ms/s above its idle cost. */
  receivedPerSPer1k: number;
  loadCpuMsPerSPer1k: number;
  /** The same with the idle cost included. */
  cpuMsPerSPer1k: number;
  redis: { nodes: number; cpuMsPerS: number; idleCpuMsPerS: number; commandsPerS: number; spublishPerS: number };
}

export interface ScaleResult {
  clients: number;
  span: number;
  eventsPerRoomS: number;
  runs: ScaleRun[];
  /** Largest ÷ smallest instance count, per topology: per-1k received and per-1k load CPU. */
  ratios: Record<'cluster' | 'standalone', { from: number; to: number; receivedPer1k: number; loadCpuPer1k: number; cpuPer1k: number; receivedPerInstance: number } | null>;
}

const received = async (url: string): Promise<number> => {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^focusroom_adapter_messages_received_total (\d+(?:\.\d+)?)/m.exec(text)?.[1] ?? NaN);
};

interface Snapshot {
  stats: ServerStats[];
  received: number[];
  redis: RedisSample;
}

async function scaleRun(ctx: Ctx, topology: 'cluster' | 'standalone', k: number, log: Log): Promise<ScaleRun> {
  const { opts } = ctx;
  const n = opts.scaleClients;
  const servers: Array<NodeChild & { url: string }> = [];
  let workers: Worker[] = [];
  const redis = topology === 'cluster' ? await startBenchRedisCluster(ctx.cores.server, 3) : await startBenchRedis(ctx.cores.server);
  try {
    const env: Record<string, string> = topology === 'cluster' ? { REDIS_CLUSTER: 'true', REDIS_URL: (redis as { seeds: string }).seeds } : { REDIS_URL: (redis as { url: string }).url };
    const started = await Promise.allSettled(Array.from({ length: k }, (_, i) => ctx.focusroom(`scale-${topology}-${i}`, n / k, env)));
    for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
    const refused = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (refused) throw refused.reason;
    workers = await ctx.workers(n);
    await connectAll(workers, 'sio', servers.map((s) => s.url), SPAN);
    const rooms = await seatAll(workers, SESSION_MS);
    const snap = async (): Promise<Snapshot> => {
      const [stats, recv, r] = await Promise.all([
        Promise.all(servers.map((s) => s.request<ServerStats>({ type: 'stats' }))),
        Promise.all(servers.map((s) => received(s.url))),
        redis.sample(),
      ]);
      return { stats, received: recv, redis: r };
    };
    const secs = (a: Snapshot, b: Snapshot) => (b.stats[0]!.hrtime - a.stats[0]!.hrtime) / 1e6;
    const cpuMsPerS = (a: Snapshot, b: Snapshot, i: number) => (cpuUs(b.stats[i]!) - cpuUs(a.stats[i]!)) / 1000 / secs(a, b);

    // Idle: seated, no countdown, no events — each instance's fixed cost.
    await sleep(1000);
    const i0 = await snap();
    await sleep(opts.idleS * 1000);
    const i1 = await snap();

    await startAll(workers);
    await Promise.all(workers.map(({ w }) => w.request({ type: 'events-start', perRoomPerS: opts.scaleEventsPerRoomS })));
    await sleep(opts.warmupS * 1000);
    let a: Snapshot | null = null;
    let b: Snapshot | null = null;
    const rec = await recordWindow(workers, opts.scaleWindowS * 1000, {
      async before() {
        await Promise.all(workers.map(({ w }) => w.request({ type: 'events-stop' })));
        await Promise.all(workers.map(({ w }) => w.request({ type: 'events-start', perRoomPerS: opts.scaleEventsPerRoomS })));
        a = await snap();
      },
      async after() {
        b = await snap();
      },
    });
    const ev = await Promise.all(workers.map(({ w }) => w.request<{ sent: number; failed: number; errors: Record<string, number> }>({ type: 'events-stop' })));
    const s0 = a! as Snapshot;
    const s1 = b! as Snapshot;
    const s = secs(s0, s1);
    const perInstance: ScaleInstance[] = servers.map((_, i) => ({
      connections: s1.stats[i]!.connections,
      receivedPerS: round((s1.received[i]! - s0.received[i]!) / s, 1),
      cpuMsPerS: round(cpuMsPerS(s0, s1, i), 2),
      idleCpuMsPerS: round(cpuMsPerS(i0, i1, i), 2),
    }));
    const mean = (f: (x: ScaleInstance) => number) => perInstance.reduce((acc, x) => acc + f(x), 0) / perInstance.length;
    const per1k = (f: (x: ScaleInstance) => number) => mean((x) => (1000 * f(x)) / Math.max(1, x.connections));
    const rs = (s1.redis.at - s0.redis.at) / 1000;
    const sent = ev.reduce((acc, e) => acc + e.sent, 0);
    const failed = ev.reduce((acc, e) => acc + e.failed, 0);
    if (failed > 0) {
      const errors: Record<string, number> = {};
      for (const e of ev) for (const [m, c] of Object.entries(e.errors)) errors[m] = (errors[m] ?? 0) + c;
      log(`  ${failed} room events failed: ${JSON.stringify(errors)}`);
    }
    const run: ScaleRun = {
      topology,
      instances: k,
      clients: n,
      rooms,
      span: SPAN,
      windowS: round(s, 2),
      // The events of the window (the counters were reset at its start); the last acks may land just after it.
      roomEventsPerS: round(sent / s, 1),
      roomEventsFailed: failed,
      deliveredTickPct: round((100 * rec.delivered) / Math.max(1, rec.expected), 1),
      perInstance,
      receivedPerS: round(mean((x) => x.receivedPerS), 1),
      cpuMsPerS: round(mean((x) => x.cpuMsPerS), 2),
      idleCpuMsPerS: round(mean((x) => x.idleCpuMsPerS), 2),
      receivedPerSPer1k: round(per1k((x) => x.receivedPerS), 1),
      loadCpuMsPerSPer1k: round(per1k((x) => x.cpuMsPerS - x.idleCpuMsPerS), 2),
      cpuMsPerSPer1k: round(per1k((x) => x.cpuMsPerS), 2),
      redis: {
        nodes: topology === 'cluster' ? 3 : 1,
        cpuMsPerS: round(((s1.redis.cpuS - s0.redis.cpuS) * 1000) / rs, 1),
        idleCpuMsPerS: round(((i1.redis.cpuS - i0.redis.cpuS) * 1000) / ((i1.redis.at - i0.redis.at) / 1000), 1),
        commandsPerS: round((s1.redis.total - s0.redis.total) / rs, 0),
        spublishPerS: round(((s1.redis.commands.spublish ?? 0) - (s0.redis.commands.spublish ?? 0)) / rs, 1),
        ...(process.env.SCALE_DEBUG ? { commands: Object.fromEntries(Object.entries(s1.redis.commands).map(([c, v]) => [c, v - (s0.redis.commands[c] ?? 0)])) } : {}),
      },
    };
    log(
      `  ${topology} × ${k}: ${perInstance.map((x) => x.connections).join('/')} conns, ${run.roomEventsPerS} room events/s · per instance ${run.receivedPerS} adapter msgs/s (${run.receivedPerSPer1k} per 1k conns), CPU ${run.cpuMsPerS} ms/s (idle ${run.idleCpuMsPerS}; above idle ${run.loadCpuMsPerSPer1k} per 1k conns) · redis ${run.redis.cpuMsPerS} ms/s · ticks ${run.deliveredTickPct}%`,
    );
    return run;
  } finally {
    await stopAll(workers.map((w) => w.w));
    await stopAll(servers);
    await redis.stop();
  }
}

function ratios(runs: ScaleRun[], topology: 'cluster' | 'standalone'): ScaleResult['ratios']['cluster'] {
  const mine = runs.filter((r) => r.topology === topology).sort((x, y) => x.instances - y.instances);
  if (mine.length < 2) return null;
  const lo = mine[0]!;
  const hi = mine[mine.length - 1]!;
  return {
    from: lo.instances,
    to: hi.instances,
    receivedPer1k: round(hi.receivedPerSPer1k / lo.receivedPerSPer1k, 2),
    loadCpuPer1k: round(hi.loadCpuMsPerSPer1k / lo.loadCpuMsPerSPer1k, 2),
    cpuPer1k: round(hi.cpuMsPerSPer1k / lo.cpuMsPerSPer1k, 2),
    receivedPerInstance: round(hi.receivedPerS / lo.receivedPerS, 2),
  };
}

function report(r: Results): Row[] {
  const s = r.scale as ScaleResult | undefined;
  if (!s) return [];
  const rows: Row[] = [];
  for (const topology of ['cluster', 'standalone'] as const) {
    const q = s.ratios[topology];
    const label = topology === 'cluster' ? 'Redis Cluster (3 masters), sharded' : 'one Redis, streams adapter';
    for (const run of s.runs.filter((x) => x.topology === topology)) {
      rows.push([
        `   ${topology} × ${run.instances}`,
        `per instance: ${run.receivedPerS} msgs/s (${run.receivedPerSPer1k}/1k conns) · CPU ${run.cpuMsPerS} ms/s, idle ${run.idleCpuMsPerS}, above idle ${run.loadCpuMsPerSPer1k} ms/s per 1k conns · redis ${run.redis.cpuMsPerS} ms/s`,
        '',
      ]);
    }
    if (q) {
      rows.push([
        `S. Scale ${q.from}→${q.to} inst, ${label}`,
        `per 1k conns served: adapter msgs ${q.receivedPer1k}×, CPU above idle ${q.loadCpuPer1k}× (with idle ${q.cpuPer1k}×)`,
        topology === 'cluster' ? `≤ 1.1× ${goal(q.receivedPer1k <= 1.1 && q.loadCpuPer1k <= 1.1)}` : `grows ≈ ${round(q.to / q.from, 2)}× (every instance reads all)`,
      ]);
    }
  }
  return rows;
}

export const scale: Scenario = {
  summary: 'the same total load on 2, 3, 4 instances: Redis Cluster + sharded pub/sub vs one Redis + streams adapter, per-instance adapter messages and CPU',
  optIn: true,
  async run(ctx, _results, log): Promise<ScaleResult> {
    const { opts } = ctx;
    log(`  ${opts.scaleClients} connections in ${opts.scaleClients / 4} rooms of 4 (each over ${SPAN} instances), ${opts.scaleEventsPerRoomS} room event/s per room; windows: idle ${opts.idleS} s, load ${opts.scaleWindowS} s`);
    const runs: ScaleRun[] = [];
    for (const topology of ['cluster', 'standalone'] as const) {
      for (const k of opts.scaleInstances) runs.push(await scaleRun(ctx, topology, k, log));
    }
    return { clients: opts.scaleClients, span: SPAN, eventsPerRoomS: opts.scaleEventsPerRoomS, runs, ratios: { cluster: ratios(runs, 'cluster'), standalone: ratios(runs, 'standalone') } };
  },
  report,
};
