/**
 * Web Push on a single instance across a restart on the same DATA_DIR (real processes,
 * kill -9 and SIGTERM): subscriptions are kept in the embedded store, so a booked room's
 * reminder due after the restart still reaches the subscription, once; a notice whose
 * request was in flight when the process died is sent again by the next one (at least
 * once), with the same Topic, so the device shows it once; and after a graceful stop the
 * next start sends at once what the stopped one had not sent, and nothing it had.
 */
import webpush from 'web-push';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call, closeAllClients, connect, eventually } from '../helpers/client.js';
import { http } from '../helpers/http.js';
import { killIfRunning, type ServerProcess, spawnServer, waitUntilHealthy } from '../helpers/process.js';
import { type PushService, startPushService } from '../helpers/push-service.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { freshDataDir, issuedUserKey, TEST_USER_KEY_SECRET } from '../helpers/test-env.js';

const vapid = webpush.generateVAPIDKeys();
const env = (dataDir: string, extra: Record<string, string> = {}) => ({
  DATA_DIR: dataDir,
  USER_KEY_SECRET: TEST_USER_KEY_SECRET,
  VAPID_PUBLIC_KEY: vapid.publicKey,
  VAPID_PRIVATE_KEY: vapid.privateKey,
  VAPID_SUBJECT: 'mailto:ops@focusroom.test',
  PUSH_ALLOW_HTTP: 'true',
  REMINDER_LEAD_MS: '2000',
  PUSH_LEASE_MS: '2000',
  PUSH_WORKER_NICE: '0',
  ...extra,
});
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

let push: PushService;
const servers: ServerProcess[] = [];
beforeAll(async () => {
  push = await startPushService();
});
afterEach(() => closeAllClients());
afterAll(async () => {
  for (const s of servers) killIfRunning(s);
  await push?.close();
});

async function start(dataDir: string, extra: Record<string, string> = {}): Promise<ServerProcess> {
  const s = await spawnServer(env(dataDir, extra));
  servers.push(s);
  await waitUntilHealthy(s, 30_000);
  return s;
}

async function crash(s: ServerProcess): Promise<void> {
  s.child.kill('SIGKILL');
  await s.exited;
}

async function subscribe(url: string, key: string) {
  const sub = push.browserSubscription();
  const res = await http(`${url}/me/push-subscriptions`, { method: 'POST', headers: bearer(key), body: sub.json });
  expect(res.status).toBe(201);
  return { ...sub, id: res.body.id as string };
}

const receivedBy = (token: string) => push.received.filter((r) => r.token === token);
const attemptsAt = (token: string) => push.attempts.filter((a) => a.token === token);

/** Deliveries under way (leased, not answered for good). */
async function pendingOn(s: ServerProcess): Promise<number> {
  const res = await fetch(`${s.url}/metrics`);
  const m = /^focusroom_push_pending (\d+)/m.exec(await res.text());
  return m ? Number(m[1]) : 0;
}

