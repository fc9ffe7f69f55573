/**
 * ROOM_TTL_MS: an idle room is deleted that long after its last change and its clients get
 * room_closed; a running countdown keeps its room alive until it ends.
 */
import { describe, expect, it } from 'vitest';
import { call, connect, record, roomWith, waitFor } from '../helpers/client.js';
import { useSharedServer } from '../helpers/server.js';
import { expectAckError, quietWindow } from '../helpers/shapes.js';
import { getJson } from '../helpers/http.js';

const TTL = 1_500;
const server = useSharedServer({ ROOM_TTL_MS: String(TTL) });

describe('an idle room', () => {
  it('is closed TTL after its last change: room_closed to every client, then 404', async () => {
    const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
    const { code } = await roomWith(host, [guest]);
    const lastChange = (await server.app.store.get(code))!.updated_at;
    const closedHost = record(host, 'room_closed');
    const closed = await waitFor(guest, 'room_closed', TTL + 1_500);
    const at = Date.now();
    expect(closed).toEqual({ room_code: code, reason: 'expired', seq: 3 });
    expect(at).toBeGreaterThanOrEqual(lastChange + TTL - 5);
    expect(at - (lastChange + TTL)).toBeLessThan(300);
    const res = await getJson(`${server.url}/session/${code}`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    await quietWindow(100);
    expect(closedHost).toHaveLength(1);
    // The clients are out of the room: room requests say so ...
    expectAckError(await call(guest, 'update_status', { status: 'ready' }), 'not_in_session');
    // ... and they can start over on the same socket.
    const again = await call(host, 'create_session', { user_name: 'Host' });
    expect(again.ok).toBe(true);
    expect(again.room_code).not.toBe(code);
    const rejoin = await call(guest, 'join_session', { room_code: again.room_code, user_name: 'Guest' });
    expect(rejoin.ok).toBe(true);
  });

  it('every change pushes the expiry back', async () => {
    const host = await connect(server.url);
    const { code } = await roomWith(host, []);
    const closed = record(host, 'room_closed');
    await quietWindow(TTL - 500);
    await call(host, 'add_task', { title: 'still here' });
    const touched = (await server.app.store.get(code))!.updated_at;
    await quietWindow(800); // past the original expiry
    expect(closed).toEqual([]);
    expect(await server.app.store.get(code)).not.toBeNull();
    await waitFor(host, 'room_closed', TTL);
    expect(Date.now()).toBeGreaterThanOrEqual(touched + TTL - 5);
  });
});

describe('a running countdown longer than the TTL', () => {
  it('completes first; the room expires TTL after the end', async () => {
    const host = await connect(server.url);
    const { code } = await roomWith(host, [], { session_duration: 2_500 });
    const started = await call(host, 'start_session');
    const closed = record(host, 'room_closed');
    const done = await waitFor(host, 'session_completed', 3_500);
    expect(closed).toEqual([]);
    expect(done.session.status).toBe('completed');
    await waitFor(host, 'room_closed', TTL + 1_000);
    expect(Date.now()).toBeGreaterThanOrEqual(started.session.ends_at + TTL - 5);
    expect(await server.app.store.get(code)).toBeNull();
  });
});
