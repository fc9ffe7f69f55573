/**
 * Measures the Socket.IO Redis adapters side by side (docs/scaling.md, "How we got here"):
 * two bare Socket.IO servers sharing a throwaway redis-server (or, for `sharded`, a
 * 3-master Redis Cluster with one replica each), a client on server B in a room,
 * server A broadcasting to it. For each adapter:
 *
 *   latency   cross-instance broadcast delay (500 messages, 2 ms apart)
 *   sub-blip  B's reading connection is killed once (CLIENT KILL) mid-stream
 *   freeze    Redis is stopped (SIGSTOP) for 2 s and continued
 *   crash     Redis is killed and restarted empty 1.5 s later
 *             (sharded: the master owning the room's channel is killed, its replica promoted)
 *
 * These are the bare adapters: what focusroom adds on top (the history replay after a
 * sharded resubscribe) is measured by test/cluster/sharded-adapter-blip.test.ts.
 *
 * Both adapters are installed (the streams adapter is what src/app.ts uses; the
 * pub/sub adapter is a dev dependency for this comparison). Opt-in scenario `adapters`:
 *
 *   npm run bench -- --only adapters --runtime src [--adapters pubsub,streams,sharded]
 *
 * The figures are printed as they come (the JSON holds the adapters measured).
 */
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import { createAdapter as createPubSubAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { createAdapter as createStreamsAdapter } from '@socket.io/redis-streams-adapter';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { Server } from 'socket.io';
import { io as connectClient } from 'socket.io-client';
import { startRedisCluster, type TestRedisCluster } from '../../test/helpers/redis-cluster.js';
import { startRedis, type TestRedis } from '../../test/helpers/redis-server.js';

import type { Scenario } from './scenario.js';

type Kind = 'pubsub' | 'streams' | 'sharded';
const KINDS: readonly Kind[] = ['pubsub', 'streams', 'sharded'];

/** The options app.ts gives its adapter connections. */
const redisOptions = (name: string): RedisOptions => ({
  lazyConnect: true,
  connectionName: name,
  maxRetriesPerRequest: 1,
  enableOfflineQueue: true,
  retryStrategy: (times) => Math.min(times * 200, 2_000),
});

async function redisClient(url: string, name: string): Promise<Redis> {
  const r = new Redis(url, redisOptions(name));
  r.on('error', () => {});
  await r.connect();
  // Same guard as app.ts: a failed publish is a lost broadcast, not an unhandled rejection.
  const target = r as unknown as { publish: (...a: unknown[]) => Promise<unknown>; xadd: (...a: unknown[]) => Promise<unknown> };
  for (const m of ['publish', 'xadd'] as const) {
    const orig = target[m].bind(r);
    target[m] = (...a) => orig(...a).catch(() => 0);
  }
  return r;
}

interface Node {
  io: Server;
  url: string;
  clients: (Redis | Cluster)[];
}

/** A Cluster client with the options app.ts gives its adapter connections. */
async function clusterClient(cluster: TestRedisCluster, name: string, shardedSubscribers: boolean): Promise<Cluster> {
  const c = new Cluster(cluster.seedNodes, {
    lazyConnect: true,
    shardedSubscribers,
    scaleReads: 'master',
    redisOptions: { ...redisOptions(name), lazyConnect: undefined },
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    slotsRefreshInterval: 2_000,
  });
  c.on('error', () => {});
  await c.connect();
  const target = c as unknown as Record<'spublish' | 'ssubscribe' | 'sunsubscribe', (...a: unknown[]) => Promise<unknown>>;
  for (const m of ['spublish', 'ssubscribe', 'sunsubscribe'] as const) {
    const orig = target[m].bind(c);
    target[m] = (...a) => orig(...a).catch(() => 0);
  }
  return c;
}

async function node(kind: Kind, redisUrl: string, name: string, cluster?: TestRedisCluster): Promise<Node> {
  const http = createServer();
  const io = new Server(http);
  const clients: (Redis | Cluster)[] = [];
  if (kind === 'sharded') {
    const pub = await clusterClient(cluster!, `${name}-pub`, false);
    const sub = await clusterClient(cluster!, `${name}-sub`, true);
    clients.push(pub, sub);
    io.adapter(createShardedAdapter(pub, sub, { channelPrefix: 'm:io', subscriptionMode: 'dynamic' }));
  } else if (kind === 'pubsub') {
    const pub = await redisClient(redisUrl, `${name}-pub`);
    const sub = await redisClient(redisUrl, `${name}-sub`);
    clients.push(pub, sub);
    io.adapter(createPubSubAdapter(pub, sub, { key: 'm:io' }));
  } else {
    const c = await redisClient(redisUrl, `${name}-stream`);
    clients.push(c);
    io.adapter(createStreamsAdapter(c, { streamName: 'm:stream', blockTimeInMs: 1_000 }));
  }
  io.on('connection', (s) => s.join('room'));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return { io, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, clients };
}

/** Kills every Redis connection whose name starts with `prefix` (the reading side of a node). */
async function killConnections(admin: Redis, prefix: string): Promise<number> {
  const list = (await admin.client('LIST')) as string;
  const ids = list
    .split('\n')
    .filter((l) => new RegExp(`name=${prefix}`).test(l))
    .map((l) => /id=(\d+)/.exec(l)?.[1])
    .filter(Boolean) as string[];
  for (const id of ids) await admin.client('KILL', 'ID', id);
  return ids.length;
}

interface Run {
  sent: number;
  received: number;
  duplicates: number;
  lostDuring: string;
}

/**
 * A sends one message every `everyMs` for `totalMs`; `disturb` runs at `atMs`. Counts
 * what B's client got (after a settle time) and which sequence numbers went missing.
 */
async function stream(a: Node, b: Node, totalMs: number, everyMs: number, atMs: number, disturb: () => Promise<void>): Promise<Run> {
  const client = connectClient(b.url, { transports: ['websocket'], forceNew: true });
  await new Promise<void>((r) => client.once('connect', () => r()));
  await sleep(300); // B's subscription / stream reader is in place
  const got: number[] = [];
  client.on('m', (i: number) => got.push(i));
  let i = 0;
  const t0 = Date.now();
  let disturbed: Promise<void> | null = null;
  while (Date.now() - t0 < totalMs) {
    if (!disturbed && Date.now() - t0 >= atMs) disturbed = disturb();
    a.io.to('room').emit('m', i++);
    await sleep(everyMs);
  }
  await disturbed;
  await sleep(2_500);
  client.close();
  const seen = new Set(got);
  const missing = [...Array(i).keys()].filter((k) => !seen.has(k));
  const lostDuring = missing.length ? `${missing[0]}..${missing.at(-1)} (${missing.length})` : '-';
  return { sent: i, received: seen.size, duplicates: got.length - seen.size, lostDuring };
}

async function latency(a: Node, b: Node): Promise<string> {
  const client = connectClient(b.url, { transports: ['websocket'], forceNew: true });
  await new Promise<void>((r) => client.once('connect', () => r()));
  await sleep(300);
  const delays: number[] = [];
  client.on('t', (sentAt: number) => delays.push(performance.now() + performance.timeOrigin - sentAt));
  for (let k = 0; k < 500; k++) {
    a.io.to('room').emit('t', performance.now() + performance.timeOrigin);
    await sleep(2);
  }
  await sleep(1_000);
  client.close();
  delays.sort((x, y) => x - y);
  const q = (p: number) => delays[Math.min(delays.length - 1, Math.floor(p * delays.length))]!.toFixed(2);
  return `n=${delays.length} p50=${q(0.5)} ms p95=${q(0.95)} ms p99=${q(0.99)} ms max=${delays.at(-1)!.toFixed(2)} ms`;
}

/** Kills B's sharded subscriber connections on every node of the cluster. */
async function killSubscribers(cluster: TestRedisCluster, name: string): Promise<number> {
  let n = 0;
  for (const node of cluster.nodes.filter((x) => x.alive)) {
    const admin = new Redis(node.url, { maxRetriesPerRequest: 1 });
    admin.on('error', () => {});
    try {
      n += await killConnections(admin, `ioredis-cluster\\(ssubscriber\\):${name}`);
    } finally {
      admin.disconnect();
    }
  }
  return n;
}

async function measureSharded(): Promise<void> {
  const cluster = await startRedisCluster();
  const a = await node('sharded', '', 'A', cluster);
  const b = await node('sharded', '', 'B', cluster);
  try {
    console.log(`\n[sharded] latency:  ${await latency(a, b)}`);
    const blip = await stream(a, b, 2_000, 5, 500, async () => {
      console.log(`[sharded] sub-blip: killed ${await killSubscribers(cluster, 'B-sub')} connection(s) of B`);
    });
    console.log(`[sharded] sub-blip: sent ${blip.sent}, B's client got ${blip.received}, duplicates ${blip.duplicates}, missing ${blip.lostDuring}`);
    const owner = await cluster.masterForKey('m:io#/#room#');
    const freeze = await stream(a, b, 3_000, 5, 500, async () => {
      process.kill(owner.pid, 'SIGSTOP');
      await sleep(2_000);
      process.kill(owner.pid, 'SIGCONT');
    });
    console.log(`[sharded] freeze:   (the channel's master, 2 s) sent ${freeze.sent}, B's client got ${freeze.received}, duplicates ${freeze.duplicates}, missing ${freeze.lostDuring}`);
    await sleep(3_000); // a freeze longer than the node timeout may have failed the master over; let the cluster settle
    const victim = await cluster.masterForKey('m:io#/#room#');
    let failoverMs = 0;
    const failover = await stream(a, b, 6_000, 5, 500, async () => {
      await cluster.killMaster(victim.port);
      failoverMs = await cluster.waitForFailover();
    });
    console.log(`[sharded] failover: (the channel's master killed, promoted in ${failoverMs} ms) sent ${failover.sent}, B's client got ${failover.received}, duplicates ${failover.duplicates}, missing ${failover.lostDuring}`);
  } finally {
    for (const n of [a, b]) {
      n.io.close();
      for (const c of n.clients) c.disconnect();
    }
    await cluster.stop();
  }
}

async function measure(kind: Kind): Promise<void> {
  if (kind === 'sharded') return measureSharded();
  const redis: TestRedis = await startRedis();
  const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  admin.on('error', () => {});
  const a = await node(kind, redis.url, 'A');
  const b = await node(kind, redis.url, 'B');
  try {
    console.log(`\n[${kind}] latency:  ${await latency(a, b)}`);
    const blip = await stream(a, b, 2_000, 5, 500, async () => {
      const n = await killConnections(admin, kind === 'pubsub' ? 'B-sub' : 'B-stream');
      console.log(`[${kind}] sub-blip: killed ${n} connection(s) of B`);
    });
    console.log(`[${kind}] sub-blip: sent ${blip.sent}, B's client got ${blip.received}, duplicates ${blip.duplicates}, missing ${blip.lostDuring}`);
    const freeze = await stream(a, b, 3_000, 5, 500, async () => {
      process.kill(redis.pid, 'SIGSTOP');
      await sleep(2_000);
      process.kill(redis.pid, 'SIGCONT');
    });
    console.log(`[${kind}] freeze:   sent ${freeze.sent}, B's client got ${freeze.received}, duplicates ${freeze.duplicates}, missing ${freeze.lostDuring}`);
    const crash = await stream(a, b, 4_000, 5, 500, async () => {
      redis.kill();
      await sleep(1_500);
      await redis.restart();
    });
    console.log(`[${kind}] crash:    sent ${crash.sent}, B's client got ${crash.received}, duplicates ${crash.duplicates}, missing ${crash.lostDuring}`);
  } finally {
    for (const n of [a, b]) {
      n.io.close();
      for (const c of n.clients) c.disconnect();
    }
    admin.disconnect();
    await redis.stop();
  }
}

export const adapters: Scenario = {
  summary: 'the bare Socket.IO Redis adapters (pub/sub, streams, sharded) side by side: cross-instance latency, what a subscriber kill, a freeze and a crash lose',
  optIn: true,
  async run(ctx): Promise<{ adapters: Kind[] }> {
    const kinds = ctx.opts.adapters as Kind[];
    for (const k of kinds) if (!KINDS.includes(k)) throw new Error(`--adapters: unknown adapter "${k}" (one of ${KINDS.join(', ')})`);
    for (const kind of kinds) await measure(kind);
    return { adapters: kinds };
  },
};
