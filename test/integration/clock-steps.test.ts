/**
 * Wall-clock steps against a live server: the wall clock is stepped
 * through the injected `wallClock` while real (monotonic) time runs. Before, with the
 * wall clock as the app's clock: a forward step of 10 min ended every grace at once (and
 * completed every countdown), 3 h expired every room, and a backward step of 30 s stopped
 * the ticks for 30 s. Now timers run on SteadyClock: after each step the dropped guest
 * keeps its seat, the room and its countdown go on, ticks keep coming once a second, and
 * the step is counted in `focusroom_clock_steps_total`.
 */
import { describe, expect, it } from 'vitest';
import { call, connect, eventually, record, roomWith, waitFor } from '../helpers/client.js';
import { useSharedServer } from '../helpers/server.js';

let skew = 0;
const server = useSharedServer({ DISCONNECT_GRACE_MS: '60000', ROOM_TTL_MS: '7200000' }, { wallClock: { now: () => Date.now() + skew } });

/** The step detector runs every second; give it two, on a loaded box. */
const DETECT_MS = 2_500;

const stepsMetric = async () => {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const n = (dir: string) => Number(new RegExp(`^focusroom_clock_steps_total\\{direction="${dir}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return { forward: n('forward'), backward: n('backward') };
};

describe('wall-clock steps', () => {
  it('forward 10 min, forward 3 h, backward 30 s: no grace, countdown or room ends; ticks go on; each step is counted', async () => {
    const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
    const { code } = await roomWith(host, [guest], { session_duration: 120_000 });
    expect((await call(host, 'start_session', {})).ok).toBe(true);
    await waitFor(host, 'time_update', 2_500);
    const left = record(host, 'participant_left');
    const completed = record(host, 'session_completed');
    const closed = record(host, 'room_closed');
    guest.disconnect();
    await waitFor(host, 'participant_connection', 3_000, (p: { connected: boolean }) => !p.connected);

    let expected = { forward: 0, backward: 0 };
    for (const stepMs of [10 * 60_000, 3 * 3600_000, -30_000]) {
      skew += stepMs;
      expected = { ...expected, [stepMs > 0 ? 'forward' : 'backward']: expected[stepMs > 0 ? 'forward' : 'backward'] + 1 };
      // Ticks keep coming, once a second, counting down (a backward step used to stop them for 30 s).
      const ticks = record(host, 'time_update');
      await eventually(() => expect(ticks.length).toBeGreaterThanOrEqual(2), 3_500, 50);
      expect(ticks[1]!.time_left_ms).toBe(ticks[0]!.time_left_ms - 1_000);
      expect(ticks[1]!._at - ticks[0]!._at).toBeLessThan(1_500);
      // The step ended no grace, countdown or room (a forward step used to end them all at once).
      expect({ stepMs, left: left.length, completed: completed.length, closed: closed.length }).toEqual({ stepMs, left: 0, completed: 0, closed: 0 });
      await eventually(async () => expect(await stepsMetric()).toEqual(expected), DETECT_MS, 100);
    }
    // Nobody left, nothing completed or closed; the guest's seat is still there, dropped.
    expect(left).toHaveLength(0);
    expect(completed).toHaveLength(0);
    expect(closed).toHaveLength(0);
    const room = await server.app.store.get(code);
    expect(room?.status).toBe('active');
    expect(room?.participants.map((p) => p.connected)).toEqual([true, false]);
    // The offset is exported while it is absorbed (about 3 h 9.5 min, less the 1% already absorbed).
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const offset = Number(/^focusroom_clock_offset_seconds (\S+)$/m.exec(text)?.[1]);
    expect(offset).toBeGreaterThan(3 * 3600 + 9 * 60);
    expect(offset).toBeLessThan(3 * 3600 + 10 * 60);
  }, 20_000);
});
