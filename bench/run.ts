/**
 * `npm run bench` — the load and latency harness (loopback only, bounded in time, stops
 * by itself, kills only what it started). See docs/performance.md for what each number
 * means and how it was produced.
 *
 *   npm run bench                                   # every scenario at 10,000 clients
 *   npm run bench -- --quick                        # every scenario, small and short
 *   npm run bench -- --clients 19500 --only ticks   # one scenario at another scale
 *   npm run bench -- --only ticks --profile         # plus a CPU profile of the tick window
 *
 * Scenarios (--only takes a comma list):
 *   ws       raw `ws` baseline: same connections, same ticks/s, minimal server
 *   ticks    focusroom, N clients in rooms of 4, all counting down: CPU per delivered
 *            tick (ratio to ws) and tick lateness at the clients
 *   memory   heap and RSS per idle seated participant (forced GC in the server)
 *   cluster  the ticks load on 2 instances + redis-server vs 1 instance
 *   join     create/join throughput, stepping the rate until p99 ack latency > 100 ms
 *   quiet    the same N participants counting down, first ticking then quiet
 *            (set_ticks false, as the SDK does): CPU per participant-second of each,
 *            and the browser SDK bundle's size
 *   abuse    DESIGN.md §11 under attack (bench/abuse.ts): slow consumers, a flood of legal
 *            events; memory, a probe room's tick lateness, resume times. Only with --only
 *            (not part of the default run); --abuse-unbounded for the "before" figures
 *
 * Servers run as their own processes (`node dist/server-entry` via bench/server-entry.mjs,
 * the same buildApp as src/server.ts), clients in `--workers` child processes; with
 * taskset and ≥ 2 cores, servers (and redis) are pinned to core 0 and clients + this
 * harness to the other cores.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Hist, type HistJSON, summarize, type Percentiles } from './lib/hist.js';
import { NodeChild, killAllChildren, nofileLimits, procCpuSeconds, spawnChild, tools } from './lib/procs.js';
import { deployedNodeFlags } from './lib/deployed-flags.js';
import { formatProfile, type ProfileSummary, summarizeProfile } from './lib/profile.js';
import { gzipSync } from 'node:zlib';
import { buildBrowserClient } from '../scripts/build-client.mjs';
import { type AbuseResult, abuseServerEnv, runAbusePhases } from './abuse.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Cores this harness may use, read before it pins itself to the client cores. */
const NPROC = os.availableParallelism();
const SCENARIOS = ['ws', 'ticks', 'memory', 'cluster', 'join', 'quiet', 'abuse'] as const;
type Scenario = (typeof SCENARIOS)[number];
/** What a bare `npm run bench` runs: abuse only when asked for. */
const DEFAULT_SCENARIOS: Scenario[] = ['ws', 'ticks', 'memory', 'cluster', 'join', 'quiet'];

// ---------------------------------------------------------------------------------------
// Options

interface Options {
  clients: number;
  only: Scenario[];
  quick: boolean;
  warmupS: number;
  windowS: number;
  workers: number;
  runtime: 'dist' | 'src';
  build: boolean;
  pin: boolean;
  profile: boolean;
  profileS: number;
  out: string;
  memoryClients: number;
  joinPool: number;
  joinStepS: number;
  joinRates: number[];
  idleS: number;
  /** abuse: seconds per phase, and whether the §11 bounds are lifted ("before"). */
  abuseWindowS: number;
  abuseUnbounded: boolean;
  timeoutS: number;
  /** Extra node flags for the server processes, focusroom and ws baseline (experiments, e.g. --trace-gc). */
  serverNodeArgs: string[];
}

const HELP = `usage: npm run bench -- [options]
  --clients N        connections for ws/ticks/memory/cluster (default 10000; quick 400)
  --only LIST        comma list of: ${SCENARIOS.join(', ')} (default: all)
  --quick            small and short: windows of a few seconds
  --warmup S         seconds of ticking before a window (default 5; quick 2)
  --window S         measurement window in seconds (default 60, so a major GC usually falls inside; quick 4)
  --idle S           cluster: Redis baseline window with rooms seated, no countdown (default 10; quick 2)
  --workers N        client processes (default 4)
  --runtime R        dist (build, then plain node; default) or src (node --import tsx)
  --no-build         with --runtime dist: use dist/ as it is
  --no-pin           do not pin servers/clients to separate cores
  --profile          CPU-profile the server over an extra window after the measured one (ws, ticks, join)
  --abuse-window S   abuse: seconds per phase (default 30; quick 8)
  --abuse-unbounded  abuse: lift every §11 bound by env (an approximation of before issue 11)
  --memory-clients N participants for the memory scenario (default: --clients)
  --join-pool N      connected sockets reused by the join scenario (default min(clients, 2000))
  --join-step S      seconds per join rate step (default 3; quick 1.5)
  --join-rates LIST  rooms/s steps (default 50,100,200,400,600,800,1000,1300,1600,2000,2500,3000)
  --out FILE         JSON results (default .bench-out/bench-<time>.json, also .bench-out/latest.json)
  (env BENCH_LOG_DIR=dir copies every child's output to dir/<name>.log;
   BENCH_STALL_MS=n makes the focusroom server log every event-loop gap over n ms with its uptime,
   to line stalls up with --trace-gc; BENCH_PROMOTED_S=s samples, after the window, s seconds of the
   allocations that outlive the young generation into .bench-out/profiles/promoted-*.heapprofile)
  --timeout S        hard bound on the whole run (default 1800)
  --server-node-args=FLAGS   node flags for the servers, focusroom and ws baseline, space-separated
                     (default: the deployed ones, from package.json's "start"; --server-node-args= for
                     Node's defaults; add --trace-gc with BENCH_LOG_DIR to see the GCs)`;

