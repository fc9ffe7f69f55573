/**
 * store: the embedded store of record (SQLite in a worker thread) against DATA_DIR=off,
 * against its bounds (loop delay ≤ 20 ms, RSS ≤ +100 MB, `database: ok` ≤ 0.5 s, every
 * round durable 0.5 s after it completed). Opt-in: `npm run bench -- --only store` (BENCH_STORE_ROOMS,
 * default 2,500; --quick 250).
 *
 *   open         event-loop delay max from buildApp's first line to 1 s after the port
 *                opened (the store opens inside it; module loading before it is not),
 *                fresh and existing data dir vs off; time from spawn to /health
 *                `database: ok`; RSS idle (after GC) vs off
 *   completion   R rooms × 4 whose countdowns end within about one second: the server's
 *                loop delay max from 1 s before the first end to 2 s after the last, the
 *                ends_at → session_completed lag at the clients, when all R × 4 results
 *                are in the file (read by a second SQLite connection), RSS after
 *                (fresh: the loop delay window ends at the kill, 0.5 s after the last session_completed)
 *   durability   kill -9 0.5 s after the last session_completed, then count the results
 *                in the file: all R × 4 must be there; the next start opens the data dir
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { io, type Socket } from 'socket.io-client';
import type { NodeChild } from '../lib/procs.js';
import { mb, type Results, round, type Row } from '../lib/report.js';
import type { Ctx } from '../lib/context.js';
import type { Log, Scenario } from './scenario.js';

interface Open {
  mode: 'off' | 'fresh' | 'existing';
  buildMs: number;
  /** CPU the main thread spent in buildApp (the store's worker thread excluded): off vs on = the store's cost to the loop. */
  buildMainThreadCpuMs: number;
  /** Loop delay max from buildApp's first line to 1 s after the port opened (the store opens inside it). */
  loopDelayMaxDuringBuildMs: number;
  /** Its two parts: buildApp → listening (no client connected yet), listening → 1 s after. */
  loopDelayMaxBeforeListenMs: number;
  loopDelayMaxAfterListenMs: number;
  spawnToListenMs: number;
  spawnToDatabaseOkMs: number | null;
  rssIdleMb: number;
}

interface Burst {
  mode: 'off' | 'fresh' | 'existing';
  rooms: number;
  completed: number;
  loopDelayMaxMs: number;
  lagP50Ms: number;
  lagP99Ms: number;
  /** ms after the last ends_at when all R × 4 results were in the file (null: not within the wait, or off). */
  allWrittenMs: number | null;
  /** Results in the file after a kill -9 0.5 s after the last session_completed (fresh run only). */
  durableAfterKill: number | null;
  rssAfterMb: number | null;
  /** CPU from 1 s before the first end to the last session_completed: the process (worker included) and its main thread. */
  cpu: { processMs: number; mainThreadMs: number };
}

export interface StoreResult {
  open: Open[];
  bursts: Burst[];
  reopenedAfterKill: boolean;
}

/** How far ahead the rooms are booked once all are set up (BENCH_STORE_START_IN_MS). */
const START_IN_MS = Number(process.env.BENCH_STORE_START_IN_MS ?? 4_000);
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
};
const ack = (s: Socket, ev: string, payload: unknown): Promise<any> => s.timeout(60_000).emitWithAck(ev, payload);

