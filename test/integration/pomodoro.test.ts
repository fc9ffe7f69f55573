/**
 * Pomodoro over real time: 2 s focus, 2 s break, 2 rounds. Ticks carry the phase and
 * round, every boundary lands on the previous ends_at, and each focus round completes
 * exactly once per client.
 */
import { expect, it } from 'vitest';
import { call, callUnchecked, connect, record, roomWith, waitFor } from '../helpers/client.js';
import { useSharedServer } from '../helpers/server.js';

const server = useSharedServer();

it('focus → break → focus: phase_changed at each boundary, ticks per phase, two completions', async () => {
  const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
  const { created } = await roomWith(host, [guest], { session_duration: 2_000, break_duration: 2_000, rounds: 2 });
  expect(created.session).toMatchObject({ rounds: 2, break_duration: 2_000, phase: 'focus', round: 1 });
  const ticks = record(guest, 'time_update');
  const phases = record(guest, 'phase_changed');
  const done = record(guest, 'session_completed');
  const hostDone = record(host, 'session_completed');
  const restarts = record(guest, 'session_started');

  const started = await call(host, 'start_session');
  const t0 = started.session.started_at as number;
  const focus1End = started.session.ends_at as number;
  await waitFor(guest, 'session_completed', 8_000, (p: any) => p.final === true);
  await new Promise((r) => setTimeout(r, 200)); // a duplicate completion would land here

  expect(focus1End).toBe(t0 + 2_000);
  expect(phases.map((p) => [p.phase, p.round, p.ends_at])).toEqual([
    ['break', 1, focus1End + 2_000],
    ['focus', 2, focus1End + 4_000],
  ]);
  expect(phases[0]!.session).toMatchObject({ phase: 'break', round: 1, status: 'active' });
  expect(done.map((d) => [d.phase, d.round, d.final])).toEqual([
    ['focus', 1, false],
    ['focus', 2, true],
  ]);
  expect(hostDone).toHaveLength(2);
  expect(restarts).toHaveLength(2); // the host's start, then the second focus round
  expect(done[1]!.results.map((r: any) => r.focused_ms)).toEqual([4_000, 4_000]);
  expect(done[1]!.session.status).toBe('completed');

  // One tick per whole second of each phase, labelled with its phase and round.
  expect(ticks.map((t) => [t.phase, t.round, t.time_left_ms])).toEqual([
    ['focus', 1, 1_000],
    ['break', 1, 1_000],
    ['focus', 2, 1_000],
  ]);
  for (const t of ticks) {
    expect(t.elapsed).toBe(1_000);
    const due = t.ends_at - t.time_left_ms;
    expect(t._at - due).toBeLessThan(100);
    expect(t._at - due).toBeGreaterThan(-10);
  }
  // Boundaries land on the previous ends_at (completion arrival within bounds).
  expect(done[0]!._at - focus1End).toBeLessThan(150);
  expect(done[1]!._at - (focus1End + 4_000)).toBeLessThan(150);
});

it('rejects out-of-range pomodoro settings without coercion', async () => {
  const c = await connect(server.url);
  for (const bad of [{ rounds: 0 }, { rounds: 13 }, { rounds: 1.5 }, { break_duration: 999 }, { break_duration: '60000' }]) {
    const res = await callUnchecked(c, 'create_session', { user_name: 'P', ...bad });
    expect(res).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
  }
});
