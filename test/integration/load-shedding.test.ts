/**
 * docs/reliability.md "Load shedding": a single stall of the event loop
 * (a GC pause, a noisy neighbour, a slow disk) refuses nothing from a client sending a few
 * events a second; only a sustained overload sheds, and then the heaviest senders first
 * (the flood tests in slow-consumers-and-floods.test.ts keep their bounds).
 *
 * The server runs in this process, so a busy loop here is a real stall of its event loop;
 * the shipped shedding threshold (EVENT_LOOP_LAG_SHED_MS 100) is on.
 */
import { describe, expect, it } from 'vitest';
import { call, connect, roomWith } from '../helpers/client.js';
import { startServer } from '../helpers/server.js';

/** Blocks the event loop (the server's, the test's) for `ms`. */
function stall(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* a GC pause or a slow synchronous disk write, as the loop sees it */
  }
}

describe('load shedding and stalls', () => {
  it('a 300 ms stall every 2 s refuses nothing from a client at 2 events/s, and do not pause its reading', async () => {
    const server = await startServer({ EVENT_LOOP_LAG_SHED_MS: '' });
    expect(server.app.config.transport.lagShedMs).toBe(100);
    const host = await connect(server.url);
    const guest = await connect(server.url);
    await roomWith(host, [guest], { session_duration: 120_000 });
    expect(await call(host, 'start_session')).toMatchObject({ ok: true });

    const replies: Promise<Record<string, unknown>>[] = [];
    const sentAt: number[] = [];
    const STATUSES = ['focusing', 'paused'] as const;
    for (let i = 0; i < 20; i++) {
      sentAt.push(performance.now());
      replies.push(call(guest, 'update_status', { status: STATUSES[i % 2]! }, 5_000));
      // Every 2 s an event is followed at once by a 300 ms stall: it is read when the stall
      // ends, when the lag probe has just measured 300 ms (old main answered `unavailable`).
      if (i % 4 === 0) stall(300);
      await new Promise((r) => setTimeout(r, 500)); // pacing: 2 events/s
    }
    const answered = await Promise.all(replies);
    expect(answered.filter((r) => r.ok !== true)).toEqual([]);
    const shed = await server.app.metrics.shedEvents.get();
    expect(shed.values.reduce((n, v) => n + v.value, 0)).toBe(0);
  }, 30_000);
});
