/**
 * Every room event once, in order, to every socket, under the faults that
 * break pub/sub: a room with sockets on two instances, events produced at ~6/s from
 * both, and meanwhile
 * - Redis Cluster: every pub/sub connection killed (`CLIENT KILL TYPE pubsub`), the
 *   room's data master SIGKILLed with its replica promoted, the room's channel master
 *   and data master each frozen 2 s (SIGSTOP/SIGCONT);
 * - one Redis (streams adapter): every pub/sub and adapter connection killed, Redis
 *   frozen 2 s.
 * After each fault every raw socket.io-client socket must have, within 3 s, every event of
 * the room's history committed by then, each once, in `seq` order (no gap, no
 * duplicate); the time it took is logged.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RedisKeys } from '../../src/redis/redis-keys.js';
import { call, type Client, connect } from '../helpers/client.js';
import { useRedisClusterPair, useRedisPair } from '../helpers/cluster.js';
import { deliveryFaults, type DeliveryLog, roomHistory, trackDeliveries } from '../helpers/delivery-log.js';
import type { TestRedisCluster } from '../helpers/redis-cluster.js';
import type { TestServer } from '../helpers/server.js';
import { setTimeout as sleep } from 'node:timers/promises';

/** Every socket has everything within this after a fault ends (the delivery guarantee's bound). */
const BOUND_MS = 3_000;
const PREFIX = 'dl:';
const PARTITIONS = 32;

interface Room {
  code: string;
  hostToken: string;
  sockets: Client[];
  logs: DeliveryLog[];
}

/** Host on A, guests on B (two) and A (one); every socket's deliveries tracked from its snapshot. */
async function liveRoom(a: TestServer, b: TestServer): Promise<Room> {
  const host = await connect(a.url);
  const created = await call(host, 'create_session', { user_name: 'Host', session_duration: 600_000 });
  expect(created.ok).toBe(true);
  const code = created.room_code as string;
  const logs = [trackDeliveries(host, 'host@A', created.participant_id, created.session.seq)];
  const sockets = [host];
  for (const [i, url] of [b.url, b.url, a.url].entries()) {
    const g = await connect(url);
    const j = await call(g, 'join_session', { room_code: code, user_name: `G${i}` });
    expect(j.ok).toBe(true);
    logs.push(trackDeliveries(g, `g${i}@${url === a.url ? 'A' : 'B'}`, j.participant_id, j.session.seq));
    sockets.push(g);
  }
  expect((await call(host, 'start_session')).ok).toBe(true);
  return { code, hostToken: created.resume_token, sockets, logs };
}

