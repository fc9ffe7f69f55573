/**
 * Web Push against the local push service (test/helpers/push-service.ts),
 * which checks the VAPID JWT and decrypts every message with the subscription's keys: the
 * subscription routes, the reminder before a booked room's start, notices only to
 * identities away from the room, 404/410 deleting a subscription, retries honouring
 * Retry-After, and a hanging push service holding up nobody else.
 */
import webpush from 'web-push';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issuedUserKey } from '../helpers/test-env.js';
import { PUSH_SUBSCRIPTIONS_MAX } from '../../src/contract/push-schemas.js';
import { call, connect, eventually, waitFor } from '../helpers/client.js';
import { expectHttpError, http } from '../helpers/http.js';
import { type PushService, startPushService } from '../helpers/push-service.js';
import { newServer, type TestServer } from '../helpers/server.js';
import { setTimeout as sleep } from 'node:timers/promises';

const vapid = webpush.generateVAPIDKeys();
export const pushEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
  VAPID_PUBLIC_KEY: vapid.publicKey,
  VAPID_PRIVATE_KEY: vapid.privateKey,
  VAPID_SUBJECT: 'mailto:ops@focusroom.test',
  PUSH_ALLOW_HTTP: 'true',
  REMINDER_LEAD_MS: '2000',
  ...extra,
});
const userKey = issuedUserKey;
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

let push: PushService;
let server: TestServer;
beforeAll(async () => {
  push = await startPushService();
  server = await newServer(pushEnv({ PUSH_TIMEOUT_MS: '1000' }), { push: { retryMinMs: 200, retryMaxMs: 1_000 } });
});
afterAll(async () => {
  await push?.close();
});

async function subscribe(key: string) {
  const sub = push.browserSubscription();
  const res = await http(`${server.url}/me/push-subscriptions`, { method: 'POST', headers: bearer(key), body: sub.json });
  expect(res.status).toBe(201);
  return { ...sub, id: res.body.id as string };
}

const receivedBy = (token: string) => push.received.filter((r) => r.token === token);

describe('subscription routes', () => {
  it('GET /push/vapid-public-key gives the key the JWTs are signed with; /health says push is enabled', async () => {
    expect((await http(`${server.url}/health`)).body).toMatchObject({ push: 'enabled' });
    const res = await http(`${server.url}/push/vapid-public-key`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ key: vapid.publicKey });
  });

  it('POST is idempotent per endpoint, GET lists without the secret endpoint, DELETE removes', async () => {
    const key = userKey();
    const sub = await subscribe(key);
    const again = await http(`${server.url}/me/push-subscriptions`, { method: 'POST', headers: bearer(key), body: sub.json });
    expect(again.status).toBe(201);
    expect(again.body).toEqual({ id: sub.id });
    const list = await http(`${server.url}/me/push-subscriptions`, { headers: bearer(key) });
    expect(list.status).toBe(200);
    expect(list.body.subscriptions).toEqual([{ id: sub.id, endpoint_origin: push.url, created_at: expect.any(Number) }]);
    expect(list.text).not.toContain(sub.token);
    // Another identity sees none of it and cannot delete it.
    expect((await http(`${server.url}/me/push-subscriptions`, { headers: bearer(userKey()) })).body).toEqual({ subscriptions: [] });
    expectHttpError(await http(`${server.url}/me/push-subscriptions/${sub.id}`, { method: 'DELETE', headers: bearer(userKey()) }), 404, 'not_found');
    const del = await http(`${server.url}/me/push-subscriptions/${sub.id}`, { method: 'DELETE', headers: bearer(key) });
    expect(del.status).toBe(200);
    expect((await http(`${server.url}/me/push-subscriptions`, { headers: bearer(key) })).body).toEqual({ subscriptions: [] });
  });

  it(`at most ${PUSH_SUBSCRIPTIONS_MAX} per identity: 409 invalid_state beyond`, async () => {
    const key = userKey();
    for (let i = 0; i < PUSH_SUBSCRIPTIONS_MAX; i++) await subscribe(key);
    const res = await http(`${server.url}/me/push-subscriptions`, { method: 'POST', headers: bearer(key), body: push.browserSubscription().json });
    expectHttpError(res, 409, 'invalid_state');
  });

  it('typed 400s for bad subscriptions, 401 without an identity', async () => {
    const good = push.browserSubscription().json;
    const bad: unknown[] = [
      {},
      { ...good, endpoint: 'not a url' },
      { ...good, endpoint: 'ftp://x/y' },
      { ...good, keys: { p256dh: good.keys.p256dh } },
      { ...good, keys: { ...good.keys, p256dh: good.keys.p256dh.slice(1) } },
      { ...good, keys: { ...good.keys, auth: 'short' } },
      { ...good, endpoint: `https://x/${'a'.repeat(2000)}` },
      'not json',
    ];
    for (const body of bad) expectHttpError(await http(`${server.url}/me/push-subscriptions`, { method: 'POST', headers: bearer(userKey()), body }), 400, 'invalid_payload');
    expectHttpError(await http(`${server.url}/me/push-subscriptions`, { method: 'POST', body: good }), 401, 'unauthorized');
    expectHttpError(await http(`${server.url}/me/push-subscriptions`), 401, 'unauthorized');
    expectHttpError(await http(`${server.url}/me/push-subscriptions/x!`, { method: 'DELETE', headers: bearer(userKey()) }), 400, 'invalid_payload');
  });

  it('http: endpoints only with PUSH_ALLOW_HTTP=true; without VAPID keys every push route is 503', async () => {
    const strict = await newServer(pushEnv({ PUSH_ALLOW_HTTP: 'false' }));
    const sub = push.browserSubscription().json;
    expectHttpError(await http(`${strict.url}/me/push-subscriptions`, { method: 'POST', headers: bearer(userKey()), body: sub }), 400, 'invalid_payload');
    const https = await http(`${strict.url}/me/push-subscriptions`, { method: 'POST', headers: bearer(userKey()), body: { ...sub, endpoint: 'https://push.example.test/abc' } });
    expect(https.status).toBe(201);
    const off = await newServer({});
    expectHttpError(await http(`${off.url}/push/vapid-public-key`), 503, 'unavailable');
    expectHttpError(await http(`${off.url}/me/push-subscriptions`, { method: 'POST', headers: bearer(userKey()), body: sub }), 503, 'unavailable');
    expectHttpError(await http(`${off.url}/me/push-subscriptions`, { headers: bearer(userKey()) }), 503, 'unavailable');
  });
});

