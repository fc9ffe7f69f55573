/**
 * Participant status rules (ready / focusing / paused / failed) and focus-time accounting.
 */
import { describe, expect, it } from 'vitest';
import { pause, resumeTimer, start, updateStatus } from '../../src/domain/countdown.js';
import { runDue } from '../../src/domain/deadlines.js';
import type { Room } from '../../src/domain/room-state.js';
import { results } from '../../src/domain/snapshot.js';
import { at, codeOf, hostedRoom, ok, T0, withJoined } from './fixtures.js';

const D = 100_000;
function duo(): Room {
  return withJoined(hostedRoom({ settings: { session_duration: D } }), [['b', T0]]);
}
/** Started at T0: ends_at = T0 + D. */
const running = (): Room => ok(start(duo(), 'h', T0));
const participant = (room: Room, id: string) => room.participants.find((p) => p.id === id)!;

describe('updateStatus: which status when', () => {
  it('ready is only for before the start (waiting or completed)', () => {
    const active = running();
    expect(codeOf(() => updateStatus(active, 'b', 'ready', at(1)))).toBe('invalid_state');
    const paused = ok(pause(active, 'h', at(2)));
    expect(codeOf(() => updateStatus(paused, 'b', 'ready', at(3)))).toBe('invalid_state');
    const completed = ok(runDue(active, at(D)));
    const o = updateStatus(completed, 'b', 'ready', at(D + 1));
    expect(participant(ok(o), 'b').status).toBe('ready');
  });

  it('focusing, paused and failed are only for a running countdown', () => {
    const waiting = duo();
    const completed = ok(runDue(running(), at(D)));
    for (const status of ['focusing', 'paused', 'failed'] as const) {
      expect(codeOf(() => updateStatus(waiting, 'b', status, at(1)))).toBe('invalid_state');
      expect(codeOf(() => updateStatus(completed, 'b', status, at(D + 1)))).toBe('invalid_state');
    }
    const paused = ok(pause(running(), 'h', at(5)));
    expect(participant(ok(updateStatus(paused, 'b', 'paused', at(6))), 'b').status).toBe('paused');
    expect(participant(ok(updateStatus(paused, 'b', 'failed', at(6))), 'b').status).toBe('failed');
  });

  it('a stranger is not_in_session', () => {
    expect(codeOf(() => updateStatus(running(), 'zz', 'paused', at(1)))).toBe('not_in_session');
  });

  it('emits participant_status_updated with id, status and name, and returns the status', () => {
    const room = running();
    const o = updateStatus(room, 'b', 'paused', at(7_000));
    expect(o.result).toEqual({ status: 'paused' });
    expect(o.events).toEqual([
      { seq: room.seq + 1, event: 'participant_status_updated', data: { participant_id: 'b', status: 'paused', user_name: 'user-b' } },
    ]);
    expect(ok(o).seq).toBe(room.seq + 1);
    expect(ok(o).updated_at).toBe(at(7_000));
  });

  it('the same status is a no-op: unchanged room, no event, no seq bump', () => {
    const waiting = duo();
    const r1 = updateStatus(waiting, 'b', 'ready', at(5));
    expect(r1).toEqual({ room: waiting, events: [], result: { status: 'ready' }, changed: false });
    expect(r1.room).toBe(waiting);
    const active = running();
    const r2 = updateStatus(active, 'b', 'focusing', at(5));
    expect(r2.changed).toBe(false);
    expect(r2.room).toBe(active);
    expect(r2.events).toEqual([]);
  });

  it('failed is final until the next start', () => {
    const failed = ok(updateStatus(running(), 'b', 'failed', at(1_000)));
    expect(codeOf(() => updateStatus(failed, 'b', 'focusing', at(2_000)))).toBe('invalid_state');
    expect(codeOf(() => updateStatus(failed, 'b', 'paused', at(2_000)))).toBe('invalid_state');
    expect(updateStatus(failed, 'b', 'failed', at(2_000)).changed).toBe(false);
    const paused = ok(pause(failed, 'h', at(3_000)));
    expect(codeOf(() => updateStatus(paused, 'b', 'focusing', at(4_000)))).toBe('invalid_state');
    const completed = ok(runDue(failed, at(D)));
    expect(participant(completed, 'b').status).toBe('failed');
    // Literal rule: still failed after completion, so not even `ready` until the host starts again.
    expect(codeOf(() => updateStatus(completed, 'b', 'ready', at(D + 1)))).toBe('invalid_state');
    const restarted = ok(start(completed, 'h', at(D + 10)));
    expect(participant(restarted, 'b').status).toBe('focusing');
    expect(participant(ok(updateStatus(restarted, 'b', 'paused', at(D + 20))), 'b').status).toBe('paused');
  });
});