function parseArgs(argv: string[]): Options {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}"\n${HELP}`);
    const eq = a.indexOf('=');
    const k = eq < 0 ? a.slice(2) : a.slice(2, eq);
    const v = eq < 0 ? undefined : a.slice(eq + 1);
    if (v !== undefined) flags.set(k, v);
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) flags.set(k, argv[++i]!);
    else flags.set(k, true);
  }
  if (flags.has('help')) {
    console.log(HELP);
    process.exit(0);
  }
  const known = new Set(['clients', 'only', 'quick', 'warmup', 'window', 'workers', 'runtime', 'no-build', 'no-pin', 'profile', 'memory-clients', 'join-pool', 'join-step', 'join-rates', 'out', 'timeout', 'server-node-args', 'idle', 'abuse-window', 'abuse-unbounded']);
  for (const k of flags.keys()) if (!known.has(k)) throw new Error(`unknown option --${k}\n${HELP}`);
  const num = (k: string, def: number): number => {
    const v = flags.get(k);
    if (v === undefined) return def;
    const n = Number(v);
    if (v === true || !Number.isFinite(n) || n <= 0) throw new Error(`--${k} needs a positive number`);
    return n;
  };
  const quick = flags.get('quick') === true;
  const clients = Math.floor(num('clients', quick ? 400 : 10_000) / 4) * 4;
  if (clients < 8) throw new Error('--clients must be at least 8');
  if (clients > 20_000) throw new Error('--clients is capped at 20000 (one loopback machine)');
  const only = flags.has('only') ? String(flags.get('only')).split(',').map((s) => s.trim()) : [...DEFAULT_SCENARIOS];
  for (const s of only) if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`unknown scenario "${s}" (one of ${SCENARIOS.join(', ')})`);
  const runtime = flags.get('runtime') ?? 'dist';
  if (runtime !== 'dist' && runtime !== 'src') throw new Error('--runtime is dist or src');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return {
    clients,
    only: only as Scenario[],
    quick,
    warmupS: num('warmup', quick ? 2 : 5),
    // Long enough to contain a major GC at 10k+ connections (every ~30 s under ticks).
    windowS: num('window', quick ? 4 : 60),
    workers: Math.floor(num('workers', 4)),
    runtime,
    build: runtime === 'dist' && !flags.has('no-build'),
    pin: !flags.has('no-pin'),
    profile: flags.has('profile'),
    profileS: quick ? 3 : 10,
    out: resolve(ROOT, String(flags.get('out') ?? `.bench-out/bench-${stamp}.json`)),
    memoryClients: Math.floor(num('memory-clients', clients) / 4) * 4,
    joinPool: Math.floor(num('join-pool', Math.min(clients, quick ? 400 : 2000)) / 4) * 4,
    joinStepS: num('join-step', quick ? 1.5 : 3),
    joinRates: flags.has('join-rates')
      ? String(flags.get('join-rates')).split(',').map(Number)
      : quick
        ? [25, 50, 100, 200]
        : [50, 100, 200, 400, 600, 800, 1000, 1300, 1600, 2000, 2500, 3000],
    idleS: num('idle', quick ? 2 : 10),
    abuseWindowS: num('abuse-window', quick ? 8 : 30),
    abuseUnbounded: flags.has('abuse-unbounded'),
    timeoutS: num('timeout', 1800),
    // Default: the flags `npm start` and the Dockerfile run the server with.
    serverNodeArgs: flags.has('server-node-args') ? String(flags.get('server-node-args')).split(/\s+/).filter(Boolean) : deployedNodeFlags(ROOT),
  };
}

// ---------------------------------------------------------------------------------------
// Processes

interface Cores {
  server: string | null;
  clients: string | null;
  description: string;
}

function planCores(pin: boolean): Cores {
  const n = NPROC;
  if (!pin) return { server: null, clients: null, description: `not pinned (${n} cores shared by everything)` };
  if (!tools.taskset) return { server: null, clients: null, description: `not pinned: taskset not found (${n} cores shared)` };
  if (n < 2) return { server: null, clients: null, description: 'not pinned: 1 core' };
  const clients = n === 2 ? '1' : `1-${n - 1}`;
  // The harness itself does little, but it should not share the server's core either.
  try {
    execFileSync('taskset', ['-a', '-p', '-c', clients, String(process.pid)], { stdio: 'ignore' });
  } catch {
    /* not fatal */
  }
  return { server: '0', clients, description: `server(s) and redis-server on core 0; client workers and harness on core${n === 2 ? '' : 's'} ${clients} (taskset)` };
}

const LIFTED_LIMITS = {
  RATE_CONNECTIONS_PER_MIN: '10000000',
  RATE_SOCKET_EVENTS_PER_SEC: '100000',
  RATE_CREATES_PER_MIN: '1000000',
  RATE_JOIN_FAILURES_PER_MIN: '1000000',
  // The harness is one address with thousands of sockets; the abuse scenario sets its own.
  RATE_ADDRESS_EVENTS_PER_SEC: '10000000',
  RATE_INSTANCE_EVENTS_PER_SEC: '10000000',
  EVENT_LOOP_LAG_SHED_MS: '60000',
  MAX_CONNECTIONS_PER_ADDRESS: '10000000',
  MAX_CONNECTIONS: '10000000',
  MAX_PENDING_PER_ADDRESS: '1000000',
  RATE_ROOM_CONTROLS_PER_MIN: '1000000',
};

class Ctx {
  constructor(
    readonly opts: Options,
    readonly cores: Cores,
  ) {}

  nodeArgs(): string[] {
    return this.opts.runtime === 'src' ? ['--import', 'tsx'] : [];
  }

  async focusroom(name: string, conns: number, env: Record<string, string> = {}): Promise<NodeChild & { url: string }> {
    const child = spawnChild(process.execPath, [...this.nodeArgs(), ...this.opts.serverNodeArgs, '--expose-gc', join(ROOT, 'bench/server-entry.mjs')], {
      cpus: this.cores.server,
      nofile: conns + 1024,
      ipc: true,
      quiet: true,
      logName: name,
      env: {
        NODE_ENV: 'production',
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        INSTANCE_ID: name,
        BENCH_APP_DIR: this.opts.runtime,
        ...LIFTED_LIMITS,
        ...env,
      },
    });
    const server = new NodeChild(name, child);
    const ready = await server.ready;
    return Object.assign(server, { url: ready.url! });
  }

