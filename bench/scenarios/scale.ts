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
 * reads every broadcast of the deployment). CPU is measured over three windows: idle
 * (rooms seated, no countdown, no events: the fixed cost of an instance — due-queue polls,
 * heartbeats — which does not shrink with its share, so it is reported apart), ticks only
 * (countdowns running), and the load (ticks + room events); the difference of the last two
 * is what the room events cost, on the instances and on Redis.
 */
import { setTimeout as sleep } from 'node:timers/promises';
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
  /** Countdowns running, no room events. */
  ticksCpuMsPerS: number;
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
  /** Room events the instances published per second (focusroom_events_out_total, all instances): the deployment's broadcasts. */
  broadcastsPerS: number;
  /**
   * Adapter messages an instance received per broadcast of the deployment (sharded: span ÷ instances;
   * stream: 1), and that per 1,000 connections it serves: the per-instance adapter cost
   * independent of the event rate the run reached.
   */
  receivedShare: number;
  receivedSharePer1k: number;
  roomEventsFailed: number;
  deliveredTickPct: number;
  perInstance: ScaleInstance[];
  /** Means over the instances. */
  receivedPerS: number;
  cpuMsPerS: number;
  idleCpuMsPerS: number;
  ticksCpuMsPerS: number;
  /** Per 1,000 connections the instance serves: adapter messages received /s, and CPU ms/s above its idle cost. */
  receivedPerSPer1k: number;
  loadCpuMsPerSPer1k: number;
  /** The same with the idle cost included. */
  cpuMsPerSPer1k: number;
  /** CPU ms/s per 1k connections the room events add to the ticks (load − ticks-only window). */
  eventsCpuMsPerSPer1k: number;
  /** What one room event costs: instance CPU (all instances, load − ticks window) and Redis CPU (all nodes), µs. */
  cpuUsPerRoomEvent: number;
  redis: { nodes: number; cpuMsPerS: number; idleCpuMsPerS: number; ticksCpuMsPerS: number; commandsPerS: number; spublishPerS: number; cpuUsPerRoomEvent: number; commandsPerRoomEvent: number };
}

/** One instance count of one topology: medians over its undisturbed repeats. */
export interface ScaleSummary {
  instances: number;
  runs: number;
  undisturbed: number;
  receivedPerS: number;
  receivedShare: number;
  receivedSharePer1k: number;
  cpuMsPerS: number;
  idleCpuMsPerS: number;
  ticksCpuMsPerS: number;
  loadCpuMsPerSPer1k: number;
  eventsCpuMsPerSPer1k: number;
  cpuMsPerSPer1k: number;
  cpuUsPerRoomEvent: number;
  redisCpuMsPerS: number;
  redisIdleCpuMsPerS: number;
  redisCpuUsPerRoomEvent: number;
}

/** Largest ÷ smallest instance count of a topology, per 1k connections served. */
export interface ScaleRatios {
  from: number;
  to: number;
  /** Adapter messages received per broadcast per 1k connections (the goal's message half). */
  receivedPer1k: number;
  /** CPU above the idle cost (the goal's CPU half). */
  loadCpuPer1k: number;
  eventsCpuPer1k: number;
  cpuPer1k: number;
  receivedPerInstance: number;
}

export interface ScaleResult {
  clients: number;
  span: number;
  eventsPerRoomS: number;
  repeat: number;
  runs: ScaleRun[];
  summary: Record<'cluster' | 'standalone', ScaleSummary[]>;
  ratios: Record<'cluster' | 'standalone', ScaleRatios | null>;
}

/** From an instance's /metrics: adapter messages received, and room events it published (focusroom_events_out_total, every event). */
const scrape = async (url: string): Promise<{ received: number; published: number }> => {
  const text = await (await fetch(`${url}/metrics`)).text();
  let published = 0;
  for (const m of text.matchAll(/^focusroom_events_out_total\{[^}]*\} (\d+)/gm)) published += Number(m[1]);
  return { received: Number(/^focusroom_adapter_messages_received_total (\d+(?:\.\d+)?)/m.exec(text)?.[1] ?? NaN), published };
};

