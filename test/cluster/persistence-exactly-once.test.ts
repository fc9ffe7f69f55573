/**
 * Exactly once per (room, round, participant) in cluster mode, counted in a real
 * PostgreSQL: two instances racing to complete the same rooms queue one record per round
 * (the XADD sits in the compare-and-set that wins), and a completing instance killed
 * with -9 while its write is pending leaves the record to a survivor, which claims it
 * (XAUTOCLAIM) and writes it once.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { call, closeAllClients, connect, eventually, waitFor } from '../helpers/client.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { type ChildInstance, killInstance, spawnInstance } from '../helpers/process.js';

let redis: TestRedis;
let pgs: TestPostgres;
let client: Redis;
const servers: TestServer[] = [];
let child: ChildInstance | undefined;

beforeAll(async () => {
  [redis, pgs] = await Promise.all([startRedis(), startPostgres()]);
  client = new Redis(redis.url);
}, 60_000);
afterAll(async () => {
  client?.disconnect();
  await killInstance(child);
  await Promise.all([redis?.stop(), pgs?.destroy()]);
});
afterEach(async () => {
  closeAllClients();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const fast = { consumer: { batch: 100, blockMs: 200, backoffMinMs: 100, backoffMaxMs: 400 } };
const count = async (db: string, table: string) => (await pgs.query<{ n: number }>(`select count(*)::int as n from ${table}`, [], db))[0]!.n;

it('two instances racing over the same rooms: one record per round, every result once', async () => {
  await pgs.query('create database race');
  const env = { REDIS_URL: redis.url, DATABASE_URL: pgs.urlOf('race') };
  const a = await startServer(env, { redisPrefix: 'race:', ...fast });
  const b = await startServer(env, { redisPrefix: 'race:', ...fast });
  servers.push(a, b);
  await Promise.all([a.app.persistence!.start(), b.app.persistence!.start()]);

  const ROOMS = 12;
  const done: Promise<unknown>[] = [];
  for (let i = 0; i < ROOMS; i++) {
    // Host on one instance, guest on the other: both instances follow every room.
    const [host, guest] = await Promise.all([connect(a.url), connect(b.url)]);
    const created = await call(host, 'create_session', { user_name: `H${i}`, session_duration: 1_500 });
    expect((await call(guest, 'join_session', { room_code: created.room_code, user_name: `G${i}` })).ok).toBe(true);
    done.push(waitFor(guest, 'session_completed', 8_000), waitFor(host, 'session_completed', 8_000));
    expect((await call(host, 'start_session')).ok).toBe(true);
  }
  await Promise.all(done);
  await eventually(async () => expect(await count('race', 'round_results')).toBe(ROOMS * 2), 10_000, 100);
  expect(await count('race', 'rounds')).toBe(ROOMS);
  // One XADD per completed round, not one per instance that tried.
  const info = (await client.xinfo('STREAM', 'race:outbox')) as unknown[];
  expect(Number(info[info.indexOf('entries-added') + 1])).toBe(ROOMS);
  await eventually(async () => expect((await a.app.outbox.stats('db')).depth).toBe(0), 5_000, 100);
});

it('kill -9 of the completing instance with its write pending: a survivor claims the record and writes it once', async () => {
  await pgs.query('create database crash');
  const url = pgs.urlOf('crash');
  child = await spawnInstance({ redisUrl: redis.url, id: 'doomed', env: { DATABASE_URL: url } });
  // The doomed instance migrated (it is healthy with database ok) before the database goes away.
  await eventually(async () => expect(((await (await fetch(`${child!.url}/health`)).json()) as any).database).toBe('ok'), 10_000, 100);
  const [host, guest] = await Promise.all([connect(child.url), connect(child.url)]);
  const created = await call(host, 'create_session', { user_name: 'Host', session_duration: 1_000 });
  expect((await call(guest, 'join_session', { room_code: created.room_code, user_name: 'Guest' })).ok).toBe(true);
  await pgs.stop();
  expect((await call(host, 'start_session')).ok).toBe(true);
  await waitFor(guest, 'session_completed', 5_000);
  // Its writer took the record and could not write it: pending at 'doomed'.
  await eventually(async () => {
    const pending = (await client.xpending('fr:outbox', 'db')) as [number, ...unknown[]];
    expect(pending[0]).toBe(1);
  }, 5_000, 50);
  child.signal('SIGKILL');
  await child.exited;
  closeAllClients();
  await pgs.restart();

  const survivor = await startServer({ REDIS_URL: redis.url, DATABASE_URL: url, INSTANCE_ID: 'survivor' }, { outbox: { claimIdleMs: 1_000 }, ...fast });
  servers.push(survivor);
  await survivor.app.persistence!.start();
  await eventually(async () => expect(await count('crash', 'round_results')).toBe(2), 10_000, 100);
  await eventually(async () => expect((await survivor.app.outbox.stats('db')).depth).toBe(0), 5_000, 100);
  expect(await count('crash', 'round_results')).toBe(2);
  expect(await count('crash', 'rounds')).toBe(1);
});
