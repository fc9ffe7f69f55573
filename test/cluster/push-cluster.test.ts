/**
 * Web Push across instances (real processes, one real Redis, the local push service):
 * every notice reaches each subscription once although both instances read the outbox's
 * push group, and a reminder whose room's instance was killed before it was due is sent
 * once by the survivor.
 */
import webpush from 'web-push';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { issuedUserKey } from '../helpers/test-env.js';
import { call, closeAllClients, connect, eventually } from '../helpers/client.js';
import { http } from '../helpers/http.js';
import { type ChildInstance, killInstance, spawnInstance } from '../helpers/process.js';
import { type PushService, startPushService } from '../helpers/push-service.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { sleep } from '../helpers/sleep.js';

const vapid = webpush.generateVAPIDKeys();
let redis: TestRedis;
let push: PushService;
let one: ChildInstance | undefined;
let two: ChildInstance | undefined;

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
  };
  [one, two] = await Promise.all(['push-1', 'push-2'].map((id) => spawnInstance({ redisUrl: redis.url, id, env })));
}, 40_000);
afterAll(async () => {
  closeAllClients();
  await Promise.all([killInstance(one), killInstance(two)]);
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