interface Snapshot {
  stats: ServerStats[];
  received: number[];
  published: number[];
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
        Promise.all(servers.map((s) => scrape(s.url))),
        redis.sample(),
      ]);
      return { stats, received: recv.map((x) => x.received), published: recv.map((x) => x.published), redis: r };
    };
    const secs = (a: Snapshot, b: Snapshot) => (b.stats[0]!.hrtime - a.stats[0]!.hrtime) / 1e6;
    const cpuMsPerS = (a: Snapshot, b: Snapshot, i: number) => (cpuUs(b.stats[i]!) - cpuUs(a.stats[i]!)) / 1000 / secs(a, b);

    // Idle: seated, no countdown, no events — each instance's fixed cost.
    await sleep(1000);
    const i0 = await snap();
    await sleep(opts.idleS * 1000);
    const i1 = await snap();

    // Ticks only: every room counting down, no room events.
    await startAll(workers);
    await sleep(opts.warmupS * 1000);
    const t0 = await snap();
    await sleep(opts.idleS * 1000);
    const t1 = await snap();

    // The load: ticks and room events.
    await Promise.all(workers.map(({ w }) => w.request({ type: 'events-start', perRoomPerS: opts.scaleEventsPerRoomS })));
    await sleep(Math.min(2, opts.warmupS) * 1000);
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
      ticksCpuMsPerS: round(cpuMsPerS(t0, t1, i), 2),
    }));
    const redisRate = (x: Snapshot, y: Snapshot, f: (r: RedisSample) => number) => (f(y.redis) - f(x.redis)) / ((y.redis.at - x.redis.at) / 1000);
    const redisCpu = (x: Snapshot, y: Snapshot) => redisRate(x, y, (r) => r.cpuS * 1000);
    const mean = (f: (x: ScaleInstance) => number) => perInstance.reduce((acc, x) => acc + f(x), 0) / perInstance.length;
    const per1k = (f: (x: ScaleInstance) => number) => mean((x) => (1000 * f(x)) / Math.max(1, x.connections));
    const rs = (s1.redis.at - s0.redis.at) / 1000;
    const broadcasts = s1.published.reduce((acc, v, i) => acc + v - s0.published[i]!, 0) / s;
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
      broadcastsPerS: round(broadcasts, 1),
      receivedShare: round(mean((x) => x.receivedPerS) / Math.max(1, broadcasts), 3),
      receivedSharePer1k: round(mean((x) => (1000 * x.receivedPerS) / Math.max(1, broadcasts) / Math.max(1, x.connections)), 3),
      deliveredTickPct: round((100 * rec.delivered) / Math.max(1, rec.expected), 1),
      perInstance,
      receivedPerS: round(mean((x) => x.receivedPerS), 1),
      cpuMsPerS: round(mean((x) => x.cpuMsPerS), 2),
      idleCpuMsPerS: round(mean((x) => x.idleCpuMsPerS), 2),
      ticksCpuMsPerS: round(mean((x) => x.ticksCpuMsPerS), 2),
      receivedPerSPer1k: round(per1k((x) => x.receivedPerS), 1),
      loadCpuMsPerSPer1k: round(per1k((x) => x.cpuMsPerS - x.idleCpuMsPerS), 2),
      cpuMsPerSPer1k: round(per1k((x) => x.cpuMsPerS), 2),
      eventsCpuMsPerSPer1k: round(per1k((x) => x.cpuMsPerS - x.ticksCpuMsPerS), 2),
      cpuUsPerRoomEvent: round((1000 * perInstance.reduce((acc, x) => acc + x.cpuMsPerS - x.ticksCpuMsPerS, 0)) / Math.max(1, broadcasts), 1),
      redis: {
        nodes: topology === 'cluster' ? 3 : 1,
        cpuMsPerS: round(redisCpu(s0, s1), 1),
        idleCpuMsPerS: round(redisCpu(i0, i1), 1),
        ticksCpuMsPerS: round(redisCpu(t0, t1), 1),
        commandsPerS: round((s1.redis.total - s0.redis.total) / rs, 0),
        cpuUsPerRoomEvent: round((1000 * (redisCpu(s0, s1) - redisCpu(t0, t1))) / Math.max(1, broadcasts), 1),
        commandsPerRoomEvent: round((redisRate(s0, s1, (r) => r.total) - redisRate(t0, t1, (r) => r.total)) / Math.max(1, broadcasts), 2),
        spublishPerS: round(((s1.redis.commands.spublish ?? 0) - (s0.redis.commands.spublish ?? 0)) / rs, 1),
      },
    };
    log(
      `  ${topology} × ${k}: ${perInstance.map((x) => x.connections).join('/')} conns, ${run.roomEventsPerS} room events/s (${run.broadcastsPerS} broadcasts/s) · per instance ${run.receivedPerS} adapter msgs/s (${run.receivedShare} per broadcast; ${run.receivedPerSPer1k}/s per 1k conns), CPU ${run.cpuMsPerS} ms/s (idle ${run.idleCpuMsPerS}, ticks only ${run.ticksCpuMsPerS}; per 1k conns above idle ${run.loadCpuMsPerSPer1k}, for the events ${run.eventsCpuMsPerSPer1k}) · ${run.cpuUsPerRoomEvent} µs instance CPU per room event · redis ${run.redis.cpuMsPerS} ms/s (ticks only ${run.redis.ticksCpuMsPerS}; ${run.redis.cpuUsPerRoomEvent} µs and ${run.redis.commandsPerRoomEvent} commands per room event) · ticks ${run.deliveredTickPct}%${disturbed(run) ? ' — DISTURBED (left out of the medians)' : ''}`,
    );
    return run;
  } finally {
    await stopAll(workers.map((w) => w.w));
    await stopAll(servers);
    await redis.stop();
  }
}

/** A run whose room events failed (> 1 %) or whose ticks did not all arrive (< 98 %): the machine starved it; left out of the medians. */
export const disturbed = (r: ScaleRun) => r.roomEventsFailed > 0.01 * r.roomEventsPerS * r.windowS || r.deliveredTickPct < 98;

