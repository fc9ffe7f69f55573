/**
 * docs/reliability.md "Load and abuse": the heavy abuse tests in one file so they never run beside each other
 * (vitest runs two files at a time):
 *
 * "Slow consumers": clients that stop reading — raw WebSocket
 * clients that pause their TCP socket, long-polling clients that stop polling or send one
 * GET and never read it — are cut once their unsent output passes MAX_BUFFERED_BYTES
 * (default 1 MB), so what the server holds stays bounded, and a probe room keeps ticking
 * on time. A pong with no ping outstanding is not liveness. Host toggles are bounded per
 * room (RATE_ROOM_CONTROLS_PER_MIN).
 *
 * "Floods": 1,000 sockets each sending 19 legal events a second (under the
 * per-socket limit of 20) must not make other rooms' ticks late: per-address and
 * instance-wide budgets and load shedding on event-loop lag refuse the excess before any
 * work, and refusals are answered for a few events per socket per second only. The flood
 * runs in a worker thread (flood-worker.mjs), so this thread's event loop — the server's —
 * carries only the server's work.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { call, connect, eventually, record, roomWith, type Client } from '../helpers/client.js';
import { rawPolling, rawWs, unsentBytes, type RawWs } from '../helpers/raw-engine.js';
import { startServer, type TestServer } from '../helpers/server.js';

const MB = 1024 * 1024;
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

/** Bytes V8 has reserved for its young generation (new space: two semi-spaces). */
function youngGeneration(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
}

/** A 50-seat room whose snapshot is big (40 tasks of 200 characters): every toggle re-sends it to everyone. */
async function bigRoom(host: Client): Promise<string> {
  const created = await call(host, 'create_session', { user_name: 'Host', max_participants: 50, session_duration: 3_600_000 });
  for (let i = 0; i < 40; i++) expect(await call(host, 'add_task', { title: `${i}`.padEnd(200, 'x') })).toMatchObject({ ok: true });
  expect(await call(host, 'start_session')).toMatchObject({ ok: true });
  return created.room_code as string;
}

/** A second room with one normal client, recording when each tick arrives vs. when it was due. */
async function probeRoom(url: string): Promise<() => number[]> {
  const probe = await connect(url);
  const peer = await connect(url);
  await roomWith(probe, [peer], { session_duration: 120_000 });
  expect(await call(probe, 'start_session')).toMatchObject({ ok: true });
  const ticks = record(probe, 'time_update');
  return () => ticks.map((t) => t._at - (t.ends_at - t.time_left_ms));
}

/** The host toggles pause/resume as fast as it is answered until `done()` or `ms` pass. */
async function toggle(host: Client, ms: number, done: () => boolean): Promise<number> {
  const until = Date.now() + ms;
  let n = 0;
  while (Date.now() < until && !done()) {
    await call(host, n % 2 ? 'resume_timer' : 'pause_session', {}, 10_000);
    n += 1;
  }
  return n;
}

