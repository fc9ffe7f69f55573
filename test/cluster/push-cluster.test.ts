/**
 * Web Push across instances (real processes, one real Redis, the local push service):
 * every notice reaches each subscription once although both instances read the outbox's
 * push group; a reminder whose room's instance was killed before it was due is sent
 * once by the survivor; a notice whose sender was killed while its request was in flight
 * is sent again by the survivor after the lease, with the same Topic, so the device shows
 * it once.
 */
import webpush from 'web-push';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { issuedUserKey } from '../helpers/test-env.js';
import { call, closeAllClients, connect, eventually, waitFor } from '../helpers/client.js';
import { http } from '../helpers/http.js';
import { type ChildInstance, killInstance, spawnInstance } from '../helpers/process.js';
import { type PushService, startPushService } from '../helpers/push-service.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { setTimeout as sleep } from 'node:timers/promises';

const vapid = webpush.generateVAPIDKeys();
let redis: TestRedis;
let push: PushService;
let one: ChildInstance | undefined;
let two: ChildInstance | undefined;
let three: ChildInstance | undefined;

beforeAll(async () => {
  [redis, push] = await Promise.all([startRedis(), startPushService()]);
  const env = {
    VAPID_PUBLIC_KEY: vapid.publicKey,
    VAPID_PRIVATE_KEY: vapid.privateKey,
    VAPID_SUBJECT: 'https://focusroom.test/contact',
    PUSH_ALLOW_HTTP: 'true',
    REMINDER_LEAD_MS: '2000',
    DISCONNECT_GRACE_MS: '30000',
    INSTANCE_TIMEOUT_MS: '2000',
    PUSH_LEASE_MS: '2000',
    // The machine running the tests is shared: the push worker keeps the process's priority.
    PUSH_WORKER_NICE: '0',
  };
  [one, two] = await Promise.all(['push-1', 'push-2'].map((id) => spawnInstance({ redisUrl: redis.url, id, env })));
  spawn3 = () => spawnInstance({ redisUrl: redis.url, id: 'push-3', env });
}, 40_000);
let spawn3: () => Promise<ChildInstance>;
afterAll(async () => {
  closeAllClients();
  await Promise.all([killInstance(one), killInstance(two), killInstance(three)]);
  await Promise.all([redis?.stop(), push?.close()]);
});
afterEach(() => closeAllClients());

const userKey = issuedUserKey;

async function subscribe(url: string, key: string): Promise<string> {
  const sub = push.browserSubscription();
  const res = await http(`${url}/me/push-subscriptions`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: sub.json });
  expect(res.status).toBe(201);
  return sub.token;
}

const typesFor = (token: string) => push.received.filter((r) => r.token === token).map((r) => r.payload.type as string);

describe('two instances on one Redis', () => {
  it('each notice reaches each subscription once', async () => {
    const rooms = 10;
    const startsAt = Date.now() + 6_000;
    const hosts: string[] = [];
    const guests: string[] = [];
    for (let i = 0; i < rooms; i++) {
      const [a, b] = i % 2 ? [one!, two!] : [two!, one!];
      const hostKey = userKey();
      const guestKey = userKey();
      hosts.push(await subscribe(a.url, hostKey));
      guests.push(await subscribe(b.url, guestKey));
      const host = await connect(a.url);
      const created = await call(host, 'create_session', { user_name: `H${i}`, user_key: hostKey, starts_at: startsAt + i * 10, session_duration: 60_000 });
      expect(created.ok).toBe(true);
      const guest = await connect(b.url);
      expect((await call(guest, 'join_session', { room_code: created.room_code, user_name: `G${i}`, user_key: guestKey })).ok).toBe(true);
      guest.disconnect();
    }
    await eventually(() => {
      for (const g of guests) expect(typesFor(g)).toEqual(['reminder', 'session_started']);
      for (const h of hosts) expect(typesFor(h)).toEqual(['reminder']);
    }, startsAt - Date.now() + 5_000, 50);
    await sleep(1_500); // a second copy would arrive here
    for (const g of guests) expect(typesFor(g)).toEqual(['reminder', 'session_started']);
    for (const h of hosts) expect(typesFor(h)).toEqual(['reminder']);
    expect(push.rejected).toEqual([]);
  }, 40_000);
});

