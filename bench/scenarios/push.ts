/**
 * push: N Web Push reminders due within one second, sent by one instance while running
 * connections tick: all within 10 s, each once, ticks ≤ 1.2× their quiet
 * p99. Opt-in (`--only push`, `--push-reminders N`); the scenario itself is
 * push-reminders.ts beside it (it starts its own server and push service).
 */
import { type PushBenchResult, pushScenario } from './push-reminders.js';
import type { Results, Row } from '../lib/report.js';
import type { Scenario } from './scenario.js';

function report(r: Results): Row[] {
  const x = r.push as PushBenchResult | undefined;
  if (!x) return [];
  return [
    [
      '8. Web Push reminders, 1 instance',
      `${x.received}/${x.reminders} sent (${x.duplicates} twice) within ${x.allSentMs} ms of the first due · lateness p50 ${x.latenessMs.p50} · p99 ${x.latenessMs.p99} ms`,
      `running ticks p99 ${x.tickP99QuietMs} → ${x.tickP99DuringMs} ms (×${x.tickRatio}), ${x.clients} connections; server loop delay max ${x.loopDelayMaxQuietMs} → ${x.loopDelayMaxDuringMs} ms; load ${x.load1}`,
    ],
  ];
}

export const push: Scenario = {
  summary: 'Web Push reminders due in one second: time until all are sent, duplicates, running ticks meanwhile',
  optIn: true,
  async run(ctx, _results, log): Promise<PushBenchResult> {
    const { opts } = ctx;
    return pushScenario(
      {
        reminders: opts.pushReminders,
        clients: opts.clients,
        windowS: opts.quick ? 3 : 10,
        serverCpus: ctx.cores.server,
        clientCpus: ctx.cores.clients,
        runtime: opts.runtime,
        serverNodeArgs: opts.serverNodeArgs,
      },
      log,
    );
  },
  report,
};
