/**
 * A real countdown: whole-second ticks on time, aligned to ends_at, then session_completed
 * exactly once per client at ends_at with per-participant results.
 */
import { describe, expect, it } from 'vitest';
import type { ParticipantResult } from '../../src/contract/events.js';
import { call, type Client, connect, record, roomWith, waitFor } from '../helpers/client.js';
import { useSharedServer } from '../helpers/server.js';
import { expectSnapshot, quietWindow } from '../helpers/shapes.js';

const server = useSharedServer();

/** Ticks must arrive at most this late, and never more than EARLY_MS early, relative to their due time. */
const LATE_MS = 50;
const EARLY_MS = 5;

type Tick = { time_left_ms: number; elapsed: number; ends_at: number; server_now: number; phase: string; round: number; _at: number };

function expectTicks(ticks: Tick[], endsAt: number, duration: number, expectedLeft: number[]): void {
  expect(ticks.map((t) => t.time_left_ms)).toEqual(expectedLeft);
  for (const t of ticks) {
    const { _at, ...payload } = t;
    expect(Object.keys(payload).sort()).toEqual(['elapsed', 'ends_at', 'phase', 'round', 'server_now', 'time_left_ms']);
    expect(t.ends_at).toBe(endsAt);
    expect(t.time_left_ms % 1000).toBe(0);
    expect(t.elapsed).toBe(duration - t.time_left_ms);
    expect(t.phase).toBe('focus');
    expect(t.round).toBe(1);
    const due = endsAt - t.time_left_ms;
    expect(t.server_now).toBeGreaterThanOrEqual(due - EARLY_MS);
    expect(t._at - due, `tick ${t.time_left_ms} arrival vs due`).toBeLessThanOrEqual(LATE_MS);
    expect(t._at - due).toBeGreaterThanOrEqual(-EARLY_MS);
  }
  for (let i = 1; i < ticks.length; i++) expect(ticks[i]!.time_left_ms).toBeLessThan(ticks[i - 1]!.time_left_ms);
}

describe('a 3 s countdown with three clients', () => {
  it('ticks 2000 and 1000 on time, completes once per client at ends_at with results', async () => {
    const clients = await Promise.all([connect(server.url), connect(server.url), connect(server.url)]);
    const [host, quitter, pauser] = clients as [Client, Client, Client];
    const { created, joined } = await roomWith(host, [quitter, pauser], { session_duration: 3_000 });
    const ticks = clients.map((c) => record(c, 'time_update'));
    const done = clients.map((c) => record(c, 'session_completed'));
    const starts = clients.map((c) => waitFor(c, 'session_started'));

    const started = await call(host, 'start_session');
    expect(started.ok).toBe(true);
    const s = started.session;
    expectSnapshot(s, { status: 'active', is_creator: true });
    const endsAt = s.ends_at as number;
    expect(endsAt - s.started_at).toBe(3_000);
    expect(s.participants.map((p: any) => p.status)).toEqual(['focusing', 'focusing', 'focusing']);
    for (const e of await Promise.all(starts)) {
      expect(Object.keys(e).sort()).toEqual(['seq', 'session']);
      expect(e.session.ends_at).toBe(endsAt);
      expect(e.seq).toBe(s.seq);
    }

    // One gives up (final), one pauses and comes back: counted in the results.
    const failedAck = await call(quitter, 'update_status', { status: 'failed' });
    expect(failedAck).toEqual({ ok: true, status: 'failed', seq: expect.any(Number) });
    const failedAt = Date.now();
    expect(await call(pauser, 'update_status', { status: 'paused' })).toEqual({ ok: true, status: 'paused', seq: expect.any(Number) });
    expect(await call(pauser, 'update_status', { status: 'focusing' })).toEqual({ ok: true, status: 'focusing', seq: expect.any(Number) });

    await Promise.all(clients.map((c) => waitFor(c, 'session_completed', 4_000)));
    await quietWindow(300); // a duplicate completion or a stray tick would show up here

    for (const t of ticks) expectTicks(t, endsAt, 3_000, [2000, 1000]);
    for (const [i, d] of done.entries()) {
      expect(d, `client ${i} completions`).toHaveLength(1);
      const c = d[0]!;
      expect(Object.keys(c).sort()).toEqual(['_at', 'final', 'phase', 'results', 'round', 'seq', 'session']);
      expect(c).toMatchObject({ phase: 'focus', round: 1, final: true });
      expect(c._at).toBeGreaterThanOrEqual(endsAt - EARLY_MS);
      expect(c._at - endsAt).toBeLessThanOrEqual(LATE_MS);
      expectSnapshot(c.session, { status: 'completed', is_creator: i === 0 });
      expect(c.session).toMatchObject({ time_left_ms: 0, ends_at: null, started_at: s.started_at });
      expect(c.seq).toBe(c.session.seq);
    }
    const results = done[0]![0]!.results;
    expect(done[1]![0]!.results).toEqual(results);
    for (const r of results) expect(Object.keys(r).sort()).toEqual(['focused_ms', 'participant_id', 'pauses', 'status', 'user_name']);
    const [hostR, quitR, pauseR] = results as [ParticipantResult, ParticipantResult, ParticipantResult];
    expect(hostR).toEqual({ participant_id: created.participant_id, user_name: 'Host', status: 'completed', focused_ms: 3_000, pauses: 0 });
    expect(quitR).toMatchObject({ participant_id: joined[0]!.participant_id, user_name: 'Guest1', status: 'failed', pauses: 0 });
    expect(quitR.focused_ms).toBeGreaterThanOrEqual(0);
    expect(quitR.focused_ms).toBeLessThanOrEqual(failedAt - s.started_at);
    expect(pauseR).toMatchObject({ participant_id: joined[1]!.participant_id, user_name: 'Guest2', status: 'completed', pauses: 1 });
    expect(pauseR.focused_ms).toBeGreaterThan(2_500);
    expect(pauseR.focused_ms).toBeLessThanOrEqual(3_000);
    expect(done[0]![0]!.session.participants.map((p: any) => p.status)).toEqual(['completed', 'failed', 'completed']);

    // After completion, failed is no longer final: the host can start the next round.
    const again = await call(host, 'start_session');
    expect(again.session.status).toBe('active');
    expect(again.session.participants.map((p: any) => p.status)).toEqual(['focusing', 'focusing', 'focusing']);
  });
});

