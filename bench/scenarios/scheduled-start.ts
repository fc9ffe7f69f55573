/**
 * Bench scenario `schedule`: R rooms scheduled for the same second start
 * on their own, while C already-running connections tick. Reports, per run:
 * - start lateness: `session_started` arrival at each room's host minus `starts_at`
 *   (p50/p99/max over the R rooms; the bound is p99 ≤ 200 ms);
 * - tick lateness of the running connections (arrival minus the whole second of
 *   `time_left_ms` it announces, skew-free since the server and clients share a clock) in a
 *   quiet window that ends before the starts are prepared, vs the preparing window
 *   (`prepareAheadMs` + 0.5 s before `starts_at`) and the start window (`starts_at` to
 *   + 2 s): the ratio is the worse of the two over the quiet p99 (bound: ≤ 1.2×).
 * One instance (memory store), or two sharing a redis-server (`instances: 2`). Beside the
 * clients' view it reads each server's own tick lateness (/metrics, the timer's delay
 * before the emit) for both windows, and the machine's load and per-core busy time in
 * the start window, since the box is shared.
 *
 * The scheduled hosts live in a child process of their own (this file, `--hosts-child`):
 * 2,500 `session_started` arriving in one burst would otherwise be parsed by the event
 * loop that timestamps the running clients' ticks, and be counted as server lateness.
 *
 *   npm run bench -- --only schedule --schedule-rooms 2500 --clients 10000
 *   npx tsx bench/scenarios/scheduled-start.ts --rooms 300 --clients 400 [--instances 2] [--runs 5]
 *
 * The servers run as `node --import tsx src/server.ts` processes (no build); the
 * clients in this process. Loopback only; kills only the processes it started.
 */
import { connect as connectTcp, createServer } from 'node:net';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import { LIFTED_ABUSE_BOUNDS } from '../../test/helpers/test-env.js';
import { benchDataDir, type Worker } from '../lib/context.js';
import { Hist, type HistJSON, summarize, type Percentiles } from '../lib/hist.js';
import { deployedNodeFlags } from '../lib/deployed-flags.js';
import { connectAll, coreTimes, cpuUs, type CoreTimes, seatAll, type ServerStats, startAll } from '../lib/measure.js';
import { killAllChildren, NodeChild, spawnChild } from '../lib/procs.js';
import { formatProfile, summarizeProfile } from '../lib/profile.js';
import { defaultDueSchedulerOptions } from '../../src/scheduler/due-scheduler.js';

/** How long before `starts_at` the servers prepare the starts (the scheduler's default). */
const PREPARE_AHEAD_MS = defaultDueSchedulerOptions.prepareAheadMs;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface ScheduleOptions {
  rooms: number;
  /** Running connections (rooms of 4) ticking through the start. */
  clients: number;
  instances: 1 | 2;
  /** Seconds of quiet ticking measured before the start. */
  windowS: number;
  /** Cores for the servers and redis-server, and for the hosts' child (taskset -c); null = not pinned. */
  serverCpus?: string | null;
  clientCpus?: string | null;
  /** Client worker processes for the running connections (default 2). */
  workers?: number;
  /** Server code: src through tsx (default, no build) or the compiled dist/. */
  runtime?: 'src' | 'dist';
  /** Node flags of the servers (default: the deployed ones, from `npm start`). */
  serverNodeArgs?: string[];
}

