/**
 * persistence (opt-in: `npm run bench -- --only persistence`) — the store-of-record
 * benchmark (PostgreSQL and SQLite). Loopback only, bounded, kills only what it started.
 *
 *   completion  (or completion-nodb / completion-db, one case per process)
 *               R rooms of 4 whose countdowns all end in the same second: completion
 *               event p99 at the clients (ends_at → session_completed) with no database
 *               and with PostgreSQL, and the time until all R×4 results are in PostgreSQL
 *   writer      results/s the writer's batch insert sustains (PostgreSQL and SQLite)
 *   embedded    RSS of the embedded database (SQLite) idle and after 100k results
 *
 *   npm run bench -- --only persistence --runtime src [--persistence-rooms 2500]
 *     [--persistence-cases completion,writer,embedded] [--persistence-records 100000]
 *
 * (--quick: 250 rooms, 10,000 records.) The figures are printed as they come (the JSON
 * holds the cases run).
 * The server runs as its own process (`node --import tsx src/server.ts`); PostgreSQL is a
 * throwaway cluster from test/helpers/postgres.ts on a random port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import { openDatabase } from '../../src/persistence/database.js';
import { LIFTED_ABUSE_BOUNDS } from '../../test/helpers/test-env.js';
import { ResultsRepository } from '../../src/persistence/results-repository.js';
import type { RoundRecord } from '../../src/domain/round-record.js';
import { freePort } from '../../test/helpers/ports.js';
import { startPostgres, type TestPostgres } from '../../test/helpers/postgres.js';
import type { Options } from '../lib/options.js';
import type { Scenario } from './scenario.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Set by the scenario's run() from the bench options. */
let ROOMS = 2500;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
};

async function spawnServer(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      RATE_CONNECTIONS_PER_MIN: '10000000',
      RATE_CREATES_PER_MIN: '1000000',
      MAX_ROOMS_PER_ADDRESS: '100000000',
      MAX_ROOMS_PER_IDENTITY: '100000000',
      RATE_JOIN_FAILURES_PER_MIN: '1000000',
      RATE_SOCKET_EVENTS_PER_SEC: '1000',
      // 10,000 clients from one loopback address: lift the per-address and load bounds.
      ...LIFTED_ABUSE_BOUNDS,
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (const end = Date.now() + 30_000; Date.now() < end && child.exitCode === null; await sleep(100)) {
    try {
      if ((await fetch(`${url}/health`)).status === 200) return { child, url };
    } catch {
      // not yet
    }
  }
  child.kill('SIGKILL');
  throw new Error('server did not start');
}

const ack = (s: Socket, ev: string, payload: unknown): Promise<any> => s.timeout(30_000).emitWithAck(ev, payload);

/** R rooms of 4 started so their countdowns all end within one second; returns ends_at → completion lags (ms). */
async function completionBurst(url: string, rooms: number): Promise<{ lags: number[]; lastEndsAt: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const connect = () =>
    new Promise<Socket>((resolve, reject) => {
      const s = io(url, { transports: ['websocket'], forceNew: true, reconnection: false, timeout: 30_000 });
      sockets.push(s);
      s.once('connect', () => resolve(s));
      s.once('connect_error', reject);
    });
  const hosts: Socket[] = [];
  const BATCH = 100;
  for (let i = 0; i < rooms; i += BATCH) {
    await Promise.all(
      Array.from({ length: Math.min(BATCH, rooms - i) }, async () => {
        const [h, ...guests] = await Promise.all([connect(), connect(), connect(), connect()]);
        const created = await ack(h!, 'create_session', { user_name: 'H', session_duration: 15_000, max_participants: 4 });
        for (const g of guests) await ack(g, 'join_session', { room_code: created.room_code, user_name: 'G' });
        hosts.push(h!);
      }),
    );
  }
  const lags: number[] = [];
  let lastEndsAt = 0;
  const done: Promise<void>[] = [];
  // Start every room inside one second: all ends_at fall in the same second.
  const t0 = Date.now();
  await Promise.all(
    hosts.map(async (h) => {
      const ends = new Promise<void>((resolve) => h.once('session_completed', () => {
        lags.push(Date.now() - endsAt);
        resolve();
      }));
      let endsAt = 0;
      const started = await ack(h, 'start_session', {});
      endsAt = started.session.ends_at;
      lastEndsAt = Math.max(lastEndsAt, endsAt);
      done.push(ends);
    }),
  );
  console.log(`  started ${rooms} rooms in ${Date.now() - t0} ms`);
  await Promise.race([Promise.all(done), sleep(60_000)]);
  return { lags, lastEndsAt, sockets };
}

