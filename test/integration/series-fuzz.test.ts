/**
 * Fuzzing the series and calendar-feed routes with fast-check against a live
 * server: generated bodies (any JSON, wrong types per field, RRULE-like junk, odd zones,
 * prototype keys), paths, methods and Authorization headers. Every answer is a success of
 * the route or `{ error: { code, message } }` with a wire code; no `internal` error; a
 * refused POST /series creates no series.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issuedUserKey } from '../helpers/test-env.js';
import { ERROR_CODES } from '../../src/contract/errors.js';
import { http } from '../helpers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const BATCH = 10;
let server: TestServer;
beforeAll(async () => {
  server = await startServer({ DATA_DIR: 'off', RATE_SOCKET_EVENTS_PER_SEC: '100000', RATE_JOIN_FAILURES_PER_MIN: '1000000' });
});
afterAll(() => server.close());

describe('series and calendar-feed fuzz', () => {
  it(`answers ${RUNS * BATCH} generated requests with successes or wire errors`, async () => {
    const key = issuedUserKey();
    const now = Date.now();
    const rruleArb = fc.oneof(
      fc.constantFrom('FREQ=DAILY;COUNT=3', 'FREQ=WEEKLY;BYDAY=MO,TU;COUNT=4', 'FREQ=WEEKLY;UNTIL=20991231', 'FREQ=MONTHLY;COUNT=2', 'FREQ=DAILY;COUNT=9999', 'FREQ=DAILY;BYDAY=;COUNT=1', 'RRULE:FREQ=DAILY;INTERVAL=0;COUNT=2', ''),
      fc.string({ maxLength: 220 }),
      fc.array(fc.constantFrom('FREQ=DAILY', 'FREQ=WEEKLY', 'COUNT=2', 'UNTIL=20270101T000000Z', 'INTERVAL=3', 'BYDAY=MO', 'BYHOUR=2', 'WKST=MO'), { maxLength: 5 }).map((p) => p.join(';')),
    );
    const body = fc.oneof(
      fc.record(
        {
          title: fc.oneof(fc.string({ maxLength: 90 }), fc.integer(), fc.constant('\u202Eevil')),
          starts_at: fc.oneof(fc.integer({ min: 60_000, max: 40 * 86_400_000 }).map((d) => now + d), fc.constantFrom(-1, 0, 1.5, 8.64e15 + 1), fc.string()),
          rrule: fc.oneof(rruleArb, fc.integer()),
          tz: fc.oneof(fc.constantFrom('Europe/Berlin', 'America/New_York', 'UTC', 'Mars/Base', '../etc', ''), fc.string({ maxLength: 70 })),
          session_duration: fc.oneof(fc.integer({ min: 0, max: 20_000_000 }), fc.string()),
          rounds: fc.oneof(fc.integer({ min: -1, max: 20 }), fc.constant(null)),
          user_name: fc.oneof(fc.string({ maxLength: 45 }), fc.constant({})),
          extra: fc.anything(),
        },
        { requiredKeys: [] },
      ),
      fc.jsonValue(),
      fc.constantFrom(JSON.parse('{"__proto__":{"polluted":true}}'), { constructor: { prototype: { polluted: true } } }),
    );
    const auth = fc.oneof(fc.constant(`Bearer ${key}`), fc.constant(undefined), fc.string({ maxLength: 50 }), fc.string({ maxLength: 70 }).map((s) => `Bearer ${s}`));
    const seg = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('..%2F', '%00', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.ics', '1700000000000'));
    const request = fc.record({
      method: fc.constantFrom('GET', 'POST', 'DELETE', 'PUT'),
      route: fc.constantFrom('/series', '/series/:id', '/series/:id/members', '/series/:id/occurrences/:t', '/me/calendar-feed', '/calendar/:file'),
      a: seg,
      b: seg,
      auth,
      body: fc.option(body.map((v) => JSON.stringify(v)), { nil: undefined }),
    });
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        const results = await Promise.all(
          batch.map((r) => {
            const path = r.route.replace(':id', encodeURIComponent(r.a)).replace(':t', encodeURIComponent(r.b)).replace(':file', encodeURIComponent(r.a));
            const headers: Record<string, string> = {};
            if (r.auth !== undefined) headers.authorization = r.auth;
            const hasBody = r.body !== undefined && r.method !== 'GET';
            if (hasBody) headers['content-type'] = 'application/json';
            return http(`${server.url}${path}`, { method: r.method, headers, body: hasBody ? r.body : undefined });
          }),
        );
        for (const res of results) {
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          expect(res.status, res.text).toBeLessThan(500);
          if (res.status >= 400) {
            expect(Object.keys(res.body ?? {}), res.text).toEqual(['error']);
            expect(ERROR_CODES).toContain(res.body.error.code);
            expect(res.text).not.toMatch(/stack|at \w+ \(|node_modules/);
          }
        }
      }),
      { numRuns: RUNS },
    );
    console.log(`series fuzz: ${RUNS * BATCH} requests; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((x, y) => x[0] - y[0])))}`);
    const internal = (await server.app.metrics.registry.getSingleMetric('focusroom_errors_total')!.get()).values.find((v) => v.labels.code === 'internal');
    expect(internal?.value ?? 0).toBe(0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await http(`${server.url}/health`)).status).toBe(200);
  }, 120_000);
});