export interface ScheduleResult {
  rooms: number;
  clients: number;
  instances: number;
  started: number;
  startLatenessMs: Percentiles;
  tickP99QuietMs: number;
  tickP99DuringStartMs: number;
  /** Tick p99 while the starts are prepared: from `prepareAheadMs` + 0.5 s before `starts_at` to `starts_at`. */
  tickP99PrepareMs: number;
  /** The worse of the preparing and the start window's tick p99, over the quiet p99. */
  tickRatio: number;
  /** The same ticks' server part (server_now − due, stamped just before the emit), quiet → start window. */
  serverTickP99QuietMs: number;
  serverTickP99DuringMs: number;
  /** Ticks measured in each window. */
  ticksQuiet: number;
  ticksDuring: number;
  /**
   * The booked rooms' own ticks in the start window (arrival − the whole second announced):
   * they tick in lockstep, one crowd per second, and wait behind the running rooms' ticks.
   */
  bookedTicksMs: Percentiles;
  /** Booked starts prepared ahead and how each went (focusroom_prepared_runs_total: prepared, committed, changed, stale). */
  preparedRuns: Record<string, number>;
  /** How long reading /metrics took (it is kept out of the windows). */
  metricsMs: number;
  /** The machine in the start window: 1-min load, each core's busy %. */
  /** Each server's event-loop delay max (monitorEventLoopDelay) in the quiet window and the start window. */
  loopDelayMaxQuietMs: number;
  loopDelayMaxDuringMs: number;
  /** `session_started` broadcasts the servers sent from the quiet window to the end of the start window (the scheduled starts). */
  sentInWindow: number;
  /** Each server's CPU in the quiet window, % of one core. */
  serverCpuQuietPct: number[];
  /** Server CPU in the start window beyond the quiet rate, per start sent (µs): the start's own cost, whatever the machine's load. */
  cpuPerStartUs: number;
  /** Each server's CPU in the start window, % of one core. */
  serverCpuPct: number[];
  load1: number;
  coreBusyPct: number[];
}

/** Between the setup's forced GC and the quiet window. */
const SETTLE_MS = 2_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

const accepts = (port: number): Promise<boolean> =>
  new Promise((ok) => {
    const c = connectTcp(port, '127.0.0.1', () => {
      c.destroy();
      ok(true);
    }).once('error', () => ok(false));
  });

async function startRedis(cpus: string | null): Promise<string> {
  const port = await freePort();
  spawnChild('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { cpus, quiet: true });
  for (let i = 0; i < 100; i++) {
    if (await accepts(port)) return `redis://127.0.0.1:${port}`;
    await sleep(50);
  }
  throw new Error('redis-server did not come up');
}

/**
 * A focusroom server as the rest of the bench runs it (bench/server-entry.mjs: buildApp +
 * listen, plus IPC for its CPU time, event-loop delay and a forced GC), with the deployed
 * node flags unless `nodeArgs` says otherwise.
 */
async function startServer(id: string, redisUrl: string | null, opts: ScheduleOptions, conns: number): Promise<NodeChild & { url: string }> {
  const runtime = opts.runtime ?? 'src';
  const args = [...(runtime === 'src' ? ['--import', 'tsx'] : []), ...(opts.serverNodeArgs ?? deployedNodeFlags(ROOT)), '--expose-gc', resolve(ROOT, 'bench/server-entry.mjs')];
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    INSTANCE_ID: id,
    BENCH_APP_DIR: runtime,
    // The harness is one address with thousands of sockets: the same lifted limits as
    // run.ts's servers (per-address, instance and lag-shedding bounds included).
    RATE_CONNECTIONS_PER_MIN: '10000000',
    RATE_SOCKET_EVENTS_PER_SEC: '100000',
    RATE_CREATES_PER_MIN: '1000000',
    MAX_ROOMS_PER_ADDRESS: '100000000',
    MAX_ROOMS_PER_IDENTITY: '100000000',
    RATE_JOIN_FAILURES_PER_MIN: '1000000',
    ...LIFTED_ABUSE_BOUNDS,
    MAX_CONNECTIONS: '10000000',
    MAX_ROOMS: '10000000',
    // The embedded store on (single instance), as `npm start` runs it, in a data dir of its own.
    DATA_DIR: benchDataDir(),
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
  };
  const child = spawnChild(process.execPath, args, { cpus: opts.serverCpus ?? null, env, nofile: conns + 1_024, ipc: true, quiet: true, logName: id });
  const server = new NodeChild(id, child);
  const ready = await server.ready;
  return Object.assign(server, { url: ready.url! });
}

const connect = (url: string): Promise<Socket> =>
  new Promise((ok, fail) => {
    const s = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 20_000 });
    s.once('connect', () => ok(s));
    s.once('connect_error', fail);
  });