describe('slow consumers (MAX_BUFFERED_BYTES)', () => {
  it('WebSocket clients that stop reading are cut at 1 MB unsent; the server holds ≤ 1.1 MB each; another room ticks on time', { timeout: 60_000 }, async () => {
    server = await startServer({ RATE_ROOM_CONTROLS_PER_MIN: '1000000' });
    expect(server.app.config.transport.maxBufferedBytes).toBe(MB);
    const host = await connect(server.url);
    const code = await bigRoom(host);
    const slow: RawWs[] = [];
    for (let i = 0; i < 10; i++) {
      const c = await rawWs(server.url);
      c.emit('join_session', { room_code: code, user_name: `slow${i}` });
      await c.next('session_joined');
      slow.push(c);
    }
    const lateness = await probeRoom(server.url);
    for (const c of slow) c.stopReading();
    const rss0 = process.memoryUsage().rss;
    const young0 = youngGeneration();
    let maxUnsent = 0;
    const sampler = setInterval(() => (maxUnsent = Math.max(maxUnsent, unsentBytes(server!.app.io.engine as never))), 50);
    const t0 = Date.now();
    const engine = server.app.io.engine as unknown as { clients: Record<string, unknown> };
    const open = () => slow.filter((c) => c.engineSid in engine.clients);
    let cutAfterMs = -1;
    const cutWatch = setInterval(() => {
      if (cutAfterMs < 0 && open().length === 0) cutAfterMs = Date.now() - t0;
    }, 20);
    // Output keeps coming for at least 4 s (before, it all piled up for the slow clients),
    // and until every slow client is cut (at most 15 s).
    const toggles = await toggle(host, 15_000, () => Date.now() - t0 > 4_000 && open().length === 0);
    clearInterval(cutWatch);
    clearInterval(sampler);
    // What this process holds more, less V8 growing its young generation. Server and clients
    // share this process; under a high allocation rate (every toggle re-sends the big
    // snapshot) V8 doubles the new space, step by step up to 134 MB on a 24 GB machine (it
    // stood at 17, 34, 67 or 82 MB when this test began, run to run). Grown inside the window
    // it adds up to ~130 MB of RSS that is room for garbage, not memory held for anyone: the
    // ~190 MB seen in 1 run in 3. Output piling up for the slow clients is kept past a
    // scavenge — old space, buffers, external memory — and stays counted.
    const rssGrowth = process.memoryUsage().rss - rss0 - Math.max(0, youngGeneration() - young0);

    // Every slow client was cut, well before the 45 s a ping timeout would take.
    expect(open()).toHaveLength(0);
    expect(cutAfterMs).toBeGreaterThanOrEqual(0);
    expect(cutAfterMs).toBeLessThan(15_000);
    // What the server held for them never passed 10 × (1 MB + one snapshot).
    expect(maxUnsent).toBeLessThanOrEqual(10 * 1.1 * MB);
    // Measured: ~13 MB after, 113 MB (and 468 MB unsent) before, in 4 s.
    expect(rssGrowth).toBeLessThan(64 * MB);
    expect(toggles).toBeGreaterThan(0);
    // The room lives on: the host is still served, the cuts are counted.
    expect(await call(host, 'add_task', { title: 'still here' })).toMatchObject({ ok: true });
    const cuts = await server.app.metrics.transportCuts.get();
    expect(cuts.values.find((v) => v.labels.reason === 'slow consumer')?.value).toBe(10);
    // The probe room ticked through it, each tick within 900 ms of its due time.
    const late = lateness();
    expect(late.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(0, ...late)).toBeLessThan(900);
  });

  it('long-polling clients that send one GET and never read it (and stop polling) are cut at 1 MB unsent', async () => {
    server = await startServer({ RATE_ROOM_CONTROLS_PER_MIN: '1000000' });
    const host = await connect(server.url);
    const code = await bigRoom(host);
    const sids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const p = await rawPolling(server.url);
      expect(await p.emit('join_session', { room_code: code, user_name: `poll${i}` })).toBe(200);
      await eventually(async () => expect((await p.poll()).some((m) => m.startsWith('42["session_joined"'))).toBe(true));
      p.pollNeverRead();
      sids.push(p.sid);
    }
    const engine = server.app.io.engine as unknown as { clients: Record<string, unknown> };
    let maxUnsent = 0;
    const sampler = setInterval(() => (maxUnsent = Math.max(maxUnsent, unsentBytes(engine))), 50);
    const gone = () => sids.every((sid) => !(sid in engine.clients));
    await toggle(host, 20_000, gone);
    clearInterval(sampler);
    expect(sids.filter((sid) => sid in engine.clients)).toHaveLength(0);
    expect(maxUnsent).toBeLessThanOrEqual(5 * 1.1 * MB);
  }, 40_000);

  it('a pong with no ping outstanding is not liveness: the connection is closed at the first one', async () => {
    server = await startServer();
    const host = await connect(server.url);
    const { room_code } = await call(host, 'create_session', { user_name: 'Host' });
    const p = await rawPolling(server.url);
    await p.emit('join_session', { room_code, user_name: 'blind' });
    await eventually(async () => expect((await p.poll()).some((m) => m.startsWith('42["session_joined"'))).toBe(true));
    const left = record(host, 'participant_connection');
    // Engine.IO pings every 25 s; a pong now answers nothing. Before: it postponed the next ping forever.
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push(await p.post('3'));
      await new Promise((r) => setTimeout(r, 100));
    }
    const engine = server.app.io.engine as unknown as { clients: Record<string, unknown> };
    expect(p.sid in engine.clients).toBe(false);
    // The pong itself was taken (200), then the session was unknown (400).
    expect(statuses.slice(1).every((s) => s === 400)).toBe(true);
    await eventually(() => expect(left.some((e) => e.connected === false)).toBe(true));
    const cuts = await server.app.metrics.transportCuts.get();
    expect(cuts.values.find((v) => v.labels.reason === 'pong without ping')?.value).toBe(1);
  });
});

describe('host toggles per room (RATE_ROOM_CONTROLS_PER_MIN)', () => {
  it('by default at most 30 pauses/resumes a minute per room; a guest’s refused attempts do not use the host’s budget', async () => {
    server = await startServer({ RATE_ROOM_CONTROLS_PER_MIN: '' });
    expect(server.app.config.rateLimits.roomControlsPerMin).toBe(30);
    const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
    await roomWith(host, [guest], { session_duration: 600_000 });
    for (let i = 0; i < 40; i++) expect(await call(guest, 'pause_session')).toMatchObject({ ok: false, error: { code: 'not_host' } });
    const replies = [];
    for (let i = 0; i < 60; i++) replies.push(await call(host, i === 0 ? 'start_session' : i % 2 ? 'pause_session' : 'resume_timer'));
    expect(replies.filter((r) => r.ok)).toHaveLength(30);
    expect(replies.slice(30).every((r) => !r.ok && r.error.code === 'rate_limited')).toBe(true);
    // Other rooms have their own budget.
    const [h2, g2] = await Promise.all([connect(server.url), connect(server.url)]);
    await roomWith(h2, [g2]);
    expect(await call(h2, 'start_session')).toMatchObject({ ok: true });
  });
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