  async wsBaseline(conns: number): Promise<NodeChild & { url: string }> {
    const child = spawnChild(process.execPath, [...this.opts.serverNodeArgs, join(ROOT, 'bench/ws-baseline.mjs')], { cpus: this.cores.server, nofile: conns + 1024, ipc: true, quiet: true, logName: 'ws-baseline' });
    const server = new NodeChild('ws-baseline', child);
    const ready = await server.ready;
    return Object.assign(server, { url: ready.url! });
  }

  /** `count` connections split over the workers in whole rooms of 4. */
  async workers(count: number): Promise<Array<{ w: NodeChild; count: number }>> {
    const n = Math.max(1, Math.min(this.opts.workers, count / 4));
    const rooms = count / 4;
    const out: Array<{ w: NodeChild; count: number }> = [];
    for (let i = 0; i < n; i++) {
      const share = (Math.floor(rooms / n) + (i < rooms % n ? 1 : 0)) * 4;
      const child = spawnChild(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/clients.ts')], { cpus: this.cores.clients, nofile: share + 1024, ipc: true, quiet: true, logName: `clients-${i}` });
      const w = new NodeChild(`clients-${i}`, child);
      out.push({ w, count: share });
    }
    await Promise.all(out.map((o) => o.w.ready));
    return out;
  }
}

async function stopAll(children: Array<NodeChild | null | undefined>): Promise<void> {
  await Promise.all(children.filter((c): c is NodeChild => Boolean(c)).map((c) => c.stop()));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ServerStats {
  cpu: { user: number; system: number };
  /** focusroom server only: event-loop delay (monitorEventLoopDelay, 10 ms resolution) and utilisation since the previous stats call. */
  loop?: { delayP50Ms: number; delayP99Ms: number; delayMaxMs: number; utilization: number };
  mem: NodeJS.MemoryUsage;
  gced: boolean;
  connections: number;
  uptimeMs?: number;
  hrtime: number;
}

const cpuUs = (s: ServerStats) => s.cpu.user + s.cpu.system;

async function connectAll(workers: Array<{ w: NodeChild; count: number }>, mode: 'sio' | 'ws', urls: string[]): Promise<number> {
  let groupBase = 0;
  const results = await Promise.all(
    workers.map(({ w, count }) => {
      const req = w.request<{ connected: number; failed: number; firstError: string | null }>({ type: 'connect', mode, urls, count, concurrency: 50, groupBase }, 300_000);
      groupBase += count / 4;
      return req;
    }),
  );
  const failed = results.reduce((a, r) => a + r.failed, 0);
  if (failed > 0) throw new Error(`${failed} connections failed: ${results.find((r) => r.firstError)?.firstError}`);
  return results.reduce((a, r) => a + r.connected, 0);
}

async function seatAll(workers: Array<{ w: NodeChild }>, durationMs: number): Promise<number> {
  const results = await Promise.all(workers.map(({ w }) => w.request<{ rooms: number; failed: number; firstError: string | null }>({ type: 'seat', durationMs, concurrency: 25 }, 300_000)));
  const failed = results.reduce((a, r) => a + r.failed, 0);
  if (failed > 0) throw new Error(`${failed} rooms could not be seated: ${results.find((r) => r.firstError)?.firstError}`);
  return results.reduce((a, r) => a + r.rooms, 0);
}

async function startAll(workers: Array<{ w: NodeChild }>): Promise<void> {
  const results = await Promise.all(workers.map(({ w }, slot) => w.request<{ failed: number; firstError: string | null }>({ type: 'start', spreadMs: 1000, slot, slots: workers.length }, 120_000)));
  const failed = results.reduce((a, r) => a + r.failed, 0);
  if (failed > 0) throw new Error(`${failed} rooms did not start: ${results.find((r) => r.firstError)?.firstError}`);
}

interface Recorded {
  delivered: number;
  expected: number;
  skipped: number;
  repeated: number;
  lateness: Hist;
  emit: Hist;
  transit: Hist;
}

/**
 * One measurement window: `before` snapshots the servers, the clients count ticks for
 * `windowMs`, then `after` snapshots again — so the ticks counted fall inside the CPU
 * window (the IPC round trips at either end are a few ms of a many-second window).
 */
async function recordWindow(workers: Array<{ w: NodeChild; count: number }>, windowMs: number, around: { before(): Promise<void>; after(): Promise<void> }): Promise<Recorded> {
  await around.before();
  await Promise.all(workers.map(({ w }) => w.request({ type: 'record-start' })));
  await sleep(windowMs);
  const parts = await Promise.all(
    workers.map(({ w }) => w.request<{ delivered: number; skipped: number; repeated: number; windowMs: number; hist: HistJSON; emit: HistJSON; transit: HistJSON }>({ type: 'record-stop' })),
  );
  await around.after();
  return {
    delivered: parts.reduce((a, p) => a + p.delivered, 0),
    // What the clients should have seen: one tick a second per connection.
    expected: Math.round(parts.reduce((a, p, i) => a + (workers[i]!.count * p.windowMs) / 1000, 0)),
    skipped: parts.reduce((a, p) => a + p.skipped, 0),
    repeated: parts.reduce((a, p) => a + p.repeated, 0),
    lateness: Hist.from(parts.map((p) => p.hist)),
    emit: Hist.from(parts.map((p) => p.emit)),
    transit: Hist.from(parts.map((p) => p.transit)),
  };
}

/** The server's own emit lateness histogram (focusroom_tick_lateness_seconds) from /metrics. */
async function emitLatenessBuckets(url: string): Promise<Map<number, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<number, number>();
  for (const m of text.matchAll(/^focusroom_tick_lateness_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)) {
    out.set(m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2]));
  }
  return out;
}

