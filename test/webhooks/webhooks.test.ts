/**
 * Signed webhooks against a real receiver (an HTTP server in this test) that verifies
 * every request with the `standardwebhooks` package: the four event types, a retry
 * after a 500 with the same webhook-id, a bounded number of tries, no secret in any
 * body, and a hanging receiver that never delays the room.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { call, closeAllClients, connect, eventually, waitFor } from '../helpers/client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const SECRET = `whsec_${Buffer.from('focusroom-test-webhook-secret-0123').toString('base64')}`;
const verifier = new Webhook(SECRET);

interface Received {
  id: string;
  type: string;
  body: any;
  raw: string;
  verified: boolean;
}

let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];
/** What the receiver answers next for a given type: a status, or 'hang'. */
const script = new Map<string, (number | 'hang')[]>();

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      let verified = false;
      let body: any = null;
      try {
        body = verifier.verify(raw, req.headers as Record<string, string>);
        verified = true;
      } catch {
        body = JSON.parse(raw);
      }
      received.push({ id: String(req.headers['webhook-id']), type: body?.type, body, raw, verified });
      const next = script.get(body?.type)?.shift() ?? 200;
      if (next === 'hang') return; // never answers: the sender's timeout ends it
      res.writeHead(next).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
afterAll(() => {
  receiver.closeAllConnections();
  receiver.close();
});

let server: TestServer | undefined;
afterEach(async () => {
  closeAllClients();
  await server?.close();
  server = undefined;
  received.length = 0;
  script.clear();
});

const env = () => ({ WEBHOOK_URL: receiverUrl, WEBHOOK_SECRET: SECRET, WEBHOOK_TIMEOUT_MS: '1000', WEBHOOK_MAX_ATTEMPTS: '3' });
const fast = { webhookConsumer: { batch: 20, blockMs: 200, backoffMinMs: 100, backoffMaxMs: 300 } };

it('signed session.started, participant.joined/left and session.completed with results; a 500 is retried with the same id', async () => {
  server = await startServer(env(), fast);
  script.set('session.completed', [500]);
  const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
  const created = await call(host, 'create_session', { user_name: 'Host', session_duration: 1_000 });
  const joined = await call(guest, 'join_session', { room_code: created.room_code, user_name: 'Guest' });
  const done = waitFor(host, 'session_completed', 5_000);
  await call(host, 'start_session');
  await done;
  await call(guest, 'leave_session', {});

  await eventually(() => expect(received.filter((r) => r.type === 'participant.left')).toHaveLength(1), 5_000);
  await eventually(() => expect(received.filter((r) => r.type === 'session.completed')).toHaveLength(2), 5_000);
  expect(received.every((r) => r.verified)).toBe(true);
  const completed = received.filter((r) => r.type === 'session.completed');
  expect(completed[0]!.id).toBe(completed[1]!.id); // the retry carries the same webhook-id
  expect(completed[1]!.body.data).toMatchObject({
    room_id: created.session_id,
    room_code: created.room_code,
    round: 1,
    planned_ms: 1_000,
    results: [
      { participant_id: created.participant_id, user_name: 'Host', status: 'completed', focused_ms: 1_000, pauses: 0 },
      { participant_id: joined.participant_id, user_name: 'Guest', status: 'completed', focused_ms: 1_000, pauses: 0 },
    ],
  });
  const types = [...new Set(received.map((r) => r.type))];
  expect(types.sort()).toEqual(['participant.joined', 'participant.left', 'session.completed', 'session.started']);
  expect(received.find((r) => r.type === 'participant.joined')!.body.data).toEqual({
    room_id: created.session_id,
    room_code: created.room_code,
    participant_id: joined.participant_id,
    user_name: 'Guest',
  });
  expect(received.find((r) => r.type === 'participant.left')!.body.data).toMatchObject({ participant_id: joined.participant_id, reason: 'left' });
  // Never a secret in a payload.
  for (const r of received) {
    for (const secret of [created.resume_token, joined.resume_token, created.user_key, joined.user_key]) expect(r.raw).not.toContain(secret);
    expect(r.raw).not.toMatch(/identity|key:|token/);
  }
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  expect(metrics).toMatch(/focusroom_webhook_deliveries_total\{result="retry"\} 1/);
  expect(metrics).toMatch(/focusroom_outbox_depth\{group="webhooks"\} 0/);
});

it('gives up after WEBHOOK_MAX_ATTEMPTS; a hanging receiver never delays the room', async () => {
  server = await startServer(env(), fast);
  script.set('session.started', ['hang', 'hang', 'hang']);
  const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
  const created = await call(host, 'create_session', { user_name: 'Host', session_duration: 2_000 });
  await call(guest, 'join_session', { room_code: created.room_code, user_name: 'Guest' });
  const started = await call(host, 'start_session');
  // While the receiver hangs, the room answers at once and ticks on its whole seconds.
  await eventually(() => expect(received.filter((r) => r.type === 'session.started').length).toBeGreaterThanOrEqual(1), 3_000);
  const t0 = Date.now();
  expect((await call(guest, 'update_status', { status: 'paused' })).ok).toBe(true);
  expect(Date.now() - t0).toBeLessThan(300);
  const tick = await waitFor(guest, 'time_update', 3_000);
  expect(tick.ends_at).toBe(started.session.ends_at);
  await waitFor(guest, 'session_completed', 4_000);
  // Three tries of session.started, then it is dropped and the rest flows.
  await eventually(() => expect(received.filter((r) => r.type === 'session.completed')).toHaveLength(1), 8_000);
  await eventually(async () => {
    const metrics = await (await fetch(`${server!.url}/metrics`)).text();
    expect(metrics).toMatch(/focusroom_webhook_deliveries_total\{result="failed"\} 1/);
  }, 5_000);
  expect(received.filter((r) => r.type === 'session.started')).toHaveLength(3);
});

it('WEBHOOK_URL without WEBHOOK_SECRET is a configuration error', async () => {
  await expect(startServer({ WEBHOOK_URL: receiverUrl })).rejects.toThrow(/WEBHOOK_URL and WEBHOOK_SECRET/);
});