describe('focus-time accounting', () => {
  it('focused_ms excludes the participant\'s own pauses; pauses counts focusing→paused transitions', () => {
    let r = running();
    r = ok(updateStatus(r, 'b', 'paused', at(10_000)));
    r = ok(updateStatus(r, 'b', 'focusing', at(25_000)));
    r = ok(updateStatus(r, 'b', 'paused', at(40_000)));
    r = ok(updateStatus(r, 'b', 'focusing', at(50_000)));
    const o = runDue(r, at(D));
    expect(o.events.map((e) => e.event)).toEqual(['session_completed']);
    expect(o.events[0]!.data['results']).toEqual([
      { participant_id: 'h', user_name: 'user-h', status: 'completed', focused_ms: 100_000, pauses: 0 },
      { participant_id: 'b', user_name: 'user-b', status: 'completed', focused_ms: 75_000, pauses: 2 },
    ]);
  });

  it('focused_ms excludes room-wide pauses, which do not count as participant pauses', () => {
    let r = running();
    r = ok(pause(r, 'h', at(30_000)));
    r = ok(resumeTimer(r, 'h', at(50_000)));
    expect(r.ends_at).toBe(at(D + 20_000));
    r = ok(runDue(r, at(D + 20_000)));
    expect(results(r).map((x) => [x.participant_id, x.status, x.focused_ms, x.pauses])).toEqual([
      ['h', 'completed', D, 0],
      ['b', 'completed', D, 0],
    ]);
  });

  it('a participant who refocuses during a room-wide pause accrues only once the countdown resumes', () => {
    let r = running();
    r = ok(updateStatus(r, 'b', 'paused', at(10_000)));
    r = ok(pause(r, 'h', at(20_000)));
    r = ok(updateStatus(r, 'b', 'focusing', at(30_000)));
    expect(participant(r, 'b').focus_since).toBeNull();
    r = ok(resumeTimer(r, 'h', at(60_000)));
    expect(participant(r, 'b').focus_since).toBe(at(60_000));
    r = ok(runDue(r, at(D + 40_000)));
    // b: 0–10s, then from the resume (60s) to the end (140s)
    expect(participant(r, 'b')).toMatchObject({ status: 'completed', focused_ms: 90_000, pauses: 1 });
    expect(participant(r, 'h')).toMatchObject({ status: 'completed', focused_ms: D });
  });

  it('pausing during a room-wide pause counts as a pause; paused→focusing and →failed do not', () => {
    let r = running();
    r = ok(pause(r, 'h', at(10_000)));
    r = ok(updateStatus(r, 'b', 'paused', at(11_000)));
    r = ok(resumeTimer(r, 'h', at(12_000)));
    r = ok(updateStatus(r, 'b', 'focusing', at(13_000)));
    r = ok(updateStatus(r, 'b', 'failed', at(14_000)));
    expect(participant(r, 'b')).toMatchObject({ pauses: 1, focused_ms: 10_000 + 1_000, focus_since: null });
  });

  it('focused_ms stops at ends_at even when a status change arrives after ends_at but before completion ran', () => {
    // Countdown ends at T0+D; the scheduler is late, and b pauses 5 s after the end.
    let r = running();
    r = ok(updateStatus(r, 'b', 'paused', at(D + 5_000)));
    r = ok(runDue(r, at(D + 6_000)));
    expect(r.status).toBe('completed');
    // Nobody can focus longer than the countdown lasted.
    expect(participant(r, 'b').focused_ms).toBe(D);
  });
});
