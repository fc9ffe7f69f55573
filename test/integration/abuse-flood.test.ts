/**
 * DESIGN.md §11 "Floods" (issue 11, finding 5): 1,000 sockets each sending 19 legal
 * events a second (under the per-socket limit of 20) must not make other rooms' ticks
 * late: per-address and instance-wide budgets and load shedding on event-loop lag refuse
 * the excess before any work, and refusals are answered for a few events per socket per
 * second only. The flood runs in a worker thread (flood-worker.mjs), so this thread's
 * event loop — the server's — carries only the server's work.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { call, connect, eventually, roomWith } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const SOCKETS = 1_000;
const RATE = 19;
const FLOOD_MS = 8_000;

let server: TestServer | null = null;
let worker: Worker | null = null;
afterEach(async () => {
  await worker?.terminate();
  worker = null;
  await server?.close();
  server = null;
});

interface Stats {
  sent: number;
  received: number;
  errors: Record<string, number>;
}

function startFlood(url: string, addresses: number): Promise<{ go(): void; stop(): Promise<Stats> }> {
  const w = new Worker(new URL('../helpers/flood-worker.mjs', import.meta.url), { workerData: { url, sockets: SOCKETS, perRoom: 4, rate: RATE, addresses } });
  worker = w;
  return new Promise((resolve, reject) => {
    w.once('error', reject);
    w.on('message', (m: { type: string; error?: string }) => {
      if (m.type === 'failed') reject(new Error(m.error));
      if (m.type !== 'ready') return;
      resolve({
        go: () => w.postMessage('go'),
        stop: () =>
          new Promise<Stats>((res) => {
            w.on('message', (s: Stats & { type: string }) => s.type === 'stats' && res(s));
            w.postMessage('stop');
          }),
      });
    });
  });
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? 0;

describe('a flood of individually legal events (1,000 sockets × 19/s)', () => {
  it('a probe room keeps ticking on time; the excess is refused before any work, and mostly without a reply', async () => {
    // Default budgets and shedding; only the test's own per-address limits are lifted, and
    // the flood comes from 250 addresses (4 sockets, 76 events/s each: under the address budget).
    server = await startServer({ RATE_INSTANCE_EVENTS_PER_SEC: '', EVENT_LOOP_LAG_SHED_MS: '', RATE_ADDRESS_EVENTS_PER_SEC: '', TRUST_PROXY: 'true' });
    expect(server.app.config.rateLimits.instanceEventsPerSec).toBe(6_000);
    expect(server.app.config.transport.lagShedMs).toBe(100);
    const flood = await startFlood(server.url, 250);

    const probe = await connect(server.url);
    const peer = await connect(server.url);
    await roomWith(probe, [peer], { session_duration: 120_000 });
    expect(await call(probe, 'start_session')).toMatchObject({ ok: true });
    const late: number[] = [];
    probe.on('time_update', (t: { ends_at: number; time_left_ms: number }) => late.push(Date.now() - (t.ends_at - t.time_left_ms)));

    flood.go();
    await new Promise((r) => setTimeout(r, FLOOD_MS));
    const stats = await flood.stop();
    const shed = await server.app.metrics.shedEvents.get();
    const shedTotal = shed.values.reduce((n, v) => n + v.value, 0);

    // The probe room got (nearly) every tick of the 8 s, on time. Measured on the shared
    // 2-core VM (load 7): p50 3–160 ms, max 140–1,050 ms; before, with no budgets and no
    // shedding: no tick at all in the 8 s (issue: 13 ticks in 30 s, p50 2.0 s).
    expect(late.length).toBeGreaterThanOrEqual(FLOOD_MS / 1000 - 2);
    expect(quantile(late, 0.5)).toBeLessThan(300);
    expect(Math.max(...late)).toBeLessThan(1_500);
    // The flood really was ~19,000 events/s, and the excess was shed.
    expect(stats.sent).toBeGreaterThan(SOCKETS * RATE * (FLOOD_MS / 1000) * 0.6);
    expect(shedTotal).toBeGreaterThan(0);
    // Refusals answered: at most 2 per socket per second, far fewer than the events refused.
    const refusalsAnswered = (stats.errors.rate_limited ?? 0) + (stats.errors.unavailable ?? 0);
    expect(refusalsAnswered).toBeLessThanOrEqual(SOCKETS * 2 * (FLOOD_MS / 1000 + 1));
    expect(refusalsAnswered).toBeLessThan(shedTotal);
    // The probe room works normally once the flood's backlog is read.
    await eventually(async () => expect(await call(probe, 'add_task', { title: 'after the flood' })).toMatchObject({ ok: true }), 10_000, 200);
  }, 60_000);

  it('per address: one address flooding (all 1,000 sockets) gets RATE_ADDRESS_EVENTS_PER_SEC (default 500/s)', async () => {
    server = await startServer({ RATE_ADDRESS_EVENTS_PER_SEC: '', TRUST_PROXY: 'true' });
    expect(server.app.config.rateLimits.addressEventsPerSec).toBe(500);
    // Setup (250 creates, 750 joins) from one address fits in two seconds of its budget.
    const flood = await startFlood(server.url, 1);
    const before = (await server.app.metrics.eventsIn.get()).values.reduce((n, v) => n + v.value, 0);
    const t0 = Date.now();
    flood.go();
    await new Promise((r) => setTimeout(r, 3_000));
    const stats = await flood.stop();
    const seconds = (Date.now() - t0) / 1000;
    const processed = (await server.app.metrics.eventsIn.get()).values.reduce((n, v) => n + v.value, 0) - before;
    expect(stats.sent).toBeGreaterThan(SOCKETS * RATE * 3 * 0.6);
    // What reached the handlers: at most the address budget per (started) second.
    expect(processed).toBeLessThanOrEqual(500 * (Math.ceil(seconds) + 1));
    const shed = await server.app.metrics.shedEvents.get();
    expect(shed.values.find((v) => v.labels.reason === 'address')?.value).toBeGreaterThan(stats.sent * 0.5);
  }, 60_000);
});
