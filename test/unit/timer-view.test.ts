/**
 * One timer view: the ticker of the instance that made a change (roomTimer of the room)
 * and the tickers of the others (timerOf the snapshot they received) see the same timer
 * in every state of a pomodoro cycle.
 */
import { describe, expect, it } from 'vitest';
import { pause, resumeTimer, start } from '../../src/domain/countdown.js';
import { runDue } from '../../src/domain/deadlines.js';
import type { Room } from '../../src/domain/room-state.js';
import { roomTimer, snapshot, timerOf } from '../../src/domain/snapshot.js';
import { hostedRoom, ok, T0, withJoined } from './fixtures.js';

const FOCUS = 10_000;
const BREAK = 3_000;

describe('timer view', () => {
  it('roomTimer(room) equals timerOf(snapshot of the room) waiting, active, paused, in a break and completed', () => {
    const waiting = withJoined(hostedRoom({ settings: { session_duration: FOCUS, rounds: 2, break_duration: BREAK }, ttl_ms: 3_600_000 }), [['b', T0]]);
    const active = ok(start(waiting, 'h', T0));
    const paused = ok(pause(active, 'h', T0 + 1_000));
    const resumed = ok(resumeTimer(paused, 'h', T0 + 2_000));
    const inBreak = ok(runDue(resumed, T0 + 1_000 + FOCUS));
    const states: Room[] = [waiting, active, paused, resumed, inBreak];
    let r = inBreak;
    while (r.status !== 'completed') r = ok(runDue(r, r.ends_at!));
    states.push(r);
    expect(states.map((s) => `${s.status}/${s.phase}`)).toEqual(['waiting/focus', 'active/focus', 'paused/focus', 'active/focus', 'active/break', 'completed/focus']);
    for (const room of states) {
      expect(timerOf(snapshot(room, T0, null)), `${room.status}/${room.phase}`).toEqual(roomTimer(room));
    }
    expect(roomTimer(inBreak)).toMatchObject({ status: 'active', phase: 'break', phase_duration: BREAK, ends_at: inBreak.ends_at });
    expect(roomTimer(paused)).toMatchObject({ status: 'paused', ends_at: null });
  });
});
