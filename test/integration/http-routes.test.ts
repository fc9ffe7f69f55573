/**
 * HTTP: /health (and draining), /session/:code (Fidan fields, nothing identifying),
 * /metrics (Prometheus text), and the web client at /.
 */
import { describe, expect, it } from 'vitest';
import { call, connect, roomWith, waitFor } from '../helpers/client.js';
import { useSharedServer } from '../helpers/server.js';
import { getJson } from '../helpers/http.js';

const server = useSharedServer();

describe('GET /health', () => {
  it('200 with status ok, instance, uptime, sessions, connections, redis disabled and the embedded database ok', async () => {
    const before = await getJson(`${server.url}/health`);
    expect(before.status).toBe(200);
    expect(Object.keys(before.body).sort()).toEqual(['connections', 'database', 'instance', 'push', 'redis', 'sessions', 'status', 'uptime_s', 'writer']);
    expect(before.body).toMatchObject({ status: 'ok', redis: 'disabled', database: 'ok', push: 'disabled', writer: 'ok', instance: server.app.config.instanceId });
    expect(Number.isInteger(before.body.uptime_s)).toBe(true);
    expect(before.body.uptime_s).toBeGreaterThanOrEqual(0);
    expect(before.headers.get('cache-control')).toBe('no-store');

    const [a, b] = await Promise.all([connect(server.url), connect(server.url)]);
    await roomWith(a, [b]);
    const after = await getJson(`${server.url}/health`);
    expect(after.body.connections).toBe(before.body.connections + 2);
    expect(after.body.sessions).toBe(before.body.sessions + 1);
  });
});

describe('GET /session/:code', () => {
  it('Fidan fields plus ends_at, server_now, seq; no names, ids or tokens', async () => {
    const [a, b] = await Promise.all([connect(server.url), connect(server.url)]);
    const { created, joined, code } = await roomWith(a, [b], { session_duration: 60_000, max_participants: 5 });
    const task = await call(a, 'add_task', { title: 'secret plan' });
    const t0 = Date.now();
    const waiting = await getJson(`${server.url}/session/${code}`);
    expect(waiting.status).toBe(200);
    expect(Object.keys(waiting.body).sort()).toEqual(
      ['created_at', 'ends_at', 'max_participants', 'participants', 'room_code', 'seq', 'server_now', 'status', 'time_left_ms'].sort(),
    );
    expect(waiting.body).toEqual({
      room_code: code,
      participants: 2,
      max_participants: 5,
      status: 'waiting',
      time_left_ms: 60_000,
      created_at: created.session.created_at,
      ends_at: null,
      server_now: expect.any(Number),
      seq: 3,
    });
    expect(waiting.body.server_now).toBeGreaterThanOrEqual(t0);

    const started = await call(a, 'start_session');
    const active = await getJson(`${server.url}/session/${code.toLowerCase()}`);
    expect(active.status).toBe(200);
    expect(active.body).toMatchObject({ status: 'active', ends_at: started.session.ends_at, seq: 4 });
    expect(active.body.time_left_ms).toBe(started.session.ends_at - active.body.server_now);

    const secrets = [
      created.participant_id,
      joined[0]!.participant_id,
      created.resume_token,
      joined[0]!.resume_token,
      created.session_id,
      'Host',
      'Guest1',
      task.task.id,
      'secret plan',
    ];
    for (const text of [waiting.text, active.text]) for (const s of secrets) expect(text).not.toContain(s);
  });

  it('codes are case-insensitive with spaces ignored; malformed → 400; unknown → 404 not_found', async () => {
    const a = await connect(server.url);
    const { code } = await roomWith(a, []);
    expect((await getJson(`${server.url}/session/%20${code.toLowerCase()}%20`)).body.room_code).toBe(code);
    for (const bad of ['abc', 'OOOOOO', 'ABCDEFG', 'AB%20CDE', '111111', `${code}x`]) {
      const res = await getJson(`${server.url}/session/${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.body.error.code).toBe('invalid_payload');
    }
    const other = code === 'ZZZZZZ' ? 'YYYYYY' : 'ZZZZZZ';
    const missing = await getJson(`${server.url}/session/${other}`);
    expect(missing.status).toBe(404);
    expect(Object.keys(missing.body)).toEqual(['error']);
    expect(missing.body.error).toEqual({ code: 'not_found', message: expect.any(String) });
  });
});

describe('GET /metrics', () => {
  it('Prometheus text with connections, rooms by status, events in, errors by code and tick lateness', async () => {
    const a = await connect(server.url);
    await roomWith(a, [], { session_duration: 2_000 });
    await call(a, 'join_session', { room_code: 'ZZZZZZ', user_name: 'x' }); // invalid_state: already seated
    await call(a, 'start_session');
    await waitFor(a, 'time_update', 2_000);
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^focusroom_connections \d+$/m);
    expect(Number(/^focusroom_connections (\d+)$/m.exec(text)![1])).toBeGreaterThanOrEqual(1);
    for (const status of ['waiting', 'active', 'paused', 'completed']) expect(text).toMatch(new RegExp(`^focusroom_rooms\\{status="${status}"\\} \\d+$`, 'm'));
    expect(Number(/^focusroom_rooms\{status="active"\} (\d+)$/m.exec(text)![1])).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^focusroom_events_in_total\{event="create_session"\} [1-9]\d*$/m);
    expect(text).toMatch(/^focusroom_events_in_total\{event="start_session"\} [1-9]\d*$/m);
    expect(text).toMatch(/^focusroom_errors_total\{code="invalid_state"\} [1-9]\d*$/m);
    expect(text).toMatch(/^focusroom_events_out_total\{event="session_started"\} [1-9]\d*$/m);
    expect(Number(/^focusroom_tick_lateness_seconds_count (\d+)$/m.exec(text)![1])).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^focusroom_tick_lateness_seconds_bucket\{le="0\.05"\} [1-9]\d*$/m);
  });
});

describe('GET /', () => {
  it('serves the web client as HTML', async () => {
    const res = await fetch(`${server.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toMatch(/<html/i);
  });
});

describe('draining', () => {
  const drained = useSharedServer();

  it('/health turns 503 draining and new connections are refused; existing ones keep working', async () => {
    const [a, b] = await Promise.all([connect(drained.url), connect(drained.url)]);
    await roomWith(a, [b]);
    drained.app.startDraining();
    const health = await getJson(`${drained.url}/health`);
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: 'draining', redis: 'disabled', connections: 2 });
    await expect(connect(drained.url)).rejects.toThrow();
    await expect(connect(drained.url, { transports: ['polling'] })).rejects.toThrow();
    const heard = waitFor(b, 'task_added');
    expect((await call(a, 'add_task', { title: 'still working' })).ok).toBe(true);
    await heard;
  });
});