async function completion(pg: TestPostgres, cases: boolean[]): Promise<void> {
  for (const withDb of cases) {
    const db = withDb ? `bench_${Date.now()}` : null;
    if (db) await pg.query(`create database ${db}`);
    const env: Record<string, string> = db ? { DATABASE_URL: pg.urlOf(db) } : { DATA_DIR: 'off' };
    const { child, url } = await spawnServer(env);
    try {
      const { lags, lastEndsAt, sockets } = await completionBurst(url, ROOMS);
      let allInMs = NaN;
      if (db) {
        for (const end = Date.now() + 120_000; Date.now() < end; await sleep(50)) {
          const n = (await pg.query<{ n: number }>('select count(*)::int as n from round_results', [], db))[0]!.n;
          if (n >= ROOMS * 4) {
            allInMs = Date.now() - lastEndsAt;
            break;
          }
        }
      }
      console.log(
        `completion ${withDb ? 'with PostgreSQL' : 'no database   '}: ${lags.length}/${ROOMS} rooms, ends_at → session_completed p50 ${pct(lags, 50)} ms, p99 ${pct(lags, 99)} ms, max ${pct(lags, 100)} ms` +
          (db ? `; all ${ROOMS * 4} results in PostgreSQL ${allInMs} ms after the last ends_at` : ''),
      );
      for (const s of sockets) s.disconnect();
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }
}

function records(n: number, offset = 0): RoundRecord[] {
  const rounds = Math.ceil(n / 4);
  return Array.from({ length: rounds }, (_, i) => ({
    room_id: `room${offset + i}`,
    room_code: 'ABCDEF',
    title: null,
    run_started_at: 1_700_000_000_000,
    round: 1,
    started_at: 1_700_000_000_000,
    ended_at: 1_700_000_000_000 + (offset + i) * 1000,
    planned_ms: 1_500_000,
    results: Array.from({ length: 4 }, (_, p) => ({
      participant_id: `p${p}`,
      identity: `key:${(offset + i) % 1000}-${p}`,
      intention: null,
      user_name: 'Someone',
      status: 'completed' as const,
      focused_ms: 1_500_000,
      pauses: 0,
    })),
  }));
}

/** Results/s of the writer's insert, batches of 200 rounds (its default batch), as the writer does them (one after another). */
async function writer(kind: 'postgres' | 'sqlite', url: string | null, n: number): Promise<void> {
  const sor = openDatabase(kind === 'postgres' ? { kind, url: url! } : { kind, dataDir: ':memory:' });
  await sor.migrate();
  const repo = new ResultsRepository(sor.db);
  const all = records(n);
  const t0 = performance.now();
  for (let i = 0; i < all.length; i += 200) await repo.insertRounds(all.slice(i, i + 200));
  const s = (performance.now() - t0) / 1000;
  console.log(`writer ${kind}: ${n} results in ${s.toFixed(2)} s = ${Math.round(n / s)} results/s`);
  await sor.close();
}

/** RSS of this process with SQLite idle, then after `n` results (run in a fresh process for a clean baseline). */
async function embedded(n: number): Promise<void> {
  const rss = () => Math.round(process.memoryUsage().rss / 1e6);
  const before = rss();
  const dir = `/tmp/focusroom-bench-sqlite-${process.pid}`;
  const sor = openDatabase({ kind: 'sqlite', dataDir: dir });
  await sor.migrate();
  await sleep(500);
  const idle = rss();
  const repo = new ResultsRepository(sor.db);
  const all = records(n);
  for (let i = 0; i < all.length; i += 200) await repo.insertRounds(all.slice(i, i + 200));
  await sleep(500);
  const after = rss();
  console.log(`embedded SQLite: process RSS ${before} MB before, ${idle} MB idle (migrated, empty), ${after} MB after ${n} results`);
  await sor.close();
  const { rmSync } = await import('node:fs');
  rmSync(dir, { recursive: true, force: true });
}

const CASES = ['completion', 'completion-nodb', 'completion-db', 'writer', 'embedded'];

async function run(opts: Options): Promise<{ rooms: number; records: number; cases: string[] }> {
  ROOMS = opts.persistenceRooms;
  const RECORDS = opts.persistenceRecords;
  const ONLY = opts.persistenceCases;
  for (const c of ONLY) if (!CASES.includes(c)) throw new Error(`--persistence-cases: unknown case "${c}" (one of ${CASES.join(', ')})`);
  // One harness process holding 10,000 clients is itself part of what is measured: the
  // second case in the same process comes out slower. Compare the two in fresh processes
  // (--persistence-cases completion-nodb, then --persistence-cases completion-db).
  const cases = [...(ONLY.includes('completion') || ONLY.includes('completion-nodb') ? [false] : []), ...(ONLY.includes('completion') || ONLY.includes('completion-db') ? [true] : [])];
  const pg = cases.length > 0 || ONLY.includes('writer') ? await startPostgres() : null;
  try {
    if (ONLY.includes('embedded')) await embedded(RECORDS);
    if (ONLY.includes('writer')) {
      await pg!.query('create database bench_writer');
      await writer('postgres', pg!.urlOf('bench_writer'), 20_000);
      await writer('sqlite', null, 20_000);
    }
    if (cases.length > 0) await completion(pg!, cases);
  } finally {
    await pg?.destroy();
  }
  return { rooms: ROOMS, records: RECORDS, cases: ONLY };
}

export const persistence: Scenario = {
  summary: 'the store of record: completion p99 with and without PostgreSQL, the writer\'s results/s (PostgreSQL, SQLite), embedded SQLite RSS',
  optIn: true,
  run: (ctx) => run(ctx.opts),
};
