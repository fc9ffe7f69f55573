/** The shared tick-load run behind the ws, ticks and cluster scenarios. */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Ctx, profileFile, SESSION_MS, stopAll, type Worker } from '../lib/context.js';
import { summarize, type Percentiles } from '../lib/hist.js';
import { coreTimes, type CoreTimes, cpuUs, type EmitLateness, emitLateness, emitLatenessBuckets, recordWindow, seatAll, type ServerStats, startAll, connectAll } from '../lib/measure.js';
import type { NodeChild } from '../lib/procs.js';
import { formatProfile, type ProfileSummary, summarizeProfile } from '../lib/profile.js';
import { type BenchRedis, type RedisSample, startBenchRedis } from '../lib/redis.js';
import { round } from '../lib/report.js';
import type { Log } from './scenario.js';

/** Who serves the ticks: the bare `ws` baseline, focusroom (one instance, or two and Redis), or the Colyseus peer. */
export type TickKind = 'ws' | 'focusroom' | 'cluster' | 'colyseus';

export interface TickResult {
  kind: TickKind;
  clients: number;
  rooms: number;
  windowS: number;
  delivered: number;
  expected: number;
  deliveredPct: number;
  skipped: number;
  repeated: number;
  serverCpuMs: number;
  /** Share of the server processes' CPU time spent in user space (the rest is the kernel: socket writes, loopback). */
  serverUserPct: number;
  /** Server CPU (all server processes, plus redis-server in the cluster run) per delivered tick. */
  cpuUsPerMsg: number;
  cpuUtilPct: number;
  /** arrival − due, at the clients. */
  lateness: Percentiles;
  /** server_now − due: the server's own part (its clock when it sent the tick). */
  serverLateness: Percentiles;
  /** arrival − server_now: loopback and client-side delay. */
  delivery: Percentiles;
  /** Server event loop over the window (the worst instance): delay p99/max and utilisation. */
  loop?: { delayP99Ms: number; delayMaxMs: number; utilizationPct: number };
  /** Busy % of each core over the window (all processes on the machine). */
  coreBusyPct: number[];
  /** Busy % of the server core not spent by the bench's own server processes (others' load). */
  otherOnServerCorePct: number | null;
  serverRssMb: number;
  serverHeapMb: number;
  emit?: EmitLateness;
  perInstanceCpuMs?: number[];
  redis?: RedisWindow;
  profile?: ProfileSummary;
}

export interface RedisWindow {
  idleCpuMsPerS: number;
  tickCpuMsPerS: number;
  tickCausedCpuMsPerS: number;
  idleCommandsPerS: number;
  tickCommandsPerS: number;
  tickWindowCommands: Record<string, number>;
  /** Commands that carry a broadcast (PUBLISH, SPUBLISH, XADD) during the tick window: 0 when ticks stay local. */
  tickWindowBroadcasts: number;
}

/**
 * The tick load: `opts.clients` connections in rooms of 4, all counting down, measured over
 * one window — against the raw `ws` baseline, one focusroom instance, or two instances
 * sharing a redis-server (`kind`). The ws, ticks and cluster scenarios are this run.
 */
