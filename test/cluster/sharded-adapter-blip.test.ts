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
import { call, waitFor } from '../helpers/client.js';
import { useRedisClusterPair } from '../helpers/cluster.js';
import { pauseDuringBlink } from '../helpers/redis-blink.js';

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
    const { host, guest, pause, paused, tasks, caughtUp } = await pauseDuringBlink(pair.a.url, pair.b.url, () => blinkSubscribers('sblip-b'), 1);
    expect(paused[0]!.seq).toBe(pause.session.seq);
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
