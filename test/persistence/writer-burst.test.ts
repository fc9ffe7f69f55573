/**
 * The results writer under a burst (docs/persistence.md "The writer"):
 * 200 rounds of 50 seats (10,000 results, 100,000 parameters if written in one INSERT)
 * waiting when the database comes back are all written — in statements split under the
 * parameter limit — on PostgreSQL and the embedded store, single-instance and with Redis.
 * A record that fails alone on every attempt is set aside (dead letter, counted, logged
 * once) instead of blocking the rest, and /health says when the writer makes no progress.
 *
 * The burst is queued straight into the app's outbox (what 200 completing 50-seat rooms
 * queue), beside a real room completing through sockets.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OutboxEntry } from '../../src/domain/outbox-entries.js';
import type { RoundRecord } from '../../src/domain/round-record.js';
import { MAX_PARAMS_PER_STATEMENT } from '../../src/persistence/results-repository.js';
import type { MemoryOutbox } from '../../src/store/memory-outbox.js';
import { call, closeAllClients, connect, eventually, roomWith, waitFor } from '../helpers/client.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { startServer, type TestServer } from '../helpers/server.js';

const ROOMS = 200;
const SEATS = 50;
const fast = { consumer: { batch: 200, blockMs: 200, backoffMinMs: 100, backoffMaxMs: 500, stallMs: 1_500 } };

let pgs: TestPostgres;
let redis: TestRedis;
let redisClient: Redis;
let server: TestServer | undefined;
const dirs: string[] = [];
beforeAll(async () => {
  [pgs, redis] = await Promise.all([startPostgres(), startRedis()]);
  redisClient = new Redis(redis.url);
}, 60_000);
afterAll(async () => {
  redisClient?.disconnect();
  await Promise.all([pgs?.destroy(), redis?.stop()]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
afterEach(async () => {
  closeAllClients();
  await server?.close();
  server = undefined;
});

/** What 200 completed rounds of 50 seats put in the outbox (one entry per round). */
function burst(tag: string, poison?: (i: number) => boolean): OutboxEntry[] {
  const at = Date.now() - 60_000;
  return Array.from({ length: ROOMS }, (_, i) => {
    const record: RoundRecord = {
      room_id: `${tag}-room-${i}`,
      room_code: 'ABCDEF',
      title: `Burst ${i}`,
      run_started_at: at,
      round: 1,
      started_at: at,
      ended_at: at + 1_500_000,
      planned_ms: 1_500_000,
      results: Array.from({ length: SEATS }, (_, p) => ({
        participant_id: `p${p}`,
        identity: `key:${tag}${p}`,
        // PostgreSQL refuses a NUL in text: a record that can never be written.
        user_name: poison?.(i) && p === 0 ? 'bad\u0000name' : `Seat ${p}`,
        status: 'completed' as const,
        focused_ms: 1_500_000,
        pauses: 0,
        intention: null,
      })),
    };
    return { id: `${tag}-room-${i}.9`, type: 'round.completed', at: record.ended_at, data: record };
  });
}

const health = async () => (await (await fetch(`${server!.url}/health`)).json()) as Record<string, unknown>;

/** A real two-seat room through sockets, completing its round. */
async function realRound(): Promise<void> {
  const [host, guest] = await Promise.all([connect(server!.url), connect(server!.url)]);
  await roomWith(host, [guest], { session_duration: 1_000 });
  const completed = waitFor(guest, 'session_completed', 15_000);
  expect((await call(host, 'start_session', undefined, 10_000)).ok).toBe(true);
  await completed;
}

it('a burst is more parameters than one statement may carry', () => {
  expect(ROOMS * SEATS * 10).toBeGreaterThan(65_535);
  expect(MAX_PARAMS_PER_STATEMENT).toBeLessThan(32_766);
});

describe('PostgreSQL', () => {
  const count = async (db: string) => (await pgs.query<{ n: number }>('select count(*)::int as n from round_results', [], db))[0]!.n;

  it('single instance: 10,000 results waiting through an outage are all written when it ends; /health says stalled meanwhile', async () => {
    await pgs.query('create database burst_single');
    server = await startServer({ DATABASE_URL: pgs.urlOf('burst_single') }, fast);
    await server.app.persistence!.start();
    await pgs.stop();
    (server.app.outbox as MemoryOutbox).append(burst('s'));
    await realRound();
    await eventually(async () => expect(await health()).toMatchObject({ status: 'ok', database: 'down', writer: 'stalled' }), 10_000, 100);
    await pgs.restart();
    await eventually(async () => expect(await count('burst_single')).toBe(ROOMS * SEATS + 2), 30_000, 250);
    await eventually(async () => expect(await health()).toMatchObject({ database: 'ok', writer: 'ok' }), 10_000, 100);
    expect((await server.app.outbox.stats('db')).depth).toBe(0);
  }, 90_000);

  it('a record that fails alone on every attempt is set aside (counted, logged once); every other round is written', async () => {
    await pgs.query('create database burst_poison');
    server = await startServer({ DATABASE_URL: pgs.urlOf('burst_poison') }, fast);
    await server.app.persistence!.start();
    (server.app.outbox as MemoryOutbox).append(burst('p', (i) => i === 7 || i === 150));
    await eventually(async () => expect(await count('burst_poison')).toBe((ROOMS - 2) * SEATS), 30_000, 250);
    await eventually(async () => expect((await server!.app.outbox.stats('db')).depth).toBe(0), 10_000, 100);
    const dead = (await server.app.metrics.registry.getSingleMetric('focusroom_db_dead_letters_total')!.get()).values[0]!.value;
    expect(dead).toBe(2);
    // The writer goes on with new rounds.
    await realRound();
    await eventually(async () => expect(await count('burst_poison')).toBe((ROOMS - 2) * SEATS + 2), 10_000, 100);
    expect(await health()).toMatchObject({ database: 'ok', writer: 'ok' });
  }, 90_000);

  it('Redis mode: the burst waiting in the outbox stream through an outage is written when it ends', async () => {
    await pgs.query('create database burst_redis');
    server = await startServer({ DATABASE_URL: pgs.urlOf('burst_redis'), REDIS_URL: redis.url }, { redisPrefix: 'burst:', ...fast });
    await server.app.persistence!.start();
    await pgs.stop();
    const pipeline = redisClient.pipeline();
    for (const entry of burst('r')) pipeline.xadd('burst:outbox', '*', 'e', JSON.stringify(entry));
    await pipeline.exec();
    await realRound();
    await pgs.restart();
    await eventually(async () => expect(await count('burst_redis')).toBe(ROOMS * SEATS + 2), 30_000, 250);
    await eventually(async () => expect((await server!.app.outbox.stats('db')).depth).toBe(0), 10_000, 100);
    expect(await health()).toMatchObject({ database: 'ok', writer: 'ok' });
  }, 90_000);
});

describe('embedded store', () => {
  it('single instance: a 10,000-result burst queued before the store opens is all written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fr-burst-'));
    dirs.push(dir);
    server = await startServer({ DATA_DIR: dir }, fast);
    (server.app.outbox as MemoryOutbox).append(burst('e'));
    await server.app.persistence!.start();
    await realRound();
    const db = () => server!.app.persistence!.repository()!;
    await eventually(async () => expect(await db().countResults()).toBe(ROOMS * SEATS + 2), 60_000, 250);
    await eventually(async () => expect((await server!.app.outbox.stats('db')).depth).toBe(0), 10_000, 100);
    expect(await health()).toMatchObject({ database: 'ok', writer: 'ok' });
  }, 120_000);
});