const ack = (s: Socket, event: string, payload: unknown): Promise<any> => s.timeout(20_000).emitWithAck(event, payload);

/** Opens `n` sockets `parallel` at a time, round-robin over `urls`. */
async function connectMany(urls: string[], n: number, parallel = 200): Promise<Socket[]> {
  const out: Socket[] = [];
  for (let i = 0; i < n; i += parallel) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(parallel, n - i) }, (_, j) => connect(urls[(i + j) % urls.length]!)))));
  }
  return out;
}


/**
 * The hosts' child process: `create` opens `rooms` sockets round-robin over `urls` and
 * books one room each for `startsAt`; `arrivals` returns each host's `session_started`
 * arrival minus `startsAt` (ms; missing = not started).
 */
async function hostsChild(): Promise<void> {
  let hosts: Socket[] = [];
  let startsAt = 0;
  const arrivals: number[] = [];
  /** The booked rooms' own ticks due in the start window (starts_at to + 2 s): arrival − due. */
  const ticks: number[] = [];
  // The same request/response IPC as the bench's other children (lib/harness-ipc.mjs).
  process.on('disconnect', () => process.exit(0));
  process.on('message', (msg: any) => {
    handle(msg).then(
      (result) => process.send?.({ id: msg.id, ok: true, result }),
      (err: unknown) => process.send?.({ id: msg.id, ok: false, error: String((err as Error)?.stack ?? err) }),
    );
  });
  async function handle(msg: any): Promise<unknown> {
    if (msg.type === 'create') {
      startsAt = msg.startsAt;
      hosts = await connectMany(msg.urls, msg.rooms);
      for (let i = 0; i < hosts.length; i += 100) {
        await Promise.all(
          hosts.slice(i, i + 100).map(async (h, j) => {
            const r = await ack(h, 'create_session', { user_name: `S${i + j}`, starts_at: startsAt, session_duration: 3_600_000 });
            if (!r.ok) throw new Error(`scheduled create failed: ${JSON.stringify(r.error)}`);
            h.once('session_started', () => arrivals.push(Date.now() - startsAt));
            h.on('time_update', (p: { ends_at: number; time_left_ms: number }) => {
              const due = p.ends_at - p.time_left_ms;
              if (due >= startsAt && due <= startsAt + 2_000) ticks.push(Date.now() - due);
            });
          }),
        );
      }
      return { created: hosts.length };
    }
    if (msg.type === 'arrivals') return arrivals;
    if (msg.type === 'ticks') return ticks;
    if (msg.type === 'close') {
      for (const h of hosts) h.disconnect();
      setImmediate(() => process.exit(0));
      return null;
    }
    throw new Error(`unknown request ${String(msg.type)}`);
  }
  process.send?.({ type: 'ready', pid: process.pid });
}

const busyPct = (a: CoreTimes[], b: CoreTimes[]): number[] => b.map((c, i) => Math.round((100 * (c.busy - a[i]!.busy)) / Math.max(1, c.total - a[i]!.total)));

/** `session_started` broadcasts the servers sent so far (focusroom_events_out_total). */
async function startsSent(urls: string[]): Promise<number> {
  let n = 0;
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    n += Number(text.match(/^focusroom_events_out_total\{event="session_started"\} (\d+)/m)?.[1] ?? 0);
  }
  return n;
}

/** focusroom_prepared_runs_total by outcome, summed over the servers. */
async function preparedRuns(urls: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const [, outcome, n] of text.matchAll(/^focusroom_prepared_runs_total\{outcome="(\w+)"\} (\d+)/gm)) out[outcome!] = (out[outcome!] ?? 0) + Number(n);
  }
  return out;
}

