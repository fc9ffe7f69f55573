/**
 * One instance's connections to Redis blink (CLIENT KILL; Redis itself stays up, as on a
 * network hiccup, a proxy or an idle timeout dropping connections, or Redis cutting a
 * slow pub/sub subscriber at its output-buffer limit). Broadcasts made meanwhile on the
 * other instance still reach this instance's clients: the streams adapter reads on from
 * where it was (with the pub/sub adapter they are simply lost: docs/scaling.md,
 * "How we got here"). The blinking instance's ticker follows those replayed events too, so it
 * stops ticking a paused room: the replayed stream is how every other instance learns of
 * a timer change.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, waitFor } from '../helpers/client.js';
import { useCluster } from '../helpers/cluster.js';
import { pauseDuringBlink } from '../helpers/redis-blink.js';

const cluster = useCluster({ ids: ['blip-a', 'blip-b'], prefix: 'bl:' });
const servers = cluster.servers;
let admin: Redis;

beforeAll(() => {
  admin = new Redis(cluster.redis.url);
});
afterAll(() => admin?.disconnect());

/** Kills every adapter connection of one instance (its writer, stream reader and subscriber). */
async function blink(instanceId: string): Promise<number> {
  const list = (await admin.client('LIST')) as string;
  const ids = list
    .split('\n')
    .filter((l) => l.includes(`name=focusroom:${instanceId}:adapter`))
    .map((l) => /\bid=(\d+)/.exec(l)![1]!);
  for (const id of ids) await admin.client('KILL', 'ID', id);
  return ids.length;
}

describe("an instance's adapter connections blink", () => {
  it('its clients still get every broadcast made meanwhile, and its ticker follows them', async () => {
    const { host, guest, caughtUp } = await pauseDuringBlink(servers[0]!.url, servers[1]!.url, () => blink('blip-b'), 2);

    // And after the blink everything flows as usual.
    const resumed = await call(host, 'resume_timer');
    expect(resumed.ok).toBe(true);
    const tick = await waitFor(guest, 'time_update', 2_500, (t) => t.ends_at === resumed.session.ends_at);
    expect(tick.time_left_ms % 1_000).toBe(0);
    console.log(`[cluster] adapter blink on B: broadcasts from A made during it reached B's client ${caughtUp} ms later`);
  });
});
