/**
 * REST in cluster mode (two instances, one real Redis): a REST change made on instance 2
 * reaches the sockets on instance 1 with its seq; the history is one Redis Stream per
 * room written in the commit's Lua step, so it reads the same on either instance and
 * agrees with the room state; it is trimmed to the history size and deleted with the
 * room; a store outage is 503 unavailable.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/contract/limits.js';
import { call, closeAllClients, connect, eventually, roomWith, waitFor } from '../helpers/client.js';
import { expectHttpError, http } from '../helpers/http.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { startServer, type TestServer } from '../helpers/server.js';

let redis: TestRedis;
let one: TestServer;
let two: TestServer;

beforeAll(async () => {
  redis = await startRedis();
  // The history test sends ~1,010 events from one socket as fast as the server answers:
  // above the tests' usual per-socket budget (1,000 per second) once that takes < 1 s.
  const start = (id: string) => startServer({ REDIS_URL: redis.url, INSTANCE_ID: `rest-${id}`, RATE_SOCKET_EVENTS_PER_SEC: '100000' }, { redisPrefix: 'rest:' });
  [one, two] = await Promise.all([start('one'), start('two')]);
});
afterAll(async () => {
  closeAllClients();
  await Promise.all([one?.close(), two?.close()]);
  await redis?.stop();
});
afterEach(() => closeAllClients());

describe('REST across instances', () => {
  it('a task added over REST on instance 2 reaches the sockets on instance 1, in seq order with their own changes', async () => {
    const [host, guest] = await Promise.all([connect(one.url), connect(one.url)]);
    const { code, created, joined } = await roomWith(host, [guest]);
    const heard = [waitFor(host, 'task_added'), waitFor(guest, 'task_added')];
    const added = await http(`${two.url}/sessions/${code}/tasks`, { token: joined[0]!.resume_token, body: { title: 'from a bot' } });
    expect(added.status).toBe(201);
    for (const e of await Promise.all(heard)) expect(e).toEqual(added.body);
    expect(added.body.seq).toBe((created.session.seq as number) + 2);

    // Interleaved: socket changes on instance 1, REST changes on instance 2.
    const seen: number[] = [];
    host.on('task_added', (p: { seq: number }) => seen.push(p.seq));
    const replies = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => call(guest, 'add_task', { title: `s${i}` }).then((a) => a.seq as number)),
      ...Array.from({ length: 10 }, (_, i) => http(`${two.url}/sessions/${code}/tasks`, { token: created.resume_token, body: { title: `r${i}` } }).then((r) => r.body.seq as number)),
    ]);
    const first = added.body.seq + 1;
    expect([...replies].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => first + i));
    await eventually(() => expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => first + i)));
    const list = await http(`${one.url}/sessions/${code}/tasks`, { token: created.resume_token });
    expect(list.body.tasks).toHaveLength(21);
  });

  it('the history reads the same on both instances and agrees with the room state', async () => {
    const [host, guest] = await Promise.all([connect(one.url), connect(two.url)]);
    const { code, created } = await roomWith(host, [guest]);
    await call(host, 'add_task', { title: 'a' });
    await http(`${two.url}/sessions/${code}/tasks`, { token: created.resume_token, body: { title: 'b' } });
    await call(host, 'start_session');
    await call(guest, 'update_status', { status: 'paused' });
    const h1 = await http(`${one.url}/sessions/${code}/events`, { token: created.resume_token });
    const h2 = await http(`${two.url}/sessions/${code}/events`, { token: created.resume_token });
    expect(h1.status).toBe(200);
    expect(h1.body).toEqual(h2.body);
    expect(h1.body.complete).toBe(true);
    expect(h1.body.events.map((e: any) => e.event)).toEqual(['participant_joined', 'task_added', 'task_added', 'session_started', 'participant_status_updated']);
    const room = (await one.app.store.get(code))!;
    expect(h1.body.events.at(-1).seq).toBe(room.seq);
    expect(h1.body.events.map((e: any) => e.seq)).toEqual([2, 3, 4, 5, 6]);
    for (const e of h1.body.events) expect(e.at).toBeGreaterThanOrEqual(room.created_at);
  });

  it(`trims to the last ${LIMITS.roomHistorySize} events (complete: false before them) and deletes the stream with the room`, async () => {
    const host = await connect(one.url);
    const { code, created } = await roomWith(host, []);
    const n = LIMITS.roomHistorySize + 10;
    // Pairs of add/remove keep the task list small while the history grows.
    for (let i = 0; i < n; i += 2) {
      const a = await call(host, 'add_task', { title: `t${i}` });
      if (!a.ok) throw new Error(`add_task ${i}: ${JSON.stringify(a)}`);
      await call(host, 'remove_task', { task_id: a.task.id });
    }
    const room = (await one.app.store.get(code))!;
    const oldest = room.seq - LIMITS.roomHistorySize + 1;
    const url = (s: TestServer, q: string) => `${s.url}/sessions/${code}/events?${q}`;
    const kept = await http(url(two, `after=${oldest - 1}&limit=${LIMITS.roomHistorySize}`), { token: created.resume_token });
    expect(kept.body.complete).toBe(true);
    expect(kept.body.events).toHaveLength(LIMITS.roomHistorySize);
    expect(kept.body.events[0].seq).toBe(oldest);
    const old = await http(url(one, 'after=0&limit=3'), { token: created.resume_token });
    expect(old.body).toMatchObject({ complete: false });
    expect(old.body.events.map((e: any) => e.seq)).toEqual([oldest, oldest + 1, oldest + 2]);
    const keys = async () => (await redisKeys()).filter((k) => k.includes(code));
    expect(await keys()).toEqual(expect.arrayContaining([`rest:room:${code}`, `rest:events:{${code}}`]));
    await call(host, 'leave_session');
    expect(await keys()).toEqual([]);
  });
});

async function redisKeys(): Promise<string[]> {
  const { Redis } = await import('ioredis');
  const r = new Redis(redis.url, { lazyConnect: true });
  await r.connect();
  try {
    return await r.keys('rest:*');
  } finally {
    r.disconnect();
  }
}

describe('store outage', () => {
  it('REST answers 503 unavailable while Redis is down, and works again after', async () => {
    const host = await connect(one.url);
    const { code, created } = await roomWith(host, []);
    const url = `${two.url}/sessions/${code}/tasks`;
    redis.kill();
    const deadline = Date.now() + 5_000;
    let res = await http(url, { token: created.resume_token, body: { title: 'x' } });
    while (res.status !== 503 && Date.now() < deadline) res = await http(url, { token: created.resume_token, body: { title: 'x' } });
    expectHttpError(res, 503, 'unavailable');
    expectHttpError(await http(`${two.url}/sessions/${code}/events`, { token: created.resume_token }), 503, 'unavailable');
    expectHttpError(await http(`${two.url}/sessions/${code}`), 503, 'unavailable');
    expect((await http(`${two.url}/health`)).status).toBe(503);
    await redis.restart();
  });
});
