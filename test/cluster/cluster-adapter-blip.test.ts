/**
 * Redis Cluster, sharded pub/sub: one instance's subscriber connections blink (CLIENT
 * KILL on every master; Redis stays up). Pub/sub keeps nothing for an absent
 * subscriber, so the broadcasts made meanwhile on the other instance never arrive by
 * pub/sub; the blinking instance sends them from the rooms' history streams, found by a
 * gap, by its periodic check or after ioredis reports the resubscribe
 * (src/cluster/delivery-gate.ts, delivery-check.ts), and its ticker follows the pause.
 * Measured: how long after the changes B's client had them.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { call, connect, eventually, record, roomWith, waitFor } from '../helpers/client.js';
import { useRedisClusterPair } from '../helpers/cluster.js';
import { sleep } from '../helpers/sleep.js';

const pair = useRedisClusterPair({ ids: ['sblip-a', 'sblip-b'], prefix: 'sb:', cluster: { replicasPerMaster: 0 } });

/** Kills instance B's subscriber connections on every node; returns how many. */
async function blinkSubscribers(instanceId: string): Promise<number> {
  let killed = 0;
  for (const node of pair.redis.nodes) {
    const admin = new Redis(node.url);
    try {
      const list = (await admin.client('LIST')) as string;
      const ids = list
        .split('\n')
        .filter((l) => l.includes(`(ssubscriber):focusroom:${instanceId}:adapter-sub`))
        .map((l) => /\bid=(\d+)/.exec(l)![1]!);
      for (const id of ids) await admin.client('KILL', 'ID', id);
      killed += ids.length;
    } finally {
      admin.disconnect();
    }
  }
  return killed;
}

describe("an instance's sharded subscribers blink", () => {
  it('its clients still get the broadcasts made meanwhile (replayed from history), and its ticker follows them', async () => {
    const host = await connect(pair.a.url);
    const guest = await connect(pair.b.url);
    await roomWith(host, [guest], { session_duration: 60_000 });
    expect((await call(host, 'start_session')).ok).toBe(true);
    await waitFor(guest, 'time_update', 2_000);
    const paused = record(guest, 'session_paused');
    const tasks = record(guest, 'task_added');
    const ticks = record(guest, 'time_update');

    expect(await blinkSubscribers('sblip-b')).toBeGreaterThanOrEqual(1);
    const [task, pause] = await Promise.all([call(host, 'add_task', { title: 'during the blink' }), call(host, 'pause_session')]);
    expect(task.ok && pause.ok).toBe(true);
    const changedAt = Date.now();

    // Repaired within 3 s (the delivery guarantee's bound), also when ioredis re-creates the subscriber
    // without reporting it: the periodic check finds B behind the store.
    await eventually(() => {
      expect(tasks.map((t) => t.task.title)).toEqual(['during the blink']);
      expect(paused).toHaveLength(1);
    }, 3_000);
    const caughtUp = Math.max(paused[0]!._at, tasks[0]!._at) - changedAt;
    expect(paused[0]!.session).toMatchObject({ status: 'paused', ends_at: null });
    expect(paused[0]!.seq).toBe(pause.session.seq);
    await sleep(1_500);
    expect(ticks.filter((t) => t._at > paused[0]!._at + 50)).toHaveLength(0);
    // Once each, though pub/sub may deliver them too once the subscriber is back.
    expect(tasks).toHaveLength(1);
    expect(paused).toHaveLength(1);
    console.log(`[cluster] sharded subscriber blink on B: broadcasts from A made during it reached B's client ${caughtUp} ms later`);

    // After the blink, pub/sub flows again.
    const resumed = await call(host, 'resume_timer');
    expect(resumed.ok).toBe(true);
    const tick = await waitFor(guest, 'time_update', 2_500, (t) => t.ends_at === resumed.session.ends_at);
    expect(tick.time_left_ms % 1_000).toBe(0);
  }, 30_000);
});
