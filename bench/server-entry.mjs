/**
 * The focusroom server as the bench runs it: the same buildApp + listen as
 * src/server.ts (config from the environment), plus an IPC channel to the harness
 * for the process's own numbers — CPU time, memory (after a forced GC when started
 * with --expose-gc) and a CPU profile of a chosen window (the same V8 sampling profiler `node --cpu-prof`
 * uses, started and stopped around the window through node:inspector) or a heap snapshot. Nothing here is added to src.
 *
 * BENCH_APP_DIR=dist (default: the compiled build, run with plain node) or src (run
 * with `node --import tsx`, no build needed — the smoke test uses that).
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import { startAllocProfile, startCpuProfile, stopAllocProfile, stopCpuProfile } from './lib/inspector.mjs';
import { serveHarness } from './lib/harness-ipc.mjs';

const dir = process.env.BENCH_APP_DIR === 'src' ? 'src' : 'dist';
const ext = dir === 'src' ? '.ts' : '.js';
const { buildApp } = await import(new URL(`../${dir}/app${ext}`, import.meta.url).href);
const { loadConfig } = await import(new URL(`../${dir}/config${ext}`, import.meta.url).href);

// The loop's delay from buildApp's first line (the modules are loaded by then) to 1 s after
// the port opened — the embedded store opens inside it: the store bench compares it with
// DATA_DIR=off, where the same start runs without a store.
const config = loadConfig(process.env);
const startup = monitorEventLoopDelay({ resolution: 1 });
startup.enable();
const buildStart = performance.now();
const buildCpu = process.threadCpuUsage?.();
// BENCH_PREPARE_AHEAD_MS=0: booked starts not prepared ahead (the ordinary path), to compare.
const prepareAhead = process.env.BENCH_PREPARE_AHEAD_MS;
const app = await buildApp(config, prepareAhead === undefined ? {} : { scheduler: { prepareAheadMs: Number(prepareAhead) } });
const buildMs = performance.now() - buildStart;
// This thread's CPU only (the store's worker thread is not in it): what buildApp cost the event loop.
const cpu = buildCpu ? process.threadCpuUsage(buildCpu) : null;
const buildMainThreadCpuMs = cpu ? (cpu.user + cpu.system) / 1000 : null;
const url = await app.listen();
// The start's window ends 1 s after the port opened: a block right after listening (a
// deferred build, the first flush of restored rooms) is in it; a start that never yielded
// shows as one long delay, not as none. Read with the `startup` request. Its two parts are
// kept apart too: before listening (buildApp: no client can connect yet, so none waits on
// a stall there) and the second after (what the first clients meet).
const beforeMaxNs = startup.max;
const beforeListenMs = Math.max(0, beforeMaxNs / 1e6 - 1);
startup.reset();
const startupDone = new Promise((r) => setTimeout(r, 1_000)).then(() => {
  startup.disable();
  const afterListenMs = Math.max(0, startup.max / 1e6 - 1);
  return { buildMs, buildMainThreadCpuMs, loopDelayMaxMs: Math.max(0, Math.max(beforeMaxNs, startup.max) / 1e6 - 1), beforeListenMs, afterListenMs };
});

// Event-loop delay and utilisation between two `stats` calls: tells a busy or stalled
// loop (GC, long tasks) apart from late timers. A 10 ms sampling timer costs next to nothing.
const ELD_RESOLUTION_MS = 10;
const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
eld.enable();
let lastElu = performance.eventLoopUtilization();

// BENCH_STALL_MS=n: log every event-loop gap longer than n ms with the process uptime, to
// line stalls up with --trace-gc output (BENCH_LOG_DIR keeps it).
if (process.env.BENCH_STALL_MS) {
  const limit = Number(process.env.BENCH_STALL_MS);
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    // hrtime µs (CLOCK_MONOTONIC, the clock of a CPU profile's timestamps): what ran in the gap.
    if (now - last > limit) console.error(`[stall] uptime ${Math.round(now)} ms: loop blocked ${Math.round(now - last)} ms, until hrtime ${process.hrtime.bigint() / 1000n} µs`);
    last = now;
  }, 5).unref();
}


function stats(gc, keepLoop) {
  if (gc && typeof globalThis.gc === 'function') {
    // Two passes: the first may only promote what the second frees.
    globalThis.gc();
    globalThis.gc();
  }
  if (keepLoop) return { cpu: process.cpuUsage(), mainCpu: process.threadCpuUsage?.(), mem: process.memoryUsage() };
  const elu = performance.eventLoopUtilization(lastElu);
  lastElu = performance.eventLoopUtilization();
  // The histogram holds the intervals between the sampling timer's runs, resolution included.
  const late = (ns) => Math.max(0, ns / 1e6 - ELD_RESOLUTION_MS);
  const loop = { delayP50Ms: late(eld.percentile(50)), delayP99Ms: late(eld.percentile(99)), delayMaxMs: late(eld.max), utilization: elu.utilization };
  eld.reset();
  return {
    cpu: process.cpuUsage(),
    mainCpu: process.threadCpuUsage?.(),
    mem: process.memoryUsage(),
    loop,
    gced: gc && typeof globalThis.gc === 'function',
    connections: app.io.engine.clientsCount,
    uptimeMs: Math.round(process.uptime() * 1000),
    hrtime: Number(process.hrtime.bigint() / 1000n),
  };
}

async function handle(msg) {
  switch (msg.type) {
    case 'stats':
      return stats(Boolean(msg.gc), Boolean(msg.keepLoop));
    case 'startup':
      return startupDone;
    case 'profile-start':
      await startCpuProfile(msg.intervalUs);
      return {};
    case 'profile-stop':
      return stopCpuProfile(msg.file);
    case 'alloc-start':
      await startAllocProfile({ intervalBytes: msg.intervalBytes, major: Boolean(msg.major), minor: Boolean(msg.minor) });
      return {};
    case 'alloc-stop':
      // Young garbage not yet scavenged still counts as a sample; two forced minor GCs
      // leave only what really outlived the young generation.
      if (typeof globalThis.gc === 'function') for (let i = 0; i < 2; i++) globalThis.gc({ type: 'minor', execution: 'sync' });
      return stopAllocProfile(msg.file);
    case 'heap-snapshot':
      if (typeof globalThis.gc === 'function') globalThis.gc();
      return { file: writeHeapSnapshot(msg.file) };
    case 'close':
      await Promise.race([app.close(), new Promise((r) => setTimeout(r, 5_000))]);
      setImmediate(() => process.exit(0));
      return {};
    default:
      throw new Error(`unknown request ${msg.type}`);
  }
}

serveHarness(handle);
process.send?.({ type: 'ready', url, pid: process.pid });
