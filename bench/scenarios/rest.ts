/**
 * rest: REST under load (docs/protocol.md "REST API"), short and loopback only:
 *
 *   1. N socket clients in rooms of 4, all counting down: tick lateness at the clients
 *      with no REST load (baseline window).
 *   2. REST task calls (POST, PATCH, DELETE, each broadcast to the room) from C concurrent
 *      callers, stepping C up: calls/s and p99 latency per step, and the tick lateness of
 *      the running connections meanwhile. Reported: the best rate whose p99 ≤ 50 ms, and
 *      that step's tick p99 as a ratio to the baseline.
 *   3. History: one room with 1,000 events; GET /sessions/:code/events?limit=1000 p99.
 *
 * The server is a bench server process (pinned like the others); the clients and callers
 * run in this harness. Opt-in (`--only rest`; `npm run bench:rest` = 2,000 clients, 5 s
 * windows): `--clients` and `--window` apply.
 */
import { Agent, request } from 'node:http';
import { io, type Socket } from 'socket.io-client';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Ctx } from '../lib/context.js';
import { Hist, summarize } from '../lib/hist.js';
import { procCpuSeconds } from '../lib/procs.js';
import { type Results, round, type Row } from '../lib/report.js';
import type { Log, Scenario } from './scenario.js';

const STEPS = [1, 2, 4, 8, 16, 32, 64];
const P99_BUDGET_MS = 50;