const median = (xs: number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length === 0 ? NaN : v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
};

/** Per instance count: the medians over the undisturbed repeats. */
function summarize(runs: ScaleRun[], topology: 'cluster' | 'standalone', counts: number[]): ScaleSummary[] {
  return counts.map((k) => {
    const mine = runs.filter((r) => r.topology === topology && r.instances === k);
    const ok = mine.filter((r) => !disturbed(r));
    const m = (f: (r: ScaleRun) => number, d = 2) => round(median(ok.map(f)), d);
    return {
      instances: k,
      runs: mine.length,
      undisturbed: ok.length,
      receivedPerS: m((r) => r.receivedPerS, 1),
      receivedShare: m((r) => r.receivedShare, 3),
      receivedSharePer1k: m((r) => r.receivedSharePer1k, 3),
      cpuMsPerS: m((r) => r.cpuMsPerS),
      idleCpuMsPerS: m((r) => r.idleCpuMsPerS),
      ticksCpuMsPerS: m((r) => r.ticksCpuMsPerS),
      loadCpuMsPerSPer1k: m((r) => r.loadCpuMsPerSPer1k),
      eventsCpuMsPerSPer1k: m((r) => r.eventsCpuMsPerSPer1k),
      cpuMsPerSPer1k: m((r) => r.cpuMsPerSPer1k),
      cpuUsPerRoomEvent: m((r) => r.cpuUsPerRoomEvent, 1),
      redisCpuMsPerS: m((r) => r.redis.cpuMsPerS, 1),
      redisIdleCpuMsPerS: m((r) => r.redis.idleCpuMsPerS, 1),
      redisCpuUsPerRoomEvent: m((r) => r.redis.cpuUsPerRoomEvent, 1),
    };
  });
}

function ratios(summary: ScaleSummary[]): ScaleRatios | null {
  const ok = summary.filter((x) => x.undisturbed > 0);
  if (ok.length < 2) return null;
  const lo = ok[0]!;
  const hi = ok[ok.length - 1]!;
  return {
    from: lo.instances,
    to: hi.instances,
    receivedPer1k: round(hi.receivedSharePer1k / lo.receivedSharePer1k, 2),
    loadCpuPer1k: round(hi.loadCpuMsPerSPer1k / lo.loadCpuMsPerSPer1k, 2),
    eventsCpuPer1k: round(hi.eventsCpuMsPerSPer1k / lo.eventsCpuMsPerSPer1k, 2),
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
    for (const x of s.summary[topology]) {
      rows.push([
        `   ${topology} × ${x.instances}${s.repeat > 1 ? ` (median of ${x.undisturbed}/${x.runs})` : x.undisturbed ? '' : ' (DISTURBED)'}`,
        `per instance: ${x.receivedPerS} msgs/s (${x.receivedShare} per broadcast) · CPU ${x.cpuMsPerS} ms/s (idle ${x.idleCpuMsPerS}, ticks only ${x.ticksCpuMsPerS}), above idle ${x.loadCpuMsPerSPer1k} ms/s per 1k conns · ${x.cpuUsPerRoomEvent} µs per room event · redis ${x.redisCpuMsPerS} ms/s`,
        '',
      ]);
    }
    if (q) {
      rows.push([
        `S. Scale ${q.from}→${q.to} inst, ${label}`,
        `per 1k conns served: adapter msgs per broadcast ${q.receivedPer1k}×, CPU above idle ${q.loadCpuPer1k}× (with idle ${q.cpuPer1k}×; the events' part ${q.eventsCpuPer1k}×)`,
        topology === 'cluster' ? `≤ 1.1× msgs ${goal(q.receivedPer1k <= 1.1)}, CPU ${goal(q.loadCpuPer1k <= 1.1)}` : `grows ≈ ${round(q.to / q.from, 2)}× (every instance reads all)`,
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
    log(`  ${opts.scaleClients} connections in ${opts.scaleClients / 4} rooms of 4 (each over ${SPAN} instances), ${opts.scaleEventsPerRoomS} room event/s per room; windows: idle ${opts.idleS} s, ticks only ${opts.idleS} s, load ${opts.scaleWindowS} s`);
    const runs: ScaleRun[] = [];
    // Repeats go round the instance counts, so a spell of load on the shared machine hits them alike.
    for (const topology of ['cluster', 'standalone'] as const) {
      for (let i = 0; i < opts.scaleRepeat; i++) for (const k of opts.scaleInstances) runs.push(await scaleRun(ctx, topology, k, log));
    }
    const counts = [...opts.scaleInstances].sort((a, b) => a - b);
    const summary = { cluster: summarize(runs, 'cluster', counts), standalone: summarize(runs, 'standalone', counts) };
    return { clients: opts.scaleClients, span: SPAN, eventsPerRoomS: opts.scaleEventsPerRoomS, repeat: opts.scaleRepeat, runs, summary, ratios: { cluster: ratios(summary.cluster), standalone: ratios(summary.standalone) } };
  },
  report,
};
