/**
 * `npm run bench` options, parsed with `util.parseArgs` (strict: an unknown option is an
 * error). Scenario names come from the registry (bench/scenarios/index.ts).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { deployedNodeFlags } from './deployed-flags.js';

export interface Options {
  clients: number;
  only: string[];
  /** `--compare`: focusroom, bare ws and the Colyseus peer back to back (default 8,000 connections, 20 s windows). */
  compare: boolean;
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
  /** abuse: seconds per phase, and whether the abuse bounds are lifted ("before"). */
  abuseWindowS: number;
  /** schedule: rooms scheduled for the same second. */
  scheduleRooms: number;
  /** push: reminders due within one second. */
  pushReminders: number;
  abuseUnbounded: boolean;
  /** scale: total connections (the same for every instance count), instance counts, window, room events per room per second. */
  scaleClients: number;
  scaleInstances: number[];
  scaleWindowS: number;
  scaleEventsPerRoomS: number;
  scaleRepeat: number;
  timeoutS: number;
  /** Extra node flags for the server processes, focusroom and ws baseline (experiments, e.g. --trace-gc). */
  serverNodeArgs: string[];
  /** soak, delivery-soak: run length in seconds (null: the scenario's default). */
  durationS: number | null;
  /** soak: seconds between heap samples (null: its default), and whether a GC runs before each. */
  sampleS: number | null;
  forceGc: boolean;
  /** delivery-soak: seconds between faults. */
  faultEveryS: number;
  /** persistence: rooms completing in the same second, results written, cases run. */
  persistenceRooms: number;
  persistenceRecords: number;
  persistenceCases: string[];
  /** adapters: the Socket.IO Redis adapters measured. */
  adapters: string[];
  /** The options given on the command line: a scenario with defaults of its own (soak's 2,000 clients) uses them when an option was not given. */
  given: ReadonlySet<string>;
}

export function helpText(scenarios: readonly string[], defaults: readonly string[] = scenarios): string {
  return `usage: npm run bench -- [options]
  --clients N        connections for ws/ticks/memory/cluster (default 10000; quick 400)
  --only LIST        comma list of: ${scenarios.join(', ')} (default: ${defaults.join(', ')})
  --compare          side by side, one run: focusroom (ticks), bare ws and a tuned Colyseus room (installed on
                     demand into bench/peers/colyseus); 8,000 connections, 20 s windows unless --clients/--window
                     say otherwise (~5 min). The 60 s, 20,000-connection run: --compare --window 60 --clients 20000
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
  --abuse-unbounded  abuse: lift every abuse bound by env (approximates a server without them)
  --schedule-rooms N schedule: rooms scheduled for the same second (default 2500; quick 300)
  --push-reminders N push: Web Push reminders due within one second (default 10000; quick 500)
  --scale-clients N  scale: total connections, the same for every instance count (default 2400; quick 192; a multiple of 48)
  --scale-instances LIST  scale: instance counts (default 2,3,4)
  --scale-window S   scale: measurement window per run (default 15; quick 3)
  --scale-events N   scale: room events (status/task changes) per room per second (default 1)
  --scale-repeat N   scale: runs per instance count, round-robin; the summary takes the medians (default 1)
  --memory-clients N participants for the memory scenario (default: --clients)
  --join-pool N      connected sockets reused by the join scenario (default min(clients, 2000))
  --join-step S      seconds per join rate step (default 3; quick 1.5)
  --join-rates LIST  rooms/s steps (default 50,100,200,400,600,800,1000,1300,1600,2000,2500,3000)
  --out FILE         JSON results (default .bench-out/bench-<time>.json, also .bench-out/latest.json)
  (env BENCH_LOG_DIR=dir copies every child's output to dir/<name>.log;
   BENCH_STALL_MS=n makes the focusroom server log every event-loop gap over n ms with its uptime,
   to line stalls up with --trace-gc; BENCH_PROMOTED_S=s samples, after the window, s seconds of the
   allocations that outlive the young generation into .bench-out/profiles/promoted-*.heapprofile)
  --duration S       soak, delivery-soak: run length (default 60 and 120)
  --sample S         soak: seconds between heap samples (default 5)
  --no-gc            soak: sample the heap as it is, without forcing a GC first
  (soak: --clients defaults to 2000, at most 5000, and --warmup to 20% of the run;
   delivery-soak: --clients defaults to 200)
  --fault-every S    delivery-soak: seconds between faults (default 30)
  --persistence-rooms N    persistence: rooms of 4 completing in one second (default 2500; quick 250)
  --persistence-records N  persistence: results the embedded store writes (default 100000; quick 10000)
  --persistence-cases LIST persistence: completion (or completion-nodb, completion-db), writer, embedded (default all three)
  --adapters LIST    adapters: pubsub, streams, sharded (default pubsub,streams)
  --timeout S        hard bound on the whole run (default 1800, or --duration + 1800)
  --server-node-args=FLAGS   node flags for the servers, focusroom and ws baseline, space-separated
                     (default: the deployed ones, from package.json's "start"; --server-node-args= for
                     Node's defaults; add --trace-gc with BENCH_LOG_DIR to see the GCs)`;
}

