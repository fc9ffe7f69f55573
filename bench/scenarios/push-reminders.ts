/**
 * Bench scenario `push`: N booked rooms whose reminders fall due within
 * one second, each room's identity with one push subscription, on one instance while C
 * running connections tick. Reports how long the N notifications took to reach the push
 * service (goal: all within 10 s of the first being due), duplicates (goal 0), and the
 * running ticks' p99 in the reminder window vs a quiet window (goal ≤ 1.2×).
 *
 * The push service is test/helpers/push-service.ts in a child process of its own. It
 * answers each message at once and checks it afterwards (`deferChecks`: the VAPID JWT
 * verified, the payload decrypted, as push.test.ts checks them), as a real push service
 * forwards ciphertext that the device decrypts: its crypto runs after the measured
 * window, not on the clients' core while they timestamp ticks.
 *
 *   npm run bench -- --only push --push-reminders 10000 --clients 2000
 *   npx tsx bench/scenarios/push-reminders.ts --reminders 500 --clients 400
 *
 * Environment: PUSH_WORKER_NICE / PUSH_WORKER_IDLE go to the server; PUSH_BENCH_NODE_ARGS
 * adds node flags to it (`--trace-gc`, `--cpu-prof --cpu-prof-dir=…`);
 * PUSH_BENCH_SERVICE_PRIORITY (`idle` or a nice value) lowers the push service's priority
 * on the clients' core. Besides the arrival lateness it prints the server's own
 * (`server_now − due`) and delivery (`arrival − server_now`) parts, and each server
 * thread's CPU time (Linux /proc) over the quiet and the reminder window.
 *
 * Loopback only; kills only the processes it started.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';
import webpush from 'web-push';
import { LIFTED_LIMITS, type Worker } from '../lib/context.js';
import { deployedNodeFlags } from '../lib/deployed-flags.js';
import { Hist, type HistJSON, summarize } from '../lib/hist.js';
import { connectAll, coreTimes, cpuUs, seatAll, type ServerStats, startAll } from '../lib/measure.js';
import { killAllChildren, NodeChild, spawnChild } from '../lib/procs.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface PushBenchOptions {
  reminders: number;
  clients: number;
  /** Seconds of quiet ticking measured before the reminders. */
  windowS: number;
  serverCpus?: string | null;
  clientCpus?: string | null;
  runtime?: 'src' | 'dist';
  serverNodeArgs?: string[];
}

export interface PushBenchResult {
  reminders: number;
  clients: number;
  received: number;
  duplicates: number;
  rejected: number;
  /** From the first reminder's due time to the last notification's arrival (goal ≤ 10 s). */
  allSentMs: number;
  /** Arrival minus each reminder's own due time. */
  latenessMs: { p50: number; p99: number; max: number };
  tickP99QuietMs: number;
  tickP99DuringMs: number;
  tickRatio: number;
  /** The server's own lateness (`server_now − due`), p99, quiet and during. */
  emitP99QuietMs: number;
  emitP99DuringMs: number;
  /** Delivery (`arrival − server_now`: loopback + the clients' process), p99, quiet and during. */
  transitP99QuietMs: number;
  transitP99DuringMs: number;
  loopDelayMaxQuietMs: number;
  loopDelayMaxDuringMs: number;
  serverCpuPct: number;
  load1: number;
  coreBusyPct: number[];
}

/** What the push service's child reports once the window is over (`received`). */
interface ServiceReport {
  received: number;
  duplicates: number;
  rejected: number;
  firstRejection: string | null;
  arrivals: { at: number; startsAt: number }[];
}