describe('kill -9 of the room\'s instance before its reminder is due', () => {
  it('the survivor sends the reminder once, on time', async () => {
    const key = userKey();
    const token = await subscribe(two!.url, key);
    const host = await connect(one!.url);
    const startsAt = Date.now() + 5_000;
    const created = await call(host, 'create_session', { user_name: 'Host', user_key: key, starts_at: startsAt, session_duration: 60_000 });
    expect(created.ok).toBe(true);
    one!.signal('SIGKILL');
    await one!.exited;
    await eventually(() => expect(typesFor(token)).toContain('reminder'), startsAt - Date.now() + 3_000, 50);
    const reminder = push.received.find((r) => r.token === token)!;
    // Due at startsAt − 2 s; the survivor's poll takes an overdue room within ~0.6 s (due-scheduler.ts).
    expect(reminder.at).toBeGreaterThanOrEqual(startsAt - 2_000);
    expect(reminder.at - (startsAt - 2_000)).toBeLessThan(1_500);
    await sleep(1_500);
    expect(typesFor(token).filter((t) => t === 'reminder')).toHaveLength(1);
  }, 30_000);
});

/** Deliveries under way on an instance (leased, not answered for good). */
async function pendingOn(inst: ChildInstance): Promise<number> {
  const res = await fetch(`${inst.url}/metrics`);
  const m = /^focusroom_push_pending (\d+)/m.exec(await res.text());
  return m ? Number(m[1]) : 0;
}

describe('kill -9 of the sending instance while its request is in flight', () => {
  it('the survivor sends the notice again after the lease, with the same Topic: the device shows it once', async () => {
    three = await spawn3();
    const alive = [two!, three];
    const key = userKey();
    const token = await subscribe(two!.url, key);
    // The push service accepts the message but keeps its answer back: the sender is mid-request.
    push.behave(token, 'hold');
    const host = await connect(two!.url);
    const created = await call(host, 'create_session', { user_name: 'Host', session_duration: 60_000 });
    const member = await connect(three.url);
    expect((await call(member, 'join_session', { room_code: created.room_code, user_name: 'Away', user_key: key })).ok).toBe(true);
    // Away once the room knows it (the disconnect is committed by the member's instance).
    const away = waitFor(host, 'participant_connection', 10_000, (p) => p.connected === false);
    member.disconnect();
    await away;
    expect((await call(host, 'start_session')).ok).toBe(true);
    await eventually(() => expect(typesFor(token)).toEqual(['session_started']), 10_000, 20);
    // Whichever instance read the entry holds the lease; kill that one, its request unanswered.
    let sender: ChildInstance | undefined;
    await eventually(async () => {
      const pending = await Promise.all(alive.map(pendingOn));
      sender = alive[pending.findIndex((n) => n > 0)];
      expect(sender).toBeDefined();
    }, 5_000, 20);
    const survivor = alive.find((i) => i !== sender)!;
    sender!.signal('SIGKILL');
    await sender!.exited;
    const killedAt = Date.now();
    push.behave(token, { status: 201 });
    await eventually(() => expect(typesFor(token)).toEqual(['session_started', 'session_started']), 15_000, 50);
    const [first, again] = push.received.filter((r) => r.token === token);
    // Not before the dead sender's lease (PUSH_LEASE_MS = 2 s) could lapse.
    expect(again!.at - killedAt).toBeGreaterThanOrEqual(1_000);
    expect(again!.topic).toBe(first!.topic);
    expect(again!.payload).toEqual(first!.payload);
    expect(push.shown(token)).toHaveLength(1);
    // Sent for good now: marked done, nothing more goes out.
    await eventually(async () => expect(await pendingOn(survivor)).toBe(0), 3_000, 50);
    await sleep(1_500);
    expect(typesFor(token)).toHaveLength(2);
    expect(push.rejected).toEqual([]);
  }, 60_000);
});