interface EmitLateness {
  count: number;
  /** Upper bound (ms) of the histogram bucket holding p50 / p99. */
  p50LeMs: number;
  p99LeMs: number;
  within1msPct: number;
}

function emitLateness(before: Map<number, number>, after: Map<number, number>): EmitLateness {
  const les = [...after.keys()].sort((a, b) => a - b);
  const cum = les.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const count = cum[cum.length - 1] ?? 0;
  const at = (p: number) => {
    const i = cum.findIndex((c) => c >= p * count);
    return les[i] === Infinity ? Infinity : les[i]! * 1000;
  };
  return { count, p50LeMs: at(0.5), p99LeMs: at(0.99), within1msPct: count ? Math.round((1000 * (cum[les.indexOf(0.001)] ?? 0)) / count) / 10 : NaN };
}

interface CoreTimes {
  busy: number;
  total: number;
}

/** Per-core jiffies from /proc/stat: busy (everything but idle and iowait) and total. */
function coreTimes(): CoreTimes[] {
  const out: CoreTimes[] = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = line.match(/^cpu(\d+) (.*)$/);
    if (!m) continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    out[Number(m[1])] = { busy: total - v[3]! - v[4]!, total };
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Scenarios

interface TickResult {
  kind: 'ws' | 'focusroom' | 'cluster';
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

function profileFile(opts: Options, name: string): string {
  const dir = join(dirname(opts.out), 'profiles');
  mkdirSync(dir, { recursive: true });
  return join(dir, `${name}-${Date.now()}.cpuprofile`);
}

interface RedisWindow {
  idleCpuMsPerS: number;
  tickCpuMsPerS: number;
  tickCausedCpuMsPerS: number;
  idleCommandsPerS: number;
  tickCommandsPerS: number;
  tickWindowCommands: Record<string, number>;
  /** Commands that carry a broadcast (PUBLISH, SPUBLISH, XADD) during the tick window: 0 when ticks stay local. */
  tickWindowBroadcasts: number;
}

/** Countdowns long enough to outlast any run. */
const SESSION_MS = 30 * 60_000;

async function tickScenario(ctx: Ctx, kind: 'ws' | 'focusroom' | 'cluster', log: (s: string) => void): Promise<TickResult> {
  const { opts } = ctx;
  const n = opts.clients;
  const servers: Array<NodeChild & { url: string }> = [];
  let workers: Array<{ w: NodeChild; count: number }> = [];
  let redis: BenchRedis | null = null;
  try {
    if (kind === 'ws') servers.push(await ctx.wsBaseline(n));
    else if (kind === 'focusroom') servers.push(await ctx.focusroom('single', n));
    else {
      redis = await startBenchRedis(ctx.cores.server);
      for (const name of ['a', 'b']) servers.push(await ctx.focusroom(`inst-${name}`, n, { REDIS_URL: redis.url }));
    }
    workers = await ctx.workers(n);
    const t0 = Date.now();
    const connected = await connectAll(workers, kind === 'ws' ? 'ws' : 'sio', servers.map((s) => s.url));
    log(`  ${connected} connections in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    let rooms = n / 4;
    if (kind !== 'ws') {
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

    if (kind === 'ws') await servers[0]!.request({ type: 'start', spreadMs: 1000, durationMs: SESSION_MS });
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
        if (kind !== 'ws') m0 = await emitLatenessBuckets(servers[0]!.url);
        if (redis) r0 = await redis.sample();
        s0 = await Promise.all(servers.map((s) => s.request<ServerStats>({ type: 'stats' })));
        c0 = coreTimes();
      },
      async after() {
        c1 = coreTimes();
        s1 = await Promise.all(servers.map((s) => s.request<ServerStats>({ type: 'stats' })));
        if (redis) r1 = await redis.sample();
        if (kind !== 'ws') m1 = await emitLatenessBuckets(servers[0]!.url);
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
      const file = profileFile(opts, `${kind === 'ws' ? 'ws' : 'ticks'}-${n}`);
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

interface QuietResult {
  clients: number;
  rooms: number;
  windowS: number;
  /** Server CPU per connected participant-second, µs: seated with no countdown, everyone ticking, then everyone quiet. */
  idle: { cpuUsPerParticipantS: number; cpuUtilPct: number };
  ticking: { cpuUsPerParticipantS: number; delivered: number; cpuUtilPct: number };
  quiet: { cpuUsPerParticipantS: number; delivered: number; cpuUtilPct: number };
  /** quiet / ticking, in percent (goal ≤ 10). */
  quietPct: number;
  /** What quiet adds over idle, relative to what ticking adds over idle, in percent. */
  quietAboveIdlePct: number;
  /** The browser SDK bundle (dist/browser/focusroom-client.js, socket.io-client excluded). */
  bundle: { bytes: number; gzipBytes: number };
}

/**
 * Quiet clients (DESIGN.md §9): the same N seated participants measured three times in
 * one run — seated with no countdown (the floor), counting down and ticking (the
 * default), then after every socket sent `set_ticks { enabled: false }` (what the SDK does). CPU per connected
 * participant-second of the server in each window; plus the browser SDK's bundle size.
 */
async function quietScenario(ctx: Ctx, log: (s: string) => void): Promise<QuietResult> {
  const { opts } = ctx;
  const n = opts.clients;
  const server = await ctx.focusroom('quiet', n);
  let workers: Array<{ w: NodeChild; count: number }> = [];
  try {
    workers = await ctx.workers(n);
    await connectAll(workers, 'sio', [server.url]);
    const rooms = await seatAll(workers, SESSION_MS);
    const windowMs = opts.windowS * 1000;
    const measure = async () => {
      await sleep(opts.warmupS * 1000);
      let s0: ServerStats | null = null;
      let s1: ServerStats | null = null;
      const rec = await recordWindow(workers, windowMs, {
        before: async () => void (s0 = await server.request<ServerStats>({ type: 'stats' })),
        after: async () => void (s1 = await server.request<ServerStats>({ type: 'stats' })),
      });
      const cpuMs = (cpuUs(s1!) - cpuUs(s0!)) / 1000;
      const wallMs = (s1!.hrtime - s0!.hrtime) / 1000;
      return { cpuUsPerParticipantS: round((cpuMs * 1000) / (n * (wallMs / 1000)), 3), delivered: rec.delivered, cpuUtilPct: round((100 * cpuMs) / wallMs, 1), wallMs };
    };
    // The floor: the same participants seated, no countdown (pings, timers, the process itself).
    const idle = await measure();
    log(`  idle:    ${idle.cpuUsPerParticipantS} µs CPU per participant-second (seated, no countdown; ${idle.cpuUtilPct}% CPU)`);
    await startAll(workers);
    log(`  ${n} participants in ${rooms} rooms, counting down`);
    const ticking = await measure();
    log(`  ticking: ${ticking.cpuUsPerParticipantS} µs CPU per participant-second (${ticking.delivered} ticks, ${ticking.cpuUtilPct}% CPU)`);
    const quietAcks = await Promise.all(workers.map(({ w }) => w.request<{ failed: number }>({ type: 'ticks', enabled: false, concurrency: 50 }, 120_000)));
    const failed = quietAcks.reduce((a, r) => a + r.failed, 0);
    if (failed > 0) throw new Error(`${failed} set_ticks calls failed`);
    const quiet = await measure();
    log(`  quiet:   ${quiet.cpuUsPerParticipantS} µs CPU per participant-second (${quiet.delivered} ticks, ${quiet.cpuUtilPct}% CPU)`);
    const built = await buildBrowserClient({ write: false });
    const js = built.outputFiles!.find((f) => f.path.endsWith('.js'))!;
    const bundle = { bytes: js.contents.byteLength, gzipBytes: gzipSync(js.contents, { level: 9 }).byteLength };
    log(`  browser SDK bundle: ${bundle.bytes} B, ${bundle.gzipBytes} B gzip (socket.io-client excluded)`);
    return {
      clients: n,
      rooms,
      windowS: round(quiet.wallMs / 1000, 2),
      idle: { cpuUsPerParticipantS: idle.cpuUsPerParticipantS, cpuUtilPct: idle.cpuUtilPct },
      ticking: { cpuUsPerParticipantS: ticking.cpuUsPerParticipantS, delivered: ticking.delivered, cpuUtilPct: ticking.cpuUtilPct },
      quiet: { cpuUsPerParticipantS: quiet.cpuUsPerParticipantS, delivered: quiet.delivered, cpuUtilPct: quiet.cpuUtilPct },
      quietPct: round((100 * quiet.cpuUsPerParticipantS) / Math.max(1e-9, ticking.cpuUsPerParticipantS), 1),
      quietAboveIdlePct: round((100 * Math.max(0, quiet.cpuUsPerParticipantS - idle.cpuUsPerParticipantS)) / Math.max(1e-9, ticking.cpuUsPerParticipantS - idle.cpuUsPerParticipantS), 1),
      bundle,
    };
  } finally {
    await stopAll(workers.map((w) => w.w));
    await stopAll([server]);
  }
}

interface MemoryResult {
  participants: number;
  rooms: number;
  gced: boolean;
  baseline: { heapMb: number; rssMb: number };
  connectedOnly: { heapPerConnKb: number; rssPerConnKb: number };
  seated: { heapPerConnKb: number; rssPerConnKb: number; externalPerConnKb: number };
  totals: { heapMb: number; rssMb: number };
}

async function memoryScenario(ctx: Ctx, log: (s: string) => void): Promise<MemoryResult> {
  const n = ctx.opts.memoryClients;
  const server = await ctx.focusroom('memory', n);
  let workers: Array<{ w: NodeChild; count: number }> = [];
  try {
    await sleep(500);
    const base = await server.request<ServerStats>({ type: 'stats', gc: true });
    workers = await ctx.workers(n);
    await connectAll(workers, 'sio', [server.url]);
    await sleep(1500);
    const conn = await server.request<ServerStats>({ type: 'stats', gc: true });
    const rooms = await seatAll(workers, SESSION_MS);
    // Let acks, broadcasts and socket write buffers settle before counting what stays.
    await sleep(3000);
    const seated = await server.request<ServerStats>({ type: 'stats', gc: true });
    log(`  ${n} participants in ${rooms} rooms; heap ${mb(base.mem.heapUsed)} → ${mb(seated.mem.heapUsed)} MB, rss ${mb(base.mem.rss)} → ${mb(seated.mem.rss)} MB`);
    const per = (a: number, b: number) => round((b - a) / n / 1024, 2);
    return {
      participants: n,
      rooms,
      gced: seated.gced,
      baseline: { heapMb: mb(base.mem.heapUsed), rssMb: mb(base.mem.rss) },
      connectedOnly: { heapPerConnKb: per(base.mem.heapUsed, conn.mem.heapUsed), rssPerConnKb: per(base.mem.rss, conn.mem.rss) },
      seated: {
        heapPerConnKb: per(base.mem.heapUsed, seated.mem.heapUsed),
        rssPerConnKb: per(base.mem.rss, seated.mem.rss),
        externalPerConnKb: per(base.mem.external + base.mem.arrayBuffers, seated.mem.external + seated.mem.arrayBuffers),
      },
      totals: { heapMb: mb(seated.mem.heapUsed), rssMb: mb(seated.mem.rss) },
    };
  } finally {
    await stopAll(workers.map((w) => w.w));
    await server.stop();
  }
}

interface JoinStep {
  targetRoomsPerS: number;
  roomsPerS: number;
  opsPerS: number;
  completed: number;
  errors: number;
  starved: number;
  createP99Ms: number;
  joinP99Ms: number;
  ackP50Ms: number;
  ackP99Ms: number;
  leaveP99Ms: number;
  serverCpuPct: number;
}

interface JoinResult {
  pool: number;
  stepS: number;
  steps: JoinStep[];
  /** The highest step whose p99 ack latency stayed ≤ 100 ms with no errors. */
  maxRoomsPerS: number;
  maxOpsPerS: number;
  stoppedBecause: string;
  profile?: ProfileSummary;
}

async function joinScenario(ctx: Ctx, log: (s: string) => void): Promise<JoinResult> {
  const { opts } = ctx;
  const server = await ctx.focusroom('join', opts.joinPool);
  let workers: Array<{ w: NodeChild; count: number }> = [];
  const steps: JoinStep[] = [];
  let stoppedBecause = 'every step stayed under 100 ms';
  try {
    workers = await ctx.workers(opts.joinPool);
    await connectAll(workers, 'sio', [server.url]);
    for (const rate of opts.joinRates) {
      const a = await server.request<ServerStats>({ type: 'stats' });
      const parts = await Promise.all(
        workers.map(({ w }) =>
          w.request<{ completed: number; errors: number; starved: number; firstError: string | null; wallMs: number; create: HistJSON; join: HistJSON; leave: HistJSON }>(
            { type: 'churn', rate: rate / workers.length, durationMs: opts.joinStepS * 1000 },
            opts.joinStepS * 1000 + 60_000,
          ),
        ),
      );
      const b = await server.request<ServerStats>({ type: 'stats' });
      const create = Hist.from(parts.map((p) => p.create));
      const joinH = Hist.from(parts.map((p) => p.join));
      const acks = Hist.from([...parts.map((p) => p.create), ...parts.map((p) => p.join)]);
      const leave = Hist.from(parts.map((p) => p.leave));
      const completed = parts.reduce((s, p) => s + p.completed, 0);
      const wallS = Math.max(...parts.map((p) => p.wallMs)) / 1000;
      const step: JoinStep = {
        targetRoomsPerS: rate,
        roomsPerS: round(completed / wallS, 1),
        opsPerS: round((completed * 4) / wallS, 1),
        completed,
        errors: parts.reduce((s, p) => s + p.errors, 0),
        starved: parts.reduce((s, p) => s + p.starved, 0),
        createP99Ms: round(create.percentile(0.99), 2),
        joinP99Ms: round(joinH.percentile(0.99), 2),
        ackP50Ms: round(acks.percentile(0.5), 2),
        ackP99Ms: round(acks.percentile(0.99), 2),
        leaveP99Ms: round(leave.percentile(0.99), 2),
        serverCpuPct: round((100 * (cpuUs(b) - cpuUs(a))) / (b.hrtime - a.hrtime), 1),
      };
      steps.push(step);
      log(`  ${rate} rooms/s → ${step.roomsPerS} rooms/s, ack p50 ${step.ackP50Ms} ms p99 ${step.ackP99Ms} ms, server CPU ${step.serverCpuPct}%${step.errors ? `, ${step.errors} errors (${parts.find((p) => p.firstError)?.firstError})` : ''}${step.starved ? `, ${step.starved} starved` : ''}`);
      if (step.errors > 0) {
        stoppedBecause = `errors at ${rate} rooms/s`;
        break;
      }
      if (!(step.ackP99Ms <= 100)) {
        stoppedBecause = `p99 ack latency ${step.ackP99Ms} ms > 100 ms at ${rate} rooms/s`;
        break;
      }
      if (step.starved > 0 || step.roomsPerS < rate * 0.9) {
        stoppedBecause = `could not sustain ${rate} rooms/s (${step.roomsPerS} achieved)`;
        break;
      }
      await sleep(500);
    }
    const ok = steps.filter((s) => s.errors === 0 && s.ackP99Ms <= 100 && s.starved === 0);
    const best = ok.reduce<JoinStep | null>((m, s) => (!m || s.roomsPerS > m.roomsPerS ? s : m), null);
    let profile: ProfileSummary | undefined;
    if (opts.profile && best) {
      // One more step at the best rate, profiled (so the profiler does not skew the sweep).
      const file = profileFile(opts, `join-${best.targetRoomsPerS}`);
      await sleep(500);
      await server.request({ type: 'profile-start', intervalUs: 500 });
      await Promise.all(workers.map(({ w }) => w.request({ type: 'churn', rate: best.targetRoomsPerS / workers.length, durationMs: opts.profileS * 1000 }, opts.profileS * 1000 + 60_000)));
      await server.request({ type: 'profile-stop', file });
      profile = summarizeProfile(file);
      log(formatProfile(profile));
    }
    return { pool: opts.joinPool, stepS: opts.joinStepS, steps, maxRoomsPerS: best?.roomsPerS ?? 0, maxOpsPerS: best?.opsPerS ?? 0, stoppedBecause, ...(profile ? { profile } : {}) };
  } finally {
    await stopAll(workers.map((w) => w.w));
    await server.stop();
  }
}

// ---------------------------------------------------------------------------------------
// redis-server for the cluster scenario: random free port, no persistence, killed by PID.

interface RedisSample {
  at: number;
  cpuS: number;
  total: number;
  commands: Record<string, number>;
}

interface BenchRedis {
  url: string;
  pid: number;
  sample(): Promise<RedisSample>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? res(addr.port) : rej(new Error('no port'))));
    });
  });
}

async function startBenchRedis(cpus: string | null): Promise<BenchRedis> {
  const port = await freePort();
  const child = spawnChild('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { cpus, quiet: true });
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on('error', () => {});
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      await client.connect();
      await client.ping();
      break;
    } catch (err) {
      if (Date.now() > deadline || child.proc.exitCode !== null) throw new Error(`redis-server did not start: ${String(err)}\n${child.output()}`);
      client.disconnect();
      await sleep(50);
    }
  }
  const field = (info: string, name: string) => Number(info.match(new RegExp(`^${name}:([\\d.]+)`, 'm'))?.[1] ?? NaN);
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid,
    async sample() {
      const info = await client.info('all');
      const commands: Record<string, number> = {};
      for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) commands[m[1]!] = Number(m[2]);
      // The INFO call itself is counted too; it is one command per sample.
      return {
        at: Date.now(),
        cpuS: Number.isFinite(field(info, 'used_cpu_sys')) ? field(info, 'used_cpu_sys') + field(info, 'used_cpu_user') : procCpuSeconds(child.pid),
        total: field(info, 'total_commands_processed'),
        commands,
      };
    },
    async stop() {
      client.disconnect();
      if (child.proc.exitCode === null && child.proc.signalCode === null) {
        const exited = new Promise((r) => child.proc.once('exit', r));
        child.proc.kill('SIGKILL');
        await exited;
      }
    },
  };
}

// ---------------------------------------------------------------------------------------
// Report

const round = (v: number, d = 1) => (Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : NaN);
const mb = (bytes: number) => round(bytes / 2 ** 20, 1);

interface Results {
  meta: Record<string, unknown>;
  ws?: TickResult;
  ticks?: TickResult;
  memory?: MemoryResult;
  cluster?: TickResult & { singleCpuUsPerMsg: number; cpuRatio: number };
  join?: JoinResult;
  quiet?: QuietResult;
  abuse?: AbuseResult;
  cpuRatio?: number;
}

function fmt(v: number | undefined, unit = ''): string {
  return v === undefined || !Number.isFinite(v) ? '—' : `${v}${unit}`;
}

function table(r: Results): string {
  const rows: Array<[string, string, string]> = [];
  const goal = (ok: boolean | undefined) => (ok === undefined ? '' : ok ? 'ok' : 'MISSED');
  if (r.ws || r.ticks) {
    rows.push([
      '1. CPU per delivered tick',
      `ws ${fmt(r.ws?.cpuUsPerMsg, ' µs')} · focusroom ${fmt(r.ticks?.cpuUsPerMsg, ' µs')} · ratio ${fmt(r.cpuRatio, '×')}`,
      r.cpuRatio !== undefined ? `≤ 1.8× ${goal(r.cpuRatio <= 1.8)}` : '',
    ]);
  }
  if (r.ticks) {
    const l = r.ticks.lateness;
    rows.push([
      `2. Tick lateness, ${r.ticks.clients} clients`,
      `p50 ${l.p50} · p99 ${l.p99} · max ${l.max} ms (${r.ticks.delivered} ticks, ${r.ticks.deliveredPct}% delivered, ${r.ticks.skipped} skipped, ${r.ticks.repeated} repeated)`,
      `p99 ≤ ${r.ticks.clients > 12_000 ? 25 : 10} ms ${goal(l.p99 <= (r.ticks.clients > 12_000 ? 25 : 10))}`,
    ]);
    const sl = r.ticks.serverLateness;
    const dl = r.ticks.delivery;
    rows.push(['   of which server (server_now − due)', `p50 ${sl.p50} · p99 ${sl.p99} · max ${sl.max} ms; delivery (arrival − server_now) p50 ${dl.p50} · p99 ${dl.p99} · max ${dl.max} ms`, '']);
    if (r.ticks.emit) rows.push(['   /metrics tick lateness', `p50 ≤ ${r.ticks.emit.p50LeMs} · p99 ≤ ${r.ticks.emit.p99LeMs} ms (bucket bounds); ${r.ticks.emit.within1msPct}% within 1 ms`, '']);
    if (r.ticks.loop) rows.push(['   server event loop', `delay p99 ${r.ticks.loop.delayP99Ms} · max ${r.ticks.loop.delayMaxMs} ms · utilisation ${r.ticks.loop.utilizationPct}%`, '']);
    rows.push(['   server under tick load', `CPU ${r.ticks.cpuUtilPct}% of one core (${r.ticks.serverUserPct}% user) · RSS ${r.ticks.serverRssMb} MB · heap ${r.ticks.serverHeapMb} MB · other processes on its core ${fmt(r.ticks.otherOnServerCorePct ?? undefined, '%')}`, '']);
  }
  if (r.ws) {
    const l = r.ws.lateness;
    rows.push(['   ws baseline lateness', `p50 ${l.p50} · p99 ${l.p99} · max ${l.max} ms (server p99 ${r.ws.serverLateness.p99}, delivery p99 ${r.ws.delivery.p99}); CPU ${r.ws.cpuUtilPct}% of one core (${r.ws.serverUserPct}% user) · other processes on its core ${fmt(r.ws.otherOnServerCorePct ?? undefined, '%')}`, '']);
  }
  if (r.memory) {
    const m = r.memory;
    rows.push([
      `3. Memory per idle participant (${m.participants})`,
      `heap ${m.seated.heapPerConnKb} KB · RSS ${m.seated.rssPerConnKb} KB (connected only: heap ${m.connectedOnly.heapPerConnKb} KB)${m.gced ? '' : ' [no forced GC]'}`,
      `heap ≤ 12 KB ${goal(m.seated.heapPerConnKb <= 12)}`,
    ]);
  }
  if (r.cluster) {
    const c = r.cluster;
    rows.push([
      `4. Cluster (2 inst + redis) vs 1`,
      `CPU/tick ${c.cpuUsPerMsg} vs ${c.singleCpuUsPerMsg} µs · ratio ${c.cpuRatio}× · lateness p99 ${c.lateness.p99} ms`,
      `≤ 1.25× ${goal(c.cpuRatio <= 1.25)}`,
    ]);
    if (c.redis) {
      rows.push([
        '   redis during ticks',
        `${c.redis.tickCpuMsPerS} ms CPU/s (idle ${c.redis.idleCpuMsPerS}; caused by ticks ${c.redis.tickCausedCpuMsPerS}) · ${c.redis.tickCommandsPerS} cmds/s (idle ${c.redis.idleCommandsPerS}) · broadcasts (PUBLISH/SPUBLISH/XADD) ${c.redis.tickWindowBroadcasts}`,
        `≈ 0 ${goal(c.redis.tickWindowBroadcasts === 0)}`,
      ]);
    }
  }
  if (r.quiet) {
    const q = r.quiet;
    rows.push([
      '6. Quiet vs ticking clients',
      `${q.quiet.cpuUsPerParticipantS} vs ${q.ticking.cpuUsPerParticipantS} µs CPU per participant-second (${q.clients} participants) = ${q.quietPct}%; idle floor ${q.idle.cpuUsPerParticipantS}, above it ${q.quietAboveIdlePct}%`,
      `≤ 10% ${goal(q.quietPct <= 10)}`,
    ]);
    rows.push(['   browser SDK bundle', `${q.bundle.bytes} B, ${q.bundle.gzipBytes} B gzip (socket.io-client excluded)`, `≤ 20 KB gzip ${goal(q.bundle.gzipBytes <= 20 * 1024)}`]);
  }
  if (r.join) {
    rows.push([
      '5. Create+join throughput',
      `${r.join.maxRoomsPerS} rooms/s (${r.join.maxOpsPerS} creates+joins/s) with p99 ack ≤ 100 ms; stopped: ${r.join.stoppedBecause}`,
      '',
    ]);
  }
  if (r.abuse) {
    for (const p of r.abuse.phases) {
      rows.push([
        `6. Abuse: ${p.name}${r.abuse.unbounded ? ' (bounds lifted)' : ''}`,
        `RSS ${p.rssStartMb} → peak ${p.rssPeakMb} MB · probe ticks p50 ${p.tickLateMs.p50} · p99 ${p.tickLateMs.p99} · max ${p.tickLateMs.max} ms (${p.tickLateMs.count}) · resume p50 ${p.resumeMs.p50} · p99 ${p.resumeMs.p99} ms (${p.resumeMs.count} ok, ${p.resumeMs.failed} failed)`,
        Object.entries(p.extra).map(([k, v]) => `${k} ${v}`).join(' · '),
      ]);
    }
  }
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  return rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`).join('\n');
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const guard = setTimeout(() => {
    console.error(`bench: exceeded --timeout ${opts.timeoutS} s; stopping`);
    killAllChildren();
    process.exit(2);
  }, opts.timeoutS * 1000);
  guard.unref();

  const log = (s: string) => console.log(s);
  const limits = nofileLimits();
  const need = Math.max(opts.clients, opts.memoryClients) + 1024;
  if (need > limits.hard) {
    console.warn(`bench: open-file hard limit is ${limits.hard}; ${need} needed for the server process — connections may fail (raise it with ulimit -Hn as root)`);
  }
  if (opts.build) {
    log('building (tsc -p tsconfig.build.json)…');
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
  }
  const cores = planCores(opts.pin);
  const ctx = new Ctx(opts, cores);
  const load = os.loadavg();
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
  } catch {
    /* not a git checkout */
  }
  const results: Results = {
    meta: {
      date: new Date().toISOString(),
      commit,
      node: process.version,
      cpus: NPROC,
      cpuModel: os.cpus()[0]?.model,
      memGb: round(os.totalmem() / 2 ** 30, 1),
      loadavgAtStart: load.map((v) => round(v, 2)),
      loadavgBySection: {},
      nofile: limits,
      cores: cores.description,
      options: { ...opts, out: undefined },
    },
  };
  log(`focusroom bench — ${opts.clients} clients, scenarios ${opts.only.join(',')}, runtime ${opts.runtime}, ${NPROC} cores (${cores.description}), node ${process.version} ${opts.serverNodeArgs.join(' ') || '(default flags)'}, load ${load.map((v) => v.toFixed(2)).join(' ')}`);
  if (load[0]! > 0.5 * NPROC) log(`  note: the machine is busy (1-min load ${load[0]!.toFixed(2)}); numbers will be noisy`);

  const t0 = Date.now();
  for (const s of opts.only) {
    const ts = Date.now();
    const load1 = round(os.loadavg()[0]!, 2);
    (results.meta.loadavgBySection as Record<string, number>)[s] = load1;
    log(`\n[${s}] (1-min load ${load1})`);
    if (s === 'ws') results.ws = await tickScenario(ctx, 'ws', log);
    if (s === 'ticks') results.ticks = await tickScenario(ctx, 'focusroom', log);
    if (s === 'memory') results.memory = await memoryScenario(ctx, log);
    if (s === 'join') results.join = await joinScenario(ctx, log);
    if (s === 'quiet') results.quiet = await quietScenario(ctx, log);
    if (s === 'abuse') {
      const server = await ctx.focusroom('abuse', 4_000, abuseServerEnv(opts.abuseUnbounded));
      try {
        results.abuse = await runAbusePhases(server, opts.abuseWindowS * 1000, opts.abuseUnbounded, log);
      } finally {
        await stopAll([server]);
      }
    }
    if (s === 'cluster') {
      // The 1-instance side of the comparison: the ticks run if it happened at this scale.
      const single = results.ticks ?? (await tickScenario(ctx, 'focusroom', log));
      const c = await tickScenario(ctx, 'cluster', log);
      results.cluster = { ...c, singleCpuUsPerMsg: single.cpuUsPerMsg, cpuRatio: round(c.cpuUsPerMsg / single.cpuUsPerMsg, 2) };
    }
    log(`  (${((Date.now() - ts) / 1000).toFixed(1)} s)`);
  }
  if (results.ws && results.ticks) results.cpuRatio = round(results.ticks.cpuUsPerMsg / results.ws.cpuUsPerMsg, 2);
  results.meta.durationS = round((Date.now() - t0) / 1000, 1);
  results.meta.loadavgAtEnd = os.loadavg().map((v) => round(v, 2));

  log('\n' + table(results));
  mkdirSync(dirname(opts.out), { recursive: true });
  const json = JSON.stringify(results, null, 2);
  writeFileSync(opts.out, json);
  if (opts.out.startsWith(join(ROOT, '.bench-out') + '/')) writeFileSync(join(ROOT, '.bench-out/latest.json'), json);
  log(`\nresults: ${opts.out}`);
}

main().then(
  () => {
    killAllChildren();
    process.exit(0);
  },
  (err: unknown) => {
    console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
    killAllChildren();
    process.exit(1);
  },
);

