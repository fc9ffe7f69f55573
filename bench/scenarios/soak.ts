/**
 * soak (opt-in; `npm run soak` = `npm run bench -- --only soak --runtime src`): a focusroom
 * server (child process, loopback only) under ~2,000 clients that keep creating rooms,
 * joining, running short countdowns, changing status, adding tasks, dropping and resuming,
 * leaving and reconnecting, for a bounded time. Every few seconds the server's heap is
 * sampled from /metrics (after a forced GC, see below); at the end a table and the
 * least-squares slope of heap over time are printed, and the samples land in the bench's
 * JSON (`--out`) under `soak`.
 *
 *   npm run soak                                  # 60 s, 2,000 clients
 *   npm run soak -- --duration 600 --clients 2000 # the 10-minute run of docs/reliability.md
 *
 * Options (bench/lib/options.ts; or env): --duration SECONDS (SOAK_DURATION_S, 60),
 * --clients N (SOAK_CLIENTS, 2000, at most 5,000), --sample SECONDS (SOAK_SAMPLE_S, 5),
 * --warmup SECONDS (SOAK_WARMUP_S, 20% of the run: samples before it are shown but left
 * out of the "steady" slope), --no-gc (sample the heap as it is, without forcing a GC first).
 *
 * The server runs as `node <deployed flags> --expose-gc --import tsx src/server.ts` with a tiny preloaded hook
 * that runs `gc()` on SIGWINCH, so each sample is the live heap (SIGWINCH, because close-with-grace treats SIGUSR2 as a shutdown signal) rather than wherever V8's
 * sawtooth happened to be. The scenario stops by itself, and kills only the child it spawned
 * (by its PID), also on Ctrl-C.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import type { Options } from '../lib/options.js';
import type { Results, Row } from '../lib/report.js';
import { deployedNodeFlags } from '../lib/deployed-flags.js';
import type { Scenario } from './scenario.js';

// ---------------------------------------------------------------- options

function num(name: string, given: number | undefined, env: string | undefined, def: number, min: number, max: number): number {
  const n = given ?? (env === undefined || env === '' ? def : Number(env));
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`soak: ${name} must be a number between ${min} and ${max}, got "${given ?? env}"`);
  return n;
}

/** Set by the scenario's run() from the bench options (one soak per process). */
let DURATION_S = 60;
let SAMPLE_S = 5;
let WARMUP_S = 12;
let FORCE_GC = true;
const GROUP_SIZE = 4;
let GROUPS = 500;

