/**
 * Fuzzing the Web Push routes (as rest-fuzz.test.ts does the room routes): generated
 * methods, paths, Authorization headers, content types and bodies (any JSON, subscriptions
 * with each field broken, prototype keys, broken JSON). Every answer is a route's success
 * or `{ error: { code, message } }` with a wire code and no internals, nothing is answered
 * `internal`, and only well-formed subscriptions of a valid identity are stored, at most
 * PUSH_SUBSCRIPTIONS_MAX per identity.
 */
import fc from 'fast-check';
import webpush from 'web-push';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issuedUserKey } from '../helpers/test-env.js';
import { ERROR_CODES } from '../../src/contract/errors.js';
import { PUSH_SUBSCRIPTIONS_MAX } from '../../src/contract/push-schemas.js';
import { http, type HttpResult } from '../helpers/http.js';
import { type PushService, startPushService } from '../helpers/push-service.js';
import { newServer, type TestServer } from '../helpers/server.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const BATCH = 20;
const vapid = webpush.generateVAPIDKeys();

let push: PushService;
let server: TestServer;
beforeAll(async () => {
  push = await startPushService();
  server = await newServer({ VAPID_PUBLIC_KEY: vapid.publicKey, VAPID_PRIVATE_KEY: vapid.privateKey, VAPID_SUBJECT: 'mailto:fuzz@focusroom.test', PUSH_ALLOW_HTTP: 'true' });
});
afterAll(async () => {
  await push?.close();
});

describe('Web Push REST fuzz', () => {
  it(`answers ${RUNS * BATCH} generated requests with successes or wire errors, storing only valid subscriptions`, async () => {
    const keys = [issuedUserKey(), issuedUserKey()];
    const good = () => push.browserSubscription().json;
    const ids: string[] = [];
    const statuses = new Map<number, number>();
    const junk = fc.oneof(fc.string({ maxLength: 100 }), fc.integer(), fc.constant(null), fc.constant(''), fc.array(fc.string(), { maxLength: 3 }), fc.constant('\u202Eevil'), fc.constant('a\u0000b'));
    const subscriptionArb = fc.oneof(
      fc.constant(null).map(() => good()),
      fc.record({ endpoint: junk }).map((o) => ({ ...good(), ...o })),
      fc.record({ p256dh: junk }).map((o) => { const g = good(); return { ...g, keys: { ...g.keys, ...o } }; }),
      fc.record({ auth: junk }).map((o) => { const g = good(); return { ...g, keys: { ...g.keys, ...o } }; }),
      fc.record({ keys: junk }).map((o) => ({ ...good(), ...o })),
      fc.record({ extra: fc.anything(), expirationTime: fc.oneof(fc.integer(), fc.constant(null), fc.string()) }).map((o) => ({ ...good(), ...o })),
      fc.constantFrom('https://push.example.test/a', 'javascript:alert(1)', 'http://[::1', `https://x/${'a'.repeat(1_100)}`).map((endpoint) => ({ ...good(), endpoint })),
      fc.constantFrom({ ['__proto__']: { polluted: true } }, JSON.parse('{"__proto__":{"polluted":true},"endpoint":"https://x/y"}')),
      fc.jsonValue(),
    );
    const authArb = fc.oneof(fc.constantFrom(...keys).map((k) => `Bearer ${k}`), fc.constant(undefined), fc.string({ maxLength: 60 }), fc.string({ maxLength: 70 }).map((s) => `Bearer ${s}`));
    const idArb = fc.oneof(fc.nat().map((i) => ids[i % Math.max(ids.length, 1)] ?? 'none'), fc.string({ maxLength: 80 }), fc.constant('..%2F..'), fc.constant('%00'));
    const generated = fc.record({
      method: fc.constantFrom('GET', 'POST', 'DELETE', 'PATCH', 'PUT'),
      route: fc.constantFrom('collection', 'item', 'key'),
      id: idArb,
      auth: authArb,
      type: fc.constantFrom('application/json', 'text/plain', undefined),
      body: fc.oneof(subscriptionArb.map((v) => JSON.stringify(v)), fc.string({ maxLength: 100 }), fc.constant('{"endpoint":'), fc.constant(undefined)),
    });
    // Well-formed calls of a real identity mix in: subscriptions up to the limit and past it, deletions.
    const valid = fc.record({
      method: fc.constantFrom('POST', 'POST', 'DELETE', 'GET'),
      route: fc.constant('collection'),
      id: idArb,
      auth: fc.constantFrom(...keys).map((k) => `Bearer ${k}` as string | undefined),
      type: fc.constant('application/json' as string | undefined),
      body: fc.constant(undefined as string | undefined),
    }).map((r) => (r.method === 'POST' ? { ...r, body: JSON.stringify(good()) } : r.method === 'DELETE' ? { ...r, route: 'item' as const } : r));
    const request = fc.oneof({ arbitrary: generated, weight: 3 }, { arbitrary: valid, weight: 1 });
    type Req = typeof request extends fc.Arbitrary<infer T> ? T : never;
    const send = (r: Req): Promise<HttpResult> => {
      const path = r.route === 'key' ? '/push/vapid-public-key' : r.route === 'collection' ? '/me/push-subscriptions' : `/me/push-subscriptions/${encodeURIComponent(r.id)}`;
      const headers: Record<string, string> = {};
      if (r.auth !== undefined) headers.authorization = r.auth;
      if (r.type !== undefined && r.body !== undefined) headers['content-type'] = r.type;
      return http(`${server.url}${path}`, { method: r.method, headers, body: r.body !== undefined && r.method !== 'GET' ? r.body : undefined });
    };

    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        const results = await Promise.all(batch.map(send));
        for (const res of results) {
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          expect(res.status, res.text).toBeLessThan(500);
          if (res.status >= 400) {
            expect(Object.keys(res.body ?? {}), res.text).toEqual(['error']);
            expect(ERROR_CODES).toContain(res.body.error.code);
            expect(res.text).not.toMatch(/stack|at \w+ \(|node_modules|Error:/);
          } else if (res.status === 201) {
            ids.push(res.body.id);
          }
        }
      }),
      { numRuns: RUNS },
    );
    console.log(`push fuzz: ${RUNS * BATCH} requests; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);
    const internal = (await server.app.metrics.registry.getSingleMetric('focusroom_errors_total')!.get()).values.find((v) => v.labels.code === 'internal');
    expect(internal?.value ?? 0).toBe(0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    for (const k of keys) {
      const list = await http(`${server.url}/me/push-subscriptions`, { headers: { authorization: `Bearer ${k}` } });
      expect(list.status).toBe(200);
      expect(list.body.subscriptions.length).toBeLessThanOrEqual(PUSH_SUBSCRIPTIONS_MAX);
      for (const s of list.body.subscriptions) expect(['https://push.example.test', push.url]).toContain(s.endpoint_origin);
    }
    expect((await http(`${server.url}/health`)).status).toBe(200);
  }, 60_000);
});
