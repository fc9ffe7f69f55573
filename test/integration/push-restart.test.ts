/**
 * Web Push on a single instance across a restart on the same DATA_DIR (real processes,
 * kill -9): subscriptions are kept in the embedded store, so a booked room's reminder due
 * after the restart still reaches the subscription, once; and a notice whose request was
 * in flight when the process died is sent again by the next one (at least once), with the
 * same Topic, so the device shows it once.
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
const env = (dataDir: string) => ({
  DATA_DIR: dataDir,
  USER_KEY_SECRET: TEST_USER_KEY_SECRET,
  VAPID_PUBLIC_KEY: vapid.publicKey,
  VAPID_PRIVATE_KEY: vapid.privateKey,
  VAPID_SUBJECT: 'mailto:ops@focusroom.test',
  PUSH_ALLOW_HTTP: 'true',
  REMINDER_LEAD_MS: '2000',
  PUSH_LEASE_MS: '2000',
  PUSH_WORKER_NICE: '0',
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

async function start(dataDir: string): Promise<ServerProcess> {
  const s = await spawnServer(env(dataDir));
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
});
