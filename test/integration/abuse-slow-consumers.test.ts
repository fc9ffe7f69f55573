/**
 * DESIGN.md §11 "Slow consumers" (issue 11, finding 1): clients that stop reading — raw
 * WebSocket clients that pause their TCP socket, long-polling clients that stop polling
 * or send one GET and never read it — are cut once their unsent output passes
 * MAX_BUFFERED_BYTES (default 1 MB), so what the server holds stays bounded, and a probe
 * room keeps ticking on time. A pong with no ping outstanding is not liveness. Host
 * toggles are bounded per room (RATE_ROOM_CONTROLS_PER_MIN).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { call, connect, eventually, record, roomWith, type Client } from '../helpers/client.js';
import { rawPolling, rawWs, unsentBytes, type RawWs } from '../helpers/raw-engine.js';
import { startServer, type TestServer } from '../helpers/server.js';

const MB = 1024 * 1024;
let server: TestServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

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
  const ticks = record<{ ends_at: number; time_left_ms: number }>(probe, 'time_update');
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
  it('WebSocket clients that stop reading are cut at 1 MB unsent; the server holds ≤ 1.1 MB each; another room ticks on time', async () => {
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
    let maxUnsent = 0;
    const sampler = setInterval(() => (maxUnsent = Math.max(maxUnsent, unsentBytes(server!.app.io.engine as never))), 50);
    const t0 = Date.now();
    const engine = server.app.io.engine as unknown as { clients: Record<string, unknown> };
    const open = () => slow.filter((c) => c.engineSid in engine.clients);
    let cutAfterMs = -1;
    const cutWatch = setInterval(() => {
      if (cutAfterMs < 0 && open().length === 0) cutAfterMs = Date.now() - t0;
    }, 20);
    // Output keeps coming for 4 s: before, it all piled up for the slow clients.
    const toggles = await toggle(host, 4_000, () => false);
    clearInterval(cutWatch);
    clearInterval(sampler);
    const rssGrowth = process.memoryUsage().rss - rss0;

    // Every slow client was cut, well before the 45 s a ping timeout would take.
    expect(open()).toHaveLength(0);
    expect(cutAfterMs).toBeGreaterThanOrEqual(0);
    expect(cutAfterMs).toBeLessThan(4_000);
    // What the server held for them never passed 10 × (1 MB + one snapshot).
    expect(maxUnsent).toBeLessThanOrEqual(10 * 1.1 * MB);
    // Measured: ~13 MB after, 113 MB (and 468 MB unsent) before, in these 4 s.
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
  }, 40_000);

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
