/**
 * Redis Cluster faults that lose data for good, on a cluster run with
 * `cluster-require-full-coverage no` (docs/scaling.md, "Redis requirements"):
 * - a master and its replica lost together: the rooms in their slots answer
 *   `unavailable`, every other room goes on untouched; when the master comes back empty
 *   (no persistence) those rooms are closed for their sockets as lost;
 * - a master with no replica restarted empty: its rooms closed as lost, as on one Redis.
 * Sockets of every room on two in-process instances (host on A, guest on B).
 */
import { describe, expect, it } from 'vitest';
import { RedisKeys } from '../../src/redis/redis-keys.js';
import { call, type Client, connect, eventually, record, waitFor } from '../helpers/client.js';
import { useRedisClusterPair } from '../helpers/cluster.js';
import { setTimeout as sleep } from 'node:timers/promises';

const PREFIX = 'sl:';
const PARTITIONS = 32;
const keys = new RedisKeys({ prefix: PREFIX, partitions: PARTITIONS });

const pair = useRedisClusterPair({ ids: ['sl-a', 'sl-b'], prefix: PREFIX, partitions: PARTITIONS, cluster: { requireFullCoverage: false } });

interface Room {
  code: string;
  host: Client;
  guest: Client;
  master: number;
}

/** A running room (host on A, guest on B) whose keys live on a master `where` accepts. */
async function roomOn(where: (masterPort: number) => boolean): Promise<Room> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const host = await connect(pair.a.url);
    const created = await call(host, 'create_session', { user_name: 'Host', session_duration: 600_000 });
    expect(created.ok).toBe(true);
    const code = created.room_code as string;
    const master = (await pair.redis.masterForKey(keys.room(code))).port;
    if (!where(master)) {
      await call(host, 'leave_session');
      host.disconnect();
      continue;
    }
    const guest = await connect(pair.b.url);
    expect((await call(guest, 'join_session', { room_code: code, user_name: 'Guest' })).ok).toBe(true);
    expect((await call(host, 'start_session')).ok).toBe(true);
    return { code, host, guest, master };
  }
  throw new Error('no room landed on the wanted master');
}

/** A change in `room` from its host, seen by its guest on the other instance. */
async function works(room: Room, title: string): Promise<void> {
  const seen = waitFor(room.guest, 'task_added', 3_000, (p) => p.task.title === title);
  const reply = await call(room.host, 'add_task', { title }, 3_000);
  expect(reply.ok, JSON.stringify(reply)).toBe(true);
  await seen;
}

/** Both sockets of `room` told `room_closed { reason: 'lost' }`; returns the ms since `since`. */
async function closedAsLost(room: Room, closed: Array<Array<{ reason: string; _at: number }>>, since: number): Promise<number> {
  await eventually(() => {
    for (const c of closed) expect(c.map((e) => e.reason)).toEqual(['lost']);
  }, 8_000);
  // Unseated: the next event is refused as not in a session.
  const after = await call(room.guest, 'add_task', { title: 'after' });
  expect(after.ok ? 'ok' : after.error.code).toBe('not_in_session');
  return Math.max(...closed.map((c) => c[0]!._at)) - since;
}

describe('Redis Cluster: slots that lose their data', () => {
  it('a master and its replica lost together: their rooms answer unavailable, others untouched; closed as lost when the slot comes back empty', { timeout: 120_000 }, async () => {
    const rc = pair.redis;
    const lostRoom = await roomOn(() => true);
    const victim = lostRoom.master;
    const other = await roomOn((m) => m !== victim);
    await works(other, 'before');
    const closed = [record(lostRoom.host, 'room_closed'), record(lostRoom.guest, 'room_closed')];

    const replicas = await rc.replicasOf(victim);
    expect(replicas.length).toBeGreaterThanOrEqual(1);
    for (const r of replicas) rc.killNode(r.port);
    rc.killNode(victim);
    const killedAt = Date.now();

    // The lost slot's room answers unavailable; the other room works throughout.
    const refused: string[] = [];
    let n = 0;
    while (Date.now() - killedAt < 4_000) {
      const reply = await call(lostRoom.host, 'add_task', { title: `probe ${n}` }, 5_000);
      refused.push(reply.ok ? 'ok' : reply.error.code);
      await works(other, `during ${n++}`);
      await sleep(200);
    }
    console.log(`[cluster] master + replica lost: the lost slot's room answered ${[...new Set(refused)].join(', ')} (${refused.length} calls); the other room worked ${n} times`);
    expect(refused.filter((c) => c !== 'unavailable')).toEqual([]);
    expect(closed.flat()).toEqual([]);

    // The master comes back empty (no persistence): the room is gone, its sockets are told.
    await rc.restartNode(victim);
    const back = Date.now();
    const ms = await closedAsLost(lostRoom, closed, back);
    console.log(`[cluster] master + replica lost, master back empty: room_closed lost ${ms} ms after it rejoined`);
    expect(ms).toBeLessThan(5_000);
    await works(other, 'after');
    // New rooms on the restarted master work.
    await works(await roomOn((m) => m === victim), 'new room');
  });

  it('a master without a replica restarted empty: its rooms closed as lost, others untouched', { timeout: 120_000 }, async () => {
    const rc = pair.redis;
    // The master of the previous test has no live replica any more.
    const replicaless: number[] = [];
    for (const s of (await rc.topology()).filter((t) => t.role === 'master' && t.slots.length > 0)) {
      if ((await rc.replicasOf(s.port)).every((r) => !rc.nodes.find((n) => n.port === r.port)?.alive)) replicaless.push(s.port);
    }
    expect(replicaless).toHaveLength(1);
    const victim = replicaless[0]!;
    const lostRoom = await roomOn((m) => m === victim);
    const other = await roomOn((m) => m !== victim);
    const closed = [record(lostRoom.host, 'room_closed'), record(lostRoom.guest, 'room_closed')];
    rc.killNode(victim);
    await sleep(500);
    await rc.restartNode(victim);
    const back = Date.now();
    const ms = await closedAsLost(lostRoom, closed, back);
    console.log(`[cluster] master without replica restarted empty: room_closed lost ${ms} ms after it rejoined`);
    expect(ms).toBeLessThan(5_000);
    await works(other, 'untouched');
  });
});
