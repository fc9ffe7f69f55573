/** cluster: the ticks load on 2 instances + redis-server vs 1 instance. */
import { goal, type Results, round, type Row } from '../lib/report.js';
import type { Scenario } from './scenario.js';
import { type TickResult, tickLoad } from './tick-load.js';

export type ClusterResult = TickResult & { singleCpuUsPerMsg: number; cpuRatio: number };

function report(r: Results): Row[] {
  const c = r.cluster as ClusterResult | undefined;
  const rows: Row[] = [];
  if (c) {
    rows.push([
      `4. Cluster (2 inst + redis) vs 1`,
      `CPU/tick ${c.cpuUsPerMsg} vs ${c.singleCpuUsPerMsg} µs · ratio ${c.cpuRatio}× · lateness p99 ${c.lateness.p99} ms`,
      `≤ 1.25× ${goal(c.cpuRatio <= 1.25)}`,
    ]);
    if (c.redis) {
      rows.push([
        '   redis during ticks',
        `${c.redis.tickCpuMsPerS} ms CPU/s (idle ${c.redis.idleCpuMsPerS}; caused by ticks ${c.redis.tickCausedCpuMsPerS}) · ${c.redis.tickCommandsPerS} cmds/s (idle ${c.redis.idleCommandsPerS}) · broadcasts (PUBLISH/SPUBLISH/XADD) ${c.redis.tickWindowBroadcasts}`,
        `≈ 0 ${goal(c.redis.tickWindowBroadcasts === 0)}`,
      ]);
    }
  }
  return rows;
}

export const cluster: Scenario = {
  summary: 'the ticks load on 2 instances + redis-server vs 1 instance',
  async run(ctx, results, log): Promise<ClusterResult> {
    // The 1-instance side of the comparison: the ticks run if it happened at this scale.
    const single = (results.ticks as TickResult | undefined) ?? (await tickLoad(ctx, 'focusroom', log));
    const c = await tickLoad(ctx, 'cluster', log);
    return { ...c, singleCpuUsPerMsg: single.cpuUsPerMsg, cpuRatio: round(c.cpuUsPerMsg / single.cpuUsPerMsg, 2) };
  },
  report,
};