/** One HTTP call on a kept-alive connection; resolves with status and body text. */
function call(agent: Agent, base: string, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolvePromise, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${base}${path}`,
      {
        method,
        agent,
        headers: { authorization: `Bearer ${token}`, ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

function ack<T = any>(s: Socket, event: string, payload: unknown): Promise<T> {
  return s.timeout(10_000).emitWithAck(event, payload) as Promise<T>;
}

interface Seat {
  code: string;
  token: string;
}

export interface RestResult {
  clients: number;
  windowS: number;
  baseline: { tickP99Ms: number; cpuPct: number };
  steps: Array<{ concurrency: number; rate: number; p99: number; tickP99: number; errors: number; cpu: number }>;
  best: { concurrency: number; callsPerS: number; p99Ms: number; tickP99Ms: number; tickRatio: number } | null;
  history: { events: number; p50Ms: number; p99Ms: number; reads: number };
}

async function run(ctx: Ctx, _results: Results, log: Log): Promise<RestResult> {
  const CLIENTS = ctx.opts.clients;
  const WINDOW_S = ctx.opts.windowS;
  const server = await ctx.focusroom('rest', CLIENTS);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const sockets: Socket[] = [];
  try {
    const base = server.url;
    log(`  server ${base} (pid ${server.pid}); ${CLIENTS} clients in rooms of 4, windows of ${WINDOW_S} s`);

    // 1. Rooms of 4, all counting down long enough for the whole run.
    const seats: Seat[] = [];
    const lateness = { current: new Hist() };
    const connect = () =>
      new Promise<Socket>((ok, fail) => {
        const s = io(base, { transports: ['websocket'], forceNew: true, reconnection: false });
        s.once('connect', () => ok(s));
        s.once('connect_error', fail);
        sockets.push(s);
      });
    for (let r = 0; r < CLIENTS / 4; r++) {
      const members = await Promise.all([connect(), connect(), connect(), connect()]);
      const created = await ack(members[0]!, 'create_session', { user_name: 'host', session_duration: 3_600_000 });
      seats.push({ code: created.room_code, token: created.resume_token });
      for (const m of members.slice(1)) await ack(m, 'join_session', { room_code: created.room_code, user_name: 'guest' });
      await ack(members[0]!, 'start_session', {});
      for (const m of members) m.on('time_update', (t: { ends_at: number; time_left_ms: number }) => lateness.current.add(Date.now() - (t.ends_at - t.time_left_ms)));
    }
    await sleep(2_000);

    const windowTicks = async () => {
      lateness.current = new Hist();
      const cpu0 = procCpuSeconds(server.pid);
      await sleep(WINDOW_S * 1000);
      return { ticks: summarize(lateness.current), cpu: (procCpuSeconds(server.pid) - cpu0) / WINDOW_S };
    };
    const baseline = await windowTicks();
    log(`  baseline: tick lateness p50 ${baseline.ticks.p50} ms p99 ${baseline.ticks.p99} ms over ${baseline.ticks.count} ticks; server CPU ${(baseline.cpu * 100).toFixed(0)}%`);

    // 2. REST task calls, stepping concurrency. Each caller cycles add → patch → delete in its own room.
    const results: Array<{ concurrency: number; rate: number; p99: number; tickP99: number; errors: number; cpu: number }> = [];
    for (const concurrency of STEPS) {
      if (concurrency > seats.length) break;
      const hist = new Hist();
      let calls = 0;
      let errors = 0;
      let running = true;
      const caller = async (seat: Seat) => {
        const path = `/sessions/${seat.code}/tasks`;
        while (running) {
          const t0 = performance.now();
          const added = await call(agent, base, 'POST', path, seat.token, { title: 'bench task' });
          hist.add(performance.now() - t0);
          calls++;
          if (added.status !== 201) {
            errors++;
            continue;
          }
          const id = JSON.parse(added.text).task.id as string;
          const t1 = performance.now();
          const patched = await call(agent, base, 'PATCH', `${path}/${id}`, seat.token, { done: true });
          hist.add(performance.now() - t1);
          calls++;
          if (patched.status !== 200) errors++;
          const t2 = performance.now();
          const removed = await call(agent, base, 'DELETE', `${path}/${id}`, seat.token);
          hist.add(performance.now() - t2);
          calls++;
          if (removed.status !== 204) errors++;
        }
      };
      const loops = seats.slice(0, concurrency).map(caller);
      const window = await windowTicks();
      running = false;
      await Promise.all(loops);
      const p = summarize(hist);
      const rate = calls / WINDOW_S;
      results.push({ concurrency, rate, p99: p.p99, tickP99: window.ticks.p99, errors, cpu: window.cpu });
      log(
        `  REST x${concurrency}: ${rate.toFixed(0)} calls/s, p50 ${p.p50} ms p99 ${p.p99} ms, errors ${errors}; ticks p99 ${window.ticks.p99} ms (×${(window.ticks.p99 / Math.max(baseline.ticks.p99, 1)).toFixed(2)} of baseline); server CPU ${(window.cpu * 100).toFixed(0)}%`,
      );
      // Past the budget by far: more callers only queue (a loaded machine may miss it once and recover).
      if (p.p99 > 4 * P99_BUDGET_MS) break;
    }
    const best = results.filter((r) => r.p99 <= P99_BUDGET_MS).sort((a, b) => b.rate - a.rate)[0];

    // 3. History: 1,000 events in one room, read whole.
    const h = seats[0]!;
    const hpath = `/sessions/${h.code}/tasks`;
    for (let i = 0; i < 1_000; i += 2) {
      const added = await call(agent, base, 'POST', hpath, h.token, { title: `h${i}` });
      const id = JSON.parse(added.text).task.id as string;
      await call(agent, base, 'DELETE', `${hpath}/${id}`, h.token);
    }
    const historyHist = new Hist();
    let events = 0;
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      const res = await call(agent, base, 'GET', `/sessions/${h.code}/events?limit=1000`, h.token);
      historyHist.add(performance.now() - t0);
      events = JSON.parse(res.text).events.length;
    }
    const hp = summarize(historyHist);

    return {
      clients: CLIENTS,
      windowS: WINDOW_S,
      baseline: { tickP99Ms: baseline.ticks.p99, cpuPct: round(baseline.cpu * 100, 1) },
      steps: results.map((r) => ({ ...r, rate: round(r.rate, 1), cpu: round(r.cpu * 100, 1) })),
      best: best ? { concurrency: best.concurrency, callsPerS: round(best.rate, 1), p99Ms: best.p99, tickP99Ms: best.tickP99, tickRatio: round(best.tickP99 / Math.max(baseline.ticks.p99, 1), 2) } : null,
      history: { events, p50Ms: hp.p50, p99Ms: hp.p99, reads: hp.count },
    };
  } finally {
    for (const s of sockets) s.disconnect();
    agent.destroy();
    await server.stop();
  }
}

function report(r: Results): Row[] {
  const x = r.rest as RestResult | undefined;
  if (!x) return [];
  return [
    [
      '7. REST task calls under tick load',
      x.best
        ? `${x.best.callsPerS} calls/s with p99 ${x.best.p99Ms} ms (x${x.best.concurrency} callers); ticks of ${x.clients} connections p99 ${x.best.tickP99Ms} vs ${x.baseline.tickP99Ms} ms without REST (×${x.best.tickRatio})`
        : `no step met p99 ≤ ${P99_BUDGET_MS} ms`,
      `p99 ≤ ${P99_BUDGET_MS} ms ${x.best ? 'ok' : 'MISSED'}`,
    ],
    ['   history read', `GET ${x.history.events} events p50 ${x.history.p50Ms} · p99 ${x.history.p99Ms} ms (${x.history.reads} reads)`, ''],
  ];
}

export const rest: Scenario = { summary: 'REST task calls/s with p99 ≤ 50 ms under tick load, tick p99 vs no REST load, 1,000-event history read p99', optIn: true, run, report };
