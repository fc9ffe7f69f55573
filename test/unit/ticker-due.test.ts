/**
 * Ticker.tickDue (src/realtime/ticker.ts): whether a running room's tick is due and not
 * yet sent, which the due scheduler asks before each start of a burst so that ticks go
 * first. A real Socket.IO server (not listening) supplies the adapter's rooms; the clock
 * is injected, the timers are real but never reached (the ticks are seconds away).
 */
import { Server } from 'socket.io';
import { afterEach, describe, expect, it } from 'vitest';
import { Ticker } from '../../src/realtime/ticker.js';
import { roomKey, type TypedServer } from '../../src/realtime/types.js';

describe('Ticker.tickDue', () => {
  let now = 1_700_000_000_000;
  const io = new Server() as unknown as TypedServer;
  const ticker = new Ticker(io, { now: () => now }, () => {});
  afterEach(() => ticker.stopAll());

  /** A running room with one (pretend) local socket, ending `endsIn` ms from now. */
  const running = (code: string, endsIn: number) => {
    io.sockets.adapter.rooms.set(roomKey(code), new Set([`sock-${code}`]));
    ticker.sync({ room_code: code, status: 'active', ends_at: now + endsIn, phase_duration: 60_000, phase: 'focus', round: 1 });
  };

  it('is due from the tick’s due time on, not before; a stopped room’s tick no longer counts', () => {
    running('AAAAAA', 9_700); // next tick: 9 s left, due in 700 ms
    running('BBBBBB', 5_300); // next tick: 5 s left, due in 300 ms
    expect(ticker.tickDue(now)).toBe(false);
    expect(ticker.tickDue(now + 299)).toBe(false);
    expect(ticker.tickDue(now + 300)).toBe(true);
    ticker.stop('BBBBBB');
    expect(ticker.tickDue(now + 300)).toBe(false);
    expect(ticker.tickDue(now + 699)).toBe(false);
    expect(ticker.tickDue(now + 700)).toBe(true);
    ticker.stop('AAAAAA');
    expect(ticker.tickDue(now + 10_000)).toBe(false);
  });

  it('a room re-synced to a new countdown counts at its new due time only', () => {
    running('CCCCCC', 5_300); // due in 300 ms
    running('CCCCCC', 5_800); // ends later: next tick due in 800 ms, not 300
    expect(ticker.tickDue(now + 300)).toBe(false);
    expect(ticker.tickDue(now + 799)).toBe(false);
    expect(ticker.tickDue(now + 800)).toBe(true);
  });
});
