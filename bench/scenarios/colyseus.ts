/**
 * colyseus: the same tick load (N clients in rooms of 4, one tick a second per room, the
 * same probe clients) served by a tuned Colyseus 0.18 room — the benchmark peer in
 * bench/peers/colyseus, installed there on demand (its own package.json; not a focusroom
 * dependency). Its rows are the side-by-side comparison `npm run bench -- --compare`
 * prints: focusroom, bare `ws` and Colyseus, CPU per delivered tick, p99 lateness, RSS and
 * the ratios, all from one run.
 */
import { ensureColyseusPeer } from '../lib/context.js';
import { fmt, goal, type Results, round, type Row } from '../lib/report.js';
import type { Scenario } from './scenario.js';
import { type TickResult, tickLoad } from './tick-load.js';

export interface NotRunResult {
  notRun: string;
}

const ran = (v: unknown): v is TickResult => typeof v === 'object' && v !== null && 'cpuUsPerMsg' in v;

function report(r: Results): Row[] {
  const fr = r.ticks;
  const ws = r.ws;
  const cy = r.colyseus as TickResult | NotRunResult | undefined;
  if (!cy && !(r.meta.options as { compare?: boolean } | undefined)?.compare) return [];
  const rows: Row[] = [];
  const load = (name: string) => (r.meta.loadavgBySection as Record<string, number> | undefined)?.[name];
  const line = (name: string, t: unknown, label: string): void => {
    if (!ran(t)) return;
    rows.push([
      `   ${label}`,
      `${fmt(t.cpuUsPerMsg, ' µs')} CPU per delivered tick · p99 ${t.lateness.p99} ms · RSS ${t.serverRssMb} MB · ${t.deliveredPct}% delivered · CPU ${t.cpuUtilPct}% of the core (load ${fmt(load(name))})`,
      '',
    ]);
  };
  rows.push(['C. Side by side (one run)', `${ran(fr) ? fr.clients : ran(cy) ? cy.clients : '?'} connections in rooms of 4, one tick a second per room`, '']);
  line('ticks', fr, 'focusroom');
  line('ws', ws, 'bare ws');
  if (cy && !ran(cy)) rows.push(['   Colyseus 0.18, tuned', `not run: ${(cy as NotRunResult).notRun}`, '']);
  line('colyseus', cy, 'Colyseus 0.18, tuned');
  if (ran(fr) && ran(cy)) {
    const ratio = round(fr.cpuUsPerMsg / cy.cpuUsPerMsg, 2);
    rows.push(['   focusroom ÷ tuned Colyseus', `${ratio}× CPU per tick; p99 ${fr.lateness.p99} vs ${cy.lateness.p99} ms`, `≤ 1.0× at p99 ≤ 10 ms ${goal(ratio <= 1 && fr.lateness.p99 <= 10)}`]);
  }
  if (ran(fr) && ran(ws)) rows.push(['   focusroom ÷ bare ws', `${round(fr.cpuUsPerMsg / ws.cpuUsPerMsg, 2)}× CPU per tick`, '']);
  if (ran(cy) && ran(ws)) rows.push(['   tuned Colyseus ÷ bare ws', `${round(cy.cpuUsPerMsg / ws.cpuUsPerMsg, 2)}× CPU per tick`, '']);
  return rows;
}

export const colyseus: Scenario = {
  summary: 'the tick load served by a tuned Colyseus 0.18 room (benchmark peer in bench/peers/colyseus, installed on demand); part of --compare',
  optIn: true,
  async run(ctx, _results, log): Promise<TickResult | NotRunResult> {
    const why = ensureColyseusPeer(log);
    if (why) {
      log(`  skipped: ${why}`);
      return { notRun: why };
    }
    return tickLoad(ctx, 'colyseus', log);
  },
  report,
};
