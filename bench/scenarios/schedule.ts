/**
 * schedule: R rooms scheduled for the same second start on their own while running
 * connections tick: start lateness p99 (goal ≤ 200 ms) and the running
 * ticks' p99 around the start vs a quiet window (goal ≤ 1.2×), on one instance and on
 * two sharing Redis. Opt-in (`--only schedule`, `--schedule-rooms N`); the scenario
 * itself is scheduled-start.ts beside it (it starts its own servers).
 */
import type { Results, Row } from '../lib/report.js';
import { type ScheduleResult, scheduleScenario } from './scheduled-start.js';
import type { Scenario } from './scenario.js';

function report(r: Results): Row[] {
  const runs = r.schedule as ScheduleResult[] | undefined;
  if (!runs) return [];
  return runs.map((x): Row => [
    `7. Scheduled starts, ${x.instances} instance${x.instances > 1 ? 's' : ''}`,
    `${x.started}/${x.rooms} started · lateness p50 ${x.startLatenessMs.p50} · p99 ${x.startLatenessMs.p99} · max ${x.startLatenessMs.max} ms`,
    `running ticks p99 ${x.tickP99QuietMs} quiet → ${x.tickP99PrepareMs} preparing → ${x.tickP99DuringStartMs} ms start (×${x.tickRatio}; server part ${x.serverTickP99QuietMs} → ${x.serverTickP99DuringMs} ms), ${x.clients} connections; ${x.cpuPerStartUs} µs CPU per start; server loop delay max ${x.loopDelayMaxQuietMs} → ${x.loopDelayMaxDuringMs} ms; load ${x.load1}`,
  ]);
}

export const schedule: Scenario = {
  summary: 'rooms scheduled for the same second start on their own: start lateness, running ticks during the start (1 and 2 instances)',
  optIn: true,
  async run(ctx, _results, log): Promise<ScheduleResult[]> {
    const { opts } = ctx;
    // The servers (and redis-server) on the server core, the hosts' process with the client
    // workers, as the other scenarios run; the running clients live in this harness.
    const base = {
      rooms: opts.scheduleRooms,
      clients: opts.clients,
      windowS: opts.quick ? 3 : 10,
      serverCpus: ctx.cores.server,
      clientCpus: ctx.cores.clients,
      runtime: opts.runtime,
      serverNodeArgs: opts.serverNodeArgs,
    };
    return [await scheduleScenario({ ...base, instances: 1 }, log), await scheduleScenario({ ...base, instances: 2 }, log)];
  },
  report,
};
