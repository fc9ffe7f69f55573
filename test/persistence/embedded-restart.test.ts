/**
 * A restart loses no room (single instance on a DATA_DIR, with the durable outbox): rooms — booked, waiting and running, with deadlines, seats and resume
 * tokens — come back after a graceful restart and after kill -9, and a completed round
 * is durable 0.5 s after session_completed. A kill -9 at any moment leaves a data dir the
 * next start opens (a loop of kills while rounds complete).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, expect, it } from 'vitest';
import { call, closeAllClients, connect, eventually, record, roomWith, waitFor } from '../helpers/client.js';
import { getJson } from '../helpers/http.js';
import { killIfRunning, type ServerProcess, spawnServer, waitUntilHealthy } from '../helpers/process.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { freshDataDir, TEST_ENV } from '../helpers/test-env.js';

/** A child server as the in-process ones run (limits lifted, logs quiet): these tests are about the store. */
const CHILD_ENV = { ...TEST_ENV, PORT: undefined, LOG_LEVEL: 'warn' };

let server: TestServer | undefined;
let child: ServerProcess | undefined;
afterEach(async () => {
  closeAllClients();
  killIfRunning(child);
  child = undefined;
  await server?.close();
  server = undefined;
});

const resumeArgs = (code: string, reply: any) => ({ room_code: code, participant_id: reply.participant_id, resume_token: reply.resume_token });

it('a graceful restart keeps booked, waiting and running rooms; seats resume with their tokens and the round completes on time', async () => {
  const dataDir = freshDataDir();
  server = await startServer({ DATA_DIR: dataDir });
  const [host, guest, booker, waiter] = await Promise.all([connect(server.url), connect(server.url), connect(server.url), connect(server.url)]);
  const running = await roomWith(host, [guest], { session_duration: 15_000, title: 'Running' });
  const started = await call(host, 'start_session');
  expect(started.ok).toBe(true);
  const endsAt = started.session.ends_at as number;
  const startsAt = Date.now() + 3_600_000;
  const booked = await call(booker, 'create_session', { user_name: 'Booker', starts_at: startsAt, title: 'Booked' });
  expect(booked.ok).toBe(true);
  const waiting = await call(waiter, 'create_session', { user_name: 'Waiter' });
  expect(waiting.ok).toBe(true);

  closeAllClients();
  await server.close();
  server = await startServer({ DATA_DIR: dataDir });

  for (const [code, status] of [
    [running.code, 'active'],
    [booked.room_code, 'waiting'],
    [waiting.room_code, 'waiting'],
  ] as const) {
    const res = await getJson(`${server.url}/session/${code}`);
    expect(res.status, code).toBe(200);
    expect(res.body).toMatchObject({ status });
  }
  // The booked room keeps its time and title: a newcomer joining sees them.
  const joinBooked = await call(await connect(server.url), 'join_session', { room_code: booked.room_code, user_name: 'Later' });
  expect(joinBooked.ok, JSON.stringify(joinBooked)).toBe(true);
  expect(joinBooked.session).toMatchObject({ starts_at: startsAt, title: 'Booked', status: 'waiting' });
  expect(joinBooked.session.participants).toHaveLength(2);

  // The running room's seats resume with the tokens from before the restart; its ticks go on, on time.
  const [host2, guest2] = await Promise.all([connect(server.url), connect(server.url)]);
  const resumed = await call(guest2, 'resume_session', resumeArgs(running.code, running.joined[0]));
  expect(resumed.ok, JSON.stringify(resumed)).toBe(true);
  expect(resumed.session).toMatchObject({ status: 'active', ends_at: endsAt, title: 'Running' });
  expect((await call(host2, 'resume_session', resumeArgs(running.code, running.created))).ok).toBe(true);
  const ticks = record(guest2, 'time_update');
  const done = await waitFor(guest2, 'session_completed', 20_000);
  expect(done.results.map((r: any) => r.status).sort()).toEqual(['completed', 'completed']);
  for (const t of ticks) expect(t._at - (endsAt - t.time_left_ms)).toBeLessThan(250);
  // A wrong token still gets nothing.
  const wrong = await call(await connect(server.url), 'resume_session', { ...resumeArgs(running.code, running.joined[0]), resume_token: 'x'.repeat(43) });
  expect(wrong.ok).toBe(false);
}, 90_000);