function configure(opts: Options): void {
  const given = (k: string, v: number) => (opts.given.has(k) ? v : undefined);
  DURATION_S = num('--duration', opts.durationS ?? undefined, process.env.SOAK_DURATION_S, 60, 10, 24 * 3600);
  const clients = Math.floor(num('--clients', given('clients', opts.clients), process.env.SOAK_CLIENTS, 2000, 4, 5000));
  SAMPLE_S = num('--sample', opts.sampleS ?? undefined, process.env.SOAK_SAMPLE_S, 5, 1, 600);
  WARMUP_S = num('--warmup', given('warmup', opts.warmupS), process.env.SOAK_WARMUP_S, Math.round(DURATION_S * 0.2), 0, DURATION_S);
  FORCE_GC = opts.forceGc;
  GROUPS = Math.max(1, Math.floor(clients / GROUP_SIZE));
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const GC_HOOK = 'data:text/javascript,process.on("SIGWINCH",()=>{if(globalThis.gc)globalThis.gc()})';

// ---------------------------------------------------------------- the server child

let child: ChildProcess | null = null;

function startServer(): Promise<string> {
  // The deployed node flags (package.json "start", same as the Dockerfile), so the soak
  // covers the GC settings production runs with.
  const nodeArgs = [...deployedNodeFlags(ROOT), ...(FORCE_GC ? ['--expose-gc', '--import', GC_HOOK] : []), '--import', 'tsx', 'src/server.ts'];
  child = spawn(process.execPath, nodeArgs, {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'development',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      REDIS_URL: '',
      MAX_PARTICIPANTS: String(GROUP_SIZE),
      // Seats dropped without a leave time out quickly, so that path is soaked too.
      DISCONNECT_GRACE_MS: '3000',
      SHUTDOWN_GRACE_MS: '10000',
      // Every client is 127.0.0.1: per-address limits would only measure themselves.
      RATE_CONNECTIONS_PER_MIN: '10000000',
      // One address, thousands of sockets (the connection caps lifted like the rate limits).
      MAX_CONNECTIONS_PER_ADDRESS: '10000000',
      MAX_PENDING_PER_ADDRESS: '1000000',
      RATE_ADDRESS_EVENTS_PER_SEC: '10000000',
      RATE_CREATES_PER_MIN: '1000000',
      MAX_ROOMS_PER_ADDRESS: '100000000',
      MAX_ROOMS_PER_IDENTITY: '100000000',
      RATE_JOIN_FAILURES_PER_MIN: '1000000',
      RATE_SOCKET_EVENTS_PER_SEC: '100',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const c = child;
  let stderr = '';
  c.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`server did not start within 20 s\n${stderr}`)), 20_000);
    const onData = (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string; level?: number };
          if (entry.msg === 'focusroom listening' && entry.url) {
            clearTimeout(timer);
            resolve(entry.url);
          } else if ((entry.level ?? 0) >= 50) {
            serverErrors += 1;
            if (serverErrors <= 5) console.error('server error log:', line.slice(0, 500));
          }
        } catch {
          // not JSON (should not happen); ignore
        }
      }
    };
    c.stdout?.on('data', onData);
    c.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (code ${code}, signal ${signal})\n${stderr}`));
    });
  });
}

async function stopServer(): Promise<{ code: number | null; ms: number }> {
  const c = child;
  if (!c || c.exitCode !== null || c.signalCode !== null) return { code: c?.exitCode ?? null, ms: 0 };
  const t0 = Date.now();
  const exited = new Promise<number | null>((resolve) => c.once('exit', (code) => resolve(code)));
  c.kill('SIGTERM');
  const killer = setTimeout(() => c.kill('SIGKILL'), 15_000);
  const code = await exited;
  clearTimeout(killer);
  return { code, ms: Date.now() - t0 };
}

// ---------------------------------------------------------------- load

type Client = Socket;
type Ack = { ok: boolean; error?: { code: string }; [k: string]: any };

const stats = {
  calls: 0,
  ok: 0,
  errors: new Map<string, number>(),
  timeouts: 0,
  connects: 0,
  connectErrors: 0,
  completions: 0,
  resumes: 0,
  cycles: 0,
};
let serverErrors = 0;
let running = true;
let url = '';
const sockets = new Set<Client>();

const rand = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));

function connectClient(): Promise<Client | null> {
  return new Promise((resolve) => {
    const s = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 10_000 });
    sockets.add(s);
    s.once('connect', () => {
      stats.connects += 1;
      resolve(s);
    });
    s.once('connect_error', () => {
      stats.connectErrors += 1;
      drop(s);
      resolve(null);
    });
  });
}

function drop(s: Client | null): void {
  if (!s) return;
  s.removeAllListeners();
  s.disconnect();
  sockets.delete(s);
}

async function call(s: Client, event: string, payload: object = {}): Promise<Ack | null> {
  stats.calls += 1;
  try {
    const res = (await s.timeout(10_000).emitWithAck(event, payload)) as Ack;
    if (res.ok) stats.ok += 1;
    else {
      const code = res.error?.code ?? 'unknown';
      stats.errors.set(code, (stats.errors.get(code) ?? 0) + 1);
    }
    return res;
  } catch {
    stats.timeouts += 1;
    return null;
  }
}

function completion(s: Client, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      s.off('session_completed', on);
      resolve(false);
    }, timeoutMs);
    const on = () => {
      clearTimeout(t);
      stats.completions += 1;
      resolve(true);
    };
    s.once('session_completed', on);
  });
}

interface Member {
  socket: Client | null;
  participantId?: string;
  token?: string;
}

/**
 * One group of four clients, forever until the run ends: the host creates a room, the
 * others join, statuses change, a task is added, the host starts a 2–5 s countdown, one
 * member drops and resumes on a new socket mid-countdown, and at the end members either
 * leave, or just disconnect (their seat times out), and come back on fresh sockets.
 */
async function group(index: number): Promise<void> {
  await sleep((index / GROUPS) * Math.min(15_000, DURATION_S * 250)); // ramp up
  const members: Member[] = Array.from({ length: GROUP_SIZE }, () => ({ socket: null }));
  while (running) {
    stats.cycles += 1;
    for (const m of members) if (!m.socket?.connected) {
      drop(m.socket);
      m.socket = await connectClient();
    }
    const [host, ...guests] = members;
    if (!host?.socket || guests.some((g) => !g.socket)) {
      await sleep(1_000);
      continue;
    }
    const created = await call(host.socket, 'create_session', { user_name: `Host ${index}`, session_duration: rand(2, 5) * 1000 });
    if (!created?.ok) {
      await sleep(1_000);
      continue;
    }
    const code = created.room_code as string;
    host.participantId = created.participant_id;
    host.token = created.resume_token;
    for (const [i, g] of guests.entries()) {
      const joined = await call(g.socket!, 'join_session', { room_code: code, user_name: `G${index}.${i}` });
      if (joined?.ok) {
        g.participantId = joined.participant_id;
        g.token = joined.resume_token;
      }
    }
    await call(guests[0]!.socket!, 'add_task', { title: `task of ${index}` });
    await call(guests[1]!.socket!, 'update_status', { status: 'ready' });
    if (!running) break;

    const done = completion(host.socket, 12_000);
    await call(host.socket, 'start_session');
    if (Math.random() < 0.5) await call(guests[1]!.socket!, 'update_status', { status: 'failed' });
    await sleep(rand(200, 1_000));
    await call(guests[0]!.socket!, 'update_status', { status: 'paused' });
    await call(guests[0]!.socket!, 'update_status', { status: 'focusing' });
    // A phone goes to sleep and comes back: new socket, same seat.
    const sleeper = guests[2]!;
    if (sleeper.participantId && sleeper.token) {
      drop(sleeper.socket);
      sleeper.socket = await connectClient();
      if (sleeper.socket) {
        const resumed = await call(sleeper.socket, 'resume_session', {
          room_code: code,
          participant_id: sleeper.participantId,
          resume_token: sleeper.token,
          last_seq: 1,
        });
        if (resumed?.ok) stats.resumes += 1;
      }
    }
    await done;

    // End of the cycle: leave and stay connected, leave and disconnect, or just vanish
    // (the seat times out after DISCONNECT_GRACE_MS); the next cycle reconnects.
    for (const m of members) {
      m.participantId = undefined;
      m.token = undefined;
      if (!m.socket) continue;
      const r = Math.random();
      if (r < 0.8) await call(m.socket, 'leave_session');
      if (r >= 0.5) {
        drop(m.socket);
        m.socket = null;
      }
    }
    await sleep(rand(200, 2_000));
  }
}

// ---------------------------------------------------------------- sampling

interface Sample {
  t_s: number;
  heap_used_mb: number;
  heap_total_mb: number;
  rss_mb: number;
  connections: number;
  rooms: number;
  calls_per_s: number;
  /** Error replies since the previous sample. */
  errors: number;
  completions: number;
}

function metric(text: string, name: string): number[] {
  const out: number[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{')) {
      const v = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (Number.isFinite(v)) out.push(v);
    }
  }
  return out;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

async function sample(t0: number, lastCalls: { n: number; t: number; errors: number }): Promise<Sample | null> {
  try {
    if (FORCE_GC && child?.pid) {
      child.kill('SIGWINCH');
      await sleep(300);
    }
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) });
    const text = await res.text();
    const now = Date.now();
    const rate = ((stats.calls - lastCalls.n) * 1000) / Math.max(1, now - lastCalls.t);
    const errorsNow = sum([...stats.errors.values()]) + stats.timeouts;
    const errors = errorsNow - lastCalls.errors;
    lastCalls.n = stats.calls;
    lastCalls.t = now;
    lastCalls.errors = errorsNow;
    return {
      t_s: Math.round((now - t0) / 1000),
      heap_used_mb: mb(metric(text, 'focusroom_nodejs_heap_size_used_bytes')[0] ?? NaN),
      heap_total_mb: mb(metric(text, 'focusroom_nodejs_heap_size_total_bytes')[0] ?? NaN),
      rss_mb: mb(metric(text, 'focusroom_process_resident_memory_bytes')[0] ?? NaN),
      connections: metric(text, 'focusroom_connections')[0] ?? NaN,
      rooms: sum(metric(text, 'focusroom_rooms')),
      calls_per_s: Math.round(rate),
      errors,
      completions: stats.completions,
    };
  } catch (err) {
    console.error('sample failed:', (err as Error).message);
    return null;
  }
}

/** Least-squares slope of y over x. */
function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = sum(points.map((p) => p[0])) / n;
  const my = sum(points.map((p) => p[1])) / n;
  const num = sum(points.map(([x, y]) => (x - mx) * (y - my)));
  const den = sum(points.map(([x]) => (x - mx) ** 2));
  return den === 0 ? NaN : num / den;
}

function printRow(s: Sample): void {
  console.log(
    [
      String(s.t_s).padStart(6),
      s.heap_used_mb.toFixed(1).padStart(9),
      s.heap_total_mb.toFixed(1).padStart(10),
      s.rss_mb.toFixed(1).padStart(8),
      String(s.connections).padStart(6),
      String(s.rooms).padStart(6),
      String(s.calls_per_s).padStart(8),
      String(s.errors).padStart(7),
      String(s.completions).padStart(11),
    ].join(' '),
  );
}

// ---------------------------------------------------------------- the scenario

export interface SoakResult {
  durationS: number;
  clients: number;
  warmupS: number;
  forcedGc: boolean;
  /** Heap slope in MB/min over every sample, and after the warm-up. */
  heapSlopeMbPerMin: number;
  steadyHeapSlopeMbPerMin: number;
  steadyRssSlopeMbPerMin: number;
  samples: Sample[];
  after: Sample | null;
  stats: Omit<typeof stats, 'errors'> & { errors: Record<string, number> };
  serverErrors: number;
  shutdown: { code: number | null; ms: number };
}

async function run(opts: Options, log: (s: string) => void): Promise<SoakResult> {
  configure(opts);
  const interrupted = () => {
    console.error('\nsoak: interrupted; stopping the server');
    running = false;
    for (const s of sockets) drop(s);
    void stopServer().then(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    return await soak(log);
  } catch (err) {
    running = false;
    for (const s of sockets) drop(s);
    await stopServer();
    throw err;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}

async function soak(log: (s: string) => void): Promise<SoakResult> {
  url = await startServer();
  log(`soak: server ${url} (pid ${child?.pid}), ${GROUPS * GROUP_SIZE} clients in groups of ${GROUP_SIZE}, ${DURATION_S} s, sample every ${SAMPLE_S} s, forced GC before samples: ${FORCE_GC}`);
  log('   t_s  heap_MB  heapTot_MB   rss_MB  conns  rooms  calls/s  errors  completions');

  const t0 = Date.now();
  const samples: Sample[] = [];
  const lastCalls = { n: 0, t: t0, errors: 0 };
  const first = await sample(t0, lastCalls);
  if (first) {
    samples.push(first);
    printRow(first);
  }
  const groups = Array.from({ length: GROUPS }, (_, i) => group(i).catch((err) => console.error('group failed:', err)));

  while (Date.now() - t0 < DURATION_S * 1000) {
    await sleep(Math.min(SAMPLE_S * 1000, DURATION_S * 1000 - (Date.now() - t0)));
    const s = await sample(t0, lastCalls);
    if (s) {
      samples.push(s);
      printRow(s);
    }
    if (child?.exitCode !== null) throw new Error(`server exited during the soak (code ${child?.exitCode})`);
  }

  running = false;
  await Promise.race([Promise.all(groups), sleep(15_000)]);
  for (const s of sockets) drop(s);
  await sleep(4_000); // the last seats' grace runs out: rooms should go back to zero
  const after = await sample(t0, lastCalls);
  const stop = await stopServer();

  const all = samples.map((s) => [s.t_s, s.heap_used_mb] as [number, number]);
  const steady = all.filter(([t]) => t >= WARMUP_S);
  const perMin = (x: number) => (Number.isFinite(x) ? `${(x * 60).toFixed(3)} MB/min` : 'n/a');
  const heaps = steady.map(([, h]) => h);
  const steadyRss = slope(samples.filter((s) => s.t_s >= WARMUP_S).map((s) => [s.t_s, s.rss_mb]));
  log('');
  log(`heap slope, all samples:         ${perMin(slope(all))}`);
  log(`heap slope, after ${WARMUP_S} s warm-up: ${perMin(slope(steady))}  (n=${steady.length}, min ${Math.min(...heaps)} MB, max ${Math.max(...heaps)} MB)`);
  log(`rss slope, after warm-up:        ${perMin(steadyRss)}`);
  log(`calls ${stats.calls} (ok ${stats.ok}, timeouts ${stats.timeouts}); error replies ${JSON.stringify(Object.fromEntries(stats.errors))}`);
  log(`connects ${stats.connects} (failed ${stats.connectErrors}), cycles ${stats.cycles}, completions seen by hosts ${stats.completions}, resumes ${stats.resumes}`);
  log(`after the clients left: ${after ? `${after.connections} connections, ${after.rooms} rooms, heap ${after.heap_used_mb} MB` : 'n/a'}`);
  log(`server: error-level log lines ${serverErrors}; SIGTERM → exit code ${stop.code} in ${stop.ms} ms`);
  const round3 = (x: number) => Math.round(x * 60 * 1000) / 1000;
  return {
    durationS: DURATION_S,
    clients: GROUPS * GROUP_SIZE,
    warmupS: WARMUP_S,
    forcedGc: FORCE_GC,
    heapSlopeMbPerMin: round3(slope(all)),
    steadyHeapSlopeMbPerMin: round3(slope(steady)),
    steadyRssSlopeMbPerMin: round3(steadyRss),
    samples,
    after,
    stats: { ...stats, errors: Object.fromEntries(stats.errors) },
    serverErrors,
    shutdown: stop,
  };
}

function report(r: Results): Row[] {
  const x = r.soak as SoakResult | undefined;
  if (!x) return [];
  return [
    [
      `Soak, ${x.clients} clients, ${x.durationS} s`,
      `heap slope after ${x.warmupS} s warm-up ${x.steadyHeapSlopeMbPerMin} MB/min (all samples ${x.heapSlopeMbPerMin}; RSS ${x.steadyRssSlopeMbPerMin}) · after the clients left: ${x.after ? `${x.after.connections} connections, ${x.after.rooms} rooms` : 'n/a'} · ${x.serverErrors} error log lines`,
      'no growth',
    ],
  ];
}

export const soakScenario: Scenario = {
  summary: 'the soak: ~2,000 clients cycling through every room action; heap slope over time, rooms back to zero after',
  optIn: true,
  run: (ctx, _results, log) => run(ctx.opts, log),
  report,
};
