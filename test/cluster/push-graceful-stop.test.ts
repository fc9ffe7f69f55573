/**
 * Web Push across a graceful stop (real processes, one real Redis — standalone, and
 * Redis Cluster with its outbox stream per partition — and the local push service):
 * an instance stopped with SIGTERM while it holds delivery leases hands what it did not
 * send to the other instance, which sends each notice once and at once, not a lease later.
 *
 * The instance that stops holds three kinds of delivery when SIGTERM arrives:
 * - waiting for a retry (the push service answered 503 with a long Retry-After): never
 *   delivered; the survivor sends it, once;
 * - in flight and answered within the stop's wait (the push service held the answer back,
 *   then gave it): delivered and recorded by the stopping instance, never sent again;
 * - in flight and never answered (the push service hangs): its fate unknown, it is handed
 *   over and sent by the survivor (at least once).
 */
import webpush from 'web-push';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call, closeAllClients, connect, eventually } from '../helpers/client.js';
import { http } from '../helpers/http.js';
import { type ChildInstance, killInstance, spawnInstance } from '../helpers/process.js';
import { type PushService, startPushService } from '../helpers/push-service.js';
import { startRedisCluster, type TestRedisCluster } from '../helpers/redis-cluster.js';
import { startRedis, type TestRedis } from '../helpers/redis-server.js';
import { issuedUserKey } from '../helpers/test-env.js';
import { setTimeout as sleep } from 'node:timers/promises';

/** Long on purpose: a notice sent within a few seconds of the stop cannot have waited out a lease. */
const PUSH_LEASE_MS = 60_000;
/** A reminder goes out this long before the room starts; the rooms start after the test. */
const REMINDER_LEAD_MS = 120_000;
/** Reminders waiting for a retry on the stopping instance. */
const RETRYING = 6;

const vapid = webpush.generateVAPIDKeys();
let push: PushService;
const env = {
  VAPID_PUBLIC_KEY: vapid.publicKey,
  VAPID_PRIVATE_KEY: vapid.privateKey,
  VAPID_SUBJECT: 'https://focusroom.test/contact',
  PUSH_ALLOW_HTTP: 'true',
  REMINDER_LEAD_MS: String(REMINDER_LEAD_MS),
  PUSH_LEASE_MS: String(PUSH_LEASE_MS),
  // A held request stays in flight until the test answers it (no timeout and retry meanwhile).
  PUSH_TIMEOUT_MS: '60000',
  PUSH_WORKER_NICE: '0',
};

beforeAll(async () => {
  push = await startPushService();
});
afterEach(() => closeAllClients());
afterAll(async () => {
  closeAllClients();
  await push?.close();
});

async function subscribe(url: string, key: string): Promise<string> {
  const sub = push.browserSubscription();
  const res = await http(`${url}/me/push-subscriptions`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: sub.json });
  expect(res.status).toBe(201);
  return sub.token;
}

/** Deliveries under way on an instance (leased, not answered for good). */
async function pendingOn(inst: ChildInstance): Promise<number> {
  const res = await fetch(`${inst.url}/metrics`);
  const m = /^focusroom_push_pending (\d+)/m.exec(await res.text());
  return m ? Number(m[1]) : 0;
}

const receivedBy = (token: string) => push.received.filter((r) => r.token === token);
const attemptsAt = (token: string) => push.attempts.filter((a) => a.token === token);

describe.each(['standalone', 'cluster'] as const)('SIGTERM of an instance holding push leases, Redis %s', (kind) => {
  let redis: TestRedis | undefined;
  let cluster: TestRedisCluster | undefined;
  let redisUrl: string;
  let topology: Record<string, string>;
  let stopping: ChildInstance | undefined;
  let survivor: ChildInstance | undefined;
  beforeAll(async () => {
    if (kind === 'cluster') {
      cluster = await startRedisCluster();
      [redisUrl, topology] = [cluster.seeds, { REDIS_CLUSTER: 'true' }];
    } else {
      redis = await startRedis();
      [redisUrl, topology] = [redis.url, {}];
    }
  }, 60_000);
  afterAll(async () => {
    await Promise.all([killInstance(stopping), killInstance(survivor)]);
    await Promise.all([redis?.stop(), cluster?.stop()]);
  }, 30_000);

  it('the other instance sends each notice it did not send, once, well before PUSH_LEASE_MS', async () => {
    stopping = await spawnInstance({ redisUrl, id: `push-stop-${kind}-1`, env: { ...env, ...topology } });
    // One booked room per subscriber, each reminder due ~3 s from now, all on the instance that stops.
    const startsAt = Date.now() + REMINDER_LEAD_MS + 3_000;
    const tokens: string[] = [];
    for (let i = 0; i < RETRYING + 2; i++) {
      const key = issuedUserKey();
      const token = await subscribe(stopping.url, key);
      tokens.push(token);
      const host = await connect(stopping.url);
      const created = await call(host, 'create_session', { user_name: `B${i}`, user_key: key, starts_at: startsAt + i, session_duration: 60_000 });
      expect(created.ok).toBe(true);
    }
    const retrying = tokens.slice(0, RETRYING);
    const [answered, unanswered] = tokens.slice(RETRYING) as [string, string];
    for (const t of retrying) push.behave(t, { status: 503, headers: { 'retry-after': '60' } });
    push.behave(answered, 'hold');
    push.behave(unanswered, 'hang');
    // Every delivery leased by the instance that stops: each tried once, none sent for good.
    await eventually(async () => {
      for (const t of tokens) expect(attemptsAt(t)).toHaveLength(1);
      expect(await pendingOn(stopping!)).toBe(tokens.length);
    }, 15_000, 50);

    // The survivor joins now, so it read none of these entries itself.
    survivor = await spawnInstance({ redisUrl, id: `push-stop-${kind}-2`, env: { ...env, ...topology } });
    for (const t of [...retrying, unanswered]) push.behave(t, { status: 201 });
    expect(receivedBy(unanswered)).toEqual([]);

    const sigtermAt = Date.now();
    stopping.signal('SIGTERM');
    // The held request is answered while the instance stops: it records it as sent.
    await sleep(300);
    push.behave(answered, { status: 201 });
    expect((await stopping.exited).code).toBe(0);

    await eventually(() => {
      for (const t of tokens) expect(receivedBy(t)).toHaveLength(1);
    }, 15_000, 50);
    const handedOverIn = Math.max(...[...retrying, unanswered].map((t) => receivedBy(t)[0]!.at)) - sigtermAt;
    console.log(`push (Redis ${kind}): ${RETRYING + 1} notices sent by the survivor within ${handedOverIn} ms of SIGTERM (PUSH_LEASE_MS ${PUSH_LEASE_MS})`);
    // Stop (≤ 1 s drain, ≤ 2 s for requests in flight) and one claim: seconds, not a lease.
    expect(handedOverIn).toBeLessThan(PUSH_LEASE_MS / 6);
    await eventually(async () => expect(await pendingOn(survivor!)).toBe(0), 5_000, 50);
    await sleep(1_500); // a second copy would arrive here
    for (const t of tokens) expect(receivedBy(t)).toHaveLength(1);
    // The answered one went out once; the unanswered one twice (the hung request, then the survivor's).
    expect(attemptsAt(answered)).toHaveLength(1);
    expect(attemptsAt(unanswered)).toHaveLength(2);
    for (const t of retrying) expect(attemptsAt(t)).toHaveLength(2);
    expect(push.rejected).toEqual([]);
  }, 90_000);
});
