/**
 * Ticker crowds (src/realtime/ticker.ts): when thousands of rooms tick in the same
 * millisecond (rooms booked for one instant), at most CROWD_PER_TURN ticks go out in that
 * turn of the event loop and the rest go out in slices, so that a room outside the crowd
 * whose tick falls due meanwhile is not held up behind the whole crowd; every crowd tick
 * still goes out once, with its whole-second payload.
 *
 * A real Socket.IO server (not listening) supplies the adapter's rooms. The members' Sets
 * record when the ticker looks at their size (twice per tick it sends: whether the room
 * still has ticking sockets, then in the frame's write), which gives the
 * order the ticks went out in; the clock and the timers are real (the ticks are due
 * within a second).
 */
import { Server } from 'socket.io';
import { afterEach, describe, expect, it } from 'vitest';
import { CROWD_PER_TURN, Ticker } from '../../src/realtime/ticker.js';
import { roomKey, type TypedServer } from '../../src/realtime/types.js';

describe('Ticker crowds', () => {
  const io = new Server() as unknown as TypedServer;
  const ticker = new Ticker(io, { now: () => Date.now() }, (ms) => lateness.push(ms));
  let lateness: number[] = [];
  /** Room codes in the order the ticker looked at their members, with the turn it was in. */
  let looks: { code: string; turn: number }[] = [];
  let recording = false;
  let turn = 0;
  afterEach(() => ticker.stopAll());

  /** A room with one (pretend) local socket whose only tick (1 s left) is due at `dueAt`. */
  const room = (code: string, dueAt: number) => {
    const members = new (class extends Set<string> {
      override get size(): number {
        if (recording) looks.push({ code, turn });
        return super.size;
      }
    })([`sock-${code}`]);
    io.sockets.adapter.rooms.set(roomKey(code), members);
    ticker.sync({ room_code: code, status: 'active', ends_at: dueAt + 1_000, phase_duration: 60_000, phase: 'focus', round: 1 });
  };

  it('sends a crowd in slices, and a room due meanwhile goes before the crowd’s tail', { timeout: 30_000 }, async () => {
    const n = 20_000;
    const dueAt = Date.now() + 600;
    for (let i = 0; i < n; i++) room(`C${String(i).padStart(5, '0')}`, dueAt);
    room('LONER1', dueAt + 10);
    lateness = [];
    looks = [];
    recording = true;
    // Count turns of the event loop: each check phase ends one.
    const counting = setInterval(() => {}, 1); // keeps the loop turning while waiting
    const onTurn = () => {
      turn += 1;
      if (recording) setImmediate(onTurn);
    };
    setImmediate(onTurn);
    const deadline = Date.now() + 20_000;
    while (lateness.length < n + 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    recording = false;
    clearInterval(counting);

    expect(lateness.length).toBe(n + 1);
    const all = looks.filter((l) => l.code.startsWith('C'));
    // Each crowd room ticked exactly once (two looks per tick).
    expect(all.length).toBe(2 * n);
    const crowd = all.filter((_, i) => i % 2 === 0);
    expect(new Set(crowd.map((l) => l.code)).size).toBe(n);
    // The first turn sent at most CROWD_PER_TURN of them; the rest took more turns.
    const firstTurn = crowd[0]!.turn;
    expect(crowd.filter((l) => l.turn === firstTurn).length).toBeLessThanOrEqual(CROWD_PER_TURN);
    expect(crowd.at(-1)!.turn).toBeGreaterThan(firstTurn + 1);
    // The loner, due 10 ms after the crowd (whose ticks take longer than that), went out before the crowd's last tick.
    const lonerAt = looks.findIndex((l) => l.code === 'LONER1');
    let lastCrowdAt = looks.length - 1;
    while (lastCrowdAt >= 0 && !looks[lastCrowdAt]!.code.startsWith('C')) lastCrowdAt--;
    expect(lonerAt).toBeGreaterThan(-1);
    expect(lonerAt).toBeLessThan(lastCrowdAt);
  });

  it('a crowd room stopped or re-synced while its tick waits sends no stale tick', { timeout: 30_000 }, async () => {
    const n = 20_000;
    const dueAt = Date.now() + 600;
    for (let i = 0; i < n; i++) room(`S${String(i).padStart(5, '0')}`, dueAt);
    lateness = [];
    looks = [];
    recording = true;
    // Once the crowd is waiting (the first turn sent at most CROWD_PER_TURN), stop its last
    // room and move the one before it to a countdown 5 s longer: neither ticks for dueAt.
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (lateness.length === 0) return;
        clearInterval(poll);
        recording = false; // sync looks at the room's members too
        ticker.stop(`S${n - 1}`);
        ticker.sync({ room_code: `S${n - 2}`, status: 'active', ends_at: dueAt + 6_000, phase_duration: 60_000, phase: 'focus', round: 1 });
        recording = true;
        resolve();
      }, 0);
    });
    const deadline = Date.now() + 20_000;
    while (lateness.length < n - 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50)); // a stale tick would land here
    recording = false;

    expect(lateness.length).toBe(n - 2);
    const sent = new Set(looks.map((l) => l.code));
    expect(sent.has(`S${n - 1}`)).toBe(false);
    expect(sent.has(`S${n - 2}`)).toBe(false);
    expect(sent.size).toBe(n - 2);
  });
});