/** Client workers for the running connections, in whole rooms of 4 (as Ctx.workers). */
async function spawnWorkers(opts: ScheduleOptions): Promise<Worker[]> {
  const rooms = opts.clients / 4;
  const n = Math.max(1, Math.min(opts.workers ?? 2, rooms));
  const out: Worker[] = [];
  for (let i = 0; i < n; i++) {
    const share = (Math.floor(rooms / n) + (i < rooms % n ? 1 : 0)) * 4;
    const child = spawnChild(process.execPath, ['--import', 'tsx', resolve(ROOT, 'bench/clients.ts')], { cpus: opts.clientCpus ?? null, nofile: share + 1_024, ipc: true, quiet: true, logName: `schedule-clients-${i}` });
    out.push({ w: new NodeChild(`schedule-clients-${i}`, child), count: share });
  }
  await Promise.all(out.map((o) => o.w.ready));
  return out;
}

interface Window {
  lateness: Hist;
  emit: Hist;
}

/** Starts or stops the workers' tick recording; a stop returns the window's histograms. */
async function record(workers: Worker[], type: 'record-start' | 'record-stop'): Promise<Window> {
  const parts = await Promise.all(workers.map(({ w }) => w.request<{ hist?: HistJSON; emit?: HistJSON }>({ type })));
  if (type === 'record-start') return { lateness: new Hist(), emit: new Hist() };
  return { lateness: Hist.from(parts.map((p) => p.hist!)), emit: Hist.from(parts.map((p) => p.emit!)) };
}

const stats = (servers: NodeChild[], gc = false): Promise<ServerStats[]> => Promise.all(servers.map((sv) => sv.request<ServerStats>({ type: 'stats', gc })));

