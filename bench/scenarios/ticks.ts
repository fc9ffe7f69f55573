/**
 * ticks: focusroom, N clients in rooms of 4, all counting down: CPU per delivered tick
 * (ratio to the ws baseline when it ran) and tick lateness at the clients.
 */
import { fmt, goal, type Results, round, type Row } from '../lib/report.js';
import type { Scenario } from './scenario.js';
import { type TickResult, tickLoad } from './tick-load.js';

/** Rows 1–2: focusroom against the ws baseline (either may be missing). */
function report(r: Results): Row[] {
  const ws = r.ws as TickResult | undefined;
  const ticks = r.ticks as TickResult | undefined;
  const rows: Row[] = [];
  if (ws || ticks) {
    rows.push([
      '1. CPU per delivered tick',
      `ws ${fmt(ws?.cpuUsPerMsg, ' µs')} · focusroom ${fmt(ticks?.cpuUsPerMsg, ' µs')} · ratio ${fmt(r.cpuRatio, '×')}`,
      r.cpuRatio !== undefined ? `≤ 1.8× ${goal(r.cpuRatio <= 1.8)}` : '',
    ]);
  }
  if (ticks) {
    const l = ticks.lateness;
    rows.push([
      `2. Tick lateness, ${ticks.clients} clients`,
      `p50 ${l.p50} · p99 ${l.p99} · max ${l.max} ms (${ticks.delivered} ticks, ${ticks.deliveredPct}% delivered, ${ticks.skipped} skipped, ${ticks.repeated} repeated)`,
      `p99 ≤ ${ticks.clients > 12_000 ? 25 : 10} ms ${goal(l.p99 <= (ticks.clients > 12_000 ? 25 : 10))}`,
    ]);
    const sl = ticks.serverLateness;
    const dl = ticks.delivery;
    rows.push(['   of which server (server_now − due)', `p50 ${sl.p50} · p99 ${sl.p99} · max ${sl.max} ms; delivery (arrival − server_now) p50 ${dl.p50} · p99 ${dl.p99} · max ${dl.max} ms`, '']);
    if (ticks.emit) rows.push(['   /metrics tick lateness', `p50 ≤ ${ticks.emit.p50LeMs} · p99 ≤ ${ticks.emit.p99LeMs} ms (bucket bounds); ${ticks.emit.within1msPct}% within 1 ms`, '']);
    if (ticks.loop) rows.push(['   server event loop', `delay p99 ${ticks.loop.delayP99Ms} · max ${ticks.loop.delayMaxMs} ms · utilisation ${ticks.loop.utilizationPct}%`, '']);
    rows.push(['   server under tick load', `CPU ${ticks.cpuUtilPct}% of one core (${ticks.serverUserPct}% user) · RSS ${ticks.serverRssMb} MB · heap ${ticks.serverHeapMb} MB · other processes on its core ${fmt(ticks.otherOnServerCorePct ?? undefined, '%')}`, '']);
  }
  if (ws) {
    const l = ws.lateness;
    rows.push(['   ws baseline lateness', `p50 ${l.p50} · p99 ${l.p99} · max ${l.max} ms (server p99 ${ws.serverLateness.p99}, delivery p99 ${ws.delivery.p99}); CPU ${ws.cpuUtilPct}% of one core (${ws.serverUserPct}% user) · other processes on its core ${fmt(ws.otherOnServerCorePct ?? undefined, '%')}`, '']);
  }
  return rows;
}

export const ticks: Scenario = {
  summary: 'focusroom, N clients in rooms of 4, all counting down: CPU per delivered tick (ratio to ws) and tick lateness at the clients',
  run: (ctx, _results, log) => tickLoad(ctx, 'focusroom', log),
  report,
  finish(r) {
    const ws = r.ws as TickResult | undefined;
    const t = r.ticks as TickResult | undefined;
    if (ws && t) r.cpuRatio = round(t.cpuUsPerMsg / ws.cpuUsPerMsg, 2);
  },
};