/** The push service's child: subscriptions made as browsers make them, and what arrived. */
async function pushServiceChild(): Promise<void> {
  const { startPushService } = await import('../../test/helpers/push-service.js');
  // Checks and decryption wait until the window is over (`settle`), as a real push service
  // forwards ciphertext and the device decrypts: the service's CPU is not the clients'.
  const service = await startPushService({ deferChecks: true });
  // The bench's request/response IPC (as lib/harness-ipc.mjs).
  process.on('disconnect', () => process.exit(0));
  process.on('message', (msg: any) => {
    handle(msg).then(
      (result) => process.send?.({ id: msg.id, ok: true, result }),
      (err: unknown) => process.send?.({ id: msg.id, ok: false, error: String((err as Error)?.stack ?? err) }),
    );
  });
  async function handle(msg: any): Promise<unknown> {
    if (msg.type === 'subscriptions') return Array.from({ length: msg.n as number }, () => service.browserSubscription());
    if (msg.type === 'accepted') return service.accepted();
    if (msg.type === 'received') {
      service.settle();
      const byToken = new Map<string, number>();
      for (const r of service.received) byToken.set(r.token, (byToken.get(r.token) ?? 0) + 1);
      const report: ServiceReport = {
        received: service.received.length,
        duplicates: [...byToken.values()].reduce((a, n) => a + n - 1, 0),
        rejected: service.rejected.length,
        firstRejection: service.rejected[0]?.reason ?? null,
        arrivals: service.received.map((r) => ({ at: r.at, startsAt: r.payload.starts_at as number })),
      };
      return report;
    }
    if (msg.type === 'close') {
      await service.close();
      setImmediate(() => process.exit(0));
      return null;
    }
    throw new Error(`unknown request ${String(msg.type)}`);
  }
  process.send?.({ type: 'ready', pid: process.pid });
}

async function startServer(opts: PushBenchOptions, leadMs: number, vapid: { publicKey: string; privateKey: string }): Promise<NodeChild & { url: string }> {
  const runtime = opts.runtime ?? 'src';
  const args = [...(runtime === 'src' ? ['--import', 'tsx'] : []), ...(opts.serverNodeArgs ?? deployedNodeFlags(ROOT)), ...(process.env.PUSH_BENCH_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? []), '--expose-gc', resolve(ROOT, 'bench/server-entry.mjs')];
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    INSTANCE_ID: 'push-bench',
    BENCH_APP_DIR: runtime,
    DATA_DIR: 'off',
    ...LIFTED_LIMITS,
    MAX_ROOMS: '10000000',
    // Every identity subscribes from the harness's one address.
    RATE_ME_ADDRESS_POINTS_PER_MIN: '10000000',
    VAPID_PUBLIC_KEY: vapid.publicKey,
    VAPID_PRIVATE_KEY: vapid.privateKey,
    VAPID_SUBJECT: 'mailto:bench@focusroom.test',
    PUSH_ALLOW_HTTP: 'true',
    // The worker thread's priority to try another (PUSH_WORKER_NICE=0 PUSH_WORKER_NICE=10 …); the server's default otherwise.
    ...(process.env.PUSH_WORKER_NICE ? { PUSH_WORKER_NICE: process.env.PUSH_WORKER_NICE } : {}),
    ...(process.env.PUSH_WORKER_IDLE ? { PUSH_WORKER_IDLE: process.env.PUSH_WORKER_IDLE } : {}),
    REMINDER_LEAD_MS: String(leadMs),
  };
  const child = spawnChild(process.execPath, args, { cpus: opts.serverCpus ?? null, env, nofile: opts.clients + 4_096, ipc: true, quiet: true, logName: 'push-bench' });
  const server = new NodeChild('push-bench', child);
  const ready = await server.ready;
  return Object.assign(server, { url: ready.url! });
}

async function spawnWorkers(opts: PushBenchOptions): Promise<Worker[]> {
  const rooms = opts.clients / 4;
  const n = Math.max(1, Math.min(2, rooms));
  const out: Worker[] = [];
  for (let i = 0; i < n; i++) {
    const share = (Math.floor(rooms / n) + (i < rooms % n ? 1 : 0)) * 4;
    const child = spawnChild(process.execPath, ['--import', 'tsx', resolve(ROOT, 'bench/clients.ts')], { cpus: opts.clientCpus ?? null, nofile: share + 1_024, ipc: true, quiet: true, logName: `push-clients-${i}` });
    out.push({ w: new NodeChild(`push-clients-${i}`, child), count: share });
  }
  await Promise.all(out.map((o) => o.w.ready));
  return out;
}