const str = { type: 'string' } as const;
const bool = { type: 'boolean' } as const;
const SPEC = {
  clients: str,
  only: str,
  compare: bool,
  quick: bool,
  warmup: str,
  window: str,
  idle: str,
  workers: str,
  runtime: str,
  'no-build': bool,
  'no-pin': bool,
  profile: bool,
  'memory-clients': str,
  'join-pool': str,
  'join-step': str,
  'join-rates': str,
  out: str,
  timeout: str,
  'server-node-args': str,
  'abuse-window': str,
  'abuse-unbounded': bool,
  'schedule-rooms': str,
  'push-reminders': str,
  'scale-clients': str,
  'scale-instances': str,
  'scale-window': str,
  'scale-events': str,
  'scale-repeat': str,
  duration: str,
  sample: str,
  'no-gc': bool,
  'fault-every': str,
  'persistence-rooms': str,
  'persistence-records': str,
  'persistence-cases': str,
  adapters: str,
  help: bool,
} as const;

/** `argv` (without node and the script) → Options; throws with the help text on a bad option. `root` is the repository. */
export function parseOptions(argv: string[], scenarios: readonly string[], root: string, defaults: readonly string[] = scenarios): Options {
  const help = helpText(scenarios, defaults);
  let values: ReturnType<typeof parseArgs<{ options: typeof SPEC; strict: true }>>['values'];
  try {
    ({ values } = parseArgs({ args: argv, options: SPEC, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)}\n${help}`);
  }
  if (values.help) {
    console.log(help);
    process.exit(0);
  }
  const num = (k: keyof typeof SPEC, def: number): number => {
    const v = values[k];
    if (v === undefined) return def;
    const n = Number(v);
    if (typeof v !== 'string' || !Number.isFinite(n) || n <= 0) throw new Error(`--${k} needs a positive number`);
    return n;
  };
  const quick = values.quick === true;
  const compare = values.compare === true;
  const clients = Math.floor(num('clients', quick ? 400 : compare ? 8_000 : 10_000) / 4) * 4;
  if (clients < 8) throw new Error('--clients must be at least 8');
  if (clients > 20_000) throw new Error('--clients is capped at 20000 (one loopback machine)');
  const only = values.only !== undefined ? values.only.split(',').map((s) => s.trim()) : compare ? ['ws', 'ticks', 'colyseus'] : [...defaults];
  for (const s of only) if (!scenarios.includes(s)) throw new Error(`unknown scenario "${s}" (one of ${scenarios.join(', ')})`);
  const runtime = values.runtime ?? 'dist';
  if (runtime !== 'dist' && runtime !== 'src') throw new Error('--runtime is dist or src');
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const durationS = values.duration !== undefined ? num('duration', 0) : null;
  return {
    clients,
    only,
    compare,
    quick,
    warmupS: num('warmup', quick ? 2 : 5),
    // Long enough to contain a major GC at 10k+ connections (every ~30 s under ticks).
    windowS: num('window', quick ? 4 : compare ? 20 : 60),
    workers: Math.floor(num('workers', 4)),
    runtime,
    build: runtime === 'dist' && !values['no-build'],
    pin: !values['no-pin'],
    profile: values.profile === true,
    profileS: quick ? 3 : 10,
    out: resolve(root, values.out ?? `.bench-out/bench-${stamp}.json`),
    memoryClients: Math.floor(num('memory-clients', clients) / 4) * 4,
    joinPool: Math.floor(num('join-pool', Math.min(clients, quick ? 400 : 2000)) / 4) * 4,
    joinStepS: num('join-step', quick ? 1.5 : 3),
    joinRates:
      values['join-rates'] !== undefined
        ? values['join-rates'].split(',').map(Number)
        : quick
          ? [25, 50, 100, 200]
          : [50, 100, 200, 400, 600, 800, 1000, 1300, 1600, 2000, 2500, 3000],
    idleS: num('idle', quick ? 2 : 10),
    abuseWindowS: num('abuse-window', quick ? 8 : 30),
    scheduleRooms: num('schedule-rooms', quick ? 300 : 2_500),
    pushReminders: num('push-reminders', quick ? 500 : 10_000),
    abuseUnbounded: values['abuse-unbounded'] === true,
    // Rooms (clients / 4) divisible by 12, so 2, 3 and 4 instances get equal shares.
    scaleClients: Math.max(48, Math.floor(num('scale-clients', quick ? 192 : 2_400) / 48) * 48),
    scaleInstances: (values['scale-instances'] ?? '2,3,4').split(',').map((v) => {
      const k = Number(v);
      if (!Number.isInteger(k) || k < 2 || k > 8) throw new Error('--scale-instances takes instance counts from 2 to 8');
      return k;
    }),
    scaleWindowS: num('scale-window', quick ? 3 : 15),
    scaleEventsPerRoomS: num('scale-events', 1),
    scaleRepeat: Math.floor(num('scale-repeat', 1)),
    timeoutS: num('timeout', 1800 + (durationS ?? 0)),
    // Default: the flags `npm start` and the Dockerfile run the server with.
    serverNodeArgs: values['server-node-args'] !== undefined ? values['server-node-args'].split(/\s+/).filter(Boolean) : deployedNodeFlags(root),
    durationS,
    sampleS: values.sample !== undefined ? num('sample', 0) : null,
    forceGc: values['no-gc'] !== true,
    faultEveryS: num('fault-every', 30),
    persistenceRooms: Math.floor(num('persistence-rooms', quick ? 250 : 2_500)),
    persistenceRecords: Math.floor(num('persistence-records', quick ? 10_000 : 100_000)),
    persistenceCases: (values['persistence-cases'] ?? 'completion,writer,embedded').split(',').map((s) => s.trim()),
    adapters: (values.adapters ?? 'pubsub,streams').split(',').map((s) => s.trim()),
    given: new Set(Object.keys(values)),
  };
}
