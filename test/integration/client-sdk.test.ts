/**
 * The SDK (`focusroom/client`, src/client) against a real server: every method, the
 * error codes it rejects with, `session` kept current on every client, automatic resume
 * after a dropped connection (client side and the server closing every transport), the
 * seat taken over elsewhere, quiet mode by default, and the countdown with a local
 * clock skewed by minutes.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, FocusroomError, type ConnectOptions, type FocusroomClient } from '../../src/client/index.js';
import { eventually } from '../helpers/client.js';
import { startServer, useSharedServer } from '../helpers/server.js';

const server = useSharedServer({ DISCONNECT_GRACE_MS: '20000' });
const clients: FocusroomClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

/** A connected SDK client (fast reconnects, so tests do not wait for the default backoff). */
async function client(opts: ConnectOptions = {}, url = server.url): Promise<FocusroomClient> {
  const c = connect(url, { timeoutMs: 3_000, ...opts, socketOptions: { reconnectionDelay: 100, reconnectionDelayMax: 300, ...opts.socketOptions } });
  clients.push(c);
  await c.ready();
  return c;
}

/** The next `event` of an SDK client, or a rejection after `ms`. */
function next<E extends Parameters<FocusroomClient['on']>[0]>(c: FocusroomClient, event: E, ms = 5_000): Promise<any> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${event}`));
    }, ms);
    const off = c.on(event, ((payload: unknown) => {
      clearTimeout(timer);
      off();
      resolve(payload);
    }) as never);
  });
}

async function rejection(p: Promise<unknown>): Promise<FocusroomError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FocusroomError);
  return err as FocusroomError;
}

describe('SDK methods', () => {
  it('every method does what it says, and session stays current on both clients', async () => {
    const [host, guest] = await Promise.all([client(), client()]);
    const created = await host.create({ user_name: 'Ada', session_duration: 60_000, max_participants: 3 });
    expect(host.session).toMatchObject({ room_code: created.room_code, status: 'waiting', is_creator: true });
    expect(host.participantId).toBe(created.participant_id);

    const joinedEvent = next(host, 'participant_joined');
    const joined = await guest.join(` ${created.room_code.toLowerCase()} `, 'Bea');
    expect(joined.room_code).toBe(created.room_code);
    expect((await joinedEvent).participant.user_name).toBe('Bea');
    expect(host.session!.participants.map((p) => p.user_name)).toEqual(['Ada', 'Bea']);
    expect(guest.session!.is_creator).toBe(false);

    const settings = next(guest, 'settings_updated');
    const updated = await host.updateSettings({ session_duration: 30_000 });
    expect(updated.session_duration).toBe(30_000);
    await settings;
    expect(guest.session!.session_duration).toBe(30_000);

    const added = await guest.addTask('Write the intro');
    expect(added.task.title).toBe('Write the intro');
    await eventually(() => expect(host.session!.tasks.map((t) => t.title)).toEqual(['Write the intro']));
    await host.updateTask(added.task.id, { done: true });
    await eventually(() => expect(guest.session!.tasks[0]!.done).toBe(true));
    expect(host.session!.tasks[0]!.done).toBe(true);
    await guest.removeTask(added.task.id);
    expect(guest.session!.tasks).toEqual([]);
    await eventually(() => expect(host.session!.tasks).toEqual([]));

    const started = next(guest, 'session_started');
    const active = await host.start();
    expect(active.status).toBe('active');
    await started;
    expect(guest.session!.status).toBe('active');
    expect(Math.abs(guest.timeLeft() - 30_000)).toBeLessThan(1_000);

    const status = await guest.setStatus('paused');
    expect(status.status).toBe('paused');
    expect(guest.session!.participants.find((p) => p.id === joined.participant_id)!.status).toBe('paused');
    await eventually(() => expect(host.session!.participants.find((p) => p.id === joined.participant_id)!.status).toBe('paused'));

    const paused = await host.pause();
    expect(paused.status).toBe('paused');
    await eventually(() => expect(guest.session!.status).toBe('paused'));
    const left = guest.timeLeft();
    expect(left).toBe(guest.session!.time_left_ms);
    const resumed = await host.resumeTimer();
    expect(resumed.status).toBe('active');
    await eventually(() => expect(guest.session!.status).toBe('active'));

    const leftEvent = next(guest, 'participant_left');
    const handover = next(guest, 'creator_changed');
    await host.leave();
    expect(host.session).toBeNull();
    expect((await leftEvent).reason).toBe('left');
    expect((await handover).new_creator_id).toBe(joined.participant_id);
    expect(guest.session!.is_creator).toBe(true);
    expect(guest.session!.participants).toHaveLength(1);

    guest.close();
    expect(guest.connectionState).toBe('closed');
    expect((await rejection(guest.start())).code).toBe('closed');
  });

  it('rejects with the wire code', async () => {
    const [a, b, c] = await Promise.all([client(), client(), client()]);
    expect((await rejection(a.join('ZZZZZZ', 'Ann'))).code).toBe('not_found');
    expect((await rejection(a.join('nope', 'Ann'))).code).toBe('invalid_payload');
    expect((await rejection(a.create({ user_name: '' }))).code).toBe('invalid_payload');
    expect((await rejection(a.start())).code).toBe('not_in_session');
    const { room_code } = await a.create({ user_name: 'Ann', max_participants: 2, late_join: false });
    expect((await rejection(a.create({ user_name: 'Ann' }))).code).toBe('invalid_state');
    await b.join(room_code, 'Bo');
    expect((await rejection(c.join(room_code, 'Cy'))).code).toBe('room_full');
    expect((await rejection(b.start())).code).toBe('not_host');
    expect((await rejection(b.updateTask('missing', { done: true }))).code).toBe('not_found');
    expect((await rejection(b.setStatus('completed' as never))).code).toBe('invalid_payload');
    await a.start();
    expect((await rejection(a.updateSettings({ rounds: 2 }))).code).toBe('invalid_state');
    await b.leave();
    expect((await rejection(c.join(room_code, 'Cy'))).code).toBe('already_started');
  });

  it('rate_limited and unauthorized come through as codes too', async () => {
    const limited = await startServer({ RATE_JOIN_FAILURES_PER_MIN: '2' });
    try {
      const c = await client({}, limited.url);
      const codes: string[] = [];
      for (let i = 0; i < 3; i++) codes.push((await rejection(c.join('ZZZZZZ', 'Ann'))).code);
      expect(codes).toEqual(['not_found', 'not_found', 'rate_limited']);
    } finally {
      await limited.close();
    }
    // An address out of connection budget: refused rate_limited, retried with backoff until it gets in.
    const tight = await startServer({ RATE_CONNECTIONS_PER_MIN: '1' });
    try {
      const first = await client({}, tight.url);
      expect(first.connectionState).toBe('connected');
      const c = connect(tight.url, { timeoutMs: 1_000, reconnectDelayMs: 50, reconnectDelayMaxMs: 200 });
      clients.push(c);
      const errors: string[] = [];
      c.socket.on('connect_error', (e) => errors.push(e.message));
      expect((await rejection(c.join('ZZZZZZ', 'Ann'))).code).toBe('disconnected');
      await eventually(() => expect(errors.filter((e) => e === 'rate_limited').length).toBeGreaterThanOrEqual(3));
      expect(c.connectionState).toBe('connecting');
    } finally {
      await tight.close();
    }
    const authed = await startServer({ AUTH_JWT_SECRET: 'x'.repeat(32) });
    try {
      const c = connect(authed.url, { timeoutMs: 1_000, reconnectDelayMs: 50 });
      clients.push(c);
      const errors: string[] = [];
      c.socket.on('connect_error', (e) => errors.push(e.message));
      expect((await rejection(c.create({ user_name: 'Ann' }))).code).toBe('disconnected');
      // Refused by the server's middleware, and retried with backoff (not given up).
      await eventually(() => expect(errors.filter((e) => e === 'unauthorized').length).toBeGreaterThanOrEqual(2));
    } finally {
      await authed.close();
    }
  });
});

describe('SDK client-side codes', () => {
  it('a call the server never answers rejects with timeout', async () => {
    // A bare Socket.IO server: it accepts the connection and ignores every event.
    const http = createServer();
    const silent = new Server(http);
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    try {
      const c = await client({ timeoutMs: 500 }, `http://127.0.0.1:${(http.address() as AddressInfo).port}`);
      const err = await rejection(c.create({ user_name: 'Ann' }));
      expect(err.code).toBe('timeout');
      expect(err.message).toMatch(/create_session/);
    } finally {
      for (const c of clients.splice(0)) c.close();
      await new Promise((r) => silent.close(r));
    }
  });
});

