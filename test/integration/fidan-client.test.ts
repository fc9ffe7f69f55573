/**
 * An app written for the original Fidan server: it never passes an ack callback and
 * only listens to the Fidan events. The whole flow must work for it unchanged.
 * DISCONNECT_GRACE_MS=0 gives Fidan's behaviour of leaving the room on disconnect.
 */
import { describe, expect, it } from 'vitest';
import { type Client, connect, eventually, waitFor } from '../helpers/client.js';
import { useSharedServer } from '../helpers/server.js';
import { expectJoinedPayload, expectSnapshot, quietWindow } from '../helpers/shapes.js';

const server = useSharedServer({ DISCONNECT_GRACE_MS: '0' });

const FIDAN_EVENTS = [
  'session_created',
  'session_joined',
  'join_error',
  'error',
  'participant_joined',
  'participant_left',
  'creator_changed',
  'session_started',
  'time_update',
  'session_completed',
  'participant_status_updated',
] as const;

/** A Fidan app: a log of the Fidan events it listens to, and fire-and-forget emits. */
function fidanApp(socket: Client) {
  const log: Array<{ event: string; data: any }> = [];
  for (const event of FIDAN_EVENTS) (socket as any).on(event, (data: any) => log.push({ event, data }));
  return {
    socket,
    log,
    events: (name: string) => log.filter((e) => e.event === name).map((e) => e.data),
    // No ack callback, ever: exactly the shape of a Fidan emit.
    send: (event: string, payload?: object) => (payload === undefined ? (socket as any).emit(event) : (socket as any).emit(event, payload)),
  };
}

describe('a Fidan app without acks', () => {
  it('create → join → start → status → ticks → complete → leave', async () => {
    const host = fidanApp(await connect(server.url));
    const guest = fidanApp(await connect(server.url));

    host.send('create_session', { user_name: 'Host', session_duration: 2_000 });
    const created = await waitFor(host.socket, 'session_created');
    expectJoinedPayload(created);
    expectSnapshot(created.session, { is_creator: true, status: 'waiting' });
    const code = created.room_code as string;

    guest.send('join_session', { room_code: 'ZZZZZZ' === code ? 'YYYYYY' : 'ZZZZZZ', user_name: 'Guest' });
    const joinError = await waitFor(guest.socket, 'join_error');
    expect(joinError).toEqual({ error: expect.any(String), code: 'not_found' });

    guest.send('join_session', { room_code: code.toLowerCase(), user_name: 'Guest' });
    const joined = await waitFor(guest.socket, 'session_joined');
    expectJoinedPayload(joined);
    expect(joined.session.is_creator).toBe(false);
    await eventually(() => expect(host.events('participant_joined')).toHaveLength(1));
    expect(host.events('participant_joined')[0].participant).toMatchObject({ id: joined.participant_id, user_name: 'Guest', status: 'ready' });

    // Only the host may start: the guest gets an error event.
    guest.send('start_session');
    expect(await waitFor(guest.socket, 'error')).toEqual({ message: expect.any(String), code: 'not_host' });

    host.send('start_session');
    const [hs, gs] = await Promise.all([waitFor(host.socket, 'session_started'), waitFor(guest.socket, 'session_started')]);
    expect(hs.session.is_creator).toBe(true);
    expect(gs.session.is_creator).toBe(false);
    const endsAt = hs.session.ends_at as number;

    guest.send('update_status', { status: 'paused' });
    const status = await waitFor(host.socket, 'participant_status_updated');
    expect(status).toEqual({ participant_id: joined.participant_id, status: 'paused', user_name: 'Guest', seq: expect.any(Number) });
    guest.send('update_status', { status: 'focusing' });
    await eventually(() => expect(host.events('participant_status_updated')).toHaveLength(2));

    const [hc, gc] = await Promise.all([waitFor(host.socket, 'session_completed', 3_000), waitFor(guest.socket, 'session_completed', 3_000)]);
    await quietWindow(250);
    for (const app of [host, guest]) {
      expect(app.events('time_update').map((t) => [t.time_left_ms, t.ends_at])).toEqual([[1000, endsAt]]);
      expect(app.events('session_completed')).toHaveLength(1);
    }
    expect(hc.results.map((r: any) => [r.user_name, r.status, r.pauses])).toEqual([
      ['Host', 'completed', 0],
      ['Guest', 'completed', 1],
    ]);
    expect(gc.session.status).toBe('completed');
    // The sender never hears its own status; nothing went wrong for the host.
    expect(guest.events('participant_status_updated')).toEqual([]);
    expect(host.events('error')).toEqual([]);
    expect(host.events('join_error')).toEqual([]);

    // The host closes the app: the guest sees it leave and becomes host.
    host.socket.disconnect();
    const left = await waitFor(guest.socket, 'participant_left');
    expect(left).toMatchObject({ participant_id: created.participant_id, reason: 'timeout' });
    await eventually(() => expect(guest.events('creator_changed')).toEqual([{ new_creator_id: joined.participant_id, seq: left.seq + 1 }]));
    expect(left.session.is_creator).toBe(true);

    // The full order of what the guest app saw.
    expect(guest.log.map((e) => e.event)).toEqual([
      'join_error',
      'session_joined',
      'error',
      'session_started',
      'time_update',
      'session_completed',
      'participant_left',
      'creator_changed',
    ]);
  });

  it('bad requests without an ack still get an error event', async () => {
    const app = fidanApp(await connect(server.url));
    app.send('create_session', { user_name: 42 });
    expect(await waitFor(app.socket, 'error')).toEqual({ message: expect.any(String), code: 'invalid_payload' });
    app.send('join_session', { room_code: 'nope!', user_name: 'x' });
    expect(await waitFor(app.socket, 'join_error')).toEqual({ error: expect.any(String), code: 'invalid_payload' });
    app.send('update_status', { status: 'focusing' });
    expect(await waitFor(app.socket, 'error')).toEqual({ message: expect.any(String), code: 'not_in_session' });
  });
});