async function open(ctx: Ctx, mode: Open['mode'], dataDir: string): Promise<{ server: NodeChild & { url: string }; result: Open }> {
  const t0 = Date.now();
  const server = await ctx.focusroom(`store-${mode}`, 12_000, { DATA_DIR: dataDir });
  const spawnToListenMs = Date.now() - t0;
  let spawnToDatabaseOkMs: number | null = null;
  if (mode !== 'off') {
    for (const end = Date.now() + 30_000; Date.now() < end; await sleep(20)) {
      const h = (await (await fetch(`${server.url}/health`)).json()) as { database: string };
      if (h.database === 'ok') {
        spawnToDatabaseOkMs = Date.now() - t0;
        break;
      }
    }
  }
  const startup = await server.request<{ buildMs: number; buildMainThreadCpuMs: number | null; loopDelayMaxMs: number; beforeListenMs: number; afterListenMs: number }>({ type: 'startup' });
  const ready = { startup };
  await sleep(2_000);
  const stats = await server.request<{ mem: NodeJS.MemoryUsage }>({ type: 'stats', gc: true });
  return {
    server,
    result: {
      mode,
      buildMs: round(ready.startup?.buildMs ?? NaN),
      buildMainThreadCpuMs: round(ready.startup?.buildMainThreadCpuMs ?? NaN),
      loopDelayMaxDuringBuildMs: round(ready.startup?.loopDelayMaxMs ?? NaN),
      loopDelayMaxBeforeListenMs: round(ready.startup?.beforeListenMs ?? NaN),
      loopDelayMaxAfterListenMs: round(ready.startup?.afterListenMs ?? NaN),
      spawnToListenMs,
      spawnToDatabaseOkMs,
      rssIdleMb: mb(stats.mem.rss),
    },
  };
}

/** node:sqlite, loaded when this scenario runs (the other scenarios still run on an older Node). */
let Sqlite: typeof import('node:sqlite') | null = null;

/** Results in the data dir's file, read by a second connection (WAL: beside the server's). */
function countIn(dataDir: string): number {
  let db: DatabaseSync | null = null;
  try {
    db = new Sqlite!.DatabaseSync(join(dataDir, 'focusroom.db'), { readOnly: true });
    return Number((db.prepare('select count(*) as n from round_results').get() as { n: number }).n);
  } catch {
    return 0;
  } finally {
    db?.close();
  }
}

