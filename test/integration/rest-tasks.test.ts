/**
 * The room's task list over REST (docs/protocol.md "REST API"): every route and status code, with
 * sockets in the room hearing the same broadcasts, in one `seq` order with the socket's
 * own changes; the same validation as the socket twin (strict, nothing coerced); Bearer
 * resume_token auth counted toward the failed-join limit; one event budget per seat.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { call, callUnchecked, closeAllClients, connect, eventually, roomWith, waitFor } from '../helpers/client.js';
import { expectHttpError, http } from '../helpers/http.js';
import { startServer, useSharedServer } from '../helpers/server.js';
import { expectAckError, expectTask } from '../helpers/shapes.js';

const server = useSharedServer();
afterEach(() => closeAllClients());

async function duo(s: { url: string } = server) {
  const [host, guest] = await Promise.all([connect(s.url), connect(s.url)]);
  const { code, created, joined } = await roomWith(host, [guest]);
  const tasksUrl = `${s.url}/sessions/${code}/tasks`;
  return { host, guest, code, created, guestSeat: joined[0]!, tasksUrl, token: created.resume_token as string, guestToken: joined[0]!.resume_token as string };
}

describe('task routes: success and broadcasts', () => {
  it('POST 201, GET 200, PATCH 200, DELETE 204; the room hears task_added / task_updated / task_removed with the same seq', async () => {
    const { host, guest, code, created, tasksUrl, guestToken, guestSeat } = await duo();
    const seq0 = created.session.seq as number;
    const heardAdd = [waitFor(host, 'task_added'), waitFor(guest, 'task_added')];
    const added = await http(tasksUrl, { token: guestToken, body: { title: '  Write the report  ' } });
    expect(added.status).toBe(201);
    expect(Object.keys(added.body).sort()).toEqual(['seq', 'task']);
    expectTask(added.body.task);
    expect(added.body.task).toMatchObject({ title: 'Write the report', done: false, created_by: guestSeat.participant_id });
    expect(added.body.seq).toBe(seq0 + 2); // guest's join was seq0 + 1
    for (const heard of await Promise.all(heardAdd)) expect(heard).toEqual({ task: added.body.task, seq: added.body.seq });

    const list = await http(tasksUrl, { token: guestToken });
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ tasks: [added.body.task], seq: added.body.seq });

    const id = added.body.task.id as string;
    const heardUpdate = waitFor(host, 'task_updated');
    const patched = await http(`${tasksUrl}/${id}`, { method: 'PATCH', token: guestToken, body: { done: true } });
    expect(patched.status).toBe(200);
    expect(patched.body).toEqual({ task: { ...added.body.task, done: true }, seq: added.body.seq + 1 });
    expect(await heardUpdate).toEqual(patched.body);
    const renamed = await http(`${tasksUrl}/${id}`, { method: 'PATCH', token: guestToken, body: { title: 'Report', done: false } });
    expect(renamed.body.task).toMatchObject({ title: 'Report', done: false });

    const heardRemove = waitFor(guest, 'task_removed');
    const removed = await http(`${tasksUrl}/${id}`, { method: 'DELETE', token: guestToken });
    expect(removed.status).toBe(204);
    expect(removed.text).toBe('');
    expect(await heardRemove).toEqual({ task: renamed.body.task, seq: renamed.body.seq + 1 });
    expect((await http(tasksUrl, { token: guestToken })).body).toEqual({ tasks: [], seq: renamed.body.seq + 1 });
    // The socket twin sees the same list.
    expect((await server.app.store.get(code))!.tasks).toEqual([]);
  });

  it('DELETE of someone else\'s task: 403 not_host for a guest, 204 for the host', async () => {
    const { host, tasksUrl, guestToken, token } = await duo();
    const byHost = await http(tasksUrl, { token, body: { title: 'the host\'s' } });
    const byGuest = await http(tasksUrl, { token: guestToken, body: { title: 'the guest\'s' } });
    expectHttpError(await http(`${tasksUrl}/${byHost.body.task.id}`, { method: 'DELETE', token: guestToken }), 403, 'not_host');
    const heard = waitFor(host, 'task_removed');
    expect((await http(`${tasksUrl}/${byGuest.body.task.id}`, { method: 'DELETE', token })).status).toBe(204);
    expect((await heard).task.id).toBe(byGuest.body.task.id);
    expect((await http(tasksUrl, { token })).body.tasks.map((t: any) => t.id)).toEqual([byHost.body.task.id]);
  });

  it('the room code in the path is case-insensitive like join_session', async () => {
    const { code, token } = await duo();
    const res = await http(`${server.url}/sessions/${code.toLowerCase()}/tasks`, { token });
    expect(res.status).toBe(200);
  });

  it('socket and REST changes interleaved from two clients: one total seq order, no lost update', async () => {
    const { host, guest, code, tasksUrl, guestToken } = await duo();
    const observer = await connect(server.url);
    const joined = await call(observer, 'join_session', { room_code: code, user_name: 'Watcher' });
    const seen: Array<{ seq: number; task: { id: string; title: string; done: boolean } }> = [];
    observer.on('task_added', (p) => seen.push(p));
    observer.on('task_updated', (p) => seen.push(p));
    const N = 15;
    const viaSocket = Array.from({ length: N }, (_, i) => call(host, 'add_task', { title: `socket ${i}` }));
    const viaRest = Array.from({ length: N }, (_, i) => http(tasksUrl, { token: guestToken, body: { title: `rest ${i}` } }));
    const [socketAcks, restReplies] = await Promise.all([Promise.all(viaSocket), Promise.all(viaRest)]);
    for (const a of socketAcks) expect(a.ok).toBe(true);
    for (const r of restReplies) expect(r.status).toBe(201);
    // Then every task is toggled, half over each transport, concurrently.
    const ids = [...socketAcks.map((a) => a.task.id as string), ...restReplies.map((r) => r.body.task.id as string)];
    const toggles = ids.map((id, i) =>
      i % 2 === 0
        ? call(guest, 'update_task', { task_id: id, done: true }).then((a) => a.seq as number)
        : http(`${tasksUrl}/${id}`, { method: 'PATCH', token: guestToken, body: { done: true } }).then((r) => r.body.seq as number),
    );
    const toggleSeqs = await Promise.all(toggles);
    const replySeqs = [...socketAcks.map((a) => a.seq as number), ...restReplies.map((r) => r.body.seq as number), ...toggleSeqs];
    const first = (joined.session.seq as number) + 1;
    // Every change got its own seq, and together they are contiguous: one total order.
    expect([...replySeqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 4 * N }, (_, i) => first + i));
    // The observer heard all of them, in that order.
    await eventually(() => expect(seen.map((e) => e.seq)).toEqual(Array.from({ length: 4 * N }, (_, i) => first + i)));
    // No lost update: the stored list is what replaying the events gives.
    const replayed = new Map<string, unknown>();
    for (const e of seen) replayed.set(e.task.id, e.task);
    const stored = (await http(tasksUrl, { token: guestToken })).body;
    expect(stored.tasks).toHaveLength(2 * N);
    for (const t of stored.tasks) expect(t).toEqual({ ...(replayed.get(t.id) as object), done: true });
    expect(stored.seq).toBe(first + 4 * N - 1);
  });
});

describe('task routes: the same validation as the socket twin', () => {
  const BAD_BODIES: unknown[] = [
    {},
    { title: '' },
    { title: '   ' },
    { title: 123 },
    { title: ['a'] },
    { title: null },
    { title: 'ok', extra: 1 },
    { title: 'a\u0000b' },
    { title: 'x'.repeat(201) },
    [],
    'just a string',
    7,
    null,
  ];

  it('POST: every payload add_task refuses is 400 invalid_payload with nothing changed', async () => {
    const { host, code, tasksUrl, token } = await duo();
    const seqBefore = (await server.app.store.get(code))!.seq;
    for (const body of BAD_BODIES) {
      expectAckError(await callUnchecked(host, 'add_task', body), 'invalid_payload');
      expectHttpError(await http(tasksUrl, { token, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }), 400, 'invalid_payload');
    }
    expect((await server.app.store.get(code))!.seq).toBe(seqBefore);
  });

  it('PATCH: nothing is coerced ("true", 1, "x" for done); an empty change or an unknown field is refused', async () => {
    const { host, code, tasksUrl, token } = await duo();
    const id = (await call(host, 'add_task', { title: 'keep' })).task.id as string;
    const seqBefore = (await server.app.store.get(code))!.seq;
    for (const body of [{ done: 'true' }, { done: 1 }, { done: 'x' }, { title: 5 }, {}, { task_id: id, done: true }, { done: true, x: 1 }]) {
      expectHttpError(await http(`${tasksUrl}/${id}`, { method: 'PATCH', token, body }), 400, 'invalid_payload');
    }
    expectAckError(await callUnchecked(host, 'update_task', { task_id: id, done: 'true' }), 'invalid_payload');
    expect((await server.app.store.get(code))!.seq).toBe(seqBefore);
    expect((await server.app.store.get(code))!.tasks[0]).toMatchObject({ title: 'keep', done: false });
  });

  it('bad params and bodies: 400 for an impossible code or task id, 413 for a huge body, 415 for a non-JSON type, 400 for broken JSON', async () => {
    const { tasksUrl, token } = await duo();
    expectHttpError(await http(`${server.url}/sessions/abc/tasks`, { token }), 400, 'invalid_payload');
    expectHttpError(await http(`${tasksUrl}/${'x'.repeat(65)}`, { method: 'DELETE', token }), 400, 'invalid_payload');
    const huge = await http(tasksUrl, { token, body: { title: 'x'.repeat(200_000) } });
    expectHttpError(huge, 413, 'invalid_payload');
    expectHttpError(await http(tasksUrl, { token, body: '<task/>', headers: { 'content-type': 'application/xml' } }), 415, 'invalid_payload');
    expectHttpError(await http(tasksUrl, { token, body: '{"title": ', headers: { 'content-type': 'application/json' } }), 400, 'invalid_payload');
    // Still serving.
    expect((await http(tasksUrl, { token })).status).toBe(200);
  });
});

describe('task routes: 401 / 404 / 409', () => {
  it('no, malformed, wrong, foreign or departed token → 401 invalid_token', async () => {
    const { guest, code, tasksUrl, token, guestToken } = await duo();
    const other = await duo();
    expectHttpError(await http(tasksUrl), 401, 'invalid_token');
    for (const authorization of ['', 'Bearer', 'Bearer ', `Basic ${token}`, `Bearer ${token} extra`, `Bearer ${'x'.repeat(32)}`, `Bearer ${other.token}`]) {
      expectHttpError(await http(tasksUrl, { headers: { authorization } }), 401, 'invalid_token');
    }
    expectHttpError(await http(tasksUrl, { method: 'POST', body: { title: 'x' }, headers: { authorization: `Bearer ${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}` } }), 401, 'invalid_token');
    expect((await http(tasksUrl, { token: guestToken })).status).toBe(200);
    await call(guest, 'leave_session');
    expectHttpError(await http(tasksUrl, { token: guestToken, body: { title: 'after leaving' } }), 401, 'invalid_token');
    expect((await server.app.store.get(code))!.tasks).toEqual([]);
  });

  it('unknown room → 404 not_found; unknown task → 404 not_found; a full task list → 409 invalid_state', async () => {
    const { code, tasksUrl, token } = await duo();
    const unknown = code === 'ZZZZZZ' ? 'YYYYYY' : 'ZZZZZZ';
    expectHttpError(await http(`${server.url}/sessions/${unknown}/tasks`, { token }), 404, 'not_found');
    expectHttpError(await http(`${tasksUrl}/nope`, { method: 'PATCH', token, body: { done: true } }), 404, 'not_found');
    expectHttpError(await http(`${tasksUrl}/nope`, { method: 'DELETE', token }), 404, 'not_found');
    for (let i = 0; i < 50; i++) expect((await http(tasksUrl, { token, body: { title: `t${i}` } })).status).toBe(201);
    expectHttpError(await http(tasksUrl, { token, body: { title: 'one too many' } }), 409, 'invalid_state');
  });
});

describe('limits shared with the socket', () => {
  it('wrong tokens count toward the failed-join limit (then 429 for wrong tokens and unknown codes alike); the right token still works', async () => {
    const s = await startServer({ RATE_JOIN_FAILURES_PER_MIN: '3' });
    try {
      const { tasksUrl, token, code } = await duo(s);
      for (let i = 0; i < 3; i++) expectHttpError(await http(tasksUrl, { token: `${'w'.repeat(31)}${i}` }), 401, 'invalid_token');
      expectHttpError(await http(tasksUrl, { token: 'w'.repeat(32) }), 429, 'rate_limited');
      const unknown = code === 'ZZZZZZ' ? 'YYYYYY' : 'ZZZZZZ';
      expectHttpError(await http(`${s.url}/sessions/${unknown}/tasks`, { token }), 429, 'rate_limited');
      // The same budget the socket's joins spend: a wrong-code join is now refused too.
      const prober = await connect(s.url);
      expectAckError(await call(prober, 'join_session', { room_code: unknown, user_name: 'p' }), 'rate_limited');
      // A correct token is never refused by the failed-join limit.
      expect((await http(tasksUrl, { token, body: { title: 'still mine' } })).status).toBe(201);
    } finally {
      closeAllClients();
      await s.close();
    }
  });

  it('REST calls spend the flood budget of the socket events: per address, refused before any work', async () => {
    const s = await startServer({ RATE_ADDRESS_EVENTS_PER_SEC: '10' });
    try {
      const { host, tasksUrl, token, code } = await duo(s);
      const seqBefore = (await s.app.store.get(code))!.seq;
      let accepted = 0;
      for (let attempt = 0; ; attempt++) {
        // A fresh one-second window, then one burst inside it.
        await new Promise((r) => setTimeout(r, 1_100));
        const t0 = Date.now();
        const rest = await Promise.all(Array.from({ length: 14 }, () => http(tasksUrl, { token, body: { title: 'burst' } })));
        const socketReply = await call(host, 'update_status', { status: 'ready' });
        accepted += rest.filter((r) => r.status === 201).length;
        if (Date.now() - t0 > 700 && attempt < 5) continue;
        const refused = rest.filter((r) => r.status === 429);
        for (const r of refused) expectHttpError(r, 429, 'rate_limited');
        expect(refused.length).toBeGreaterThanOrEqual(4);
        expect(rest.filter((r) => r.status === 201).length).toBeLessThanOrEqual(10);
        // The address's socket events are over the same budget now.
        expectAckError(socketReply, 'rate_limited');
        break;
      }
      // Refused calls changed nothing: the room moved only by the accepted ones.
      expect((await s.app.store.get(code))!.seq).toBe(seqBefore + accepted);
    } finally {
      closeAllClients();
      await s.close();
    }
  });

  it('one event budget per seat: REST calls and the seat’s socket events draw from it together', async () => {
    const s = await startServer({ RATE_SOCKET_EVENTS_PER_SEC: '5' });
    try {
      const { host, guest, tasksUrl, token } = await duo(s);
      // Retry until one burst fits in one budget window (a loaded machine may straddle two).
      for (let attempt = 0; ; attempt++) {
        const t0 = Date.now();
        const rest = await Promise.all(Array.from({ length: 5 }, () => http(tasksUrl, { token })));
        const socketReply = await call(host, 'update_status', { status: 'ready' });
        const guestReply = await call(guest, 'update_status', { status: 'ready' });
        if (Date.now() - t0 > 700 && attempt < 5) {
          await new Promise((r) => setTimeout(r, 1_100));
          continue;
        }
        expect(rest.filter((r) => r.status === 200).length).toBeLessThanOrEqual(5);
        // The host's seat spent its budget over REST: its socket is refused...
        expectAckError(socketReply, 'rate_limited');
        // ...while another seat is not.
        expect(guestReply.ok).toBe(true);
        const more = await http(tasksUrl, { token });
        expectHttpError(more, 429, 'rate_limited');
        break;
      }
    } finally {
      closeAllClients();
      await s.close();
    }
  });
});