describe('pause and resume over real time', () => {
  it('a 500 ms pause moves ends_at by the paused time; no ticks while paused; ticks follow the new ends_at', async () => {
    const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
    await roomWith(host, [guest], { session_duration: 2_000 });
    const started = await call(host, 'start_session');
    const endsAt0 = started.session.ends_at as number;
    const guestPaused = waitFor(guest, 'session_paused');

    const paused = await call(host, 'pause_session');
    const pausedAt = Date.now();
    expectSnapshot(paused.session, { status: 'paused', is_creator: true });
    const remaining = paused.session.time_left_ms as number;
    expect(remaining).toBeLessThanOrEqual(2_000);
    expect(remaining).toBeGreaterThan(1_900);
    expect(remaining).toBeGreaterThanOrEqual(endsAt0 - paused.session.server_now);
    const gp = await guestPaused;
    expect(Object.keys(gp).sort()).toEqual(['seq', 'session']);
    expectSnapshot(gp.session, { status: 'paused', is_creator: false });
    expect(gp.session.time_left_ms).toBe(remaining);

    const ticks = record(host, 'time_update');
    const guestTicks = record(guest, 'time_update');
    await quietWindow(500); // the pause itself: nothing may tick
    expect(ticks).toEqual([]);

    const guestResumed = waitFor(guest, 'session_resumed');
    const resumeCalledAt = Date.now();
    const resumed = await call(host, 'resume_timer');
    expectSnapshot(resumed.session, { status: 'active', is_creator: true });
    const endsAt1 = resumed.session.ends_at as number;
    const pausedFor = resumeCalledAt - pausedAt;
    expect(Math.abs(endsAt1 - endsAt0 - pausedFor)).toBeLessThanOrEqual(50);
    expect(Math.abs(endsAt1 - resumed.session.server_now - remaining)).toBeLessThanOrEqual(5);
    const gr = await guestResumed;
    expect(gr.session.ends_at).toBe(endsAt1);
    expect(gr.session.is_creator).toBe(false);

    const done = await waitFor(guest, 'session_completed', 3_000);
    expect(Date.now()).toBeGreaterThanOrEqual(endsAt1 - EARLY_MS);
    expect(Date.now() - endsAt1).toBeLessThanOrEqual(LATE_MS + 20);
    // Focus stops while the room is paused: a full 2 s of focus, not 2.5.
    expect(done.results.map((r: any) => r.focused_ms)).toEqual([2_000, 2_000]);
    expect(done.results.map((r: any) => r.pauses)).toEqual([0, 0]);
    for (const t of [ticks, guestTicks]) {
      expect(t.length).toBeGreaterThanOrEqual(1);
      expectTicks(t, endsAt1, 2_000, t.map((x) => x.time_left_ms));
      expect(t.at(-1)!.time_left_ms).toBe(1000);
    }
  });
});

describe('results of a completed room', () => {
  it('are history: a leaver keeps their row in participant_left and in a later joiner\'s snapshot', async () => {
    const [ann, ben, cat] = await Promise.all([connect(server.url), connect(server.url), connect(server.url)]);
    const { code } = await roomWith(ann, [ben], { session_duration: 1_000 });
    await call(ann, 'start_session');
    const done = await waitFor(ben, 'session_completed', 3_000);
    expect(done.results.map((r: ParticipantResult) => r.user_name)).toEqual(['Host', 'Guest1']);
    const left = waitFor(ben, 'participant_left');
    expect((await call(ann, 'leave_session')).ok).toBe(true);
    const l = await left;
    expect(l.session.participants.map((p: { user_name: string }) => p.user_name)).toEqual(['Guest1']);
    expect(l.session.results).toEqual(done.results);
    const joined = await call(cat, 'join_session', { room_code: code, user_name: 'Cat' });
    expect(joined.session.results).toEqual(done.results);
  });
});