/** R rooms of 4 booked for the same instant, so their ends fall within about a second. */
async function burst(server: NodeChild & { url: string }, mode: Burst['mode'], dataDir: string, rooms: number, kill: boolean, log: Log): Promise<Burst> {
  const sockets: Socket[] = [];
  const connect = () =>
    new Promise<Socket>((resolve, reject) => {
      const s = io(server.url, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 60_000 });
      sockets.push(s);
      s.once('connect', () => resolve(s));
      s.once('connect_error', reject);
    });
  const hosts: Socket[] = [];
  const before = dataDir === 'off' ? 0 : countIn(dataDir);
  try {
    for (let i = 0; i < rooms; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, rooms - i) }, async () => {
          const [h, ...guests] = await Promise.all([connect(), connect(), connect(), connect()]);
          const created = await ack(h!, 'create_session', { user_name: 'H', session_duration: 15_000, max_participants: 4 });
          for (const g of guests) await ack(g, 'join_session', { room_code: created.room_code, user_name: 'G' });
          hosts.push(h!);
        }),
      );
    }
    const lags: number[] = [];
    let firstEndsAt = Infinity;
    let lastEndsAt = 0;
    const done: Promise<void>[] = [];
    // The rooms are booked for one instant (update_settings starts_at) and the server starts
    // them all then: their ends fall within the start burst's spread (~0.3 s), however slowly
    // this harness set them up.
    const startsAt = Date.now() + START_IN_MS;
    let late = 0;
    await Promise.all(
      hosts.map(async (h) => {
        let endsAt = 0;
        done.push(new Promise<void>((resolve) => h.once('session_completed', () => (lags.push(Date.now() - endsAt), resolve()))));
        h.once('session_started', (e: { session: { ends_at: number } }) => {
          endsAt = e.session.ends_at;
          firstEndsAt = Math.min(firstEndsAt, endsAt);
          lastEndsAt = Math.max(lastEndsAt, endsAt);
        });
        const r = await ack(h, 'update_settings', { starts_at: startsAt });
        if (!r?.ok) late += 1;
      }),
    );
    if (late > 0) throw new Error(`${late} of ${rooms} rooms could not be booked for ${START_IN_MS} ms ahead (a loaded machine: raise BENCH_STORE_START_IN_MS)`);
    await sleep(Math.max(0, startsAt + 1_000 - Date.now()));
    log(`  store ${mode}: ${rooms} rooms started, ends spread over ${lastEndsAt - firstEndsAt} ms`);
    await sleep(Math.max(0, firstEndsAt - 1_000 - Date.now()));
    const s0 = await server.request<{ cpu: NodeJS.CpuUsage; mainCpu?: NodeJS.CpuUsage }>({ type: 'stats' }); // resets the loop-delay histogram
    const profileDir = process.env.BENCH_PROFILE_DIR;
    if (profileDir) await server.request({ type: 'profile-start', intervalUs: 250 });
    await Promise.race([Promise.all(done), sleep(30_000)]);
    // CPU of the whole process (main thread + the store's worker) and of the main thread alone, over the burst.
    const s1 = await server.request<{ cpu: NodeJS.CpuUsage; mainCpu?: NodeJS.CpuUsage }>({ type: 'stats', keepLoop: true });
    const cpuMs = (c: NodeJS.CpuUsage | undefined, c0: NodeJS.CpuUsage | undefined) => (c && c0 ? round((c.user + c.system - c0.user - c0.system) / 1000) : NaN);
    const burstCpu = { processMs: cpuMs(s1.cpu, s0.cpu), mainThreadMs: cpuMs(s1.mainCpu, s0.mainCpu) };
    log(`  store ${mode}: CPU from 1 s before the first end to the last session_completed: process ${burstCpu.processMs} ms, main thread ${burstCpu.mainThreadMs} ms`);
    if (profileDir) await server.request({ type: 'profile-stop', file: join(profileDir, `store-burst-${mode}.cpuprofile`) });
    let allWrittenMs: number | null = null;
    let durableAfterKill: number | null = null;
    let loopDelayMaxMs = NaN;
    const target = before + rooms * 4;
    if (kill) {
      // kill -9 0.5 s after the last session_completed a client saw; then count. The loop
      // delay is read just before the kill (its window ends there, not 2 s after the last end).
      await sleep(500);
      loopDelayMaxMs = round((await server.request<{ loop: { delayMaxMs: number } }>({ type: 'stats' })).loop.delayMaxMs);
      process.kill(server.pid, 'SIGKILL');
      await new Promise((r) => server.child.proc.once('exit', r));
      durableAfterKill = countIn(dataDir) - before;
    } else if (dataDir !== 'off') {
      for (const end = Date.now() + 30_000; Date.now() < end; await sleep(50)) {
        if (countIn(dataDir) >= target) {
          allWrittenMs = Date.now() - lastEndsAt;
          break;
        }
      }
    }
    let rssAfterMb: number | null = null;
    if (!kill) {
      await sleep(Math.max(0, lastEndsAt + 2_000 - Date.now()));
      const s = await server.request<{ loop: { delayMaxMs: number }; mem: NodeJS.MemoryUsage }>({ type: 'stats' });
      loopDelayMaxMs = round(s.loop.delayMaxMs);
      rssAfterMb = mb((await server.request<{ mem: NodeJS.MemoryUsage }>({ type: 'stats', gc: true })).mem.rss);
    }
    return { mode, rooms, completed: lags.length, cpu: burstCpu, loopDelayMaxMs, lagP50Ms: pct(lags, 50), lagP99Ms: pct(lags, 99), allWrittenMs, durableAfterKill, rssAfterMb };
  } finally {
    for (const s of sockets) s.disconnect();
  }
}

