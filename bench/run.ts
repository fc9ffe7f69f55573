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
 *   npm run soak / npm run soak:delivery            # = --only soak / --only delivery-soak
 *
 * Scenarios (--only takes a comma list): ws, ticks, memory, cluster, join, quiet, and the
 * opt-in abuse, rest, schedule, scale, push, store, persistence, soak, delivery-soak and
 * adapters — one file each in bench/scenarios/, listed in bench/scenarios/index.ts (a new
 * scenario is a file there plus one line in that registry). This file only parses the options (lib/options.ts), plans the
 * cores (lib/context.ts), runs the scenarios asked for and writes the report (lib/report.ts).
 *
 * Servers run as their own processes (`node dist/server-entry` via bench/server-entry.mjs,
 * the same buildApp as src/server.ts), clients in `--workers` child processes; with
 * taskset and ≥ 2 cores, servers (and redis) are pinned to core 0 and clients + this
 * harness to the other cores.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { join } from 'node:path';
import { Ctx, NPROC, planCores, ROOT } from './lib/context.js';
import { parseOptions } from './lib/options.js';
import { killAllChildren, nofileLimits } from './lib/procs.js';
import { type Results, round, table, writeResults } from './lib/report.js';
import { DEFAULT_SCENARIOS, SCENARIOS } from './scenarios/index.js';

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2), Object.keys(SCENARIOS), ROOT, DEFAULT_SCENARIOS);
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
    results[s] = await SCENARIOS[s]!.run(ctx, results, log);
    log(`  (${((Date.now() - ts) / 1000).toFixed(1)} s)`);
  }
  for (const scenario of Object.values(SCENARIOS)) scenario.finish?.(results);
  results.meta.durationS = round((Date.now() - t0) / 1000, 1);
  results.meta.loadavgAtEnd = os.loadavg().map((v) => round(v, 2));

  log('\n' + table(Object.values(SCENARIOS).flatMap((scenario) => scenario.report?.(results) ?? [])));
  writeResults(results, opts.out, ROOT);
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