it('kill -9 0.5 s after session_completed loses neither the round nor the rooms', async () => {
  const dataDir = freshDataDir();
  child = await spawnServer({ ...CHILD_ENV, DATA_DIR: dataDir });
  await waitUntilHealthy(child, 40_000);
  const [host, guest] = await Promise.all([connect(child.url), connect(child.url)]);
  const { code, created } = await roomWith(host, [guest], { session_duration: 1_000 });
  const other = await call(await connect(child.url), 'create_session', { user_name: 'Other', starts_at: Date.now() + 600_000 });
  expect(other.ok, JSON.stringify(other)).toBe(true);
  const done = waitFor(guest, 'session_completed', 5_000);
  expect((await call(host, 'start_session')).ok).toBe(true);
  await done;
  await new Promise((r) => setTimeout(r, 500));
  child.child.kill('SIGKILL');
  await child.exited;
  closeAllClients();

  server = await startServer({ DATA_DIR: dataDir });
  // /me/stats answers from the first moment the restarted server listens (database: ok).
  expect((await getJson(`${server.url}/health`)).body).toMatchObject({ database: 'ok' });
  const stats = await fetch(`${server.url}/me/stats`, { headers: { authorization: `Bearer ${created.user_key}` } });
  expect(stats.status).toBe(200);
  expect(await stats.json()).toMatchObject({ rounds_completed: 1 });
  const db = server.app.persistence!.database()!;
  const rows = await db.selectFrom('round_results').select(['user_name', 'status']).orderBy('user_name').execute();
  expect(rows).toEqual([
    { user_name: 'Guest1', status: 'completed' },
    { user_name: 'Host', status: 'completed' },
  ]);
  expect((await getJson(`${server.url}/session/${code}`)).body).toMatchObject({ status: 'completed' });
  expect((await getJson(`${server.url}/session/${other.room_code}`)).status).toBe(200);
}, 90_000);

it('a webhook not yet delivered when the process is killed is delivered after the restart', async () => {
  const received: string[] = [];
  let up = false;
  const receiver: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (!up) return void res.writeHead(503).end();
      received.push(JSON.parse(body).type);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  afterAll(() => new Promise<void>((r) => receiver.close(() => r())));
  const env = {
    DATA_DIR: freshDataDir(),
    WEBHOOK_URL: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
    WEBHOOK_SECRET: 'whsec_' + Buffer.from('s'.repeat(32)).toString('base64'),
    WEBHOOK_MAX_ATTEMPTS: '100',
  };
  child = await spawnServer({ ...CHILD_ENV, ...env });
  await waitUntilHealthy(child, 40_000);
  const [host, guest] = await Promise.all([connect(child.url), connect(child.url)]);
  await roomWith(host, [guest], { session_duration: 1_000 });
  const done = waitFor(guest, 'session_completed', 5_000);
  expect((await call(host, 'start_session')).ok).toBe(true);
  await done;
  await new Promise((r) => setTimeout(r, 500));
  child.child.kill('SIGKILL');
  await child.exited;
  closeAllClients();

  up = true;
  server = await startServer(env);
  await eventually(() => expect(received).toContain('session.completed'), 15_000, 100);
  expect(received).toContain('session.started');
  expect(received).toContain('participant.joined');
}, 90_000);

it('kill -9 at any moment, again and again: every start opens the data dir and keeps what was written', async () => {
  const dataDir = freshDataDir();
  let written = 0;
  for (let i = 0; i < 4; i++) {
    child = await spawnServer({ ...CHILD_ENV, DATA_DIR: dataDir });
    await waitUntilHealthy(child, 40_000);
    const health = await getJson(`${child.url}/health`);
    expect(health.body, `start ${i}`).toMatchObject({ database: 'ok' });
    // Rounds completing while the kill lands, at a different moment each time.
    const clients = await Promise.all(Array.from({ length: 6 }, () => connect(child!.url)));
    for (let r = 0; r < 3; r++) {
      await roomWith(clients[2 * r]!, [clients[2 * r + 1]!], { session_duration: 1_000 });
      void call(clients[2 * r]!, 'start_session');
    }
    await new Promise((r) => setTimeout(r, 900 + i * 70));
    child.child.kill('SIGKILL');
    await child.exited;
    closeAllClients();
    child = undefined;
  }
  server = await startServer({ DATA_DIR: dataDir });
  expect((await getJson(`${server.url}/health`)).body).toMatchObject({ database: 'ok' });
  written = await server.app.persistence!.repository()!.countResults();
  // Each start's rounds end ~1 s after it started and the kill lands around then: some are kept, none twice.
  expect(written % 2).toBe(0);
  const db = server.app.persistence!.database()!;
  const { n } = (await db.selectFrom('rounds').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()) as { n: number };
  expect(written).toBe(Number(n) * 2);
}, 240_000);
