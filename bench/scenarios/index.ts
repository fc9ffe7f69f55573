/**
 * Every bench scenario, in the order `npm run bench` runs them and the summary lists
 * them. A new scenario is one file in this folder exporting a `Scenario` (scenario.ts)
 * and one line here; a scenario with a large workload keeps it in a file of its own
 * beside it (abuse-phases.ts, scheduled-start.ts, push-reminders.ts).
 */
import { abuse } from './abuse.js';
import { adapters } from './adapters.js';
import { cluster } from './cluster.js';
import { colyseus } from './colyseus.js';
import { deliverySoak } from './delivery-soak.js';
import { join } from './join.js';
import { memory } from './memory.js';
import { persistence } from './persistence.js';
import { push } from './push.js';
import { quiet } from './quiet.js';
import { rest } from './rest.js';
import { scale } from './scale.js';
import { schedule } from './schedule.js';
import { store } from './store.js';
import type { Scenario } from './scenario.js';
import { soakScenario } from './soak.js';
import { ticks } from './ticks.js';
import { ws } from './ws.js';

export const SCENARIOS: Record<string, Scenario> = {
  ws,
  ticks,
  memory,
  cluster,
  join,
  quiet,
  abuse,
  rest,
  schedule,
  scale,
  push,
  store,
  persistence,
  soak: soakScenario,
  'delivery-soak': deliverySoak,
  adapters,
  colyseus,
};

/** What a run without `--only` runs: every scenario but the opt-in ones. */
export const DEFAULT_SCENARIOS = Object.keys(SCENARIOS).filter((name) => !SCENARIOS[name]!.optIn);
