/**
 * The other side of releasing a dead instance's seats: an instance that only stalled
 * (here `SIGSTOP`, like a long GC pause or a frozen VM) for longer than
 * INSTANCE_TIMEOUT_MS is declared dead and its seats are released, but its sockets are
 * still open. When it wakes up it finds the tombstone and takes its seats back, so its
 * clients keep their seats without doing anything.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call, closeAllClients, connect, eventually, record, waitFor } from '../helpers/client.js';
import { newInstance, newRedis } from '../helpers/cluster.js';
import type { TestRedis } from '../helpers/redis-server.js';
import type { ChildInstance } from '../helpers/process.js';
import { setTimeout as sleep } from 'node:timers/promises';

const INSTANCE_TIMEOUT = 1_000;
let redis: TestRedis;
let one: ChildInstance | undefined;
let two: ChildInstance | undefined;

beforeAll(async () => {
  redis = await newRedis();
  const env = { DISCONNECT_GRACE_MS: '10000', INSTANCE_TIMEOUT_MS: String(INSTANCE_TIMEOUT) };
  [one, two] = await Promise.all(['stall-1', 'stall-2'].map((id) => newInstance({ redisUrl: redis.url, id, env })));
}, 30_000);
// A frozen instance must be woken before the teardown kills it (SIGKILL works anyway; SIGCONT keeps its exit prompt).
afterAll(() => one?.signal('SIGCONT'));
afterEach(() => closeAllClients());

describe('an instance that stalls past INSTANCE_TIMEOUT_MS', () => {
  it('has its seats released, then takes them back when it wakes up', async () => {
    const host = await connect(one!.url);
    const guest = await connect(two!.url);
    const created = await call(host, 'create_session', { user_name: 'Host' });
    expect(created.ok).toBe(true);
    expect((await call(guest, 'join_session', { room_code: created.room_code, user_name: 'Guest' })).ok).toBe(true);
    const seen = record(guest, 'participant_connection');
    const hostDrops = record(host, 'disconnect');

    one!.signal('SIGSTOP');
    try {
      const released = await waitFor(guest, 'participant_connection', INSTANCE_TIMEOUT + 3_000);
      expect(released).toMatchObject({ participant_id: created.participant_id, connected: false });
    } finally {
      one!.signal('SIGCONT');
    }
    const wokeAt = Date.now();
    const back = await waitFor(guest, 'participant_connection', 3_000, (p) => p.connected === true);
    expect(back.participant_id).toBe(created.participant_id);
    console.log(`[cluster] stalled instance took its seat back ${Date.now() - wokeAt} ms after waking`);

    // The host's connection never dropped and its seat works as before.
    expect(hostDrops).toHaveLength(0);
    const status = waitFor(guest, 'participant_status_updated');
    expect((await call(host, 'start_session')).ok).toBe(true);
    expect((await call(host, 'update_status', { status: 'paused' })).ok).toBe(true);
    expect(await status).toMatchObject({ participant_id: created.participant_id, status: 'paused' });
    await sleep(500);
    await eventually(() => expect(seen.map((p) => p.connected)).toEqual([false, true]));
  });
});