/** Tick lateness on arrival, and its two parts: the server's own (`server_now − due`) and delivery (`arrival − server_now`). */
interface Recorded {
  hist: Hist;
  emit: Hist;
  transit: Hist;
}

async function record(workers: Worker[], type: 'record-start' | 'record-stop'): Promise<Recorded> {
  const parts = await Promise.all(workers.map(({ w }) => w.request<{ hist?: HistJSON; emit?: HistJSON; transit?: HistJSON }>({ type })));
  if (type === 'record-start') return { hist: new Hist(), emit: new Hist(), transit: new Hist() };
  return { hist: Hist.from(parts.map((p) => p.hist!)), emit: Hist.from(parts.map((p) => p.emit!)), transit: Hist.from(parts.map((p) => p.transit!)) };
}

/** CPU ms (user + system) of each thread of a process, by thread id, with its name (Linux; empty elsewhere). */
function threadCpu(pid: number): Map<string, { name: string; ms: number }> {
  const out = new Map<string, { name: string; ms: number }>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        out.set(tid, { name: tid === String(pid) ? 'main' : name, ms: ((Number(f[11]) + Number(f[12])) * 1000) / 100 });
      } catch {
        // the thread ended
      }
    }
  } catch {
    // not Linux
  }
  return out;
}

/** The threads that ran most between two readings, as `name tid: ms`. */
function threadCpuDiff(a: Map<string, { name: string; ms: number }>, b: Map<string, { name: string; ms: number }>): string {
  return [...b]
    .map(([tid, t]) => ({ tid, name: t.name, ms: t.ms - (a.get(tid)?.ms ?? 0) }))
    .filter((t) => t.ms > 0)
    .sort((x, y) => y.ms - x.ms)
    .map((t) => `${t.name} ${t.tid}: ${Math.round(t.ms)}`)
    .join(', ');
}

/** `limit` at a time. */
async function inParallel<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

