/**
 * abuse: the docs/reliability.md "Load and abuse" attacks — slow consumers, a flood of legal events; memory, a
 * probe room's tick lateness, resume times. Opt-in (`--only abuse`); `--abuse-unbounded`
 * for the "before" figures. The phases live in abuse-phases.ts (ABUSE_PHASES).
 */
import { type AbuseResult, abuseServerEnv, runAbusePhases } from './abuse-phases.js';
import { stopAll } from '../lib/context.js';
import type { Results, Row } from '../lib/report.js';
import type { Scenario } from './scenario.js';

function report(r: Results): Row[] {
  const abuse = r.abuse as AbuseResult | undefined;
  if (!abuse) return [];
  return abuse.phases.map((p): Row => [
    `6. Abuse: ${p.name}${abuse.unbounded ? ' (bounds lifted)' : ''}`,
    `RSS ${p.rssStartMb} → peak ${p.rssPeakMb} MB · probe ticks p50 ${p.tickLateMs.p50} · p99 ${p.tickLateMs.p99} · max ${p.tickLateMs.max} ms (${p.tickLateMs.count}) · resume p50 ${p.resumeMs.p50} · p99 ${p.resumeMs.p99} ms (${p.resumeMs.count} ok, ${p.resumeMs.failed} failed)`,
    Object.entries(p.extra)
      .map(([k, v]) => `${k} ${v}`)
      .join(' · '),
  ]);
}

export const abuse: Scenario = {
  summary: 'the docs/reliability.md "Load and abuse" attacks: slow consumers, a flood of legal events; server RSS, probe tick lateness, resume times',
  optIn: true,
  async run(ctx, _results, log): Promise<AbuseResult> {
    const { opts } = ctx;
    const server = await ctx.focusroom('abuse', 4_000, abuseServerEnv(opts.abuseUnbounded));
    try {
      return await runAbusePhases(server, opts.abuseWindowS * 1000, opts.abuseUnbounded, log);
    } finally {
      await stopAll([server]);
    }
  },
  report,
};