export async function tickLoad(ctx: Ctx, kind: TickKind, log: Log): Promise<TickResult> {
  const { opts } = ctx;
  const n = opts.clients;
  const servers: Array<NodeChild & { url: string }> = [];
  let workers: Worker[] = [];
  let redis: BenchRedis | null = null;
  try {
    // Servers started by the harness's IPC `start` (no rooms to seat: each group of 4 is one room).
    const selfStarting = kind === 'ws' || kind === 'colyseus';
    if (kind === 'ws') servers.push(await ctx.wsBaseline(n));
    else if (kind === 'colyseus') servers.push(await ctx.colyseusPeer(n));
    else if (kind === 'focusroom') servers.push(await ctx.focusroom('single', n));
    else {
      redis = await startBenchRedis(ctx.cores.server);
      for (const name of ['a', 'b']) servers.push(await ctx.focusroom(`inst-${name}`, n, { REDIS_URL: redis.url }));
    }
    workers = await ctx.workers(n);
    const t0 = Date.now();
    const connected = await connectAll(workers, kind === 'ws' ? 'ws' : kind === 'colyseus' ? 'colyseus' : 'sio', servers.map((s) => s.url));
    log(`  ${connected} connections in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    let rooms = n / 4;
    if (!selfStarting) {
      const t1 = Date.now();
      rooms = await seatAll(workers, SESSION_MS);
      log(`  ${rooms} rooms seated in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    }

    // Cluster: the same window with everyone seated but no countdown, for Redis's baseline.
    let idle: { cpu: number; cmds: number; s: number } | null = null;
    if (redis) {
      await sleep(1000);
      const r0 = await redis.sample();
      await sleep(opts.idleS * 1000);
      const r1 = await redis.sample();
      idle = { cpu: r1.cpuS - r0.cpuS, cmds: r1.total - r0.total, s: (r1.at - r0.at) / 1000 };
    }

    if (selfStarting) await servers[0]!.request({ type: 'start', spreadMs: 1000, durationMs: SESSION_MS });
    else await startAll(workers);
    await sleep(opts.warmupS * 1000);

    let s0: ServerStats[] = [];
    let s1: ServerStats[] = [];
    let m0: Map<number, number> | null = null;
    let m1: Map<number, number> | null = null;
    let r0: RedisSample | null = null;
    let r1: RedisSample | null = null;
    let c0: CoreTimes[] = [];
    let c1: CoreTimes[] = [];
    const rec = await recordWindow(workers, opts.windowS * 1000, {
      async before() {
        if (!selfStarting) m0 = await emitLatenessBuckets(servers[0]!.url);
        if (redis) r0 = await redis.sample();
        s0 = await Promise.all(servers.map((s) => s.request<ServerStats>({ type: 'stats' })));
        c0 = coreTimes();
      },
      async after() {
        c1 = coreTimes();
        s1 = await Promise.all(servers.map((s) => s.request<ServerStats>({ type: 'stats' })));
        if (redis) r1 = await redis.sample();
        if (!selfStarting) m1 = await emitLatenessBuckets(servers[0]!.url);
      },
    });
    if (s0[0]!.uptimeMs !== undefined) log(`  window: server uptime ${s0[0]!.uptimeMs}–${s1[0]!.uptimeMs} ms (for matching --trace-gc output)`);
    const perInstance = servers.map((_, i) => (cpuUs(s1[i]!) - cpuUs(s0[i]!)) / 1000);
    const userMs = servers.reduce((a, _, i) => a + (s1[i]!.cpu.user - s0[i]!.cpu.user) / 1000, 0);
    const wallMs = (s1[0]!.hrtime - s0[0]!.hrtime) / 1000;
    let serverCpuMs = perInstance.reduce((a, b) => a + b, 0);
    let redisWindow: RedisWindow | undefined;
    if (redis && r0 && r1 && idle) {
      const a = r0 as RedisSample;
      const b = r1 as RedisSample;
      const s = (b.at - a.at) / 1000;
      const tickCpuMsPerS = ((b.cpuS - a.cpuS) * 1000) / s;
      const idleCpuMsPerS = (idle.cpu * 1000) / idle.s;
      const commands: Record<string, number> = {};
      for (const [cmd, calls] of Object.entries(b.commands)) {
        const d = calls - (a.commands[cmd] ?? 0);
        if (d > 0) commands[cmd] = d;
      }
      redisWindow = {
        idleCpuMsPerS: round(idleCpuMsPerS, 2),
        tickCpuMsPerS: round(tickCpuMsPerS, 2),
        tickCausedCpuMsPerS: round(tickCpuMsPerS - idleCpuMsPerS, 2),
        idleCommandsPerS: round(idle.cmds / idle.s, 1),
        tickCommandsPerS: round((b.total - a.total) / s, 1),
        tickWindowCommands: commands,
        tickWindowBroadcasts: (commands.publish ?? 0) + (commands.spublish ?? 0) + (commands.xadd ?? 0),
      };
      serverCpuMs += (b.cpuS - a.cpuS) * 1000;
    }
    const expected = rec.expected;
    // How busy each core was over the window, and on the server core how much of that was
    // not ours (other processes on a shared machine): the noise floor of this run.
    const cores = c1.map((c, i) => {
      const busy = c.busy - c0[i]!.busy;
      const total = c.total - c0[i]!.total;
      return round((100 * busy) / Math.max(1, total), 1);
    });
    const serverCore = ctx.cores.server === null ? null : Number(ctx.cores.server);
    const otherOnServerCorePct =
      serverCore === null || cores[serverCore] === undefined ? null : round(Math.max(0, cores[serverCore]! - (100 * serverCpuMs) / wallMs), 1);
    const result: TickResult = {
      kind,
      clients: n,
      rooms,
      windowS: round(wallMs / 1000, 2),
      delivered: rec.delivered,
      expected,
      deliveredPct: round((100 * rec.delivered) / expected, 1),
      skipped: rec.skipped,
      repeated: rec.repeated,
      serverCpuMs: round(serverCpuMs, 1),
      serverUserPct: round((100 * userMs) / Math.max(1, perInstance.reduce((a, b) => a + b, 0)), 1),
      cpuUsPerMsg: round((serverCpuMs * 1000) / Math.max(1, rec.delivered), 2),
      cpuUtilPct: round((100 * serverCpuMs) / wallMs, 1),
      lateness: summarize(rec.lateness),
      serverLateness: summarize(rec.emit),
      delivery: summarize(rec.transit),
      ...(s1[0]!.loop
        ? { loop: { delayP99Ms: round(Math.max(...s1.map((x) => x.loop!.delayP99Ms)), 1), delayMaxMs: round(Math.max(...s1.map((x) => x.loop!.delayMaxMs)), 1), utilizationPct: round(100 * Math.max(...s1.map((x) => x.loop!.utilization)), 1) } }
        : {}),
      coreBusyPct: cores,
      otherOnServerCorePct,
      serverRssMb: round(s1.reduce((a, s) => a + s.mem.rss, 0) / 2 ** 20, 1),
      serverHeapMb: round(s1.reduce((a, s) => a + s.mem.heapUsed, 0) / 2 ** 20, 1),
      ...(m0 && m1 ? { emit: emitLateness(m0, m1) } : {}),
      ...(servers.length > 1 ? { perInstanceCpuMs: perInstance.map((v) => round(v, 1)) } : {}),
      ...(redisWindow ? { redis: redisWindow } : {}),
    };

    if (process.env.BENCH_PROMOTED_S && kind !== 'cluster') {
      const file = profileFile(opts, `promoted-${kind}-${n}`).replace(/cpuprofile$/, 'heapprofile');
      await servers[0]!.request({ type: 'alloc-start', intervalBytes: 4096, major: true, minor: false });
      await sleep(Number(process.env.BENCH_PROMOTED_S) * 1000);
      await servers[0]!.request({ type: 'alloc-stop', file });
      log(`  promoted-allocation profile: ${file}`);
    }
    if (opts.profile && kind !== 'cluster') {
      const file = profileFile(opts, `${kind === 'focusroom' ? 'ticks' : kind}-${n}`);
      await servers[0]!.request({ type: 'profile-start', intervalUs: 500 });
      await sleep(opts.profileS * 1000);
      await servers[0]!.request({ type: 'profile-stop', file });
      result.profile = summarizeProfile(file);
      log(formatProfile(result.profile));
    }
    return result;
  } finally {
    await stopAll(workers.map((w) => w.w));
    await stopAll(servers);
    await redis?.stop();
  }
}