export async function pushScenario(opts: PushBenchOptions, log: (s: string) => void): Promise<PushBenchResult> {
  let service: NodeChild | null = null;
  let server: (NodeChild & { url: string }) | null = null;
  let workers: Worker[] = [];
  try {
    service = new NodeChild('push-service', spawnChild(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--push-service-child'], { cpus: opts.clientCpus ?? null, ipc: true, quiet: true }));
    const { pid: servicePid } = await service.ready;
    // The push service's HTTP (its checks wait until after the window) runs on the clients'
    // core, where the clients read the ticks (the "delivery" part of the measured lateness).
    // PUSH_BENCH_SERVICE_PRIORITY=idle runs it under SCHED_IDLE (chrt, all its threads), a
    // number 1–19 nicer: the clients then get their core first. Unset: the same priority.
    const servicePriority = process.env.PUSH_BENCH_SERVICE_PRIORITY;
    if (servicePriority === 'idle') execFileSync('chrt', ['-a', '--idle', '-p', '0', String(servicePid)]);
    else if (Number(servicePriority) > 0) os.setPriority(servicePid, Number(servicePriority));
    const subs = await service.request<{ token: string; json: unknown }[]>({ type: 'subscriptions', n: opts.reminders }, 300_000);
    const leadMs = 10 * 60_000;
    server = await startServer(opts, leadMs, webpush.generateVAPIDKeys());
    workers = await spawnWorkers(opts);
    await connectAll(workers, 'sio', [server.url]);
    await seatAll(workers, 3_600_000);
    await startAll(workers);
    // Each identity (a user_key) subscribes one browser, then books a room over a socket
    // that leaves the page: the seat stays, a booking, as when someone books and puts the
    // phone away.
    // Keys are issued by the server (HMAC-tagged), so the bench asks for them.
    const issueKey = async (): Promise<string> => {
      const res = await fetch(`${server!.url}/user-keys`, { method: 'POST' });
      if (res.status !== 201) throw new Error(`POST /user-keys ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { user_key: string }).user_key;
    };
    const userKeys: string[] = new Array<string>(subs.length);
    await inParallel(subs, 32, async (_, i) => {
      userKeys[i] = await issueKey();
    });
    await inParallel(subs, 32, async (sub, i) => {
      const res = await fetch(`${server!.url}/me/push-subscriptions`, { method: 'POST', headers: { authorization: `Bearer ${userKeys[i]}`, 'content-type': 'application/json' }, body: JSON.stringify(sub.json) });
      if (res.status !== 201) throw new Error(`POST /me/push-subscriptions ${res.status}: ${await res.text()}`);
    });
    const book = async (userKey: string, i: number, startsAt: number) => {
      const socket = io(server!.url, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 20_000 });
      try {
        const r = await socket.timeout(20_000).emitWithAck('create_session', { user_name: `B${i}`, user_key: userKey, starts_at: startsAt, session_duration: 60_000 });
        if (!r.ok) throw new Error(`create_session: ${JSON.stringify(r.error)}`);
      } finally {
        socket.disconnect();
      }
    };
    // The booking rate on this machine now, from a warm-up whose rooms start days later
    // (their reminders never fall due here), sets how far ahead the measured ones fall due.
    const warm = Math.min(200, opts.reminders);
    const t0 = Date.now();
    await inParallel(userKeys.slice(0, warm), 32, async (_, i) => book(await issueKey(), i, Date.now() + 2 * 86_400_000));
    const perRoomMs = (Date.now() - t0) / warm;
    const dueAt = Math.ceil((Date.now() + opts.reminders * perRoomMs * 2.5 + 5_000 + opts.windowS * 1000) / 1000) * 1000;
    log(`  ${opts.clients} running connections; booking ${opts.reminders} rooms (${perRoomMs.toFixed(1)} ms each) whose reminders fall due in [${new Date(dueAt).toISOString()}, +1 s)`);
    await inParallel(userKeys, 32, (k, i) => book(k, i, dueAt + leadMs + (i % 1_000)));
    const quietFrom = dueAt - 500 - opts.windowS * 1000;
    if (Date.now() > quietFrom - 1_000) throw new Error('setup overran the quiet window: lower --push-reminders');
    await server.request<ServerStats>({ type: 'stats', gc: true });
    await sleep(quietFrom - Date.now());
    await record(workers, 'record-start');
    const s0 = await server.request<ServerStats>({ type: 'stats' });
    const serverPid = (await server.ready).pid;
    const threads0 = threadCpu(serverPid);
    await sleep(Math.max(0, dueAt - 500 - Date.now()));
    const quiet = await record(workers, 'record-stop');
    await record(workers, 'record-start');
    const s1 = await server.request<ServerStats>({ type: 'stats' });
    const threads1 = threadCpu(serverPid);
    const cores0 = coreTimes();
    // The reminder window: from half a second before the first is due until all arrived (≤ 10.5 s).
    while (Date.now() < dueAt + 10_500) {
      await sleep(250);
      if ((await service.request<number>({ type: 'accepted' }, 30_000)) >= opts.reminders) break;
    }
    const during = await record(workers, 'record-stop');
    const s2 = await server.request<ServerStats>({ type: 'stats' });
    const threads2 = threadCpu(serverPid);
    const cores1 = coreTimes();
    const got = await service.request<ServiceReport>({ type: 'received' }, 60_000);
    // Exact percentiles (seconds-long latenesses are past the tick histogram's range).
    const late = got.arrivals.map((a) => Math.max(0, a.at - (a.startsAt - leadMs))).sort((a, b) => a - b);
    const q = (p: number) => late[Math.min(late.length - 1, Math.floor(p * late.length))] ?? NaN;
    const l = { p50: q(0.5), p99: q(0.99), max: late.at(-1) ?? NaN };
    const allSentMs = got.arrivals.length ? Math.max(...got.arrivals.map((a) => a.at)) - dueAt : NaN;
    const tickP99QuietMs = summarize(quiet.hist).p99;
    const tickP99DuringMs = summarize(during.hist).p99;
    const result: PushBenchResult = {
      reminders: opts.reminders,
      clients: opts.clients,
      received: got.received,
      duplicates: got.duplicates,
      rejected: got.rejected,
      allSentMs,
      latenessMs: { p50: l.p50, p99: l.p99, max: l.max },
      tickP99QuietMs,
      tickP99DuringMs,
      tickRatio: Math.round((100 * tickP99DuringMs) / Math.max(1, tickP99QuietMs)) / 100,
      emitP99QuietMs: summarize(quiet.emit).p99,
      emitP99DuringMs: summarize(during.emit).p99,
      transitP99QuietMs: summarize(quiet.transit).p99,
      transitP99DuringMs: summarize(during.transit).p99,
      loopDelayMaxQuietMs: Math.round(s1.loop?.delayMaxMs ?? NaN),
      loopDelayMaxDuringMs: Math.round(s2.loop?.delayMaxMs ?? NaN),
      serverCpuPct: Math.round((100 * (cpuUs(s2) - cpuUs(s1))) / ((s2.hrtime - s1.hrtime) || 1)),
      load1: Math.round(os.loadavg()[0]! * 10) / 10,
      coreBusyPct: cores1.map((c, i) => Math.round((100 * (c.busy - cores0[i]!.busy)) / Math.max(1, c.total - cores0[i]!.total))),
    };
    void s0;
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    log(`  server: ${metrics.split('\n').filter((l) => /^focusroom_push_deliveries_total|^focusroom_outbox_depth\{group="push"/.test(l)).join(', ')}`);
    log(`  server threads' CPU ms, quiet window (${Math.round((s1.hrtime - s0.hrtime) / 1e3)} ms): ${threadCpuDiff(threads0, threads1)}`);
    log(`  server threads' CPU ms, reminder window (${Math.round((s2.hrtime - s1.hrtime) / 1e3)} ms): ${threadCpuDiff(threads1, threads2)}`);
    if (got.firstRejection) log(`  push service rejected ${got.rejected}: ${got.firstRejection}`);
    log(
      `  ${result.received}/${result.reminders} reminders received (${result.duplicates} duplicates), all within ${result.allSentMs} ms of the first due time; ` +
        `lateness p50 ${l.p50} p99 ${l.p99} max ${l.max} ms; tick p99 ${tickP99QuietMs} → ${tickP99DuringMs} ms (×${result.tickRatio}; ` +
        `server's own ${result.emitP99QuietMs} → ${result.emitP99DuringMs}, delivery ${result.transitP99QuietMs} → ${result.transitP99DuringMs}); ` +
        `server loop delay max ${result.loopDelayMaxQuietMs} → ${result.loopDelayMaxDuringMs} ms, CPU ${result.serverCpuPct} %; load ${result.load1}, cores busy ${result.coreBusyPct.join('/')} %`,
    );
    return result;
  } finally {
    await Promise.all(workers.map(({ w }) => w.stop(2_000)));
    await service?.stop(2_000);
    await server?.stop(3_000);
    killAllChildren();
  }
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain && process.argv.includes('--push-service-child')) {
  void pushServiceChild();
} else if (isMain) {
  const arg = (k: string, d: number) => {
    const i = process.argv.indexOf(`--${k}`);
    return i > 0 ? Number(process.argv[i + 1]) : d;
  };
  const pin = process.argv.includes('--pin') && os.availableParallelism() >= 2;
  pushScenario(
    {
      reminders: arg('reminders', 10_000),
      clients: Math.floor(arg('clients', 400) / 4) * 4,
      windowS: arg('window', 5),
      serverCpus: pin ? '0' : null,
      clientCpus: pin ? `1-${os.availableParallelism() - 1}` : null,
      runtime: process.argv.includes('--dist') ? 'dist' : 'src',
    },
    (s) => console.log(s),
  ).then(
    (r) => {
      console.log(JSON.stringify(r));
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      killAllChildren();
      process.exit(1);
    },
  );
}
