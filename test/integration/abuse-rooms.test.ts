/**
 * docs/reliability.md "Load and abuse", Rooms (issue 11, finding 6): a cap on live rooms (MAX_ROOMS; a create
 * beyond it is `unavailable`) and on one room's serialized size (MAX_ROOM_BYTES; a change
 * that would grow it past that is `invalid_state` and writes nothing).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { call, connect, eventually, waitFor } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { roomBytes } from '../../src/realtime/room-limits.js';

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
