/**
 * Bench scenario `schedule` (DESIGN.md §6): R rooms scheduled for the same second start
 * on their own, while C already-running connections tick. Reports, per run:
 * - start lateness: `session_started` arrival at each room's host minus `starts_at`
 *   (p50/p99/max over the R rooms; the bound is p99 ≤ 200 ms);
 * - tick lateness of the running connections (arrival minus the whole second of
 *   `time_left_ms` it announces, skew-free since the server and clients share a clock) in a
 *   quiet window before the start vs the window around it (bound: ≤ 1.2× the quiet p99).
 * One instance (memory store), or two sharing a redis-server (`instances: 2`).
 *
 *   npm run bench -- --only schedule --schedule-rooms 2500 --clients 10000
 *   npx tsx bench/scheduled-start.ts --rooms 300 --clients 400 [--instances 2]
 *
 * The servers run as `node --import tsx src/server.ts` processes (no build); the
 * clients in this process. Loopback only; kills only the processes it started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import { Hist, summarize, type Percentiles } from './lib/hist.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface ScheduleOptions {
  rooms: number;
  /** Running connections (rooms of 4) ticking through the start. */
  clients: number;
  instances: 1 | 2;
  /** Seconds of quiet ticking measured before the start. */
  windowS: number;
}

export interface ScheduleResult {
  rooms: number;
  clients: number;
  instances: number;
  started: number;
  startLatenessMs: Percentiles;
  tickP99QuietMs: number;
  tickP99DuringStartMs: number;
  tickRatio: number;
}

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

const children: ChildProcess[] = [];
function stopChildren(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.length = 0;
}

async function startRedis(): Promise<string> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  children.push(child);
  await sleep(300);
  return `redis://127.0.0.1:${port}`;
}

