/** ws: raw `ws` baseline — same connections, same ticks/s, minimal server. Its rows are in ticks.ts (the comparison). */
import type { Scenario } from './scenario.js';
import { tickLoad } from './tick-load.js';

export const ws: Scenario = {
  summary: 'raw `ws` baseline: same connections, same ticks/s, minimal server',
  run: (ctx, _results, log) => tickLoad(ctx, 'ws', log),
};
