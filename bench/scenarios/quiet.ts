/**
 * quiet: the same N participants counting down, first ticking then quiet (set_ticks
 * false, as the SDK does): CPU per participant-second of each, and the browser SDK
 * bundle's size.
 */
import { gzipSync } from 'node:zlib';
import { buildBrowserClient } from '../../scripts/build-client.mjs';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Ctx, SESSION_MS, stopAll, type Worker } from '../lib/context.js';
import { connectAll, cpuUs, recordWindow, seatAll, type ServerStats, startAll } from '../lib/measure.js';
import { goal, type Results, round, type Row } from '../lib/report.js';
import type { Log, Scenario } from './scenario.js';

export interface QuietResult {
  clients: number;
  rooms: number;
  windowS: number;
  /** Server CPU per connected participant-second, µs: seated with no countdown, everyone ticking, then everyone quiet. */
  idle: { cpuUsPerParticipantS: number; cpuUtilPct: number };
  ticking: { cpuUsPerParticipantS: number; delivered: number; cpuUtilPct: number };
  quiet: { cpuUsPerParticipantS: number; delivered: number; cpuUtilPct: number };
  /** quiet / ticking, in percent (goal ≤ 10). */
  quietPct: number;
  /** What quiet adds over idle, relative to what ticking adds over idle, in percent. */
  quietAboveIdlePct: number;
  /** The browser SDK bundle (dist/browser/focusroom-client.js, socket.io-client excluded). */
  bundle: { bytes: number; gzipBytes: number };
}

/**
 * Quiet clients (docs/protocol.md "Clock sync and quiet clients"): the same N seated participants measured three times in
 * one run — seated with no countdown (the floor), counting down and ticking (the
 * default), then after every socket sent `set_ticks { enabled: false }` (what the SDK does). CPU per connected
 * participant-second of the server in each window; plus the browser SDK's bundle size.
 */
async function run(ctx: Ctx, _results: Results, log: Log): Promise<QuietResult> {
  const { opts } = ctx;
  const n = opts.clients;
  const server = await ctx.focusroom('quiet', n);
  let workers: Worker[] = [];
  try {
    workers = await ctx.workers(n);
    await connectAll(workers, 'sio', [server.url]);
    const rooms = await seatAll(workers, SESSION_MS);
    const windowMs = opts.windowS * 1000;
    const measure = async () => {
      await sleep(opts.warmupS * 1000);
      let s0: ServerStats | null = null;
      let s1: ServerStats | null = null;
      const rec = await recordWindow(workers, windowMs, {
        before: async () => void (s0 = await server.request<ServerStats>({ type: 'stats' })),
        after: async () => void (s1 = await server.request<ServerStats>({ type: 'stats' })),
      });
      const cpuMs = (cpuUs(s1!) - cpuUs(s0!)) / 1000;
      const wallMs = (s1!.hrtime - s0!.hrtime) / 1000;
      return { cpuUsPerParticipantS: round((cpuMs * 1000) / (n * (wallMs / 1000)), 3), delivered: rec.delivered, cpuUtilPct: round((100 * cpuMs) / wallMs, 1), wallMs };
    };
    // The floor: the same participants seated, no countdown (pings, timers, the process itself).
    const idle = await measure();
    log(`  idle:    ${idle.cpuUsPerParticipantS} µs CPU per participant-second (seated, no countdown; ${idle.cpuUtilPct}% CPU)`);
    await startAll(workers);
    log(`  ${n} participants in ${rooms} rooms, counting down`);
    const ticking = await measure();
    log(`  ticking: ${ticking.cpuUsPerParticipantS} µs CPU per participant-second (${ticking.delivered} ticks, ${ticking.cpuUtilPct}% CPU)`);
    const quietAcks = await Promise.all(workers.map(({ w }) => w.request<{ failed: number }>({ type: 'ticks', enabled: false, concurrency: 50 }, 120_000)));
    const failed = quietAcks.reduce((a, r) => a + r.failed, 0);
    if (failed > 0) throw new Error(`${failed} set_ticks calls failed`);
    const quiet = await measure();
    log(`  quiet:   ${quiet.cpuUsPerParticipantS} µs CPU per participant-second (${quiet.delivered} ticks, ${quiet.cpuUtilPct}% CPU)`);
    const built = await buildBrowserClient({ write: false });
    const js = built.outputFiles!.find((f) => f.path.endsWith('.js'))!;
    const bundle = { bytes: js.contents.byteLength, gzipBytes: gzipSync(js.contents, { level: 9 }).byteLength };
    log(`  browser SDK bundle: ${bundle.bytes} B, ${bundle.gzipBytes} B gzip (socket.io-client excluded)`);
    return {
      clients: n,
      rooms,
      windowS: round(quiet.wallMs / 1000, 2),
      idle: { cpuUsPerParticipantS: idle.cpuUsPerParticipantS, cpuUtilPct: idle.cpuUtilPct },
      ticking: { cpuUsPerParticipantS: ticking.cpuUsPerParticipantS, delivered: ticking.delivered, cpuUtilPct: ticking.cpuUtilPct },
      quiet: { cpuUsPerParticipantS: quiet.cpuUsPerParticipantS, delivered: quiet.delivered, cpuUtilPct: quiet.cpuUtilPct },
      quietPct: round((100 * quiet.cpuUsPerParticipantS) / Math.max(1e-9, ticking.cpuUsPerParticipantS), 1),
      quietAboveIdlePct: round((100 * Math.max(0, quiet.cpuUsPerParticipantS - idle.cpuUsPerParticipantS)) / Math.max(1e-9, ticking.cpuUsPerParticipantS - idle.cpuUsPerParticipantS), 1),
      bundle,
    };
  } finally {
    await stopAll(workers.map((w) => w.w));
    await stopAll([server]);
  }
}

function report(r: Results): Row[] {
  const q = r.quiet as QuietResult | undefined;
  if (!q) return [];
  return [
    [
      '6. Quiet vs ticking clients',
      `${q.quiet.cpuUsPerParticipantS} vs ${q.ticking.cpuUsPerParticipantS} µs CPU per participant-second (${q.clients} participants) = ${q.quietPct}%; idle floor ${q.idle.cpuUsPerParticipantS}, above it ${q.quietAboveIdlePct}%`,
      `≤ 10% ${goal(q.quietPct <= 10)}`,
    ],
    ['   browser SDK bundle', `${q.bundle.bytes} B, ${q.bundle.gzipBytes} B gzip (socket.io-client excluded)`, `≤ 20 KB gzip ${goal(q.bundle.gzipBytes <= 20 * 1024)}`],
  ];
}

export const quiet: Scenario = { summary: 'the same N participants ticking, then quiet (set_ticks false): CPU per participant-second, and the browser SDK bundle size', run, report };
