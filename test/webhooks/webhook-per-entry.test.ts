/**
 * Webhook delivery per entry: against a real receiver that answers
 * 503 to every 20th request (5%), join/leave churn queuing ~36 webhooks a second is
 * delivered as fast as it comes, with the shipped consumer settings. Before, one failed
 * entry of a 20-entry batch backed the whole loop off (500 ms doubling to 30 s): ~6
 * deliveries/s and a growing backlog. Also: the memory outbox bounded in bytes.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { MemoryOutbox } from '../../src/store/memory-outbox.js';
import { RedisOutbox } from '../../src/store/redis-outbox.js';
import { call, closeAllClients, connect, eventually } from '../helpers/client.js';
import { startRedis } from '../helpers/redis-server.js';
import { startServer } from '../helpers/server.js';

const SECRET = `whsec_${Buffer.from('focusroom-test-webhook-secret-0123').toString('base64')}`;

let receiver: Server;
let receiverUrl: string;
let requests = 0;
const delivered = new Set<string>();

beforeAll(async () => {
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests += 1;
      if (requests % 20 === 0) return res.writeHead(503).end();
      delivered.add(String(req.headers['webhook-id']));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
afterAll(() => {
  closeAllClients();
  receiver.closeAllConnections();
  receiver.close();
});

it.each(['memory', 'redis'] as const)('%s outbox: a receiver failing 5% keeps up with 36 deliveries/s: each failed entry backs off alone', async (mode) => {
  const redis = mode === 'redis' ? await startRedis() : null;
  // The shipped consumer options (no test overrides): batch 20, backoff 500 ms .. 30 s.
  const server = await startServer({ WEBHOOK_URL: receiverUrl, WEBHOOK_SECRET: SECRET, ...(redis ? { REDIS_URL: redis.url } : {}) });
  requests = 0;
  delivered.clear();
  try {
    const host = await connect(server.url);
    const created = await call(host, 'create_session', { user_name: 'Host', max_participants: 50 });
    const guest = await connect(server.url);
    const SECONDS = 5;
    const PAIRS_PER_S = 18; // a join and a leave each: 36 webhooks a second
    // First a burst (a backlog, as after a receiver restart): batches are then full, and
    // before, every full batch held one failure, so the loop's backoff never reset.
    const BURST = 100;
    for (let i = 0; i < BURST; i++) {
      expect(await call(guest, 'join_session', { room_code: created.room_code, user_name: `B${i}` })).toMatchObject({ ok: true });
      expect(await call(guest, 'leave_session', {})).toMatchObject({ ok: true });
    }
    const t0 = Date.now();
    for (let i = 0; i < SECONDS * PAIRS_PER_S; i++) {
      expect(await call(guest, 'join_session', { room_code: created.room_code, user_name: `G${i}` })).toMatchObject({ ok: true });
      expect(await call(guest, 'leave_session', {})).toMatchObject({ ok: true });
      // Pace to 18 pairs a second (the generator's clock, not a wait for the server).
      const due = t0 + ((i + 1) * 1000) / PAIRS_PER_S;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
    const generated = 2 * (BURST + SECONDS * PAIRS_PER_S);
    // Within 3 s of the last event everything is delivered (before: a backlog growing by ~30/s).
    await eventually(async () => {
      expect((await server.app.outbox.stats('webhooks')).depth).toBe(0);
    }, 3_000, 50);
    expect(delivered.size).toBeGreaterThanOrEqual(generated);
    expect(requests).toBeGreaterThan(generated);
    // Delivered per second over the run (burst included), at least the generated 36/s.
    expect(delivered.size / ((Date.now() - t0) / 1000)).toBeGreaterThan(36);
  } finally {
    await server.close();
    await redis?.stop();
  }
}, 30_000);

it('the memory outbox is bounded in bytes as well as count: the oldest entries go first, counted as dropped', async () => {
  const outbox = new MemoryOutbox(100_000, 64 * 1024);
  outbox.addGroup('webhooks', new Set(['participant.joined']));
  const entry = (i: number) => ({ type: 'participant.joined', id: `e${i}`, room_code: 'ABC234', participant_id: `p${i}`, user_name: 'x'.repeat(1000), at: 0 }) as never;
  for (let i = 0; i < 200; i++) outbox.append([entry(i)]);
  expect(outbox.bytes('webhooks')).toBeLessThanOrEqual(64 * 1024);
  const kept = (await outbox.stats('webhooks')).depth;
  expect(kept).toBeLessThan(200);
  expect(outbox.dropped('webhooks')).toBe(200 - kept);
  // The newest are kept.
  const read = await outbox.read('webhooks', 1_000, 0);
  expect(read.at(-1)!.entry).toMatchObject({ id: 'e199' });
  // A deferred entry is hidden until due, then read again; acknowledging frees its bytes.
  outbox.defer('webhooks', [read[0]!.id], Date.now() + 60_000);
  expect((await outbox.read('webhooks', 1, 0))[0]!.id).toBe(read[1]!.id);
  const before = outbox.bytes('webhooks');
  await outbox.ack('webhooks', [read[0]!.id]);
  expect(outbox.bytes('webhooks')).toBeLessThan(before);
});

it('Redis outbox: a deferred pending entry is skipped until due while later entries are read; an ack forgets it', async () => {
  const redis = await startRedis();
  const client = new Redis(redis.url);
  try {
    const outbox = new RedisOutbox(client, new Map(), { key: 'df:outbox', consumer: 'c1', types: new Set(['participant.joined']), groups: ['webhooks'], block: false });
    const add = (i: number) => client.xadd('df:outbox', '*', 'e', JSON.stringify({ id: `e${i}`, type: 'participant.joined', at: i, data: {} }));
    await outbox.read('webhooks', 10, 0); // creates the group
    await add(0);
    const [first] = await outbox.read('webhooks', 10, 0);
    expect(first!.entry.id).toBe('e0');
    // Not acknowledged (its delivery failed): deferred, so the next reads go past it.
    outbox.defer('webhooks', [first!.id], Date.now() + 300);
    await add(1);
    expect((await outbox.read('webhooks', 10, 0)).map((m) => m.entry.id)).toEqual(['e1']);
    await outbox.ack('webhooks', [(await outbox.read('webhooks', 10, 0))[0]!.id]);
    // Due: it comes back.
    await eventually(async () => expect((await outbox.read('webhooks', 10, 0)).map((m) => m.entry.id)).toEqual(['e0']), 2_000, 50);
    await outbox.ack('webhooks', [first!.id]);
    expect(await outbox.read('webhooks', 10, 0)).toEqual([]);
  } finally {
    client.disconnect();
    await redis.stop();
  }
});
