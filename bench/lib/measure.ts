/**
 * Measuring a run: the servers' stats, seating and starting rooms through the client
 * workers, one recorded window of ticks, the server's own tick-lateness histogram from
 * /metrics, and per-core busy time from /proc/stat.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Worker } from './context.js';
import { Hist, type HistJSON } from './hist.js';
import type { NodeChild } from './procs.js';

export interface ServerStats {
  cpu: { user: number; system: number };
  /** focusroom server only: event-loop delay (monitorEventLoopDelay, 10 ms resolution) and utilisation since the previous stats call. */
  loop?: { delayP50Ms: number; delayP99Ms: number; delayMaxMs: number; utilization: number };
  mem: NodeJS.MemoryUsage;
  gced: boolean;
  connections: number;
  uptimeMs?: number;
  hrtime: number;
}

export const cpuUs = (s: ServerStats) => s.cpu.user + s.cpu.system;

/** `span`: each room's 4 members on that many instances of the ring (bench/clients.ts `connect`); default: alternating over all URLs. */
export async function connectAll(workers: Worker[], mode: 'sio' | 'ws' | 'colyseus', urls: string[], span?: number): Promise<number> {
  let groupBase = 0;
  const results = await Promise.all(
    workers.map(({ w, count }) => {
      const req = w.request<{ connected: number; failed: number; firstError: string | null }>({ type: 'connect', mode, urls, count, concurrency: 50, groupBase, span }, 300_000);
      groupBase += count / 4;
      return req;
    }),
  );
  const failed = results.reduce((a, r) => a + r.failed, 0);
  if (failed > 0) throw new Error(`${failed} connections failed: ${results.find((r) => r.firstError)?.firstError}`);
  return results.reduce((a, r) => a + r.connected, 0);
}

export async function seatAll(workers: Array<{ w: NodeChild }>, durationMs: number): Promise<number> {
  const results = await Promise.all(workers.map(({ w }) => w.request<{ rooms: number; failed: number; firstError: string | null }>({ type: 'seat', durationMs, concurrency: 25 }, 300_000)));
  const failed = results.reduce((a, r) => a + r.failed, 0);
  if (failed > 0) throw new Error(`${failed} rooms could not be seated: ${results.find((r) => r.firstError)?.firstError}`);
  return results.reduce((a, r) => a + r.rooms, 0);
}

export async function startAll(workers: Array<{ w: NodeChild }>): Promise<void> {
  const results = await Promise.all(workers.map(({ w }, slot) => w.request<{ failed: number; firstError: string | null }>({ type: 'start', spreadMs: 1000, slot, slots: workers.length }, 120_000)));
  const failed = results.reduce((a, r) => a + r.failed, 0);
  if (failed > 0) throw new Error(`${failed} rooms did not start: ${results.find((r) => r.firstError)?.firstError}`);
}

export interface Recorded {
  delivered: number;
  expected: number;
  skipped: number;
  repeated: number;
  lateness: Hist;
  emit: Hist;
  transit: Hist;
}

/**
 * One measurement window: `before` snapshots the servers, the clients count ticks for
 * `windowMs`, then `after` snapshots again — so the ticks counted fall inside the CPU
 * window (the IPC round trips at either end are a few ms of a many-second window).
 */
export async function recordWindow(workers: Worker[], windowMs: number, around: { before(): Promise<void>; after(): Promise<void> }): Promise<Recorded> {
  await around.before();
  await Promise.all(workers.map(({ w }) => w.request({ type: 'record-start' })));
  await sleep(windowMs);
  const parts = await Promise.all(
    workers.map(({ w }) => w.request<{ delivered: number; skipped: number; repeated: number; windowMs: number; hist: HistJSON; emit: HistJSON; transit: HistJSON }>({ type: 'record-stop' })),
  );
  await around.after();
  return {
    delivered: parts.reduce((a, p) => a + p.delivered, 0),
    // What the clients should have seen: one tick a second per connection.
    expected: Math.round(parts.reduce((a, p, i) => a + (workers[i]!.count * p.windowMs) / 1000, 0)),
    skipped: parts.reduce((a, p) => a + p.skipped, 0),
    repeated: parts.reduce((a, p) => a + p.repeated, 0),
    lateness: Hist.from(parts.map((p) => p.hist)),
    emit: Hist.from(parts.map((p) => p.emit)),
    transit: Hist.from(parts.map((p) => p.transit)),
  };
}

/** The server's own emit lateness histogram (focusroom_tick_lateness_seconds) from /metrics. */
export async function emitLatenessBuckets(url: string): Promise<Map<number, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<number, number>();
  for (const m of text.matchAll(/^focusroom_tick_lateness_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)) {
    out.set(m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2]));
  }
  return out;
}

export interface EmitLateness {
  count: number;
  /** Upper bound (ms) of the histogram bucket holding p50 / p99. */
  p50LeMs: number;
  p99LeMs: number;
  within1msPct: number;
}

export function emitLateness(before: Map<number, number>, after: Map<number, number>): EmitLateness {
  const les = [...after.keys()].sort((a, b) => a - b);
  const cum = les.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const count = cum[cum.length - 1] ?? 0;
  const at = (p: number) => {
    const i = cum.findIndex((c) => c >= p * count);
    return les[i] === Infinity ? Infinity : les[i]! * 1000;
  };
  return { count, p50LeMs: at(0.5), p99LeMs: at(0.99), within1msPct: count ? Math.round((1000 * (cum[les.indexOf(0.001)] ?? 0)) / count) / 10 : NaN };
}

export interface CoreTimes {
  busy: number;
  total: number;
}

/** Per-core jiffies from /proc/stat: busy (everything but idle and iowait) and total. */
export function coreTimes(): CoreTimes[] {
  const out: CoreTimes[] = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = line.match(/^cpu(\d+) (.*)$/);
    if (!m) continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    out[Number(m[1])] = { busy: total - v[3]! - v[4]!, total };
  }
  return out;
}