/** Changes from every socket in turn, ~6/s, until stopped; failures (a fault) are ignored. */
function produce(room: Room): { stop(): Promise<number> } {
  let running = true;
  let n = 0;
  // Statuses allowed while the countdown runs, alternating for each member.
  const statuses = ['focusing', 'paused'] as const;
  const loop = (async () => {
    while (running) {
      const who = room.sockets[n % room.sockets.length]!;
      const step = n++;
      const reply =
        step % 2 === 0
          ? call(who, 'update_status', { status: statuses[(step >> 2) % 2]! }, 4_000)
          : call(room.sockets[0]!, 'add_task', { title: `t${step}` }, 4_000).then(async (r) => {
              // Keep the room under its task cap: each task is removed again.
              if (r.ok) await call(room.sockets[0]!, 'remove_task', { task_id: r.task.id }, 4_000);
              return r;
            });
      await reply.catch(() => null);
      await sleep(150);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return n;
    },
  };
}

/**
 * Resolves with the ms since `since` when every socket has every event committed up to
 * now, once and in order; throws with the faults after BOUND_MS.
 */
async function everyoneHasEverything(url: string, room: Room, since: number, label: string): Promise<number> {
  // The history as of now (retried while the store is still coming back).
  let history = await roomHistory(url, room.code, room.hostToken).catch(() => null);
  while (!history) {
    await sleep(100);
    history = await roomHistory(url, room.code, room.hostToken).catch(() => null);
  }
  const upTo = history.at(-1)!.seq;
  const deadline = since + BOUND_MS;
  for (;;) {
    const faults = room.logs.map((log) => ({ log: log.name, ...deliveryFaults(log, history, upTo) }));
    const bad = faults.filter((f) => f.duplicates.length > 0 || f.missing.length > 0 || f.outOfOrder > 0);
    // Duplicates and disorder never heal: fail at once.
    expect(bad.filter((f) => f.duplicates.length > 0 || f.outOfOrder > 0), label).toEqual([]);
    if (bad.length === 0) return Date.now() - since;
    if (Date.now() > deadline) expect(bad, `${label}: still missing ${BOUND_MS} ms after the fault`).toEqual([]);
    await sleep(25);
  }
}

/** The master serving `key` once one does (a freeze before may have left a failover under way). */
async function liveMasterFor(rc: TestRedisCluster, key: string) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await rc.masterForKey(key);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

/** Kills every pub/sub client (and, with `alsoNamed`, every client whose name contains it) on `url`. */
async function killPubSub(urls: string[], alsoNamed?: string): Promise<void> {
  for (const url of urls) {
    const admin = new Redis(url);
    try {
      await admin.client('KILL', 'TYPE', 'pubsub');
      if (alsoNamed) {
        const list = (await admin.client('LIST')) as string;
        for (const line of list.split('\n').filter((l) => l.includes(alsoNamed))) await admin.client('KILL', 'ID', /\bid=(\d+)/.exec(line)![1]!).catch(() => 0);
      }
    } finally {
      admin.disconnect();
    }
  }
}

describe('Redis Cluster (sharded pub/sub): every socket gets every room event once, in order, through faults', () => {
  const pair = useRedisClusterPair({ ids: ['dl-a', 'dl-b'], prefix: PREFIX, partitions: PARTITIONS });
  const keys = new RedisKeys({ prefix: PREFIX, partitions: PARTITIONS });

  it('subscriber kills, frozen masters and a failover: no gap, no duplicate, repaired within 3 s', { timeout: 120_000 }, async () => {
    const { redis: rc, a, b } = pair;
    const room = await liveRoom(a, b);
    const producer = produce(room);
    const took: string[] = [];
    try {
      await sleep(1_000);
      await everyoneHasEverything(a.url, room, Date.now(), 'before any fault');

      // 1. Every pub/sub connection of both instances killed, on every node.
      await killPubSub(rc.nodes.filter((n) => n.alive).map((n) => n.url));
      let t = Date.now();
      took.push(`pubsub kill ${await everyoneHasEverything(a.url, room, t, 'pubsub kill')} ms`);

      // 2. The room's data master SIGKILLed; its replica promoted; the old master rejoins as its replica.
      const victim = await rc.masterForKey(keys.room(room.code));
      await rc.waitForReplication();
      await rc.killMaster(victim.port);
      const failoverMs = await rc.waitForFailover();
      t = Date.now();
      took.push(`data master killed (failover ${failoverMs} ms): ${await everyoneHasEverything(a.url, room, t, 'failover')} ms after the promotion`);
      await rc.restartNode(victim.port);

      // 3. The room's channel master, then its data master, frozen 2 s (past the 1 s
      // cluster-node-timeout: a frozen master may be failed over meanwhile too).
      for (const what of ['channel', 'data'] as const) {
        const node = await liveMasterFor(rc, what === 'channel' ? `${PREFIX}io#/#r:${room.code}#` : keys.room(room.code));
        process.kill(node.pid, 'SIGSTOP');
        await sleep(2_000);
        process.kill(node.pid, 'SIGCONT');
        t = Date.now();
        took.push(`${what} master frozen 2 s: ${await everyoneHasEverything(a.url, room, t, `${what} master frozen`)} ms`);
      }
    } finally {
      const produced = await producer.stop();
      console.log(`[cluster] delivery once, in order (${produced} changes, ${room.logs.length} sockets): ${took.join('; ')}`);
    }
    await everyoneHasEverything(a.url, room, Date.now(), 'at the end');
    const repairs = await metricValues(a.url, b.url);
    console.log(`[cluster] delivery repairs: ${repairs}`);
  });
});

describe('one Redis (streams adapter): every socket gets every room event once, in order, through faults', () => {
  const pair = useRedisPair({ ids: ['dls-a', 'dls-b'], prefix: PREFIX });

  it('adapter connections killed and Redis frozen 2 s: no gap, no duplicate, repaired within 3 s', { timeout: 60_000 }, async () => {
    const { redis, a, b } = pair;
    const room = await liveRoom(a, b);
    const producer = produce(room);
    const took: string[] = [];
    try {
      await sleep(1_000);
      await killPubSub([redis.url], ':adapter');
      let t = Date.now();
      took.push(`adapter connections killed: ${await everyoneHasEverything(a.url, room, t, 'adapter kill')} ms`);
      process.kill(redis.pid, 'SIGSTOP');
      await sleep(2_000);
      process.kill(redis.pid, 'SIGCONT');
      t = Date.now();
      took.push(`frozen 2 s: ${await everyoneHasEverything(a.url, room, t, 'frozen')} ms`);
    } finally {
      await producer.stop();
      console.log(`[standalone] delivery once, in order: ${took.join('; ')}`);
    }
    await everyoneHasEverything(a.url, room, Date.now(), 'at the end');
  });
});

/** `focusroom_delivery_*` lines of both instances' /metrics, for the log. */
async function metricValues(...urls: string[]): Promise<string> {
  const out: string[] = [];
  for (const url of urls) {
    const text = await (await fetch(`${url}/metrics`)).text();
    out.push(
      text
        .split('\n')
        .filter((l) => l.startsWith('focusroom_delivery_'))
        .join(', '),
    );
  }
  return out.join(' | ');
}