describe('a single instance restarted on the same DATA_DIR', () => {
  it('keeps the subscriptions: a reminder due after the restart goes out once', async () => {
    const dataDir = freshDataDir();
    const first = await start(dataDir);
    const key = issuedUserKey();
    const sub = await subscribe(first.url, key);
    const host = await connect(first.url);
    const startsAt = Date.now() + 20_000;
    const created = await call(host, 'create_session', { user_name: 'Booker', user_key: key, starts_at: startsAt, session_duration: 60_000 });
    expect(created.ok).toBe(true);
    host.disconnect();
    await sleep(500); // the embedded store writes within ~0.1 s
    await crash(first);
    const second = await start(dataDir);
    const list = await http(`${second.url}/me/push-subscriptions`, { headers: bearer(key) });
    expect(list.body.subscriptions.map((s: { id: string }) => s.id)).toEqual([sub.id]);
    expect(receivedBy(sub.token)).toEqual([]);
    const reminders = () => receivedBy(sub.token).filter((r) => r.payload.type === 'reminder');
    await eventually(() => expect(reminders()).toHaveLength(1), startsAt - Date.now() + 5_000, 50);
    const reminder = reminders()[0]!;
    expect(reminder.payload).toMatchObject({ room_code: created.room_code, starts_at: startsAt });
    expect(reminder.at).toBeGreaterThanOrEqual(startsAt - 2_000);
    // The booker is away at the start: told that too, after the reminder; nothing twice.
    await eventually(() => expect(receivedBy(sub.token).map((r) => r.payload.type)).toEqual(['reminder', 'session_started']), startsAt - Date.now() + 5_000, 50);
    await sleep(1_500);
    expect(receivedBy(sub.token)).toHaveLength(2);
    await crash(second);
  }, 60_000);

  it('a notice in flight when the process died is sent again after the restart, with the same Topic', async () => {
    const dataDir = freshDataDir();
    const first = await start(dataDir);
    const key = issuedUserKey();
    const sub = await subscribe(first.url, key);
    push.behave(sub.token, 'hold');
    const host = await connect(first.url);
    const created = await call(host, 'create_session', { user_name: 'Host', session_duration: 60_000 });
    const member = await connect(first.url);
    expect((await call(member, 'join_session', { room_code: created.room_code, user_name: 'Away', user_key: key })).ok).toBe(true);
    member.disconnect();
    expect((await call(host, 'start_session')).ok).toBe(true);
    await eventually(() => expect(receivedBy(sub.token)).toHaveLength(1), 5_000, 20);
    await sleep(300); // the outbox entry (unacknowledged while its request is in flight) reaches the embedded store
    await crash(first);
    push.behave(sub.token, { status: 201 });
    const second = await start(dataDir);
    await eventually(() => expect(receivedBy(sub.token)).toHaveLength(2), 10_000, 50);
    const [a, b] = receivedBy(sub.token);
    expect(b!.payload).toEqual(a!.payload);
    expect(b!.topic).toBe(a!.topic);
    expect(push.shown(sub.token)).toHaveLength(1);
    await sleep(1_500);
    expect(receivedBy(sub.token)).toHaveLength(2);
    expect(push.rejected).toEqual([]);
    await crash(second);
  }, 60_000);

  it('SIGTERM with deliveries under way: the next start sends at once what was not sent, and nothing twice', async () => {
    const dataDir = freshDataDir();
    // Reminders due ~3 s from now, the rooms' starts after the test; no drain: push stops at SIGTERM.
    const lead = 120_000;
    const extra = { REMINDER_LEAD_MS: String(lead), PUSH_TIMEOUT_MS: '60000', SHUTDOWN_DRAIN_MS: '0' };
    const first = await start(dataDir, extra);
    const startsAt = Date.now() + lead + 3_000;
    const tokens: string[] = [];
    for (let i = 0; i < 5; i++) {
      const key = issuedUserKey();
      tokens.push((await subscribe(first.url, key)).token);
      const host = await connect(first.url);
      const created = await call(host, 'create_session', { user_name: `B${i}`, user_key: key, starts_at: startsAt + i, session_duration: 60_000 });
      expect(created.ok, JSON.stringify(created)).toBe(true);
    }
    const [answered, unanswered, ...retrying] = tokens as [string, string, ...string[]];
    for (const t of retrying) push.behave(t, { status: 503, headers: { 'retry-after': '60' } });
    push.behave(answered, 'hold');
    push.behave(unanswered, 'hang');
    await eventually(async () => {
      for (const t of tokens) expect(attemptsAt(t)).toHaveLength(1);
      expect(await pendingOn(first)).toBe(tokens.length);
    }, 15_000, 50);
    for (const t of [...retrying, unanswered]) push.behave(t, { status: 201 });
    first.child.kill('SIGTERM');
    // Answered while the process stops: recorded as sent, and that record reaches the embedded store.
    await sleep(1_000);
    push.behave(answered, { status: 201 });
    expect((await first.exited).code).toBe(0);
    expect(receivedBy(answered)).toHaveLength(1);

    const second = await start(dataDir, extra);
    const upAt = Date.now();
    await eventually(() => {
      for (const t of tokens) expect(receivedBy(t)).toHaveLength(1);
    }, 10_000, 50);
    const sentIn = Math.max(...[...retrying, unanswered].map((t) => receivedBy(t)[0]!.at)) - upAt;
    console.log(`push: ${retrying.length + 1} notices sent within ${sentIn} ms of the restart`);
    expect(sentIn).toBeLessThan(5_000);
    await sleep(1_500); // a second copy would arrive here
    for (const t of tokens) expect(receivedBy(t)).toHaveLength(1);
    expect(attemptsAt(answered)).toHaveLength(1);
    expect(push.rejected).toEqual([]);
    await crash(second);
  }, 90_000);
});
