/**
 * The scenario of the Redis blink tests (one Redis, streams adapter; Redis Cluster, sharded
 * pub/sub): a running room with its host on instance A and its guest on B; B's Redis
 * connections are cut, and at once A's host adds a task and pauses. The guest must still
 * get both within 3 s (whatever the adapter lost is repaired), and B's ticker must follow
 * the pause. What comes after (resume, counts, logs) is each test's own.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { call, type Client, connect, eventually, type PayloadOf, record, type Reply, roomWith, waitFor } from './client.js';

export interface BlinkOutcome {
  host: Client;
  guest: Client;
  /** The host's `pause_session` reply. */
  pause: Reply<'pause_session'>;
  /** What the guest received from the start of the blink. */
  paused: Array<PayloadOf<'session_paused'> & { _at: number }>;
  tasks: Array<PayloadOf<'task_added'> & { _at: number }>;
  /** ms from the changes until the guest had both. */
  caughtUp: number;
}

/** Runs the scenario; `cut` cuts B's connections and returns how many (at least `minCut`). */
export async function pauseDuringBlink(aUrl: string, bUrl: string, cut: () => Promise<number>, minCut: number): Promise<BlinkOutcome> {
  const host = await connect(aUrl);
  const guest = await connect(bUrl);
  await roomWith(host, [guest], { session_duration: 60_000 });
  expect((await call(host, 'start_session')).ok).toBe(true);
  await waitFor(guest, 'time_update', 2_000);
  const paused = record(guest, 'session_paused');
  const tasks = record(guest, 'task_added');
  const ticks = record(guest, 'time_update');

  // Right after the cut (the connections come back ~200 ms later), from the other instance:
  expect(await cut()).toBeGreaterThanOrEqual(minCut);
  const [task, pause] = await Promise.all([call(host, 'add_task', { title: 'during the blink' }), call(host, 'pause_session')]);
  expect(task.ok && pause.ok).toBe(true);
  const changedAt = Date.now();

  // Within 3 s (the delivery bound), also when a subscriber comes back unreported.
  await eventually(() => {
    expect(tasks.map((t) => t.task.title)).toEqual(['during the blink']);
    expect(paused).toHaveLength(1);
  }, 3_000);
  const caughtUp = Math.max(paused[0]!._at, tasks[0]!._at) - changedAt;
  expect(paused[0]!.session).toMatchObject({ status: 'paused', ends_at: null });
  // The paused room stops ticking on B (a tick in flight may precede the pause).
  await sleep(1_500);
  expect(ticks.filter((t) => t._at > paused[0]!._at + 50)).toHaveLength(0);
  return { host, guest, pause, paused, tasks, caughtUp };
}