export async function scheduleScenario(opts: ScheduleOptions, log: (s: string) => void): Promise<ScheduleResult> {
  // BENCH_DETAIL=1: also the arrival quantiles, the servers' user/system CPU and (two
  // instances) Redis's commands in the start window, for finding where a start's time goes.
  const detail = Boolean(process.env.BENCH_DETAIL);
  let hostsProc: NodeChild | null = null;
  const servers: Array<NodeChild & { url: string }> = [];
  let workers: Worker[] = [];
  try {
    const redisUrl = opts.instances === 2 ? await startRedis(opts.serverCpus ?? null) : null;
    const perServer = Math.ceil((opts.clients + opts.rooms) / opts.instances);
    servers.push(...(await Promise.all(Array.from({ length: opts.instances }, (_, i) => startServer(`sched-${i + 1}`, redisUrl, opts, perServer)))));
    const urls = servers.map((sv) => sv.url);
    log(`  ${opts.instances} instance(s) up; connecting ${opts.clients} running + ${opts.rooms} scheduled hosts`);
    hostsProc = new NodeChild(
      'schedule-hosts',
      spawnChild(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--hosts-child'], { cpus: opts.clientCpus ?? null, ipc: true, nofile: opts.rooms + 1_024 }),
    );
    await hostsProc.ready;

    // Running rooms of 4, long countdowns, ticking throughout, held by client workers
    // (bench/clients.ts, the tick scenario's clients): they measure each tick's lateness
    // on arrival and, from its server_now, the server's part of it.
    workers = await spawnWorkers(opts);
    await connectAll(workers, 'sio', urls);
    await seatAll(workers, 3_600_000);
    await startAll(workers);

    // Scheduled rooms, all for the same whole second, far enough out to set everything up,
    // collect the setup's garbage (a major GC in a window would be counted as the start's)
    // and tick quietly for a window first.
    const startsAt = Math.ceil((Date.now() + 5_000 + opts.rooms * 10 + SETTLE_MS + PREPARE_AHEAD_MS + opts.windowS * 1000) / 1000) * 1000;
    await hostsProc.request({ type: 'create', urls, rooms: opts.rooms, startsAt }, 300_000);
    // The quiet window ends before the servers start preparing the starts.
    const busyFrom = startsAt - PREPARE_AHEAD_MS - 500;
    const quietFrom = busyFrom - opts.windowS * 1000;
    if (Date.now() > quietFrom - SETTLE_MS) throw new Error('setup overran the quiet window: raise --window or lower --rooms');
    await stats(servers, true);
    log(`  ${opts.rooms} rooms booked for ${new Date(startsAt).toISOString()} (${startsAt}); quiet window ${opts.windowS} s, then the start`);
    await sleep(quietFrom - Date.now());
    // Rendering /metrics takes the server a while at this scale: read it only outside the windows.
    const sent0 = await startsSent(urls);
    const [s0] = await Promise.all([stats(servers), record(workers, 'record-start')]);
    await sleep(Math.max(0, busyFrom - Date.now()));
    // The busy windows: preparing (from half a second before the servers prepare to
    // starts_at), then the start (starts_at to two seconds after).
    const [quiet] = await Promise.all([record(workers, 'record-stop'), record(workers, 'record-start')]);
    const s1 = await stats(servers);
    if (process.env.BENCH_LOG_DIR) log(`  starts_at is at server uptime ${s1.map((x) => (x.uptimeMs ?? 0) + (startsAt - Date.now())).join(', ')} ms (for --trace-gc lines)`);
    // Redis commands by name (INFO commandstats, which counts those scripts call too).
    const cmdStats = async (): Promise<Map<string, number>> => {
      const m = new Map<string, number>();
      if (!redisUrl || !detail) return m;
      const { Redis } = await import('ioredis');
      const r = new Redis(redisUrl);
      const text = (await r.info('commandstats')) + (await r.info('cpu'));
      r.disconnect();
      for (const [, c, n] of text.matchAll(/cmdstat_(\S+?):calls=(\d+)/g)) m.set(c!, Number(n));
      for (const [, k, v] of text.matchAll(/^(used_cpu_(?:user|sys)):([\d.]+)/gm)) m.set(`${k} ms`, Math.round(Number(v) * 1000));
      return m;
    };
    const cmd0 = await cmdStats();
    const cores0 = coreTimes();
    // BENCH_PROFILE_DIR=dir: a CPU profile of each server over the start window.
    const profileDir = process.env.BENCH_PROFILE_DIR;
    if (profileDir) await Promise.all(servers.map((sv) => sv.request({ type: 'profile-start', intervalUs: 250 })));
    await sleep(Math.max(0, startsAt - Date.now()));
    const [preparing] = await Promise.all([record(workers, 'record-stop'), record(workers, 'record-start')]);
    await sleep(Math.max(0, startsAt + 2_000 - Date.now()));
    if (profileDir) {
      for (const sv of servers) {
        const file = resolve(profileDir, `schedule-${opts.instances}-${sv.name}.cpuprofile`);
        await sv.request({ type: 'profile-stop', file });
        log(formatProfile(summarizeProfile(file)));
      }
    }
    const during = await record(workers, 'record-stop');
    const cmd1 = await cmdStats();
    if (cmd1.size) log(`  redis commands in the start window: ${[...cmd1].map(([c, n]) => [c, n - (cmd0.get(c) ?? 0)] as const).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ')}`);
    const cores1 = coreTimes();
    const load1 = Math.round(os.loadavg()[0]! * 10) / 10;
    const s2 = await stats(servers);
    const late = Date.now() - startsAt - 2_000;
    if (late > 100) log(`  (the harness read the servers ${late} ms after the start window: it was starved)`);
    const metricsT0 = performance.now();
    const sent1 = await startsSent(urls);
    const prepared = await preparedRuns(urls);
    const metricsMs = Math.round(performance.now() - metricsT0);
    // Late starts still count (they show in the percentiles), up to 10 s after starts_at.
    let arrivals: number[] = [];
    for (let i = 0; i < 80; i++) {
      arrivals = await hostsProc.request<number[]>({ type: 'arrivals' });
      if (arrivals.length >= opts.rooms) break;
      await sleep(100);
    }
    const lateness = new Hist();
    for (const ms of arrivals) lateness.add(Math.max(0, ms));
    const bookedTicks = new Hist();
    for (const ms of await hostsProc.request<number[]>({ type: 'ticks' })) bookedTicks.add(Math.max(0, ms));
    if (detail) {
      const sorted = [...arrivals].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
      log(`  arrivals (ms after starts_at) at q 0/.01/.1/.25/.5/.75/.9/.99/1: ${[0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1].map(at).join(' ')}`);
    }
    const windowUs = (s2[0]!.hrtime - s1[0]!.hrtime) || 1;
    const result: ScheduleResult = {
      rooms: opts.rooms,
      clients: opts.clients,
      instances: opts.instances,
      started: arrivals.length,
      startLatenessMs: summarize(lateness),
      bookedTicksMs: summarize(bookedTicks),
      tickP99QuietMs: summarize(quiet.lateness).p99,
      tickP99DuringStartMs: summarize(during.lateness).p99,
      tickP99PrepareMs: summarize(preparing.lateness).p99,
      tickRatio: 0,
      serverTickP99QuietMs: summarize(quiet.emit).p99,
      serverTickP99DuringMs: summarize(during.emit).p99,
      ticksQuiet: quiet.lateness.count,
      ticksDuring: during.lateness.count,
      metricsMs,
      preparedRuns: prepared,
      loopDelayMaxQuietMs: Math.max(...s1.map((x) => Math.round(x.loop?.delayMaxMs ?? NaN))),
      loopDelayMaxDuringMs: Math.max(...s2.map((x) => Math.round(x.loop?.delayMaxMs ?? NaN))),
      sentInWindow: sent1 - sent0,
      serverCpuPct: s2.map((x, i) => Math.round((100 * (cpuUs(x) - cpuUs(s1[i]!))) / windowUs)),
      serverCpuQuietPct: s1.map((x, i) => Math.round((100 * (cpuUs(x) - cpuUs(s0[i]!))) / ((x.hrtime - s0[i]!.hrtime) || 1))),
      cpuPerStartUs: 0,
      load1,
      coreBusyPct: busyPct(cores0, cores1),
    };
    // The start window's CPU beyond the quiet window's rate (the running rooms' ticks), per start.
    if (detail) {
      const userSys = (a: ServerStats[], b: ServerStats[]) => b.map((x, i) => `${Math.round((x.cpu.user - a[i]!.cpu.user) / 1000)}/${Math.round((x.cpu.system - a[i]!.cpu.system) / 1000)} ms`).join(', ');
      log(`  server CPU user/system: quiet window ${userSys(s0, s1)}; start window ${userSys(s1, s2)}`);
    }
    const extraUs = s2.reduce((a, x, i) => a + (cpuUs(x) - cpuUs(s1[i]!)) - ((cpuUs(s1[i]!) - cpuUs(s0[i]!)) * windowUs) / ((s1[i]!.hrtime - s0[i]!.hrtime) || 1), 0);
    result.cpuPerStartUs = Math.round(extraUs / Math.max(1, result.sentInWindow));
    result.tickRatio = Math.round((100 * Math.max(result.tickP99PrepareMs, result.tickP99DuringStartMs)) / Math.max(1, result.tickP99QuietMs)) / 100;
    log(
      `  ${result.started}/${opts.rooms} scheduled rooms started; start lateness p50 ${result.startLatenessMs.p50} ms, p99 ${result.startLatenessMs.p99} ms, max ${result.startLatenessMs.max} ms; ` +
        `tick p99 ${result.tickP99QuietMs} ms quiet → ${result.tickP99PrepareMs} ms preparing → ${result.tickP99DuringStartMs} ms during the start (×${result.tickRatio}); ` +
        `its server part ${result.serverTickP99QuietMs} → ${result.serverTickP99DuringMs} ms (${result.ticksQuiet} → ${result.ticksDuring} ticks); ` +
        `booked rooms' own ticks p50 ${result.bookedTicksMs.p50} p99 ${result.bookedTicksMs.p99} max ${result.bookedTicksMs.max} ms (${result.bookedTicksMs.count}); server: loop delay max ${result.loopDelayMaxQuietMs} → ${result.loopDelayMaxDuringMs} ms, ` +
        `${result.sentInWindow} starts sent and CPU ${result.serverCpuQuietPct.join('+')} → ${result.serverCpuPct.join('+')} % (${result.cpuPerStartUs} µs per start); prepared ahead ${JSON.stringify(result.preparedRuns)}; /metrics took ${metricsMs} ms; load ${load1}, cores busy ${result.coreBusyPct.join('/')} %`,
    );
    return result;
  } finally {
    await Promise.all(workers.map(({ w }) => w.stop(2_000)));
    await hostsProc?.stop(2_000);
    await Promise.all(servers.map((sv) => sv.stop(3_000)));
    killAllChildren();
  }
}

/**
 * The bounds' figures of each run, one line each: start p99 (≤ 200 ms on one instance,
 * ≤ 400 ms on two), the running ticks' p99 quiet vs preparing and during the start, and
 * their ratio (≤ 1.2×), with the machine's load.
 */
export function summaryTable(results: ScheduleResult[]): string {
  const bound = (r: ScheduleResult) => (r.instances > 1 ? 400 : 200);
  const lines = ['run  inst  started      start p99   ticks p99 quiet → preparing → start   ratio   load'];
  results.forEach((r, i) => {
    const ok = r.startLatenessMs.p99 <= bound(r) && r.tickRatio <= 1.2 && r.started === r.rooms ? 'met' : 'NOT met';
    lines.push(
      `${String(i + 1).padStart(3)}  ${String(r.instances).padStart(4)}  ${`${r.started}/${r.rooms}`.padStart(9)}  ${`${r.startLatenessMs.p99} ms`.padStart(10)}   ` +
        `${`${r.tickP99QuietMs} → ${r.tickP99PrepareMs} → ${r.tickP99DuringStartMs} ms`.padEnd(32)}  ${`×${r.tickRatio}`.padStart(6)}  ${String(r.load1).padStart(5)}  ${ok} (≤ ${bound(r)} ms, ≤ ×1.2)`,
    );
  });
  return lines.join('\n');
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain && process.argv.includes('--hosts-child')) {
  void hostsChild();
} else if (isMain) {
  // Run on its own: npx tsx bench/scenarios/scheduled-start.ts --rooms N --clients N [--instances 1|2|1,2] [--window S] [--pin] [--dist] [--runs N]
  // (--dist: the compiled build, as `npm run bench` runs it; BENCH_NODE_ARGS: extra server node flags.)
  const arg = (k: string, d: number) => {
    const i = process.argv.indexOf(`--${k}`);
    return i > 0 ? Number(process.argv[i + 1]) : d;
  };
  const pin = process.argv.includes('--pin') && os.availableParallelism() >= 2;
  // --trace-gc: the servers print their GCs (with BENCH_LOG_DIR=dir, to dir/sched-N.log).
  const traceGc = process.argv.includes('--trace-gc') ? ['--trace-gc'] : [];
  const opts: ScheduleOptions = {
    rooms: arg('rooms', 2_500),
    clients: Math.floor(arg('clients', 400) / 4) * 4,
    instances: 1,
    windowS: arg('window', 5),
    serverCpus: pin ? '0' : null,
    clientCpus: pin ? `1-${os.availableParallelism() - 1}` : null,
    runtime: process.argv.includes('--dist') ? 'dist' : 'src',
    serverNodeArgs: [...deployedNodeFlags(ROOT), ...traceGc, ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [])],
  };
  // --runs N: N consecutive runs, each reported, then one line per run with the bounds' figures.
  const runs = Math.max(1, arg('runs', 1));
  (async () => {
    // --instances 1, 2 or 1,2 (both: the runs on one instance, then those on two).
    const i = process.argv.indexOf('--instances');
    const counts = (i > 0 ? process.argv[i + 1]! : '1').split(',').map((n) => (n.trim() === '2' ? 2 : 1) as 1 | 2);
    const results: ScheduleResult[] = [];
    for (const instances of counts) {
      for (let k = 0; k < runs; k++) {
        if (runs > 1 || counts.length > 1) console.log(`run ${k + 1}/${runs}, ${instances} instance(s)`);
        const r = await scheduleScenario({ ...opts, instances }, (s) => console.log(s));
        console.log(JSON.stringify(r));
        results.push(r);
      }
    }
    console.log(summaryTable(results));
  })().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      killAllChildren();
      process.exit(1);
    },
  );
}