async function startServer(id: string, redisUrl: string | null): Promise<string> {
  const port = await freePort();
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    INSTANCE_ID: id,
    // The harness is one address with thousands of sockets: the same lifted limits as
    // run.ts's servers (§11 per-address, instance and lag-shedding bounds included).
    RATE_CONNECTIONS_PER_MIN: '10000000',
    RATE_SOCKET_EVENTS_PER_SEC: '100000',
    RATE_CREATES_PER_MIN: '1000000',
    RATE_JOIN_FAILURES_PER_MIN: '1000000',
    RATE_ADDRESS_EVENTS_PER_SEC: '10000000',
    RATE_INSTANCE_EVENTS_PER_SEC: '10000000',
    EVENT_LOOP_LAG_SHED_MS: '60000',
    MAX_CONNECTIONS_PER_ADDRESS: '10000000',
    MAX_CONNECTIONS: '10000000',
    MAX_PENDING_PER_ADDRESS: '1000000',
    RATE_ROOM_CONTROLS_PER_MIN: '1000000',
    MAX_ROOMS: '10000000',
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
  };
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, 'src/server.ts')], { env, cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/health`)).ok) return url;
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  throw new Error(`server ${id} did not come up`);
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

export async function scheduleScenario(opts: ScheduleOptions, log: (s: string) => void): Promise<ScheduleResult> {
  try {
    const redisUrl = opts.instances === 2 ? await startRedis() : null;
    const urls = await Promise.all(Array.from({ length: opts.instances }, (_, i) => startServer(`sched-${i + 1}`, redisUrl)));
    log(`  ${opts.instances} instance(s) up; connecting ${opts.clients} running + ${opts.rooms} scheduled hosts`);

    // Running rooms of 4, long countdowns, ticking throughout.
    const running = await connectMany(urls, opts.clients);
    let tickPhase: 'off' | 'quiet' | 'start' = 'off';
    const quiet = new Hist();
    const during = new Hist();
    for (let i = 0; i < running.length; i += 4) {
      const host = running[i]!;
      const created = await ack(host, 'create_session', { user_name: `R${i}`, session_duration: 3_600_000 });
      await Promise.all(running.slice(i + 1, i + 4).map((g, j) => ack(g, 'join_session', { room_code: created.room_code, user_name: `G${j}` })));
      await ack(host, 'start_session', {});
    }
    for (const s of running) {
      s.on('time_update', (t: { time_left_ms: number; ends_at: number }) => {
        if (tickPhase === 'off') return;
        // The tick announces the whole second ends_at − time_left_ms; its lateness is arrival minus that.
        const late = Math.max(0, Date.now() - (t.ends_at - t.time_left_ms));
        (tickPhase === 'quiet' ? quiet : during).add(late);
      });
    }

    // Scheduled rooms, all for the same whole second, far enough out to set everything up.
    const hosts = await connectMany(urls, opts.rooms);
    const startsAt = Math.ceil((Date.now() + 5_000 + opts.rooms * 4 + opts.windowS * 1000) / 1000) * 1000;
    const arrivals = new Map<Socket, number>();
    for (let i = 0; i < hosts.length; i += 100) {
      await Promise.all(
        hosts.slice(i, i + 100).map(async (h, j) => {
          const r = await ack(h, 'create_session', { user_name: `S${i + j}`, starts_at: startsAt, session_duration: 3_600_000 });
          if (!r.ok) throw new Error(`scheduled create failed: ${JSON.stringify(r.error)}`);
          h.once('session_started', () => arrivals.set(h, Date.now()));
        }),
      );
    }
    const quietFrom = startsAt - opts.windowS * 1000 - 1_000;
    await sleep(Math.max(0, quietFrom - Date.now()));
    tickPhase = 'quiet';
    await sleep(Math.max(0, startsAt - 500 - Date.now()));
    tickPhase = 'start';
    // The start window: half a second before starts_at to two seconds after.
    await sleep(Math.max(0, startsAt + 2_000 - Date.now()));
    tickPhase = 'off';
    // Late starts still count (they show in the percentiles), up to 10 s after starts_at.
    for (let i = 0; i < 80 && arrivals.size < hosts.length; i++) await sleep(100);
    const lateness = new Hist();
    for (const at of arrivals.values()) lateness.add(Math.max(0, at - startsAt));
    const result: ScheduleResult = {
      rooms: opts.rooms,
      clients: opts.clients,
      instances: opts.instances,
      started: arrivals.size,
      startLatenessMs: summarize(lateness),
      tickP99QuietMs: summarize(quiet).p99,
      tickP99DuringStartMs: summarize(during).p99,
      tickRatio: 0,
    };
    result.tickRatio = Math.round((100 * result.tickP99DuringStartMs) / Math.max(1, result.tickP99QuietMs)) / 100;
    log(
      `  ${result.started}/${opts.rooms} scheduled rooms started; start lateness p50 ${result.startLatenessMs.p50} ms, p99 ${result.startLatenessMs.p99} ms, max ${result.startLatenessMs.max} ms; ` +
        `tick p99 ${result.tickP99QuietMs} ms quiet → ${result.tickP99DuringStartMs} ms during the start (×${result.tickRatio})`,
    );
    for (const s of [...running, ...hosts]) s.disconnect();
    return result;
  } finally {
    stopChildren();
  }
}

// Run on its own: npx tsx bench/scheduled-start.ts --rooms N --clients N [--instances 2] [--window S]
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (k: string, d: number) => {
    const i = process.argv.indexOf(`--${k}`);
    return i > 0 ? Number(process.argv[i + 1]) : d;
  };
  const opts: ScheduleOptions = { rooms: arg('rooms', 2_500), clients: Math.floor(arg('clients', 400) / 4) * 4, instances: arg('instances', 1) === 2 ? 2 : 1, windowS: arg('window', 5) };
  scheduleScenario(opts, (s) => console.log(s)).then(
    (r) => {
      console.log(JSON.stringify(r));
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      stopChildren();
      process.exit(1);
    },
  );
}
