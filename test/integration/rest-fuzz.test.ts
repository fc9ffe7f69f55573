/**
 * REST fuzzing with fast-check against a live server with a real room in it: generated
 * methods, paths (real and random codes and task ids, encoded junk, traversal), query
 * strings, headers (Authorization variants, content types) and bodies (any JSON, wrong
 * types per field, unknown fields, prototype keys, unicode edge cases, broken JSON, huge
 * bodies). Every answer must be a success of the route or `{ error: { code, message } }`
 * with a wire code and no internals; no `internal` error is counted; only valid calls
 * with the real token change the room, and they change it exactly as reported; the
 * server keeps serving and the room's sockets hear exactly the successful changes.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/contract/errors.js';
import { ROOM_CODE_ALPHABET } from '../../src/contract/limits.js';
import { closeAllClients, connect, eventually, roomWith } from '../helpers/client.js';
import { http, type HttpResult } from '../helpers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 60);
const BATCH = 20;

let server: TestServer;
beforeAll(async () => {
  // High budgets: the fuzz is about validation and errors, not the limiters.
  server = await startServer({ RATE_SOCKET_EVENTS_PER_SEC: '100000', RATE_JOIN_FAILURES_PER_MIN: '1000000' });
});
afterAll(async () => {
  closeAllClients();
  await server.close();
});

const jsonish = fc.oneof(
  fc.jsonValue(),
  fc.record({ title: fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.array(fc.string()), fc.constant(''), fc.constant('a\u0000b'), fc.constant('\u202Eevil'), fc.constant('👩‍👩‍👧')) }, { requiredKeys: [] }),
  fc.record({ title: fc.string({ maxLength: 5 }), done: fc.oneof(fc.boolean(), fc.constant('true'), fc.integer()), extra: fc.anything() }, { requiredKeys: [] }),
  fc.constantFrom({ ['__proto__']: { polluted: true } }, JSON.parse('{"__proto__":{"polluted":true},"title":"x"}'), { constructor: { prototype: { polluted: true } } }),
);

describe('REST fuzz', () => {
  it(`answers ${RUNS * BATCH} generated requests with routes' successes or wire errors, changing the room only as reported`, async () => {
    const [host, guest] = await Promise.all([connect(server.url), connect(server.url)]);
    const { code, created } = await roomWith(host, [guest]);
    const token = created.resume_token as string;
    const heard: number[] = [];
    for (const e of ['task_added', 'task_updated', 'task_removed', 'participant_intention', 'participant_recap']) guest.on(e as 'task_added', (p: { seq: number }) => heard.push(p.seq));
    const taskIds: string[] = [];
    const successSeqs: number[] = [];
    let removals = 0;
    const statuses = new Map<number, number>();

    const codeArb = fc.oneof(fc.constant(code), fc.constant(code.toLowerCase()), fc.stringMatching(new RegExp(`^[${ROOM_CODE_ALPHABET}]{6}$`)), fc.string({ maxLength: 80 }));
    const idArb = fc.oneof(fc.nat().map((i) => taskIds[i % Math.max(taskIds.length, 1)] ?? 'none'), fc.string({ maxLength: 80 }), fc.constant('..%2F..'), fc.constant('%00'));
    const authArb = fc.oneof(fc.constant(`Bearer ${token}`), fc.constant(`bearer  ${token}`), fc.constant(undefined), fc.string({ maxLength: 60 }), fc.string({ maxLength: 40 }).map((s) => `Bearer ${s}`));
    const typeArb = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/xml', undefined);
    // Well-formed calls with the real token, so successes (and their broadcasts) mix in.
    const valid = fc.oneof(
      fc.string({ minLength: 1, maxLength: 30 }).filter((t) => t.trim().length > 0 && !/[\p{Cc}\p{Cs}]/u.test(t)).map((title) => ({ method: 'POST', route: 'tasks', body: JSON.stringify({ title }) })),
      fc.boolean().map((done) => ({ method: 'PATCH', route: 'task', body: JSON.stringify({ done }) })),
      fc.constant({ method: 'DELETE', route: 'task', body: undefined }),
      // Distinct texts: setting the same intention again is (rightly) no change.
      fc.uuid().map((text) => ({ method: 'PUT', route: 'intention', body: JSON.stringify({ text }) })),
      // No round has ended in this room: always 409 invalid_state, never a change.
      fc.constantFrom('done', 'partly', 'not').map((outcome) => ({ method: 'PUT', route: 'recap', body: JSON.stringify({ round: 1, outcome }) })),
    ).chain((v) => fc.record({ method: fc.constant(v.method), route: fc.constant(v.route), code: fc.constant(code), id: idArb, query: fc.constant(''), auth: fc.constant(`Bearer ${token}` as string | undefined), type: fc.constant('application/json' as string | undefined), body: fc.constant(v.body as string | undefined) }));
    const generated = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS'),
      route: fc.constantFrom('tasks', 'task', 'events', 'lookup', 'raw', 'intention', 'recap'),
      code: codeArb,
      id: idArb,
      query: fc.oneof(fc.constant(''), fc.constantFrom('?after=1', '?limit=5', '?after=-1', '?after=1&after=2', '?limit=1e3', '?x=1', '?after=%00'), fc.string({ maxLength: 30 }).map((s) => `?${s}`)),
      auth: authArb,
      type: typeArb,
      body: fc.oneof(
        jsonish.map((v) => JSON.stringify(v)),
        fc.record({ text: fc.oneof(fc.string({ maxLength: 150 }), fc.integer(), fc.constant('\u202Eevil')), round: fc.oneof(fc.integer({ min: -1, max: 13 }), fc.string()), outcome: fc.string({ maxLength: 8 }), note: fc.anything() }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
        fc.string({ maxLength: 200 }),
        fc.constant('{"title":'),
        fc.constant(undefined),
      ),
    });
    const request = fc.oneof({ arbitrary: generated, weight: 4 }, { arbitrary: valid, weight: 1 });

    const safeSegment = (s: string) => encodeURIComponent(s);
    type Req = typeof request extends fc.Arbitrary<infer T> ? T : never;
    const send = async (r: Req): Promise<HttpResult> => {
      const base = `${server.url}/sessions/${safeSegment(r.code)}`;
      const path =
        r.route === 'intention' || r.route === 'recap' ? `${base}/${r.route}` : r.route === 'tasks' ? `${base}/tasks` : r.route === 'task' ? `${base}/tasks/${safeSegment(r.id)}` : r.route === 'events' ? `${base}/events` : r.route === 'lookup' ? base : `${server.url}/${safeSegment(r.code)}/${safeSegment(r.id)}`;
      const headers: Record<string, string> = {};
      if (r.auth !== undefined) headers.authorization = r.auth;
      if (r.type !== undefined && r.body !== undefined) headers['content-type'] = r.type;
      const hasBody = r.body !== undefined && r.method !== 'GET' && r.method !== 'OPTIONS';
      return http(`${path}${r.query}`, { method: r.method, headers, body: hasBody ? r.body : undefined });
    };

    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        const results = await Promise.all(batch.map(send));
        for (const [i, res] of results.entries()) {
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          expect(res.status, res.text).toBeLessThan(500);
          if (res.status >= 400) {
            expect(Object.keys(res.body ?? {}), res.text).toEqual(['error']);
            expect(ERROR_CODES).toContain(res.body.error.code);
            expect(typeof res.body.error.message).toBe('string');
            expect(res.text).not.toMatch(/stack|at \w+ \(|node_modules|Error:/);
          } else if (res.status === 204 && batch[i]!.method === 'DELETE') {
            removals += 1;
          } else if (res.status === 200 && typeof res.body?.intention === 'string' && typeof res.body.seq === 'number') {
            successSeqs.push(res.body.seq);
          } else if ((res.status === 200 || res.status === 201) && res.body?.task && typeof res.body.seq === 'number') {
            successSeqs.push(res.body.seq);
            if (res.status === 201) taskIds.push(res.body.task.id);
          }
        }
      }),
      { numRuns: RUNS },
    );
    // A huge body is refused at the parser, not buffered.
    for (const size of [17_000, 1_000_000, 5_000_000]) {
      const res = await http(`${server.url}/sessions/${code}/tasks`, { token, body: JSON.stringify({ title: 'x'.repeat(size) }) });
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe('invalid_payload');
    }

    console.log(`rest fuzz: ${RUNS * BATCH} requests; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);
    const internal = (await server.app.metrics.registry.getSingleMetric('focusroom_errors_total')!.get()).values.find((v) => v.labels.code === 'internal');
    expect(internal?.value ?? 0).toBe(0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // Only the successful changes happened, each broadcast once, in one seq order.
    const room = (await server.app.store.get(code))!;
    const sorted = [...successSeqs].sort((a, b) => a - b);
    expect(new Set(sorted).size).toBe(sorted.length);
    const changes = sorted.length + removals;
    expect(room.seq).toBe((created.session.seq as number) + 1 + changes);
    await eventually(() => expect(heard).toHaveLength(changes));
    for (const s of sorted) expect(heard).toContain(s);
    expect(new Set(heard).size).toBe(changes);
    expect((await http(`${server.url}/health`)).status).toBe(200);
  }, 60_000);
});