function report(r: Results): Row[] {
  const x = r.store as StoreResult | undefined;
  if (!x) return [];
  const off = x.open.find((o) => o.mode === 'off');
  const rows: Row[] = x.open.map((o) => [
    `store: open ${o.mode}`,
    `loop delay max from buildApp to 1 s after listening ${o.loopDelayMaxDuringBuildMs} ms (before listening ${o.loopDelayMaxBeforeListenMs}, after ${o.loopDelayMaxAfterListenMs}; build ${o.buildMs} ms, main-thread CPU ${o.buildMainThreadCpuMs} ms${off && o.mode !== 'off' ? `, +${round(o.buildMainThreadCpuMs - off.buildMainThreadCpuMs)} vs off` : ''}); spawn → listening ${o.spawnToListenMs} ms${o.spawnToDatabaseOkMs !== null ? `, → database ok ${o.spawnToDatabaseOkMs} ms` : ''}; RSS idle ${o.rssIdleMb} MB${off && o.mode !== 'off' ? ` (+${round(o.rssIdleMb - off.rssIdleMb)} vs off)` : ''}`,
    'loop ≤ 20 ms; existing: database ok ≤ 0.5 s after listening; RSS ≤ +100 MB',
  ]);
  for (const b of x.bursts) {
    rows.push([
      `store: ${b.rooms} rooms × 4 complete, ${b.mode}`,
      `${b.completed}/${b.rooms} completed; loop delay max ${b.loopDelayMaxMs} ms; completion lag p50 ${b.lagP50Ms} / p99 ${b.lagP99Ms} ms` +
        (b.allWrittenMs !== null ? `; all results in the file ${b.allWrittenMs} ms after the last end` : '') +
        (b.durableAfterKill !== null ? `; kill -9 0.5 s after: ${b.durableAfterKill}/${b.rooms * 4} results kept` : '') +
        (b.rssAfterMb !== null ? `; RSS after ${b.rssAfterMb} MB` : '') +
        (b.cpu ? `; CPU process ${b.cpu.processMs} ms, main thread ${b.cpu.mainThreadMs} ms` : ''),
      'loop ≤ 20 ms; all durable 0.5 s after',
    ]);
  }
  rows.push(['store: reopened after kill -9', x.reopenedAfterKill ? 'yes' : 'NO', 'yes']);
  return rows;
}

export const store: Scenario = {
  summary: 'the embedded store vs DATA_DIR=off: loop delay while opening and while 2,500 rooms × 4 complete, RSS, time to database ok, durability after kill -9',
  optIn: true,
  async run(ctx, _results, log): Promise<StoreResult> {
    Sqlite = await import('node:sqlite');
    const rooms = Number(process.env.BENCH_STORE_ROOMS ?? (ctx.opts.quick ? 250 : 2_500));
    const dir = mkdtempSync(join(tmpdir(), 'focusroom-bench-store-'));
    const result: StoreResult = { open: [], bursts: [], reopenedAfterKill: false };
    try {
      // 1. DATA_DIR=off: the baseline.
      const off = await open(ctx, 'off', 'off');
      result.open.push(off.result);
      log(`  store off: ${JSON.stringify(off.result)}`);
      result.bursts.push(await burst(off.server, 'off', 'off', rooms, false, log));
      await off.server.stop();
      // 2. A fresh data dir; its burst ends with kill -9 0.5 s after the last completion.
      const fresh = await open(ctx, 'fresh', dir);
      result.open.push(fresh.result);
      log(`  store fresh: ${JSON.stringify(fresh.result)}`);
      result.bursts.push(await burst(fresh.server, 'fresh', dir, rooms, true, log));
      // 3. The same data dir again (after that kill -9, holding R × 4 results and the rooms).
      const existing = await open(ctx, 'existing', dir);
      result.reopenedAfterKill = existing.result.spawnToDatabaseOkMs !== null;
      result.open.push(existing.result);
      log(`  store existing: ${JSON.stringify(existing.result)}`);
      result.bursts.push(await burst(existing.server, 'existing', dir, rooms, false, log));
      await existing.server.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return result;
  },
  report,
};
