/**
 * docs/reliability.md "Load and abuse", Rooms: a cap on live rooms (MAX_ROOMS; a create
 * beyond it is `unavailable`) and on one room's serialized size (MAX_ROOM_BYTES; a change
 * that would grow it past that is `invalid_state` and writes nothing).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { issuedUserKey } from '../helpers/test-env.js';
import { call, connect, eventually, waitFor } from '../helpers/client.js';
import { startRedis } from '../helpers/redis-server.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { roomBytes } from '../../src/limits/room-limits.js';

let server: TestServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

describe('MAX_ROOMS', () => {
  it('a create beyond the cap is unavailable (ack and Fidan error); a freed slot is usable again', async () => {
    server = await startServer({ MAX_ROOMS: '3' });
    const hosts = await Promise.all([0, 1, 2, 3].map(() => connect(server!.url)));
    for (const h of hosts.slice(0, 3)) expect(await call(h, 'create_session', { user_name: 'H' })).toMatchObject({ ok: true });
    const fidan = waitFor(hosts[3]!, 'error');
    expect(await call(hosts[3]!, 'create_session', { user_name: 'H' })).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    expect(await fidan).toMatchObject({ code: 'unavailable' });
    expect(await server.app.store.countRooms()).toBe(3);
    // The last participant leaving deletes a room: there is room again.
    expect(await call(hosts[0]!, 'leave_session', {})).toMatchObject({ ok: true });
    await eventually(async () => expect(await call(hosts[3]!, 'create_session', { user_name: 'H' })).toMatchObject({ ok: true }));
  });

  it('defaults to 10,000', async () => {
    server = await startServer({ MAX_ROOMS: '' });
    expect(server.app.config.maxRooms).toBe(10_000);
    expect(server.app.config.maxRoomBytes).toBe(512 * 1024);
  });
});

const DAY = 24 * 3600_000;

/** POST /sessions from `ip` (TRUST_PROXY on), booked `days` ahead, optionally as `userKey`. */
const book = (url: string, ip: string, days: number, userKey?: string) =>
  fetch(`${url}/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
    body: JSON.stringify({ user_name: 'Booker', starts_at: Date.now() + days * DAY, ...(userKey ? { user_key: userKey } : {}) }),
  });

describe('MAX_ROOMS_PER_ADDRESS / MAX_ROOMS_PER_IDENTITY', () => {
  it('one address cannot fill MAX_ROOMS with bookings; another address still creates; a deleted room frees its slot', async () => {
    server = await startServer({ MAX_ROOMS: '10', MAX_ROOMS_PER_ADDRESS: '3', TRUST_PROXY: 'true' });
    for (let i = 0; i < 3; i++) expect((await book(server.url, '10.9.0.1', 20)).status).toBe(201);
    // Before: the 4th..10th went in and every other address got `unavailable` for 20 days.
    const refused = await book(server.url, '10.9.0.1', 20);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: { code: 'rate_limited' } });
    // The socket twin is refused the same way, for the same address.
    const s = await connect(server.url, { extraHeaders: { 'x-forwarded-for': '10.9.0.1' } });
    expect(await call(s, 'create_session', { user_name: 'H' })).toMatchObject({ ok: false, error: { code: 'rate_limited' } });
    expect(await server.app.store.countRooms()).toBe(3);
    const other = await connect(server.url, { extraHeaders: { 'x-forwarded-for': '10.9.0.2' } });
    expect(await call(other, 'create_session', { user_name: 'O' })).toMatchObject({ ok: true });
    expect((await book(server.url, '10.9.0.2', 1)).status).toBe(201);
    // The address's own live room ending gives its slot back.
    const s2 = await connect(server.url, { extraHeaders: { 'x-forwarded-for': '10.9.0.3' } });
    const mine = await call(s2, 'create_session', { user_name: 'M' });
    expect(mine).toMatchObject({ ok: true });
    expect(await call(s2, 'leave_session', {})).toMatchObject({ ok: true });
    expect(await server.app.store.get(mine.room_code)).toBeNull();
  });

  it('one identity (user_key) is capped across addresses; anonymous bookings nobody holds expire after ROOM_TTL_MS', async () => {
    server = await startServer({ MAX_ROOMS_PER_IDENTITY: '2', TRUST_PROXY: 'true', ROOM_TTL_MS: '1500' });
    const key = issuedUserKey();
    expect((await book(server.url, '10.9.1.1', 20, key)).status).toBe(201);
    expect((await book(server.url, '10.9.1.2', 21, key)).status).toBe(201);
    // Its own booking slots do not collide (different days): the cap, not a conflict, refuses the third.
    const refused = await book(server.url, '10.9.1.3', 22, key);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: { code: 'rate_limited' } });
    // Anonymous REST booking 20 days ahead: no live socket, no identity — gone after the TTL, not in 20 days.
    const anon = (await (await book(server.url, '10.9.1.4', 20)).json()) as { room_code: string };
    await eventually(async () => expect(await server!.app.store.get(anon.room_code)).toBeNull(), 10_000);
    // The identity's bookings are held (a seat of an identity) and stay.
    expect(await server.app.store.countRooms()).toBe(2);
  });

  it('cluster mode: the cap is counted in Redis across instances', async () => {
    const redis = await startRedis();
    const env = { REDIS_URL: redis.url, MAX_ROOMS_PER_ADDRESS: '2', TRUST_PROXY: 'true' };
    const a = await startServer({ ...env, INSTANCE_ID: 'rq-a' });
    const b = await startServer({ ...env, INSTANCE_ID: 'rq-b' });
    try {
      expect((await book(a.url, '10.9.2.1', 20)).status).toBe(201);
      expect((await book(b.url, '10.9.2.1', 20)).status).toBe(201);
      expect((await book(a.url, '10.9.2.1', 20)).status).toBe(429);
      expect((await book(b.url, '10.9.2.1', 20)).status).toBe(429);
      expect((await book(b.url, '10.9.2.2', 20)).status).toBe(201);
    } finally {
      await Promise.all([a.close(), b.close()]);
      await redis.stop();
    }
  });

  it('defaults: 100 per address, 20 per identity', async () => {
    server = await startServer({ MAX_ROOMS_PER_ADDRESS: '', MAX_ROOMS_PER_IDENTITY: '' });
    expect(server.app.config.roomQuota).toEqual({ perAddress: 100, perIdentity: 20 });
  });
});

describe('MAX_ROOM_BYTES', () => {
  it('a task that would grow the room past the budget is invalid_state, and writes nothing; changes that do not grow it still work', async () => {
    server = await startServer({ MAX_ROOM_BYTES: '16384' });
    const host = await connect(server.url);
    const { room_code } = await call(host, 'create_session', { user_name: 'Host', max_participants: 50 });
    let refused: any = null;
    let added = 0;
    const ids: string[] = [];
    for (let i = 0; i < 50 && !refused; i++) {
      const r = await call(host, 'add_task', { title: `${i}`.padEnd(200, 'é') });
      if (r.ok) {
        added += 1;
        ids.push(r.task.id);
      } else refused = r;
    }
    // Before: all 50 tasks of 200 characters went in (the room grew to ~60 KB here, 262 KB full).
    expect(refused).toMatchObject({ ok: false, error: { code: 'invalid_state' } });
    expect(refused.error.message).toMatch(/size limit/);
    expect(added).toBeGreaterThan(5);
    expect(added).toBeLessThan(50);
    const room = (await server.app.store.get(room_code))!;
    expect(roomBytes(room)).toBeLessThanOrEqual(16_384);
    const seq = room.seq;
    expect(await call(host, 'add_task', { title: 'é'.repeat(200) })).toMatchObject({ ok: false, error: { code: 'invalid_state' } });
    expect((await server.app.store.get(room_code))!.seq).toBe(seq);
    // Changes that do not grow it still work (removed tasks stay in the bounded event log
    // until it rolls over, so removing does not free space at once).
    const removed = await call(host, 'remove_task', { task_id: ids[0]! });
    expect(removed, JSON.stringify(removed)).toMatchObject({ ok: true });
  });

  it('the default (512 KB) never refuses a legal room: 50 seats with 40-emoji names, 50 tasks of 200 emoji, a full log', async () => {
    server = await startServer({ MAX_ROOM_BYTES: '' });
    const emoji = (n: number) => '😀'.repeat(n);
    const host = await connect(server.url);
    const { room_code } = await call(host, 'create_session', { user_name: emoji(40), max_participants: 50 });
    const guests = await Promise.all(Array.from({ length: 49 }, () => connect(server!.url)));
    for (const g of guests) expect(await call(g, 'join_session', { room_code, user_name: emoji(40) })).toMatchObject({ ok: true });
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) {
      const r = await call(host, 'add_task', { title: emoji(200) });
      expect(r).toMatchObject({ ok: true });
      ids.push(r.task.id);
    }
    for (let i = 0; i < 64; i++) expect(await call(host, 'update_task', { task_id: ids[i % 50]!, title: emoji(200) })).toMatchObject({ ok: true });
    const bytes = roomBytes((await server.app.store.get(room_code))!);
    expect(bytes).toBeGreaterThan(64 * 1024);
    expect(bytes).toBeLessThan(server.app.config.maxRoomBytes / 2);
  });
});
