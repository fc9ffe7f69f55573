/**
 * Intention and recap end to end: the socket events and their REST twins
 * broadcast with the room's seq, snapshots carry intentions and each one's latest recap, recaps are refused outside
 * their window, the store of record keeps both with the round (GET /me/history), and the
 * webhooks carry them (session.completed results, participant.recap). Embedded database.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call, callUnchecked, closeAllClients, connect, eventually, waitFor } from '../helpers/client.js';
import { expectHttpError, http } from '../helpers/http.js';
import { startServer, type TestServer } from '../helpers/server.js';

const hooks: any[] = [];
let receiver: Server;
let server: TestServer;

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      hooks.push(JSON.parse(raw));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  server = await startServer(
    { DATA_DIR: ':memory:', WEBHOOK_URL: hook, WEBHOOK_SECRET: `whsec_${Buffer.from('intention-recap-test-secret-01234').toString('base64')}` },
    { webhookConsumer: { batch: 20, blockMs: 200, backoffMinMs: 100, backoffMaxMs: 300 } },
  );
  await server.app.persistence!.start();
}, 90_000);
afterAll(async () => {
  await server.close();
  receiver.closeAllConnections();
  receiver.close();
});
afterEach(() => closeAllClients());

describe('intention and recap', () => {
  it('socket and REST set them, everyone hears them with the seq, and the record keeps them', async () => {
    const h = await connect(server.url);
    const created = await call(h, 'create_session', { user_name: 'Host', session_duration: 1_000 });
    const code = created.room_code as string;
    const g = await connect(server.url);
    const joined = await call(g, 'join_session', { room_code: code, user_name: 'Guest' });

    // Socket: the ack carries the trimmed text and the seq; everyone hears the event.
    const heard = waitFor(g, 'participant_intention');
    const set = await call(h, 'set_intention', { text: '  Outline the talk  ' });
    expect(set).toMatchObject({ ok: true, intention: 'Outline the talk' });
    expect(await heard).toEqual({ participant_id: created.participant_id, text: 'Outline the talk', seq: set.seq });

    // REST twin with the guest's seat token.
    const heardByHost = waitFor(h, 'participant_intention');
    const put = await http(`${server.url}/sessions/${code.toLowerCase()}/intention`, { method: 'PUT', token: joined.resume_token, body: { text: 'Inbox zero' } });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ intention: 'Inbox zero', seq: set.seq + 1 });
    expect(await heardByHost).toMatchObject({ participant_id: joined.participant_id, text: 'Inbox zero', seq: put.body.seq });

    // Snapshots carry each participant's intention (a late joiner sees them).
    const late = await connect(server.url);
    const lateJoin = await call(late, 'join_session', { room_code: code, user_name: 'Late' });
    expect(lateJoin.session.participants.map((p: any) => p.intention)).toEqual(['Outline the talk', 'Inbox zero', null]);
    await call(late, 'leave_session');

    // No recap before a round has ended.
    const early = await call(h, 'set_recap', { round: 1, outcome: 'done' });
    expect(early).toMatchObject({ ok: false, error: { code: 'invalid_state' } });

    const completed = waitFor(h, 'session_completed', 5_000);
    expect((await call(h, 'start_session')).ok).toBe(true);
    await completed;

    const recapHeard = waitFor(g, 'participant_recap');
    const recap = await call(h, 'set_recap', { round: 1, outcome: 'partly', note: 'slides half done' });
    expect(recap).toMatchObject({ ok: true, recap: { round: 1, outcome: 'partly', note: 'slides half done' } });
    expect(await recapHeard).toEqual({ participant_id: created.participant_id, round: 1, outcome: 'partly', note: 'slides half done', seq: recap.seq });
    const restRecap = await http(`${server.url}/sessions/${code}/recap`, { method: 'PUT', token: joined.resume_token, body: { round: 1, outcome: 'done' } });
    expect(restRecap.status).toBe(200);
    expect(restRecap.body.recap).toEqual({ round: 1, outcome: 'done', note: null });
    expectHttpError(await http(`${server.url}/sessions/${code}/recap`, { method: 'PUT', token: joined.resume_token, body: { round: 2, outcome: 'done' } }), 409, 'invalid_state');

    // Snapshots carry each participant's latest recap too (a resume, a late joiner).
    const resumed = await call(await connect(server.url), 'resume_session', { room_code: code, participant_id: joined.participant_id, resume_token: joined.resume_token });
    expect(resumed.session.participants.map((p: any) => [p.intention, p.recap])).toEqual([
      ['Outline the talk', { round: 1, outcome: 'partly', note: 'slides half done' }],
      ['Inbox zero', { round: 1, outcome: 'done', note: null }],
    ]);

    // The store of record: intention and recap with the round, in the host's history.
    const key = created.user_key as string;
    await eventually(async () => {
      const history = await http(`${server.url}/me/history`, { token: key });
      expect(history.status).toBe(200);
      expect(history.body.rounds[0].result).toMatchObject({ intention: 'Outline the talk', recap: { outcome: 'partly', note: 'slides half done' } });
    }, 5_000);
    const guestHistory = await http(`${server.url}/me/history`, { token: joined.user_key });
    expect(guestHistory.body.rounds[0].result).toMatchObject({ intention: 'Inbox zero', recap: { outcome: 'done', note: null } });

    // Webhooks: the round's results carry intentions; each recap is a participant.recap.
    await eventually(() => {
      const done = hooks.find((b) => b.type === 'session.completed' && b.data.room_code === code);
      expect(done.data.results.map((r: any) => r.intention)).toEqual(['Outline the talk', 'Inbox zero']);
      const recaps = hooks.filter((b) => b.type === 'participant.recap' && b.data.room_code === code);
      expect(recaps.map((b) => [b.data.participant_id, b.data.outcome, b.data.note])).toEqual([
        [created.participant_id, 'partly', 'slides half done'],
        [joined.participant_id, 'done', null],
      ]);
      expect(JSON.stringify(recaps)).not.toMatch(/key:|identity/);
    }, 5_000);
  });

  it('bad input is a typed error and changes nothing', async () => {
    const h = await connect(server.url);
    const created = await call(h, 'create_session', { user_name: 'Host' });
    const code = created.room_code as string;
    for (const bad of [{}, { text: '' }, { text: '   ' }, { text: 'x'.repeat(141) }, { text: 'a\u202Eb' }, { text: 5 }, { text: 'ok', extra: 1 }]) {
      expect(await callUnchecked(h, 'set_intention', bad)).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    }
    for (const bad of [{ round: 0, outcome: 'done' }, { round: 1, outcome: 'DONE' }, { round: 1.5, outcome: 'done' }, { round: 1, outcome: 'done', note: 'x'.repeat(281) }, { round: 1 }]) {
      expect(await callUnchecked(h, 'set_recap', bad)).toMatchObject({ ok: false, error: { code: 'invalid_payload' } });
    }
    const stranger = await connect(server.url);
    expect(await call(stranger, 'set_intention', { text: 'hi' })).toMatchObject({ ok: false, error: { code: 'not_in_session' } });
    expectHttpError(await http(`${server.url}/sessions/${code}/intention`, { method: 'PUT', body: { text: 'x' } }), 401, 'invalid_token');
    expectHttpError(await http(`${server.url}/sessions/${code}/intention`, { method: 'PUT', token: created.resume_token, body: { text: '' } }), 400, 'invalid_payload');
    expectHttpError(await http(`${server.url}/sessions/${code}/recap`, { method: 'PUT', token: created.resume_token, body: { round: 1, outcome: 'maybe' } }), 400, 'invalid_payload');
    expectHttpError(await http(`${server.url}/sessions/ZZZZZZ/intention`, { method: 'PUT', token: created.resume_token, body: { text: 'x' } }), 404, 'not_found');
    const lookup = await call(h, 'update_settings', { max_participants: 5 });
    expect(lookup.session.seq).toBe(created.session.seq + 1);
    expect(lookup.session.participants[0].intention).toBeNull();
  });
});