describe('SDK resume', () => {
  it('a dropped connection resumes by itself with last_seq; missed events applied, one resumed event', async () => {
    const [a, b] = await Promise.all([client(), client()]);
    const { room_code } = await a.create({ user_name: 'Ann', session_duration: 60_000 });
    await b.join(room_code, 'Bo');
    const states: string[] = [];
    a.on('connection', (s) => states.push(s));
    const resumedEvents: any[] = [];
    a.on('resumed', (e) => resumedEvents.push(e));
    const seatBefore = a.participantId;

    // Ann's network drops; Bo changes things while she is away.
    const offline = next(b, 'participant_connection');
    a.socket.io.engine.close();
    expect((await offline).connected).toBe(false);
    const task = await b.addTask('while you were away');
    await b.updateTask(task.task.id, { done: true });
    const resumed = await next(a, 'resumed');
    expect(resumedEvents).toHaveLength(1);
    expect(resumed.missed_complete).toBe(true);
    expect(resumed.missed.map((e: any) => e.event)).toEqual(['participant_connection', 'task_added', 'task_updated', 'participant_connection']);
    // The last one is this very resume (connected again): the reply is as new as the room.
    expect(resumed.missed.at(-1).data).toMatchObject({ participant_id: a.participantId, connected: true });
    expect(a.participantId).toBe(seatBefore);
    expect(a.session!.tasks.map((t) => [t.title, t.done])).toEqual([['while you were away', true]]);
    expect(states).toEqual(['reconnecting', 'connected']);
    // Calls work again on the resumed seat.
    await a.start();
    await eventually(() => expect(b.session!.status).toBe('active'));
  });

  it('the server closing every transport: clients reconnect and resume (quiet ones included)', async () => {
    const [a, b] = await Promise.all([client(), client({ ticks: true })]);
    const { room_code } = await a.create({ user_name: 'Ann', session_duration: 4_500 });
    await b.join(room_code, 'Bo');
    const ticksA: number[] = [];
    const ticksB: number[] = [];
    a.on('time_update', (t) => ticksA.push(t.time_left_ms));
    b.on('time_update', (t) => ticksB.push(t.time_left_ms));
    await a.start();
    const resumed = Promise.all([next(a, 'resumed'), next(b, 'resumed')]);
    for (const s of server.app.io.of('/').sockets.values()) s.conn.close();
    await resumed;
    await Promise.all([next(a, 'session_completed', 8_000), next(b, 'session_completed', 8_000)]);
    expect(ticksA).toEqual([]); // the SDK's default: no ticks, before and after the resume
    expect(ticksB.length).toBeGreaterThanOrEqual(2);
    expect(a.session!.status).toBe('completed');
    expect(a.session!.results!.map((r) => r.status)).toEqual(['completed', 'completed']);
  }, 15_000);

  it('a client with the same storage (a reload) resumes the seat; the old one is told it was taken over', async () => {
    const storage = new Map<string, string>();
    const first = await client({ storage });
    const created = await first.create({ user_name: 'Ann' });
    expect(JSON.parse(storage.get('focusroom.seat')!)).toMatchObject({ room_code: created.room_code, participant_id: created.participant_id });
    const lost = next(first, 'seat_lost');
    const second = connect(server.url, { storage, timeoutMs: 3_000 });
    clients.push(second);
    const resumed = await next(second, 'resumed');
    expect(resumed.session.room_code).toBe(created.room_code);
    expect(second.participantId).toBe(created.participant_id);
    expect(await lost).toEqual({ reason: 'taken_over', room_code: created.room_code });
    expect(first.connectionState).toBe('offline');
    expect(first.session).toBeNull();
    // Not fought over: the first client stays away.
    await new Promise((r) => setTimeout(r, 800));
    expect(second.connectionState).toBe('connected');
    expect(first.connectionState).toBe('offline');
    expect(storage.has('focusroom.seat')).toBe(true);
  });

  it('reconnect() takes a taken-over seat back on purpose; the other client is told', async () => {
    const storage = new Map<string, string>();
    const first = await client({ storage });
    const created = await first.create({ user_name: 'Ann' });
    const second = connect(server.url, { storage, timeoutMs: 3_000 });
    clients.push(second);
    await Promise.all([next(first, 'seat_lost'), next(second, 'resumed')]);
    expect(second.participantId).toBe(created.participant_id);
    const lostBySecond = next(second, 'seat_lost');
    const back = next(first, 'resumed');
    await first.reconnect();
    await back;
    expect(first.participantId).toBe(created.participant_id);
    expect(first.connectionState).toBe('connected');
    expect((await lostBySecond).reason).toBe('taken_over');
    await first.addTask('mine again');
  });

  it('a stored seat the server no longer knows is reported and forgotten', async () => {
    const storage = new Map([['focusroom.seat', JSON.stringify({ room_code: 'ZZZZZZ', participant_id: 'nobody', resume_token: 'x'.repeat(32), last_seq: 3 })]]);
    const c = connect(server.url, { storage, timeoutMs: 3_000 });
    clients.push(c);
    expect(await next(c, 'seat_lost')).toEqual({ reason: 'expired', room_code: 'ZZZZZZ' });
    expect(storage.has('focusroom.seat')).toBe(false);
    await c.ready();
    await c.create({ user_name: 'Fresh' });
  });

  it('the handshake carries the seat', async () => {
    const c = await client();
    const { room_code, participant_id } = await c.create({ user_name: 'Ann' });
    const seen = new Promise<Record<string, unknown>>((resolve) => server.app.io.once('connection', (s) => resolve(s.handshake.auth)));
    c.socket.io.engine.close();
    const auth = await seen;
    expect(auth).toMatchObject({ room_code, participant_id });
    expect(typeof auth.resume_token).toBe('string');
    await next(c, 'resumed');
  });
});

describe('SDK clock', () => {
  it('timeLeft() is right to 50 ms with the local clock minutes off, without ticks', async () => {
    for (const skew of [-7 * 60_000, 5 * 60_000]) {
      const c = await client({ now: () => Date.now() + skew });
      await next(c, 'clock');
      expect(Math.abs(c.clockOffset.offset + skew)).toBeLessThanOrEqual(50);
      await c.create({ user_name: 'Ann', session_duration: 20_000 });
      await c.start();
      const endsAt = c.session!.ends_at!;
      for (let i = 0; i < 5; i++) {
        const truth = endsAt - Date.now();
        expect(Math.abs(c.timeLeft() - truth)).toBeLessThanOrEqual(50);
        await new Promise((r) => setTimeout(r, 100));
      }
      c.close();
    }
  });

  it('re-samples after a reconnect', async () => {
    const c = await client();
    await next(c, 'clock');
    const again = next(c, 'clock');
    c.socket.io.engine.close();
    const sample = await again;
    expect(sample.rtt).toBeLessThan(200);
  });
});