describe('notices', () => {
  it('a booked room reminds its participants once, REMINDER_LEAD_MS before the start, then tells the away ones it started', async () => {
    const hostKey = userKey();
    const guestKey = userKey();
    const hostSub = await subscribe(hostKey);
    const guestSubs = [await subscribe(guestKey), await subscribe(guestKey)];
    const startsAt = Date.now() + 4_500;
    const host = await connect(server.url);
    const created = await call(host, 'create_session', { user_name: 'Host', user_key: hostKey, starts_at: startsAt, title: 'Write', session_duration: 60_000 });
    expect(created.ok).toBe(true);
    // The guest books a seat and leaves the page (its booked seat stays, disconnected).
    const guest = await connect(server.url);
    expect((await call(guest, 'join_session', { room_code: created.room_code, user_name: 'Guest', user_key: guestKey })).ok).toBe(true);
    guest.disconnect();
    await eventually(() => expect(receivedBy(hostSub.token)).toHaveLength(1), 6_000);
    const reminder = receivedBy(hostSub.token)[0]!;
    expect(reminder.payload).toEqual({ type: 'reminder', room_code: created.room_code, title: 'Write', starts_at: startsAt, ends_at: null, phase: 'focus', round: 1 });
    // Sent at starts_at − lead (a poll's and a loaded machine's slack after it).
    expect(reminder.at).toBeGreaterThanOrEqual(startsAt - 2_000);
    expect(reminder.at).toBeLessThan(startsAt);
    expect(reminder.urgency).toBe('high');
    expect(reminder.ttl).toBeGreaterThan(0);
    expect(reminder.ttl).toBeLessThanOrEqual(2);
    expect(reminder.topic).toMatch(/^[\w-]{32}$/);
    expect(reminder.claims).toMatchObject({ aud: push.url, sub: 'mailto:ops@focusroom.test' });
    expect(reminder.vapidKey).toBe(vapid.publicKey);
    await eventually(() => {
      for (const s of guestSubs) expect(receivedBy(s.token).map((r) => r.payload.type)).toContain('reminder');
    }, 3_000);

    // The start: the guest (no socket) is told; the connected host is not.
    await waitFor(host, 'session_started', 6_000);
    await eventually(() => {
      for (const s of guestSubs) expect(receivedBy(s.token).map((r) => r.payload.type)).toEqual(['reminder', 'session_started']);
    }, 3_000);
    const started = receivedBy(guestSubs[0]!.token)[1]!;
    expect(started.payload).toMatchObject({ type: 'session_started', room_code: created.room_code, phase: 'focus', round: 1, ends_at: expect.any(Number) });
    expect(started.urgency).toBe('high');
    expect(started.topic).toBe(reminder.topic);
    await sleep(500);
    expect(receivedBy(hostSub.token).map((r) => r.payload.type)).toEqual(['reminder']);
    expect(push.rejected).toEqual([]);
  });

  it('start, phase changes and completion go to identities with no connected socket; normal urgency but the start', async () => {
    const hostKey = userKey();
    const awayKey = userKey();
    const hostSub = await subscribe(hostKey);
    const awaySub = await subscribe(awayKey);
    const host = await connect(server.url);
    const created = await call(host, 'create_session', { user_name: 'Host', user_key: hostKey, session_duration: 1_000, rounds: 2, break_duration: 1_000 });
    const away = await connect(server.url);
    expect((await call(away, 'join_session', { room_code: created.room_code, user_name: 'Away', user_key: awayKey })).ok).toBe(true);
    away.disconnect();
    expect((await call(host, 'start_session')).ok).toBe(true);
    await waitFor(host, 'session_completed', 6_000, (p) => p.final);
    // One notice per moment: a focus round's end is its completion (the break follows), a
    // break's end is the phase change (the next round's start follows).
    await eventually(() => expect(receivedBy(awaySub.token).map((r) => r.payload.type)).toEqual(['session_started', 'session_completed', 'phase_changed', 'session_completed']), 3_000);
    const [, first, toFocus, final] = receivedBy(awaySub.token);
    expect(first!.payload).toMatchObject({ phase: 'break', round: 1 });
    expect(toFocus!.payload).toMatchObject({ phase: 'focus', round: 2 });
    expect(final!.payload).toMatchObject({ phase: 'focus', round: 2, ends_at: null });
    expect(new Set([first!.urgency, toFocus!.urgency, final!.urgency])).toEqual(new Set(['normal']));
    expect(final!.ttl).toBeGreaterThan(9 * 60);
    expect(receivedBy(hostSub.token)).toEqual([]);
  });

  it('404/410 deletes the subscription; 500 with Retry-After is retried no sooner; a hanging push service delays nobody else', async () => {
    const key = userKey();
    const gone = await subscribe(key);
    const flaky = await subscribe(key);
    const hung = await subscribe(key);
    const fine = await subscribe(key);
    push.behave(gone.token, { status: 410 });
    push.behave(flaky.token, { status: 503, headers: { 'retry-after': '2' } });
    push.behave(hung.token, 'hang');
    const host = await connect(server.url);
    const created = await call(host, 'create_session', { user_name: 'Host', session_duration: 60_000 });
    const member = await connect(server.url);
    await call(member, 'join_session', { room_code: created.room_code, user_name: 'M', user_key: key });
    member.disconnect();
    const t0 = Date.now();
    await call(host, 'start_session');
    await eventually(() => expect(receivedBy(fine.token)).toHaveLength(1), 3_000);
    // Not held up by the hanging endpoint (its request times out after PUSH_TIMEOUT_MS = 1 s).
    expect(receivedBy(fine.token)[0]!.at - t0).toBeLessThan(1_000);
    await eventually(async () => {
      const list = await http(`${server.url}/me/push-subscriptions`, { headers: bearer(key) });
      expect(list.body.subscriptions.map((s: { id: string }) => s.id).sort()).toEqual([flaky.id, hung.id, fine.id].sort());
    }, 3_000);
    const firstTry = push.attempts.find((a) => a.token === flaky.token)!.at;
    push.behave(flaky.token, { status: 201 });
    await eventually(() => expect(receivedBy(flaky.token)).toHaveLength(1), 6_000);
    expect(receivedBy(flaky.token)[0]!.at - firstTry).toBeGreaterThanOrEqual(1_900);
    // The hanging endpoint was tried again (a timeout is retryable) and never blocked the rest.
    await eventually(() => expect(push.attempts.filter((a) => a.token === hung.token).length).toBeGreaterThanOrEqual(2), 5_000);
    expect(receivedBy(fine.token)).toHaveLength(1);
  });
});
