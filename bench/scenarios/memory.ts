/** memory: heap and RSS per idle seated participant (forced GC in the server). */
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Ctx, SESSION_MS, stopAll, type Worker } from '../lib/context.js';
import type { NodeChild } from '../lib/procs.js';
import { connectAll, seatAll, type ServerStats } from '../lib/measure.js';
import { goal, mb, type Results, round, type Row } from '../lib/report.js';
import type { Log, Scenario } from './scenario.js';

export interface MemoryResult {
  participants: number;
  rooms: number;
  gced: boolean;
  baseline: { heapMb: number; rssMb: number };
  connectedOnly: { heapPerConnKb: number; rssPerConnKb: number };
  seated: { heapPerConnKb: number; rssPerConnKb: number; externalPerConnKb: number };
  totals: { heapMb: number; rssMb: number };
}

/**
 * BENCH_HEAP_SNAPSHOT=dir: a heap snapshot of the server at the baseline, with every client connected, and once seated
 * (dir/memory-{base,connected,seated}.heapsnapshot), taken after the figures
 * are read; bench/lib/heap-diff.mjs lists what each participant added, by constructor.
 */
async function snapshot(server: NodeChild, name: string): Promise<void> {
  const dir = process.env.BENCH_HEAP_SNAPSHOT;
  if (!dir) return;
  await server.request({ type: 'heap-snapshot', file: resolve(dir, `memory-${name}.heapsnapshot`) }, 300_000);
}

async function run(ctx: Ctx, _results: Results, log: Log): Promise<MemoryResult> {
  const n = ctx.opts.memoryClients;
  const server = await ctx.focusroom('memory', n);
  let workers: Worker[] = [];
  try {
    await sleep(500);
    const base = await server.request<ServerStats>({ type: 'stats', gc: true });
    await snapshot(server, 'base');
    workers = await ctx.workers(n);
    await connectAll(workers, 'sio', [server.url]);
    await sleep(1500);
    const conn = await server.request<ServerStats>({ type: 'stats', gc: true });
    await snapshot(server, 'connected');
    const rooms = await seatAll(workers, SESSION_MS);
    // Let acks, broadcasts and socket write buffers settle before counting what stays.
    await sleep(3000);
    const seated = await server.request<ServerStats>({ type: 'stats', gc: true });
    await snapshot(server, 'seated');
    log(`  ${n} participants in ${rooms} rooms; heap ${mb(base.mem.heapUsed)} → ${mb(seated.mem.heapUsed)} MB, rss ${mb(base.mem.rss)} → ${mb(seated.mem.rss)} MB`);
    const per = (a: number, b: number) => round((b - a) / n / 1024, 2);
    return {
      participants: n,
      rooms,
      gced: seated.gced,
      baseline: { heapMb: mb(base.mem.heapUsed), rssMb: mb(base.mem.rss) },
      connectedOnly: { heapPerConnKb: per(base.mem.heapUsed, conn.mem.heapUsed), rssPerConnKb: per(base.mem.rss, conn.mem.rss) },
      seated: {
        heapPerConnKb: per(base.mem.heapUsed, seated.mem.heapUsed),
        rssPerConnKb: per(base.mem.rss, seated.mem.rss),
        externalPerConnKb: per(base.mem.external + base.mem.arrayBuffers, seated.mem.external + seated.mem.arrayBuffers),
      },
      totals: { heapMb: mb(seated.mem.heapUsed), rssMb: mb(seated.mem.rss) },
    };
  } finally {
    await stopAll(workers.map((w) => w.w));
    await server.stop();
  }
}

function report(r: Results): Row[] {
  const m = r.memory as MemoryResult | undefined;
  if (!m) return [];
  return [
    [
      `3. Memory per idle participant (${m.participants})`,
      `heap ${m.seated.heapPerConnKb} KB · RSS ${m.seated.rssPerConnKb} KB (connected only: heap ${m.connectedOnly.heapPerConnKb} KB)${m.gced ? '' : ' [no forced GC]'}`,
      `heap ≤ 11 KB ${goal(m.seated.heapPerConnKb <= 11)}`,
    ],
  ];
}

export const memory: Scenario = { summary: 'heap and RSS per idle seated participant (forced GC in the server)', run, report };
